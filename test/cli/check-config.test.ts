import { join } from 'node:path';
import t from 'tap';
import { checkConfig } from '../../src/cli/check-config.js';
import { capture } from '../helpers/io.js';

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

t.test('lists, policies and venues are summarized; the lists are read and compiled', async (t) => {
  const dir = t.testdir({
    'adult.txt': 'one.example\ntwo.example\nbad_name!.example\n',
    'roje.yaml': [
      'upstreams: [udp://127.0.0.1:5300]',
      'lists: [{ category: adult, path: adult.txt }]',
      'blockTtl: 2m',
      'blockPage: { ipv4: 192.0.2.80 }',
      'policies:',
      '  library: { block: [adult, abuse], blockMode: blockpage, allow: [wikipedia.org] }',
      'venues: [{ name: tirana-library, networks: [192.168.10.0/24], policy: library }]',
    ].join('\n'),
    'missing.yaml': 'upstreams: [udp://127.0.0.1:5300]\nlists: [{ category: adult, path: nope.txt }]\n',
    'none.yaml': 'upstreams: [udp://127.0.0.1:5300]\nlists: []\n',
  });
  let c = capture();
  t.equal(await checkConfig([join(dir, 'roje.yaml')], c.io), 0, c.err());
  const out = c.out();
  t.match(
    out,
    `lists      1 source in 1 category (adult) from the config file: adult ${join(dir, 'adult.txt')}\n`,
  );
  t.match(
    out,
    'policies   default: block all (nxdomain); library: block adult, abuse (blockpage), 1 allowed; blocked answers TTL 2m, block page 192.0.2.80\n',
  );
  t.match(out, 'venues     tirana-library (192.168.10.0/24) -> library; other clients -> default\n');
  t.match(out, 'entries    2 rules from 1 source (adult: 2, 1 lines skipped)\n');

  c = capture();
  t.equal(await checkConfig([join(dir, 'missing.yaml')], c.io), 2);
  t.match(c.err(), /^roje: list "nope" \(.*nope\.txt\) cannot be read/);

  c = capture();
  t.equal(await checkConfig([join(dir, 'none.yaml')], c.io), 0);
  t.match(c.out(), 'lists      none: NOT FILTERING\n');
  t.match(c.out(), 'entries    no lists: NOT FILTERING\n');
});

t.test('compliance warnings print and leave the exit code at 0; profile none prints none', async (t) => {
  const dir = t.testdir({
    'adult.txt': 'one.example\n',
    'roje.yaml': [
      'upstreams: [udp://127.0.0.1:5300]',
      'lists: [{ category: adult, path: adult.txt }]',
      'policies:',
      '  cafe: { block: [abuse, doh-bypass] }',
      'venues: [{ name: cafe-north, networks: [10.9.0.0/16], policy: cafe }]',
    ].join('\n'),
  });
  const file = join(dir, 'roje.yaml');
  let c = capture();
  t.equal(await checkConfig([file], c.io), 0, 'a gap is shown, not refused');
  const out = c.out();
  t.match(out, /\n {2}profile {4}friendly-wifi: 3 compliance warnings\n/);
  t.match(
    out,
    '\n  warning    policy-not-blocking-adult: policy "cafe" (used by "cafe-north") does not block the category "adult"',
  );
  t.match(out, /\n {2}warning {4}category-without-source: no list in force is in the category "doh-bypass"/);
  t.match(out, /\n {2}warning {4}abuse-source-missing: no abuse feed is configured/);
  t.equal(c.err(), '');

  const { writeFileSync, readFileSync } = await import('node:fs');
  writeFileSync(file, `${readFileSync(file, 'utf8')}\nprofile: none\n`);
  c = capture();
  t.equal(await checkConfig([file], c.io), 0);
  t.match(c.out(), /\n {2}profile {4}none: no compliance checks\n/);
  t.notMatch(c.out(), /warning {4}/);
});

t.test('the bundled samples with a block-all default: no compliance warning', async (t) => {
  const dir = t.testdir({ 'roje.yaml': 'upstreams: [udp://127.0.0.1:5300]\n' });
  const c = capture();
  t.equal(await checkConfig([join(dir, 'roje.yaml')], c.io), 0, c.err());
  t.match(c.out(), /\n {2}profile {4}friendly-wifi: no compliance warnings\n/);
  t.notMatch(c.out(), /warning {4}/);
});
