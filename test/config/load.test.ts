import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ConfigError, loadConfig, parseConfigText } from '../../src/config/load.js';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

/** Rejects with a ConfigError and returns it. */
async function loadError(p: Promise<unknown>): Promise<ConfigError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

t.test('loads a YAML file; durations, sizes and lists as operators write them', async (t) => {
  const dir = t.testdir({
    'roje.yaml': [
      'listen: ["127.0.0.1:5354", "[::1]:5354"]',
      'upstreams:',
      '  - udp://127.0.0.1:5300',
      '  - { url: "tls://127.0.0.1:853#dns.example", timeout: 3s, ca: certs/ca.pem }',
      'acl: { allow: [127.0.0.0/8, ::1/128, fc00::/7] }',
      'cache: { maxBytes: 16MiB, maxTtl: 6h }',
      'log:',
      '  level: warn',
    ].join('\n'),
    certs: { 'ca.pem': PEM },
  });
  const file = join(dir, 'roje.yaml');
  const cfg = await loadConfig({ file });
  t.equal(cfg.source, file);
  t.same(cfg.listen, [
    { host: '127.0.0.1', port: 5354 },
    { host: '::1', port: 5354 },
  ]);
  t.same(cfg.upstreams, [
    { url: 'udp://127.0.0.1:5300', timeoutMs: 2000 },
    { url: 'tls://127.0.0.1:853#dns.example', timeoutMs: 3000, ca: PEM },
  ]);
  t.equal(cfg.upstreamsFrom, 'config');
  t.same(cfg.acl.allow, ['127.0.0.0/8', '::1/128', 'fc00::/7']);
  t.equal(cfg.cache.maxBytes, 16 * 1024 * 1024);
  t.equal(cfg.cache.maxTtl, 21600);
  t.equal(cfg.log.level, 'warn');
});

t.test('an empty file means every default', async (t) => {
  const dir = t.testdir({ 'empty.yaml': '# nothing here\n', 'resolv.conf': 'nameserver 127.0.0.1\n' });
  const cfg = await loadConfig(
    { file: join(dir, 'empty.yaml') },
    { readFile: async () => 'nameserver 127.0.0.1\n' },
  );
  t.equal(cfg.edns.udpSize, 1232);
  t.same(cfg.upstreams, [{ url: 'udp://127.0.0.1:53', timeoutMs: 2000 }]);
});

t.test('no file: the embedded default, upstreams from /etc/resolv.conf', async (t) => {
  const asked: string[] = [];
  const cfg = await loadConfig(
    {},
    {
      readFile: async (path) => {
        asked.push(path);
        return 'nameserver 127.0.0.53\nnameserver ::1\n';
      },
    },
  );
  t.same(asked, ['/etc/resolv.conf']);
  t.equal(cfg.source, null);
  t.same(cfg.listen, [
    { host: '127.0.0.1', port: 5353 },
    { host: '::1', port: 5353 },
  ]);
  t.same(
    cfg.upstreams.map((u) => u.url),
    ['udp://127.0.0.53:53', 'udp://[::1]:53'],
  );
  t.equal(cfg.upstreamsFrom, 'resolv.conf');
});

t.test('flags replace the file lists', async (t) => {
  const dir = t.testdir({
    'roje.yaml': 'listen: ["127.0.0.1:5354"]\nupstreams: [udp://127.0.0.1:5300]\nupstream: { timeout: 1s }\n',
  });
  const file = join(dir, 'roje.yaml');
  const cfg = await loadConfig({
    file,
    flags: { listen: ['[::1]:5399', '127.0.0.2:5399'], upstreams: ['tcp://127.0.0.1:5301', 'udp://[::1]'] },
  });
  t.same(cfg.listen, [
    { host: '::1', port: 5399 },
    { host: '127.0.0.2', port: 5399 },
  ]);
  t.same(cfg.upstreams, [
    { url: 'tcp://127.0.0.1:5301', timeoutMs: 1000 },
    { url: 'udp://[::1]:53', timeoutMs: 1000 },
  ]);
  t.equal(cfg.upstreamsFrom, 'flags');
  const empty = await loadConfig({ file, flags: { listen: [], upstreams: [] } });
  t.same(empty.listen, [{ host: '127.0.0.1', port: 5354 }], 'empty flag lists count as not given');
  t.equal(empty.upstreamsFrom, 'config');
});

