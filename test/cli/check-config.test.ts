import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import t from 'tap';
import { checkConfig } from '../../src/cli/check-config.js';

function capture() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => {
    out += d;
  });
  stderr.on('data', (d) => {
    err += d;
  });
  return { io: { stdout, stderr }, out: () => out, err: () => err };
}

t.test('a valid file: "FILE: ok", a summary, exit 0', async (t) => {
  const dir = t.testdir({
    'roje.yaml': [
      'listen: ["127.0.0.1:5354", "[::1]:5354"]',
      'upstreams: [udp://127.0.0.1:5300, { url: "tcp://[::1]:5301", timeout: 5s }]',
      'cache: { maxEntries: 5000, maxBytes: 16MiB }',
    ].join('\n'),
  });
  const file = join(dir, 'roje.yaml');
  const c = capture();
  t.equal(await checkConfig([file], c.io), 0);
  const out = c.out();
  t.match(out, new RegExp(`^${file}: ok\n`));
  t.match(out, /listen {5}127\.0\.0\.1:5354, \[::1\]:5354 \(UDP and TCP\)/);
  t.match(
    out,
    /upstreams {2}udp:\/\/127\.0\.0\.1:5300, tcp:\/\/\[::1\]:5301 \(timeout 5s\) from the config file, timeout 2s/,
  );
  t.match(out, /cache {6}5000 entries, 16 MiB, TTL 0s\.\.1d/);
  t.match(out, /acl {8}serving 127\.0\.0\.0\/8/);
  t.equal(c.err(), '');
});

t.test('an invalid file: the error on stderr, exit 2', async (t) => {
  const dir = t.testdir({
    'bad.yaml': 'upstreams: [udp://127.0.0.1]\ncache:\n  maxTTL: 1d\n',
    'syntax.yaml': 'cache:\n  maxTtl: 1d\n maxEntries: 5\n',
  });
  let c = capture();
  t.equal(await checkConfig([join(dir, 'bad.yaml')], c.io), 2);
  t.equal(
    c.err(),
    `roje: config error in ${join(dir, 'bad.yaml')}: unknown key "cache.maxTTL" (did you mean "cache.maxTtl"?)\n`,
  );
  t.equal(c.out(), '');

  c = capture();
  t.equal(await checkConfig([join(dir, 'syntax.yaml')], c.io), 2);
  t.match(c.err(), new RegExp(`^roje: config error in ${join(dir, 'syntax.yaml')}:\\d+:\\d+: YAML syntax: `));

  c = capture();
  t.equal(await checkConfig([join(dir, 'missing.yaml')], c.io), 2);
  t.match(c.err(), /cannot read the file: no such file or directory \(ENOENT\)/);
});

t.test('usage errors exit 2', async (t) => {
  for (const argv of [[], ['a.yaml', 'b.yaml'], ['--frobnicate', 'a.yaml']]) {
    const c = capture();
    t.equal(await checkConfig(argv, c.io), 2, JSON.stringify(argv));
    t.match(c.err(), /^roje check-config: .*\nUsage: roje check-config FILE\n$/);
  }
});

t.test('the reference config checks out (with a temp resolv.conf)', async (t) => {
  const dir = t.testdir({ 'resolv.conf': 'nameserver 127.0.0.1\n' });
  const { readFileSync, writeFileSync } = await import('node:fs');
  const reference = readFileSync(new URL('../../deploy/roje.yaml', import.meta.url), 'utf8');
  const file = join(dir, 'roje.yaml');
  writeFileSync(file, reference.replace(/^resolvConf: .*$/m, 'resolvConf: resolv.conf'));
  const c = capture();
  t.equal(await checkConfig([file], c.io), 0, c.err());
  t.match(c.out(), /upstreams {2}udp:\/\/127\.0\.0\.1:53 from .*resolv\.conf/);
});
