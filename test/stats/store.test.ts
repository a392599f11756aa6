import { spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import type { Answer, Query } from '../../src/pipeline/types.js';
import { SCHEMA_VERSION } from '../../src/stats/db.js';
import { createStatsRecorder } from '../../src/stats/recorder.js';
import { Database } from '../../src/stats/sqlite.js';
import { openStatsStore } from '../../src/stats/store.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const T0 = Date.parse('2026-11-23T14:05:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface LogEntry {
  level: string;
  obj: object;
  msg: string;
}
function memoryLogger() {
  const entries: LogEntry[] = [];
  const at = (level: string) => (obj: object, msg: string) => {
    entries.push({ level, obj, msg });
  };
  return { entries, logger: { error: at('error'), warn: at('warn'), info: at('info') } as never };
}

const query = { venue: -1 } as Query;
const at = (venue: number) => ({ venue }) as Query;
const blockedAt = (venue: number, categories: number): Answer => ({
  wire: Buffer.alloc(0),
  source: 'policy',
  rcode: 3,
  block: { categories, venue },
});
const cached: Answer = { wire: Buffer.alloc(0), source: 'cache', rcode: 0 };

async function setup(
  t: Test,
  path: string,
  clock: { now: number },
  extra: { spool?: { path: string | null; maxBytes: number } } = {},
) {
  const { entries, logger } = memoryLogger();
  const recorder = createStatsRecorder(
    { venues: () => ['Library', 'Cafe'], categories: () => ['adult', 'gambling'] },
    { now: () => clock.now },
  );
  t.teardown(() => recorder.close());
  const store = await openStatsStore(
    { path, flushIntervalMs: 0, ...extra },
    { logger, drain: () => recorder.drain(), now: () => clock.now },
  );
  t.teardown(() => store.close());
  return { store, recorder, entries };
}

t.test('flush writes, a second flush adds (UPSERT), and the counts survive a restart', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'stats.db');
  const clock = { now: T0 };
  const first = await setup(t, path, clock);
  first.recorder.onAnswer(at(0), blockedAt(0, 0b11));
  first.recorder.onAnswer(at(0), cached);
  t.equal(await first.store.flush(), true);
  first.recorder.onAnswer(at(0), blockedAt(0, 0b01));
  first.recorder.onAnswer(at(1), blockedAt(1, 0));
  await first.store.close(); // close flushes what is still pending

  const raw = new Database(path, { readonly: true });
  t.equal(raw.pragma('user_version', { simple: true }), SCHEMA_VERSION, 'schema version recorded');
  t.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
  raw.close();

  const second = await setup(t, path, clock);
  const summary = await second.store.summary({ from: '2026-11-23T00:00:00Z', to: '2026-11-24T00:00:00Z' });
  t.same(summary, {
    from: '2026-11-23T00:00:00Z',
    to: '2026-11-24T00:00:00Z',
    venue: null,
    queries: 4,
    cacheHits: 1,
    blocked: 3,
    byVenue: [
      { venue: 'Library', queries: 3, blocked: 2 },
      { venue: 'Cafe', queries: 1, blocked: 1 },
    ],
    byCategory: [
      { category: 'adult', count: 2 },
      { category: 'deny', count: 1 },
      { category: 'gambling', count: 1 },
    ],
  });
  const library = await second.store.summary({
    from: '2026-11-23T14:00:00Z',
    to: '2026-11-23T15:00:00Z',
    venue: 'Library',
  });
  t.equal(library.queries, 3, 'answered queries of the venue, blocked or not, over two flushes');
  // One box is one instance ("local" unless named): its counts are the city's.
  const day = { from: '2026-11-23T00:00:00Z', to: '2026-11-24T00:00:00Z' };
  t.equal((await second.store.summary({ ...day, instance: 'local' })).queries, 4);
  t.equal((await second.store.summary({ ...day, instance: 'other' })).queries, 0);
  t.match(await second.store.instances(), [{ instance: 'local' }]);
  t.equal(second.store.kind, 'sqlite');
  t.equal(second.store.postgres, null);
  t.equal(await second.store.recentAudit(10), null, 'SQLite: the audit log is the local file');
  t.equal(library.cacheHits, null, 'cache hits are not counted per venue');
  t.equal(library.blocked, 2);
  t.same(library.byCategory, [
    { category: 'adult', count: 2 },
    { category: 'gambling', count: 1 },
  ]);
});

