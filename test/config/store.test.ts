/**
 * The `store` section: the URL from url, urlFile (a Secret's file) or ROJE_STORE_URL, each checked and
 * named in errors without its password; the instance name; the spool; and the password kept out of the
 * config view (GET /api/v1/config, check-config) and of every error message.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { redactConfig } from '../../src/config/redact.js';
import { defaultInstance, STORE_URL_ENV } from '../../src/config/sections/store.js';
import { configChecker } from '../helpers/config.js';

const dir = t.testdir({});
const FILE = join(dir, 'roje.yaml');
const { load, fail } = configChecker(FILE);
const SECRET = 's3cr3t-Pa55';
const URL = `postgres://roje:${SECRET}@db.internal:5432/roje`;

t.test('defaults: the embedded SQLite, the host name, a spool in the stateDir', async (t) => {
  const saved = process.env[STORE_URL_ENV];
  delete process.env[STORE_URL_ENV];
  t.teardown(() => {
    if (saved !== undefined) process.env[STORE_URL_ENV] = saved;
  });
  const cfg = await load({});
  t.same(cfg.store, {
    url: null,
    instance: defaultInstance(),
    spool: { path: null, maxBytes: 256 * 1024 * 1024 },
    pollIntervalMs: 30_000,
    poolSize: 4,
  });
  t.equal(defaultInstance(), defaultInstance(hostname()));
  t.equal(defaultInstance('gw 1.city/x'), 'gw-1.city-x', 'a host name made a valid instance name');
  t.equal((await load({ stateDir: 'state' })).store.spool.path, join(dir, 'state', 'store-spool'));
  const set = await load({
    store: {
      url: URL,
      instance: 'gw-1',
      spool: { path: 'spool', maxSize: '1MiB' },
      pollInterval: '5s',
      poolSize: 2,
    },
  });
  t.same(set.store, {
    url: URL,
    instance: 'gw-1',
    spool: { path: join(dir, 'spool'), maxBytes: 1024 * 1024 },
    pollIntervalMs: 5000,
    poolSize: 2,
  });
  t.equal((await load({ store: { url: 'postgresql://h/db' } })).store.url, 'postgresql://h/db');
});

t.test('urlFile: the first line of a file, relative to the config; unreadable names the file', async (t) => {
  writeFileSync(join(dir, 'store-url'), `${URL}\n# the rest is ignored\n`);
  t.equal((await load({ store: { urlFile: 'store-url' } })).store.url, URL);
  const missing = await fail({ store: { urlFile: 'no-such-file' } });
  t.equal(missing.key, 'store.urlFile');
  t.match(missing.message, FILE);
  t.match(missing.message, join(dir, 'no-such-file'));
  t.match(missing.message, /no such file/);
  writeFileSync(join(dir, 'empty-url'), '\n');
  t.match((await fail({ store: { urlFile: 'empty-url' } })).message, /empty/);
  writeFileSync(join(dir, 'bad-url'), `mysql://roje:${SECRET}@h/db\n`);
  const bad = await fail({ store: { urlFile: 'bad-url' } });
  t.match(bad.message, /postgres:\/\//);
  t.notMatch(bad.message, SECRET, 'the password of a wrong URL is not shown either');
  if (process.getuid?.() !== 0) {
    writeFileSync(join(dir, 'locked-url'), URL);
    chmodSync(join(dir, 'locked-url'), 0o000);
    t.match((await fail({ store: { urlFile: 'locked-url' } })).message, /permission denied/);
  }
});

t.test(
  'mistakes: both url and urlFile, a scheme that is not postgres, a bad instance or interval',
  async (t) => {
    const both = await fail({ store: { url: URL, urlFile: 'store-url' } });
    t.equal(both.key, 'store.url');
    t.match(both.message, /both/);
    t.notMatch(both.message, SECRET);
    const scheme = await fail({ store: { url: `mysql://roje:${SECRET}@h/db` } });
    t.equal(scheme.key, 'store.url');
    t.match(scheme.message, /expected a postgres:\/\/ or postgresql:\/\/ URL/);
    t.notMatch(scheme.message, SECRET, 'the password is not echoed');
    t.equal((await fail({ store: { instance: 'has space' } })).key, 'store.instance');
    t.equal((await fail({ store: { instance: 'x'.repeat(65) } })).key, 'store.instance');
    t.equal((await fail({ store: { pollInterval: '1s' } })).key, 'store.pollInterval');
    t.equal((await fail({ store: { pollInterval: '2m' } })).key, 'store.pollInterval');
    t.equal((await fail({ store: { poolSize: 0 } })).key, 'store.poolSize');
    t.equal((await fail({ store: { spool: { maxSize: 0 } } })).key, 'store.spool.maxSize');
  },
);

t.test('ROJE_STORE_URL is read when neither url nor urlFile is set', async (t) => {
  const saved = process.env[STORE_URL_ENV];
  t.teardown(() => {
    if (saved === undefined) delete process.env[STORE_URL_ENV];
    else process.env[STORE_URL_ENV] = saved;
  });
  process.env[STORE_URL_ENV] = URL;
  t.equal((await load({})).store.url, URL);
  t.equal(
    (await load({ store: { url: 'postgres://other/db' } })).store.url,
    'postgres://other/db',
    'url wins',
  );
  process.env[STORE_URL_ENV] = `http://roje:${SECRET}@h/`;
  const bad = await fail({});
  t.equal(bad.key, STORE_URL_ENV);
  t.notMatch(bad.message, SECRET);
});

t.test('the config view never shows the password', async (t) => {
  const cfg = await load({ store: { url: URL } });
  const shown = JSON.stringify(redactConfig(cfg));
  t.notMatch(shown, SECRET);
  t.match(shown, 'postgres://db.internal:5432/roje');
});
