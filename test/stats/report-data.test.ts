/**
 * What the honest transparency report reads from the store: the first start (kept once), queries per
 * venue, self-tests per venue (and old rows kept by the migration), list changes without restarts,
 * wrong-block reports accepted and rejected per category, and a month in a zone other than UTC.
 */
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { Answer, Query } from '../../src/pipeline/types.js';
import { buildTransparencyReport } from '../../src/report/transparency.js';
import { SCHEMA_VERSION } from '../../src/stats/db.js';
import { openStatsReader } from '../../src/stats/period.js';
import { createStatsRecorder } from '../../src/stats/recorder.js';
import { Database } from '../../src/stats/sqlite.js';
import { openStatsStore } from '../../src/stats/store.js';

const HOUR = 3_600_000;
const logger = { error() {}, warn() {}, info() {} } as never;
const at = (venue: number) => ({ venue, name: 'x.example' }) as Query;
const allowed: Answer = { wire: Buffer.alloc(0), source: 'upstream', rcode: 0 };
const blocked = (venue: number): Answer => ({
  wire: Buffer.alloc(0),
  source: 'policy',
  rcode: 0,
  block: { categories: 1, venue },
});

async function setup(t: Test, path: string, clock: { now: number }) {
  const recorder = createStatsRecorder(
    { venues: () => ['Library', 'Cafe'], categories: () => ['adult'] },
    { now: () => clock.now },
  );
  const store = await openStatsStore(
    { path, flushIntervalMs: 0 },
    { logger, drain: () => recorder.drain(), now: () => clock.now },
  );
  t.teardown(async () => {
    recorder.close();
    await store.close();
  });
  return { store, recorder };
}

t.test('the first start is recorded once and never overwritten', async (t) => {
  const path = join(t.testdir(), 'stats.db');
  const clock = { now: Date.parse('2026-10-06T10:00:00Z') };
  const first = await setup(t, path, clock);
  clock.now += 10 * 60_000;
  await first.store.close();
  clock.now = Date.parse('2026-10-20T08:00:00Z');
  const second = await setup(t, path, clock);
  clock.now += 60 * 60_000;
  await second.store.flush();
  t.equal(
    (await second.store.period({ from: '2026-10-01T00:00:00Z', to: '2026-11-01T00:00:00Z' })).firstStart,
    '2026-10-06T10:00:00.000Z',
  );
  await second.store.close();

  // Deployed on the 6th: October's uptime counts from the 6th, not from the 1st.
  const reader = openStatsReader(path);
  t.teardown(() => reader.close());
  const report = await buildTransparencyReport(reader, {
    month: '2026-10',
    now: Date.parse('2026-10-20T09:00:00Z'),
  });
  t.match(report.uptime, {
    firstStart: '2026-10-06T10:00:00Z',
    from: '2026-10-06T10:00:00Z',
    to: '2026-10-20T09:00:00Z',
    servedSeconds: 70 * 60,
    periodSeconds: (14 * 24 - 1) * 3600,
  });
  t.equal(report.uptime.percent, 0.3, '70 minutes served over the 335 hours it existed');
});

t.test('answered queries per venue, and self-tests per venue', async (t) => {
  const path = join(t.testdir(), 'stats.db');
  const clock = { now: Date.parse('2026-10-06T10:00:00Z') };
  const { store, recorder } = await setup(t, path, clock);
  for (let i = 0; i < 5; i++) recorder.onAnswer(at(0), allowed);
  recorder.onAnswer(at(0), blocked(0));
  recorder.onAnswer(at(1), allowed);
  recorder.onAnswer(at(-1), allowed);
  await store.flush();
  const digest = 'ab'.repeat(32);
  store.recordSelfTest({
    at: '2026-10-06T10:01:00Z',
    suite: 'friendly-wifi',
    passed: 9,
    failed: 0,
    sha256: digest,
    venue: 'Library',
  });
  store.recordSelfTest({
    at: '2026-10-06T10:02:00Z',
    suite: 'friendly-wifi',
    passed: 6,
    failed: 3,
    sha256: digest,
    venue: 'Cafe',
  });
  store.recordSelfTest({
    at: '2026-10-06T10:03:00Z',
    suite: 'friendly-wifi',
    passed: 9,
    failed: 0,
    sha256: digest,
    venue: null,
  });
  await store.flush();
  const october = { from: '2026-10-01T00:00:00Z', to: '2026-11-01T00:00:00Z' };
  t.same((await store.period({ ...october, venue: 'Library' })).queries, 6);
  t.same((await store.period(october)).venues, [
    { venue: '(none)', queries: 1, blocked: 0 },
    { venue: 'Cafe', queries: 1, blocked: 0 },
    { venue: 'Library', queries: 6, blocked: 1 },
  ]);
  t.same(
    (await store.period({ ...october, venue: 'Cafe' })).selfTests.map((s) => [s.venue, s.failed]),
    [['Cafe', 3]],
    'a venue report shows its own runs',
  );
  const report = await buildTransparencyReport(store, { month: '2026-10', now: clock.now + HOUR });
  t.same(
    report.selfTests.venues.map((v) => [v.venue, v.runs, v.failures]),
    [
      ['Cafe', 1, 1],
      ['Library', 1, 0],
      [null, 1, 0],
    ],
  );
  t.match(report.blocked.venues, [
    { venue: '(none)' },
    { venue: 'Cafe' },
    { venue: 'Library', queries: 6, blockedPercent: 16.67 },
  ]);
});

