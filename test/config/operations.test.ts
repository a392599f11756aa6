import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { configChecker } from '../helpers/config.js';

// The operations keys (stateDir, admin, metrics, stats): normalized forms and errors naming the key.

const dir = t.testdir({});
const FILE = join(dir, 'roje.yaml');
const UP = ['udp://127.0.0.1:5300'];
const HASH = 'a'.repeat(64);

const { load, fail } = configChecker(FILE, UP);

t.test('stateDir and stats.path are relative to the config file', async (t) => {
  const cfg = await load({ stateDir: 'state' });
  t.equal(cfg.stateDir, join(dir, 'state'));
  t.equal(cfg.stats.path, join(dir, 'state', 'stats.db'));
  t.equal((await load({ stats: { path: 'other.db' } })).stats.path, join(dir, 'other.db'));
  t.equal((await load({})).stats.path, ':memory:', 'no stateDir: memory only');
  t.equal((await fail({ stats: { retentionDays: 0 } })).key, 'stats.retentionDays');
  t.equal((await fail({ stats: { flushInterval: '10ms' } })).key, 'stats.flushInterval');
});

t.test('admin: listen, the --admin flag, tokens inline and from a file', async (t) => {
  t.same((await load({})).admin.listen, { host: '127.0.0.1', port: 8053 }, 'loopback by default');
  t.equal((await load({ admin: { listen: null } })).admin.listen, null);
  t.same((await load({}, { admin: '127.0.0.1:0' })).admin.listen, { host: '127.0.0.1', port: 0 });
  const flag = await fail({}, { admin: 'localhost' });
  t.match(flag.message, /--admin/);
  t.equal((await fail({ admin: { listen: '8053' } })).key, 'admin.listen');

  writeFileSync(join(dir, 'tokens.yaml'), `- { name: bora, role: auditor, sha256: ${'b'.repeat(64)} }\n`);
  const cfg = await load({
    admin: { tokens: [{ name: 'alba', role: 'admin', sha256: HASH }], tokensFile: 'tokens.yaml' },
  });
  t.same(cfg.admin.tokens, [
    { name: 'alba', role: 'admin', sha256: HASH },
    { name: 'bora', role: 'auditor', sha256: 'b'.repeat(64) },
  ]);
  let err = await fail({ admin: { tokens: [{ name: 'x', role: 'root', sha256: HASH }] } });
  t.equal(err.key, 'admin.tokens[0].role');
  t.match(err.message, /one of admin, operator, auditor/);
  err = await fail({ admin: { tokens: [{ name: 'x', role: 'admin', sha256: 'secret-token' }] } });
  t.equal(err.key, 'admin.tokens[0].sha256');
  t.match(err.message, /SHA-256/);
  err = await fail({ admin: { tokensFile: 'missing.yaml' } });
  t.equal(err.key, 'admin.tokensFile');
  t.match(err.message, /cannot read/);
  writeFileSync(join(dir, 'bad-tokens.yaml'), '- { name: x, role: admin, token: plain }\n');
  err = await fail({ admin: { tokensFile: 'bad-tokens.yaml' } });
  t.equal(err.key, 'admin.tokensFile');
  t.match(err.message, /YAML list of \{ name, role/);
});

t.test('metrics.listen', async (t) => {
  t.equal((await load({})).metrics.listen, null);
  t.same((await load({ metrics: { listen: '[::1]:9153' } })).metrics.listen, { host: '::1', port: 9153 });
  t.equal((await fail({ metrics: { listen: 'everywhere' } })).key, 'metrics.listen');
});
