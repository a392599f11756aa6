/**
 * The statistics the transparency report needs: distinct blocked names (sketches written each flush and
 * merged), uptime per hour, list changes and self-test results, retention of each, and the migration
 * of a database written by the previous schema (its data kept).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { Answer, Query } from '../../src/pipeline/types.js';
import { SCHEMA_VERSION } from '../../src/stats/db.js';
import { openStatsReader } from '../../src/stats/period.js';
import { createStatsRecorder } from '../../src/stats/recorder.js';
import { Database } from '../../src/stats/sqlite.js';
import { openStatsStore } from '../../src/stats/store.js';
import { stageQuery } from '../helpers/stage.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.parse('2026-10-05T10:30:00Z');
const OCTOBER = { from: '2026-10-01T00:00:00Z', to: '2026-11-01T00:00:00Z' };
const logger = { error() {}, warn() {}, info() {} } as never;

const q = (name: string) => stageQuery(name);
const blocked = (venue: number, categories: number): Answer => ({
  wire: Buffer.alloc(0),
  source: 'policy',
  rcode: 0,
  block: { categories, venue },
});
const allowed: Answer = { wire: Buffer.alloc(0), source: 'upstream', rcode: 0 };

async function setup(t: Test, path: string, clock: { now: number }, retentionDays?: number) {
  const recorder = createStatsRecorder(
    { venues: () => ['Library', 'Cafe'], categories: () => ['adult', 'gambling', 'abuse'] },
    { now: () => clock.now },
  );
  t.teardown(() => recorder.close());
  const store = await openStatsStore(
    { path, flushIntervalMs: 0, ...(retentionDays !== undefined ? { retentionDays } : {}) },
    { logger, drain: () => recorder.drain(), now: () => clock.now },
  );
  t.teardown(() => store.close());
  recorder.useSalt(store.salt);
  return { store, recorder };
}

t.test(
  'distinct blocked names per category and venue, merged across flushes, days and restarts',
  async (t) => {
    const path = join(t.testdir(), 'stats.db');
    const clock = { now: T0 };
    const first = await setup(t, path, clock);
    const salt = Buffer.from(first.store.salt).toString('hex');
    first.recorder.onAnswer(q('a.porn.example'), blocked(0, 0b001));
    first.recorder.onAnswer(q('b.porn.example'), blocked(0, 0b001));
    first.recorder.onAnswer(q('a.porn.example'), blocked(0, 0b001));
    first.recorder.onAnswer(q('casino.example'), blocked(1, 0b010));
    first.recorder.onAnswer(q('both.example'), blocked(1, 0b011));
    first.recorder.onAnswer(q('www.example.test'), allowed);
    t.equal(await first.store.flush(), true);
    // The same name again after the flush, and a new one the next day: the day's sketch merges.
    first.recorder.onAnswer(q('a.porn.example'), blocked(0, 0b001));
    clock.now += DAY;
    first.recorder.onAnswer(q('c.porn.example'), blocked(1, 0b001));
    await first.store.close();

    const second = await setup(t, path, clock);
    t.equal(Buffer.from(second.store.salt).toString('hex'), salt, 'the salt is kept in the database');
    second.recorder.onAnswer(q('A.PORN.EXAMPLE'), blocked(1, 0b001));
    await second.store.flush();
    const all = await second.store.period(OCTOBER);
    t.same(all.distinct, [
      { category: 'adult', estimate: 4 },
      { category: 'gambling', estimate: 2 },
    ]);
    t.same((await second.store.period({ ...OCTOBER, venue: 'Library' })).distinct, [
      { category: 'adult', estimate: 2 },
    ]);
    t.same((await second.store.period({ ...OCTOBER, venue: 'Cafe' })).distinct, [
      { category: 'adult', estimate: 3 },
      { category: 'gambling', estimate: 2 },
    ]);
    t.match(all, {
      queries: 9,
      blocked: 8,
      // The queries carry no venue index here: they count for clients of no venue.
      venues: [
        { venue: '(none)', queries: 9, blocked: 0 },
        { venue: 'Cafe', queries: 0, blocked: 4 },
        { venue: 'Library', queries: 0, blocked: 4 },
      ],
    });
    await second.store.close();

    const bytes =
      readFileSync(path).toString('latin1') + readFileSync(`${path}-wal`, { flag: 'a+' }).toString('latin1');
    t.notMatch(bytes, /porn|casino|both\.example/, 'no blocked name in the database file');
  },
);

t.test('without a salt (stats before the store opened) only counts are kept', async (t) => {
  const recorder = createStatsRecorder({ venues: () => ['L'], categories: () => ['adult'] });
  t.teardown(() => recorder.close());
  recorder.onAnswer(q('x.example'), blocked(0, 1));
  recorder.onAnswer({} as Query, blocked(0, 1));
  const [hour] = recorder.drain();
  t.equal(hour?.sketches, undefined);
  t.equal(hour?.blocked, 2);
});

t.test('uptime: each flush adds the seconds since the last, split by hour', async (t) => {
  const path = join(t.testdir(), 'stats.db');
  const clock = { now: Date.parse('2026-10-05T10:30:00Z') };
  const { store } = await setup(t, path, clock);
  clock.now += 45 * 60_000; // 10:30 -> 11:15
  await store.flush();
  clock.now += 30 * 60_000; // -> 11:45
  await store.close();
  const db = new Database(path, { readonly: true });
  t.teardown(() => db.close());
  t.same(db.prepare('SELECT hour, served_seconds AS s FROM hourly_totals ORDER BY hour').all(), [
    { hour: '2026-10-05T10:00:00Z', s: 1800 },
    { hour: '2026-10-05T11:00:00Z', s: 2700 },
  ]);
});

t.test('list changes and self-test results are recorded, read back by period, and cleaned', async (t) => {
  const path = join(t.testdir(), 'stats.db');
  const clock = { now: T0 };
  const { store } = await setup(t, path, clock);
  store.recordListChange({
    at: '2026-10-02T08:00:00.000Z',
    version: 'abcdef0123456789abcdef',
    entries: 1234,
    sources: 3,
    reason: 'lists reloaded\n(feeds: x)',
  });
  store.recordSelfTest({
    at: '2026-10-03T00:00:00.000Z',
    suite: 'friendly-wifi',
    passed: 20,
    failed: 0,
    sha256: 'aa'.repeat(32),
  });
  store.recordSelfTest({
    at: '2026-10-04T00:00:00.000Z',
    suite: 'friendly-wifi',
    passed: 18,
    failed: 2,
    sha256: 'bb'.repeat(32),
  });
  store.recordSelfTest({
    at: '2026-09-30T23:59:59.000Z',
    suite: 'friendly-wifi',
    passed: 1,
    failed: 0,
    sha256: 'cc',
  });
  // Queued for the next batch: a flush writes them (the admin API reads after one).
  await store.flush();
  const p = await store.period(OCTOBER);
  t.same(p.listChanges, [
    {
      at: '2026-10-02T08:00:00.000Z',
      version: 'abcdef0123456789abcdef',
      entries: 1234,
      sources: 3,
      reason: 'lists reloaded(feeds: x)',
    },
  ]);
  t.same(
    p.selfTests.map((s) => [s.at, s.failed]),
    [
      ['2026-10-03T00:00:00.000Z', 0],
      ['2026-10-04T00:00:00.000Z', 2],
    ],
  );
});

t.test('retention deletes old sketches, uptime, list changes and self-tests', async (t) => {
  const path = join(t.testdir(), 'stats.db');
  const clock = { now: T0 };
  const first = await setup(t, path, clock, 10);
  first.recorder.onAnswer(q('old.example'), blocked(0, 1));
  first.store.recordListChange({
    at: new Date(T0).toISOString(),
    version: 'v1',
    entries: 1,
    sources: 1,
    reason: 'lists loaded',
  });
  first.store.recordSelfTest({
    at: new Date(T0).toISOString(),
    suite: 's',
    passed: 1,
    failed: 0,
    sha256: 'x',
  });
  clock.now += 60_000;
  await first.store.close();
  const before = new Database(path, { readonly: true });
  t.same(
    before
      .prepare(
        'SELECT (SELECT count(*) FROM daily_distinct) AS d, (SELECT sum(served_seconds) FROM hourly_totals) AS s',
      )
      .get(),
    { d: 1, s: 60 },
  );
  before.close();

  // A restart eleven days later: retention (10 days) runs at open.
  clock.now += 11 * DAY;
  const second = await setup(t, path, clock, 10);
  second.recorder.onAnswer(q('new.example'), blocked(0, 1));
  clock.now += 30_000;
  await second.store.flush();
  const p = await second.store.period(OCTOBER);
  t.same(p.distinct, [{ category: 'adult', estimate: 1 }], 'only the recent day remains');
  t.same(p.listChanges, []);
  t.same(p.selfTests, []);
  t.equal(p.servedSeconds, 30, 'only the recent uptime remains');
});

// The schema as roje 0.1.0 (schema version 1) wrote it.
const V1 = `CREATE TABLE hourly_totals (hour TEXT PRIMARY KEY, queries INTEGER NOT NULL DEFAULT 0, blocked INTEGER NOT NULL DEFAULT 0, cache_hits INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE TABLE hourly_venues (hour TEXT NOT NULL, venue TEXT NOT NULL, blocked INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (hour, venue)) WITHOUT ROWID;
CREATE TABLE hourly_blocks (hour TEXT NOT NULL, venue TEXT NOT NULL, category TEXT NOT NULL, action TEXT NOT NULL, count INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (hour, venue, category, action)) WITHOUT ROWID;
CREATE TABLE reports (id INTEGER PRIMARY KEY, at TEXT NOT NULL, venue TEXT NOT NULL, category TEXT NOT NULL, name TEXT, message TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'accepted', 'rejected')), reviewed_by TEXT, reviewed_at TEXT);
CREATE INDEX reports_status ON reports (status, id);`;

t.test('a schema 1 database is migrated in place and keeps its data', async (t) => {
  const path = join(t.testdir(), 'stats.db');
  const old = new Database(path);
  old.pragma('journal_mode = WAL');
  old.exec(V1);
  old.exec(`INSERT INTO hourly_totals VALUES ('2026-10-01T05:00:00Z', 40, 7, 3);
    INSERT INTO hourly_venues VALUES ('2026-10-01T05:00:00Z', 'Library', 7);
    INSERT INTO hourly_blocks VALUES ('2026-10-01T05:00:00Z', 'Library', 'adult', 'blocked', 7);
    INSERT INTO reports (at, venue, category, name, message) VALUES ('2026-10-01T05:10:00Z', 'Library', 'adult', 'x.example', 'hi');`);
  old.pragma('user_version = 1');
  old.close();

  const clock = { now: T0 };
  const { store, recorder } = await setup(t, path, clock);
  t.equal(SCHEMA_VERSION, 5);
  const p = await store.period(OCTOBER);
  t.match(p, {
    queries: 40,
    blocked: 7,
    blocks: [{ venue: 'Library', category: 'adult', count: 7 }],
    distinct: [],
  });
  t.equal((await store.listReports()).total, 1, 'reports kept');
  t.equal(store.salt.length, 16, 'a salt was made');
  recorder.onAnswer(q('y.example'), blocked(0, 1));
  await store.flush();
  t.match(await store.period(OCTOBER), { queries: 41, distinct: [{ category: 'adult', estimate: 1 }] });
  await store.close();
  const raw = new Database(path, { readonly: true });
  t.equal(raw.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  for (const table of ['hourly_totals', 'hourly_venues', 'hourly_blocks', 'reports']) {
    t.same(
      raw.prepare(`SELECT DISTINCT instance FROM ${table}`).all(),
      [{ instance: 'local' }],
      `${table}: the old rows got the local instance's name at open`,
    );
  }
  t.same(raw.prepare("SELECT count(*) AS n FROM roje_meta WHERE key = 'unnamed_rows'").get(), { n: 0 });
  raw.close();
});

t.test('the reader opens an existing file only', async (t) => {
  const dir = t.testdir();
  t.throws(() => openStatsReader(join(dir, 'missing.db')), { code: 'ROJE_ERR_STATS_OPEN' });
  t.throws(() => openStatsReader(':memory:'), { code: 'ROJE_ERR_STATS_OPEN' });
});