// The tables as schema 2 left them (only the ones migration 3 touches, and meta).
const V2 = `CREATE TABLE hourly_totals (hour TEXT PRIMARY KEY, queries INTEGER NOT NULL DEFAULT 0, blocked INTEGER NOT NULL DEFAULT 0, cache_hits INTEGER NOT NULL DEFAULT 0, served_seconds REAL NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE TABLE hourly_venues (hour TEXT NOT NULL, venue TEXT NOT NULL, blocked INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (hour, venue)) WITHOUT ROWID;
CREATE TABLE hourly_blocks (hour TEXT NOT NULL, venue TEXT NOT NULL, category TEXT NOT NULL, action TEXT NOT NULL, count INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (hour, venue, category, action)) WITHOUT ROWID;
CREATE TABLE reports (id INTEGER PRIMARY KEY, at TEXT NOT NULL, venue TEXT NOT NULL, category TEXT NOT NULL, name TEXT, message TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'accepted', 'rejected')), reviewed_by TEXT, reviewed_at TEXT);
CREATE TABLE daily_distinct (day TEXT NOT NULL, venue TEXT NOT NULL, category TEXT NOT NULL, registers BLOB NOT NULL, PRIMARY KEY (day, venue, category)) WITHOUT ROWID;
CREATE TABLE list_changes (id INTEGER PRIMARY KEY, at TEXT NOT NULL, version TEXT NOT NULL, entries INTEGER NOT NULL, sources INTEGER NOT NULL, reason TEXT NOT NULL);
CREATE TABLE self_tests (id INTEGER PRIMARY KEY, at TEXT NOT NULL, suite TEXT NOT NULL, passed INTEGER NOT NULL, failed INTEGER NOT NULL, sha256 TEXT NOT NULL);
CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('hll_salt', randomblob(16));`;

