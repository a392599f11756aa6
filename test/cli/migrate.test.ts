/**
 * `roje migrate --config FILE`: the store's schema brought to this roje's version, from and to
 * printed, for the SQLite file and for a shared PostgreSQL (whose password is never printed); and
 * `roje report` reading that PostgreSQL (the city, or --instance).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { migrate } from '../../src/cli/migrate.js';
import { report } from '../../src/cli/report.js';
import { SCHEMA_VERSION } from '../../src/stats/db.js';
import { Database } from '../../src/stats/sqlite.js';
import { POSTGRES_SCHEMA_VERSION } from '../../src/store/postgres-schema.js';
import { capture } from '../helpers/io.js';
import { startPostgres } from '../helpers/postgres.js';

const UPSTREAM = 'upstreams: [udp://127.0.0.1:5300]';

t.test('SQLite: a new file, then current; an old file from its version', async (t) => {
  const dir = t.testdir({
    'roje.yaml': `${UPSTREAM}\nstats: { path: stats.db }\n`,
    'old.yaml': `${UPSTREAM}\nstats: { path: old.db }\n`,
  });
  let c = capture();
  t.equal(await migrate(['--config', join(dir, 'roje.yaml')], c.io), 0, c.err());
  t.equal(c.out(), `${join(dir, 'stats.db')}: schema migrated from version 0 to ${SCHEMA_VERSION}\n`);
  c = capture();
  t.equal(await migrate(['--config', join(dir, 'roje.yaml')], c.io), 0);
  t.equal(c.out(), `${join(dir, 'stats.db')}: schema version ${SCHEMA_VERSION}, already current\n`);

  const old = new Database(join(dir, 'old.db'));
  old.exec(
    'CREATE TABLE hourly_totals (hour TEXT PRIMARY KEY, queries INTEGER NOT NULL DEFAULT 0, blocked INTEGER NOT NULL DEFAULT 0, cache_hits INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID',
  );
  old.close();
  // Version 0 with a stray table: the first migration cannot run; said, exit 1, nothing half done.
  c = capture();
  t.equal(await migrate(['--config', join(dir, 'old.yaml')], c.io), 1);
  t.match(c.err(), /roje migrate: cannot use the statistics database .*old\.db/);
});

t.test(
  'usage: --config is required; a config without a statistics file has nothing to migrate',
  async (t) => {
    const dir = t.testdir({ 'mem.yaml': `${UPSTREAM}\n` });
    let c = capture();
    t.equal(await migrate([], c.io), 2);
    t.match(c.err(), /--config FILE is missing\nUsage: roje migrate --config FILE/);
    c = capture();
    t.equal(await migrate(['--config', join(dir, 'mem.yaml')], c.io), 2);
    t.match(c.err(), /nothing to migrate/);
    c = capture();
    t.equal(await migrate(['--config', join(dir, 'missing.yaml')], c.io), 2);
  },
);

t.test('PostgreSQL: from 0, then current; the password never printed', async (t) => {
  const pg = await startPostgres();
  t.teardown(() => pg.stop());
  const dir = t.testdir({});
  writeFileSync(join(dir, 'url'), `${pg.url}\n`);
  writeFileSync(join(dir, 'roje.yaml'), `${UPSTREAM}\nstore: { urlFile: url }\n`);
  const where = `postgres://127.0.0.1:${pg.port}/roje`;
  let c = capture();
  t.equal(await migrate(['--config', join(dir, 'roje.yaml')], c.io), 0, c.err());
  t.equal(c.out(), `${where}: schema migrated from version 0 to ${POSTGRES_SCHEMA_VERSION}\n`);
  c = capture();
  t.equal(await migrate(['--config', join(dir, 'roje.yaml')], c.io), 0);
  t.equal(c.out(), `${where}: schema version ${POSTGRES_SCHEMA_VERSION}, already current\n`);
  t.equal((await pg.psql('SELECT version FROM roje_schema')).trim(), String(POSTGRES_SCHEMA_VERSION));

  // roje report reads the same store: the city's, or one instance's.
  await pg.psql(`INSERT INTO hourly_totals (hour, instance, queries, blocked) VALUES
    ('2026-10-05T10:00:00Z', 'a', 10, 1), ('2026-10-05T10:00:00Z', 'b', 5, 2)`);
  const month = async (...extra: string[]) => {
    const r = capture();
    t.equal(
      await report(['--month', '2026-10', '--config', join(dir, 'roje.yaml'), ...extra], r.io),
      0,
      r.err(),
    );
    return JSON.parse(r.out());
  };
  t.match(await month(), { queries: { total: 15, blocked: 3 } }, 'the city');
  t.match(
    await month('--instance', 'b'),
    { instance: 'b', queries: { total: 5, blocked: 2 } },
    'one instance',
  );

  await pg.stopServer();
  c = capture();
  t.equal(await migrate(['--config', join(dir, 'roje.yaml')], c.io), 1, 'unreachable: exit 1');
  t.match(c.err(), /ROJE_ERR_STORE_UNAVAILABLE|cannot be reached/);
  t.notMatch(c.out() + c.err(), pg.password);
});