t.test('bad flags name the flag', async (t) => {
  let err = await loadError(loadConfig({ flags: { listen: ['127.0.0.1'], upstreams: ['udp://127.0.0.1'] } }));
  t.equal(
    err.message,
    '--listen "127.0.0.1": expected host:port such as "127.0.0.1:53" or "[::1]:53" (add the port, e.g. ":53")',
  );
  t.equal(err.key, '--listen');
  t.equal(err.file, null);
  err = await loadError(loadConfig({ flags: { upstreams: ['udp://127.0.0.1', 'quic://127.0.0.1'] } }));
  t.match(
    err.message,
    /^--upstream "quic:\/\/127\.0\.0\.1": upstream URL .* scheme "quic:" is not supported/,
  );
  t.equal(err.key, '--upstream');
  err = await loadError(
    loadConfig({ flags: { listen: ['127.0.0.1:53', '127.0.0.1:53'], upstreams: ['udp://127.0.0.1'] } }),
  );
  t.match(err.message, /--listen "127\.0\.0\.1:53": "127\.0\.0\.1:53" is listed twice/);
});

t.test('read errors', async (t) => {
  const dir = t.testdir({ sub: {} });
  let err = await loadError(loadConfig({ file: join(dir, 'missing.yaml') }));
  t.equal(err.code, 'ROJE_ERR_CONFIG_READ');
  t.equal(
    err.message,
    `config error in ${join(dir, 'missing.yaml')}: cannot read the file: no such file or directory (ENOENT)`,
  );
  t.equal(err.file, join(dir, 'missing.yaml'));
  err = await loadError(loadConfig({ file: join(dir, 'sub') }));
  t.match(err.message, /cannot read the file: it is a directory/);
  const big = join(dir, 'big.yaml');
  writeFileSync(big, `# ${'x'.repeat(1024 * 1024)}\n`);
  err = await loadError(loadConfig({ file: big }));
  t.match(err.message, /a config file is at most 1 MiB/);
});

t.test('YAML syntax errors carry line and column', async (t) => {
  const dir = t.testdir({
    'dup.yaml': 'cache:\n  maxTtl: 1d\n  maxTtl: 2d\n',
    'flow.yaml': 'listen: ["127.0.0.1:53"\nupstreams: []\n',
    'tab.yaml': 'cache:\n\tmaxTtl: 1d\n',
    'multi.yaml': 'log: { level: info }\n---\nlog: { level: debug }\n',
  });
  let err = await loadError(loadConfig({ file: join(dir, 'dup.yaml') }));
  t.equal(err.code, 'ROJE_ERR_CONFIG_PARSE');
  t.equal(err.message, `config error in ${join(dir, 'dup.yaml')}:3:3: YAML syntax: Map keys must be unique`);
  t.equal(err.line, 3);
  t.equal(err.column, 3);
  err = await loadError(loadConfig({ file: join(dir, 'flow.yaml') }));
  t.equal(err.code, 'ROJE_ERR_CONFIG_PARSE');
  t.match(err.message, new RegExp(`^config error in ${join(dir, 'flow.yaml')}:\\d+:\\d+: YAML syntax: `));
  t.type(err.line, 'number');
  err = await loadError(loadConfig({ file: join(dir, 'tab.yaml') }));
  t.match(err.message, /:2:1: YAML syntax: .*[Tt]ab/);
  err = await loadError(loadConfig({ file: join(dir, 'multi.yaml') }));
  t.match(err.message, /:\d+:\d+: YAML syntax: the file holds more than one YAML document/);
  t.throws(() => parseConfigText('a: *nope\n', '/x.yaml'), { code: 'ROJE_ERR_CONFIG_PARSE' });
  t.same(parseConfigText('a: &x 1\nb: *x\n', '/x.yaml'), { a: 1, b: 1 });
});

t.test('CA files: read, missing, not PEM, relative to the config file', async (t) => {
  const dir = t.testdir({ 'ca.pem': PEM, 'junk.pem': 'hello\n' });
  const write = (body: string) => {
    const file = join(dir, 'roje.yaml');
    writeFileSync(file, body);
    return file;
  };
  let file = write('upstreams: [{ url: "https://127.0.0.1/dns-query", ca: ca.pem }]\n');
  t.equal((await loadConfig({ file })).upstreams[0].ca, PEM);
  file = write(
    'upstreams:\n  - udp://127.0.0.1\n  - { url: "tls://127.0.0.1#dns.example", ca: missing.pem }\n',
  );
  let err = await loadError(loadConfig({ file }));
  t.equal(err.code, 'ROJE_ERR_CONFIG_INVALID');
  t.equal(err.key, 'upstreams[1].ca');
  t.equal(
    err.message,
    `config error in ${file}: upstreams[1].ca: cannot read CA file "${join(dir, 'missing.pem')}": no such file or directory (ENOENT)`,
  );
  file = write('upstreams: [{ url: "tls://127.0.0.1#dns.example", ca: junk.pem }]\n');
  err = await loadError(loadConfig({ file }));
  t.match(err.message, /upstreams\[0\]\.ca: .* holds no PEM certificate/);
});