t.test(
  'a schema 2 database is migrated: old self-tests kept (no venue), first start from its first hour',
  async (t) => {
    const path = join(t.testdir(), 'stats.db');
    const old = new Database(path);
    old.exec(V2);
    old.exec(`INSERT INTO hourly_totals VALUES ('2026-10-03T05:00:00Z', 0, 0, 0, 0), ('2026-10-06T14:00:00Z', 40, 7, 3, 1800);
    INSERT INTO hourly_venues VALUES ('2026-10-06T14:00:00Z', 'Library', 7);
    INSERT INTO self_tests (at, suite, passed, failed, sha256) VALUES ('2026-10-06T14:10:00.000Z', 'friendly-wifi', 24, 0, '2026-10-06T14-10-00-000Z');`);
    old.pragma('user_version = 2');
    old.close();

    const clock = { now: Date.parse('2026-10-20T08:00:00Z') };
    const { store } = await setup(t, path, clock);
    const p = await store.period({ from: '2026-10-01T00:00:00Z', to: '2026-11-01T00:00:00Z' });
    t.equal(p.firstStart, '2026-10-06T14:00:00Z', 'the first hour served, not the restart of today');
    t.same(
      p.selfTests.map((s) => [s.venue, s.passed]),
      [[null, 24]],
      'the old run kept, as clients of no venue',
    );
    t.same(
      p.venues,
      [{ venue: 'Library', queries: 0, blocked: 7 }],
      'old hours: blocks kept, queries unknown (0)',
    );
    await store.close();
    const raw = new Database(path, { readonly: true });
    t.teardown(() => raw.close());
    t.equal(raw.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    t.same(
      raw.prepare('SELECT instance, first_start AS firstStart FROM roje_instances').all(),
      [{ instance: 'local', firstStart: '2026-10-06T14:00:00Z' }],
      "the restart did not overwrite it; the old first start is the local instance's",
    );
  },
);

t.test('list history: content changes only; a restart with the same lists is not one', async (t) => {
  const path = join(t.testdir(), 'stats.db');
  const clock = { now: Date.parse('2026-10-20T08:00:00Z') };
  const { store } = await setup(t, path, clock);
  const change = (at: string, version: string, reason: string) =>
    store.recordListChange({ at, version, entries: version.length, sources: 2, reason });
  change('2026-09-29T00:00:00Z', 'v1', 'lists loaded');
  change('2026-10-02T00:00:00Z', 'v1', 'lists loaded'); // restart: same version as in force
  change('2026-10-05T00:00:00Z', 'v22', 'lists recompiled (feeds: adult)');
  change('2026-10-07T00:00:00Z', 'v22', 'lists loaded'); // restart again
  change('2026-10-09T00:00:00Z', 'v1', 'lists reloaded'); // back to v1: a change
  await store.flush();
  const r = await buildTransparencyReport(store, { month: '2026-10', now: clock.now });
  t.same(
    r.listUpdates.map((u) => [u.at, u.version, u.entries, u.reason]),
    [
      ['2026-10-05T00:00:00Z', 'v22', 3, 'lists recompiled (feeds: adult)'],
      ['2026-10-09T00:00:00Z', 'v1', 2, 'lists reloaded'],
    ],
  );
});

t.test('wrong-block reports received, accepted and rejected per category in the month', async (t) => {
  const path = join(t.testdir(), 'stats.db');
  const clock = { now: Date.parse('2026-09-30T20:00:00Z') };
  const { store } = await setup(t, path, clock);
  const september = await store.addReport({ venue: 'Library', category: 'adult', name: 'a.example' });
  clock.now = Date.parse('2026-10-02T09:00:00Z');
  const a = await store.addReport({ venue: 'Library', category: 'adult', name: 'b.example' });
  const b = await store.addReport({ venue: 'Cafe', category: 'adult,gambling', name: 'c.example' });
  const c = await store.addReport({ venue: 'Cafe', category: 'gambling', name: 'd.example' });
  await store.addReport({ venue: 'Cafe', category: 'malware', name: 'e.example' }); // left open
  clock.now = Date.parse('2026-10-03T09:00:00Z');
  await store.reviewReport(september.id, 'accepted', 'ops'); // reviewed in October: counts there
  await store.reviewReport(a.id, 'rejected', 'ops');
  await store.reviewReport(b.id, 'accepted', 'ops');
  clock.now = Date.parse('2026-11-01T09:00:00Z');
  await store.reviewReport(c.id, 'rejected', 'ops'); // reviewed in November

  const r = await buildTransparencyReport(store, { month: '2026-10', now: clock.now });
  t.same(r.appeals, {
    received: 4,
    accepted: 2,
    rejected: 1,
    byCategory: [
      { category: 'adult', received: 2, accepted: 2, rejected: 1 },
      { category: 'gambling', received: 2, accepted: 1, rejected: 0 },
      { category: 'malware', received: 1, accepted: 0, rejected: 0 },
    ],
  });
  const nov = await buildTransparencyReport(store, { month: '2026-11', now: clock.now });
  t.same(nov.appeals.byCategory, [{ category: 'gambling', received: 0, accepted: 0, rejected: 1 }]);
  const cafe = await buildTransparencyReport(store, { month: '2026-10', site: 'Cafe', now: clock.now });
  t.equal(cafe.appeals.received, 3, "one site's reports, each once");
  t.same(
    cafe.appeals.byCategory.map((a) => [a.category, a.received]),
    [
      ['adult', 1],
      ['gambling', 2],
      ['malware', 1],
    ],
    'per category, adult,gambling counted in each',
  );
});

t.test('a month in Europe/Tirane sums the UTC hours that start in it', async (t) => {
  const path = join(t.testdir(), 'stats.db');
  const clock = { now: 0 };
  const { store, recorder } = await setup(t, path, clock);
  // Queries at four UTC hours near the month's two boundaries: 1, 10, 100 and 1000 of them.
  const hours: Array<[string, number]> = [
    ['2026-09-30T21:30:00Z', 1], // 23:30 on 30 September in Tirane (UTC+2)
    ['2026-09-30T22:30:00Z', 10], // 00:30 on 1 October
    ['2026-10-31T22:30:00Z', 100], // 23:30 on 31 October (UTC+1 since the 25th)
    ['2026-10-31T23:30:00Z', 1000], // 00:30 on 1 November
  ];
  for (const [time, n] of hours) {
    clock.now = Date.parse(time);
    recorder.tick();
    for (let i = 0; i < n; i++) recorder.onAnswer(at(0), allowed);
  }
  await store.flush();
  const now = Date.parse('2026-11-15T00:00:00Z');
  const tirane = await buildTransparencyReport(store, { month: '2026-10', timeZone: 'Europe/Tirane', now });
  t.equal(tirane.queries.total, 110, 'October in Tirane: 00:30 on the 1st and 23:30 on the 31st');
  t.equal(tirane.period.from, '2026-10-01T00:00:00+02:00');
  t.equal(tirane.period.to, '2026-11-01T00:00:00+01:00');
  t.equal(
    (await buildTransparencyReport(store, { month: '2026-10', now })).queries.total,
    1100,
    'October in UTC',
  );
  t.equal(
    (await buildTransparencyReport(store, { month: '2026-11', timeZone: 'Europe/Tirane', now })).queries
      .total,
    1000,
  );
  t.equal(
    (await buildTransparencyReport(store, { month: '2026-09', timeZone: 'Europe/Tirane', now })).queries
      .total,
    1,
  );
});