t.test('series: buckets aligned, hour and day, by venue and by category, with filters', async (t) => {
  const clock = { now: T0 };
  const { store, recorder } = await setup(t, join(t.testdir(), 's.db'), clock);
  recorder.onAnswer(query, blockedAt(0, 0b01)); // 14:05 Library adult
  clock.now = T0 + 2 * HOUR; // 16:05
  recorder.tick();
  recorder.onAnswer(query, blockedAt(1, 0b11)); // Cafe adult+gambling
  recorder.onAnswer(query, blockedAt(1, 0b10)); // Cafe gambling
  clock.now = T0 + DAY; // next day 14:05
  recorder.tick();
  recorder.onAnswer(query, blockedAt(0, 0b10));
  t.ok(await store.flush());

  const byVenue = await store.series({
    from: '2026-11-23T13:30:00Z',
    to: '2026-11-23T17:00:00Z',
    bucket: 'hour',
    by: 'venue',
  });
  t.same(byVenue.buckets, [
    '2026-11-23T13:00:00Z',
    '2026-11-23T14:00:00Z',
    '2026-11-23T15:00:00Z',
    '2026-11-23T16:00:00Z',
  ]);
  t.same(byVenue.series, [
    { key: 'Cafe', total: 2, counts: [0, 0, 0, 2] },
    { key: 'Library', total: 1, counts: [0, 1, 0, 0] },
  ]);
  t.same(byVenue.totals?.blocked, [0, 1, 0, 2]);
  t.same(byVenue.totals?.queries, [0, 1, 0, 2]);

  const byCategory = await store.series({
    from: '2026-11-23T00:00:00Z',
    to: '2026-11-25T00:00:00Z',
    bucket: 'day',
  });
  t.equal(byCategory.by, 'category', 'by category unless asked');
  t.same(byCategory.buckets, ['2026-11-23T00:00:00Z', '2026-11-24T00:00:00Z']);
  t.same(byCategory.series, [
    { key: 'gambling', total: 3, counts: [2, 1] },
    { key: 'adult', total: 2, counts: [2, 0] },
  ]);

  const cafeGambling = await store.series({
    from: '2026-11-23T00:00:00Z',
    to: '2026-11-25T00:00:00Z',
    bucket: 'day',
    by: 'venue',
    venue: 'Cafe',
    category: 'gambling',
  });
  t.same(cafeGambling.series, [{ key: 'Cafe', total: 2, counts: [2, 0] }]);
  t.equal(cafeGambling.totals, null, 'no resolver-wide totals under a filter');

  for (const bad of [
    { from: 'yesterday', to: '2026-11-24T00:00:00Z', bucket: 'hour' as const },
    { from: '2026-11-24T00:00:00Z', to: '2026-11-23T00:00:00Z', bucket: 'hour' as const },
    { from: '2025-01-01T00:00:00Z', to: '2026-11-24T00:00:00Z', bucket: 'hour' as const },
    { from: '2026-11-23T00:00:00Z', to: '2026-11-24T00:00:00Z', bucket: 'week' as 'hour' },
  ]) {
    await t.rejects(store.series(bad), { code: 'ROJE_ERR_STATS_RANGE' }, JSON.stringify(bad));
  }
});

t.test('more series than a chart can hold are summed into (other)', async (t) => {
  const clock = { now: T0 };
  const names = Array.from({ length: 20 }, (_, i) => `v${String(i).padStart(2, '0')}`);
  const { logger } = memoryLogger();
  const recorder = createStatsRecorder(
    { venues: () => names, categories: () => ['adult'] },
    { now: () => clock.now },
  );
  const store = await openStatsStore(
    { path: join(t.testdir(), 'o.db'), flushIntervalMs: 0 },
    { logger, drain: () => recorder.drain(), now: () => clock.now },
  );
  t.teardown(() => store.close());
  names.forEach((_, v) => {
    for (let i = 0; i <= v; i++) recorder.onAnswer(query, blockedAt(v, 1));
  });
  await store.flush();
  const s = await store.series({
    from: '2026-11-23T14:00:00Z',
    to: '2026-11-23T15:00:00Z',
    bucket: 'hour',
    by: 'venue',
  });
  t.equal(s.series.length, 12);
  t.equal(s.series[0]?.key, 'v19', 'largest first');
  t.equal(s.series.at(-1)?.key, '(other)');
  t.equal(
    s.series.reduce((sum, x) => sum + x.total, 0),
    (20 * 21) / 2,
    'nothing lost',
  );
});