t.test('resolv.conf when upstreams is empty', async (t) => {
  const dir = t.testdir({
    'resolv.conf': 'nameserver 127.0.0.53\nnameserver ::1\nnameserver fe80::1%lo\n',
    'own.conf': 'nameserver 127.0.0.1\n',
    'none.conf': '# nothing\nsearch lan\n',
  });
  const write = (body: string) => {
    const file = join(dir, 'roje.yaml');
    writeFileSync(file, body);
    return file;
  };
  let cfg = await loadConfig({ file: write('resolvConf: resolv.conf\nupstream: { timeout: 750ms }\n') });
  t.same(cfg.upstreams, [
    { url: 'udp://127.0.0.53:53', timeoutMs: 750 },
    { url: 'udp://[::1]:53', timeoutMs: 750 },
    { url: 'udp://[fe80::1]:53', timeoutMs: 750 },
  ]);
  t.equal(cfg.resolvConf, join(dir, 'resolv.conf'));

  // roje listening on ::1:53 must not forward to ::1:53 (a loop); 127.0.0.53 stays.
  cfg = await loadConfig({
    file: write('resolvConf: resolv.conf\nlisten: ["[0:0::1]:53", "127.0.0.53:5353"]\n'),
  });
  t.same(
    cfg.upstreams.map((u) => u.url),
    ['udp://127.0.0.53:53', 'udp://[fe80::1]:53'],
  );

  // Only its own address: nothing left.
  let err = await loadError(loadConfig({ file: write('resolvConf: own.conf\nlisten: ["127.0.0.1:53"]\n') }));
  t.equal(err.code, 'ROJE_ERR_CONFIG_NO_UPSTREAM');
  t.equal(err.key, 'upstreams');
  t.match(err.message, /no upstream resolver: .*127\.0\.0\.1\) are roje's own listen addresses/);
  t.match(err.message, /set `upstreams` in the config file or pass --upstream/);

  // The same nameserver on another port than roje's is fine.
  cfg = await loadConfig({ file: write('resolvConf: own.conf\nlisten: ["127.0.0.1:5353"]\n') });
  t.same(
    cfg.upstreams.map((u) => u.url),
    ['udp://127.0.0.1:53'],
  );

  err = await loadError(loadConfig({ file: write('resolvConf: none.conf\n') }));
  t.equal(err.code, 'ROJE_ERR_CONFIG_NO_UPSTREAM');
  t.match(err.message, /none\.conf lists no nameserver; set `upstreams`/);

  err = await loadError(loadConfig({ file: write('resolvConf: gone.conf\n') }));
  t.equal(err.code, 'ROJE_ERR_CONFIG_NO_UPSTREAM');
  t.match(err.message, /gone\.conf cannot be read \(no such file or directory \(ENOENT\)\)/);

  // Configured upstreams mean resolv.conf is not even read.
  cfg = await loadConfig({ file: write('resolvConf: gone.conf\nupstreams: [udp://127.0.0.1:5300]\n') });
  t.equal(cfg.upstreamsFrom, 'config');
});

t.test('a wildcard listener on port 53 skips loopback and local nameservers', async (t) => {
  const resolv = 'nameserver 127.0.0.53\nnameserver 10.9.8.7\nnameserver ::1\nnameserver 127.0.0.2\n';
  const deps = { readFile: async () => resolv, localAddresses: () => ['127.0.0.1', '10.9.8.7', '::1'] };
  let cfg = await loadConfig({ flags: { listen: ['0.0.0.0:53'] } }, deps);
  t.same(
    cfg.upstreams.map((u) => u.url),
    ['udp://[::1]:53'],
    'IPv4 wildcard leaves IPv6 nameservers',
  );
  const err = await loadError(loadConfig({ flags: { listen: ['[::]:53'] } }, deps));
  t.equal(err.code, 'ROJE_ERR_CONFIG_NO_UPSTREAM', ':: takes both families');
  cfg = await loadConfig({ flags: { listen: ['0.0.0.0:5353'] } }, deps);
  t.equal(cfg.upstreams.length, 4, 'another port: no loop');
});