t.test('retention deletes hours older than retentionDays, at open and then daily', async (t) => {
  const path = join(t.testdir(), 'r.db');
  const clock = { now: T0 - 10 * DAY };
  const { logger } = memoryLogger();
  const old = await openStatsStore({ path, flushIntervalMs: 0 }, { logger, now: () => clock.now });
  await old.close();
  const seed = new Database(path);
  const put = seed.prepare(
    "INSERT INTO hourly_totals (hour, instance, queries, blocked, cache_hits) VALUES (?, 'local', 1, 0, 0)",
  );
  for (const hour of ['2026-11-10T00:00:00Z', '2026-11-20T00:00:00Z', '2026-11-23T13:00:00Z']) put.run(hour);
  seed.close();

  clock.now = T0;
  const store = await openStatsStore(
    { path, retentionDays: 5, flushIntervalMs: 0 },
    { logger, now: () => clock.now },
  );
  t.teardown(() => store.close());
  const all = async () =>
    (await store.series({ from: '2026-11-01T00:00:00Z', to: '2026-11-30T00:00:00Z', bucket: 'day' })).totals;
  t.equal(
    (await all())?.queries.reduce((a, b) => a + b, 0),
    2,
    'the hour 13 days old went at open',
  );
  clock.now = T0 + 2 * HOUR;
  await store.flush();
  t.equal(
    (await all())?.queries.reduce((a, b) => a + b, 0),
    2,
    'no second pass within a day',
  );
  clock.now = T0 + 4 * DAY;
  await store.flush();
  t.equal(
    (await all())?.queries.reduce((a, b) => a + b, 0),
    1,
    'days later a flush pruned again (Nov 20 went)',
  );
});

t.test('a failed write spools the batch and writes it once, in order, when it can', async (t) => {
  const path = join(t.testdir(), 'busy.db');
  const clock = { now: T0 };
  const { store, recorder, entries } = await setup(t, path, clock);
  recorder.onAnswer(query, blockedAt(0, 1));
  // Another connection holds the write lock: the store's transaction fails (SQLITE_BUSY after 1 s).
  const other = new Database(path);
  other.exec('BEGIN EXCLUSIVE');
  t.equal(await store.flush(), false);
  recorder.onAnswer(query, blockedAt(0, 1));
  t.equal(await store.flush(), false);
  t.match(store.state(), { kind: 'sqlite', up: false, spooledBatches: 2, dropped: 0 });
  t.match(store.state().lastError, /locked|busy/i);
  const errors = entries.filter((e) => e.level === 'error');
  t.equal(errors.length, 1, 'logged once, not per flush');
  t.match(errors[0]?.obj, { code: 'ROJE_ERR_STATS_WRITE' });
  other.exec('ROLLBACK');
  other.close();
  t.equal(await store.flush(), true);
  t.match(store.state(), { up: true, spooledBatches: 0, spooledBytes: 0, dropped: 0 });
  t.ok(entries.some((e) => e.level === 'info' && /writable again/.test(e.msg)));
  const s = await store.summary({ from: '2026-11-23T14:00:00Z', to: '2026-11-23T15:00:00Z' });
  t.equal(s.blocked, 2, 'both counts, once each');
  t.equal(await store.flush(), true, 'nothing left to replay');
  t.equal((await store.summary({ from: '2026-11-23T14:00:00Z', to: '2026-11-23T15:00:00Z' })).blocked, 2);
});

t.test(
  'while writes fail, the spool is bounded: past maxSize the oldest batches are dropped, loudly',
  async (t) => {
    const path = join(t.testdir(), 'bound.db');
    const clock = { now: T0 };
    // A batch of one hour's counts is a few hundred bytes: 1 KiB holds a few, not ten.
    const { store, recorder, entries } = await setup(t, path, clock, {
      spool: { path: null, maxBytes: 1024 },
    });
    const other = new Database(path);
    other.exec('BEGIN EXCLUSIVE');
    t.teardown(() => other.close());
    for (let h = 0; h < 10; h++) {
      clock.now = T0 + h * HOUR;
      recorder.tick();
      recorder.onAnswer(query, blockedAt(0, 1));
      t.equal(await store.flush(), false);
    }
    const state = store.state();
    t.ok(state.spooledBytes <= 1024, 'within the bound');
    t.ok(state.dropped > 0 && state.dropped < 10, `some dropped (${state.dropped})`);
    t.equal(state.spooledBatches + state.dropped, 10, 'every batch either waits or is counted as dropped');
    t.ok(
      entries.some((e) => e.level === 'error' && /spool is full/.test(e.msg)),
      'said loudly',
    );
    other.exec('ROLLBACK');
    t.ok(await store.flush());
    const s = await store.series({
      from: '2026-11-23T14:00:00Z',
      to: '2026-11-24T00:00:00Z',
      bucket: 'hour',
    });
    const kept = s.series[0]?.counts ?? [];
    t.equal(
      kept.reduce((a, b) => a + b, 0),
      state.spooledBatches,
      'the kept batches written',
    );
    t.equal(kept.at(-1), 1, 'the newest hour kept');
    t.equal(kept[0], 0, 'the oldest hour dropped');
  },
);

t.test('a file that is not a database is refused with ROJE_ERR_STATS_OPEN', async (t) => {
  const dir = t.testdir({ 'junk.db': 'this is not sqlite, just some text that is long enough '.repeat(20) });
  const { logger } = memoryLogger();
  await t.rejects(openStatsStore({ path: join(dir, 'junk.db') }, { logger }), {
    code: 'ROJE_ERR_STATS_OPEN',
  });
  await t.rejects(openStatsStore({ path: join(dir, 'missing-dir', 'x.db') }, { logger }), {
    code: 'ROJE_ERR_STATS_OPEN',
    message: /missing-dir/,
  });
  const newer = join(dir, 'newer.db');
  const db = new Database(newer);
  db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
  db.close();
  await t.rejects(openStatsStore({ path: newer }, { logger }), {
    code: 'ROJE_ERR_STATS_OPEN',
    message: /newer/,
  });
});

// The read-only case runs where chmod means something: as root (which ignores file modes) it runs in a
// child process with the uid of `nobody`.
const READ_ONLY_SCRIPT = `
const { openStatsStore } = await import(${JSON.stringify(join(ROOT, 'src/stats/store.ts'))});
const path = process.argv.at(-1);
const log = [];
const logger = { error: (o, m) => log.push(['error', o.code, m]), warn: () => {}, info: (o, m) => log.push(['info', m]) };
const counts = [{ hour: '2026-11-23T14:00:00Z', queries: 3, blocked: 1, cacheHits: 0, venues: [{ venue: 'V', blocked: 1 }],
  rows: [{ venue: 'V', category: 'adult', action: 'blocked', count: 1 }] }];
let drained = false;
const store = await openStatsStore({ path, flushIntervalMs: 0 }, { logger, drain: () => (drained ? [] : ((drained = true), counts)) });
const first = await store.flush();
const second = await store.flush();
const state = store.state();
const summary = await store.summary({ from: '2026-11-23T00:00:00Z', to: '2026-11-24T00:00:00Z' });
let report = null;
try { await store.addReport({ venue: 'V', category: 'adult', name: 'x.test' }); } catch (err) { report = err.code; }
await store.close();
console.log(JSON.stringify({ first, second, state, summary, report, log }));
`;

t.test(
  'a read-only database file: reads work, writes are logged once and kept, nothing throws',
  async (t) => {
    const dir = t.testdir();
    chmodSync(dir, 0o777); // the file is read-only, not its directory (SQLite's -wal and -shm live there)
    const path = join(dir, 'ro.db');
    const { logger } = memoryLogger();
    await (await openStatsStore({ path }, { logger })).close();
    chmodSync(path, 0o444);
    const root = process.getuid?.() === 0;
    const script = join(dir, 'read-only.mjs');
    writeFileSync(script, READ_ONLY_SCRIPT);
    const run = spawnSync(process.execPath, ['--import', '@tapjs/typescript/import', script, path], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
      ...(root ? { uid: 65534, gid: 65534 } : {}),
    });
    t.equal(run.status, 0, `the child exits cleanly: ${run.stderr}`);
    const out = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}');
    t.equal(out.first, false, 'the write failed');
    t.equal(out.second, false);
    t.match(out.state, { up: false, dropped: 0 }, 'the counts wait in the spool (memory)');
    // The second flush is a batch of its own when a millisecond was served since the first.
    t.ok(out.state.spooledBatches >= 1, 'spooled');
    t.equal(out.summary.queries, 0, 'reads still work');
    t.equal(out.report, 'ROJE_ERR_STATS_WRITE', 'a report cannot be stored, and says so with a code');
    t.same(
      out.log.filter((l: string[]) => l[0] === 'error').map((l: string[]) => l[1]),
      ['ROJE_ERR_STATS_WRITE'],
      'one error logged (retention at open, then flushes: still once)',
    );
  },
);
