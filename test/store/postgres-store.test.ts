/**
 * The statistics store on a real PostgreSQL (test/helpers/postgres.ts): migrations taken once by
 * instances starting together, the city's totals as the sum of its instances (and one instance on
 * request), sketches merged across instances, reports shared, and the outage: counts spooled while the
 * server is stopped and written exactly once, in order, when it returns, even after a restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Answer } from '../../src/pipeline/types.js';
import { createStatsRecorder, type HourCounts } from '../../src/stats/recorder.js';
import { openStatsStore } from '../../src/stats/store.js';
import { applyBatch, createBatchBuilder } from '../../src/store/batch.js';
import { migratePostgres, POSTGRES_SCHEMA_VERSION } from '../../src/store/postgres-schema.js';
import { createPostgresPool, postgresExecutor } from '../../src/store/sql-postgres.js';
import { startPostgres } from '../helpers/postgres.js';
import { stageQuery } from '../helpers/stage.js';

const pg = await startPostgres();
t.teardown(() => pg.stop());
/** psql's unaligned output, trimmed. */
const sql = async (query: string) => (await pg.psql(query)).trim();

const T0 = Date.parse('2026-11-23T14:05:00Z');
const DAY = { from: '2026-11-23T00:00:00Z', to: '2026-11-24T00:00:00Z' };

interface LogEntry {
  level: string;
  obj: Record<string, unknown>;
  msg: string;
}
function memoryLogger() {
  const entries: LogEntry[] = [];
  const at = (level: string) => (obj: Record<string, unknown>, msg: string) => {
    entries.push({ level, obj, msg });
  };
  return { entries, logger: { error: at('error'), warn: at('warn'), info: at('info') } as never };
}

/** Counts the way the recorder's drain hands them over: `blocked` of `queries` at one venue, adult. */
function counts(venue: string, queries: number, blocked: number, hour = '2026-11-23T14:00:00Z'): HourCounts {
  return {
    hour,
    queries,
    blocked,
    cacheHits: 0,
    venues: [{ venue, queries, blocked }],
    rows: blocked > 0 ? [{ venue, category: 'adult', action: 'blocked', count: blocked }] : [],
  };
}

/** A store of instance `name` whose drain hands over what `feed` was given since the last flush. */
async function instance(name: string, extra: Record<string, unknown> = {}) {
  const queue: HourCounts[] = [];
  const { entries, logger } = memoryLogger();
  const store = await openStatsStore(
    { postgres: { url: pg.url }, instance: name, flushIntervalMs: 0, ...extra },
    { logger, drain: () => queue.splice(0), now: () => T0 },
  );
  return { store, entries, feed: (c: HourCounts) => queue.push(c) };
}

async function reset(): Promise<void> {
  await pg.psql(
    `DO $$ BEGIN
       IF to_regclass('roje_schema') IS NOT NULL THEN
         TRUNCATE hourly_totals, hourly_venues, hourly_blocks, daily_distinct, list_changes, self_tests,
           reports, applied_batches, roje_instances, audit_log;
       END IF;
     END $$`,
  );
}

t.test(
  'four instances starting together migrate once, and the schema version is recorded once',
  async (t) => {
    const pools = Array.from({ length: 4 }, () => createPostgresPool({ url: pg.url, poolSize: 1 }));
    t.teardown(() => Promise.all(pools.map((p) => p.end())));
    const results = await Promise.all(pools.map((p) => migratePostgres(p)));
    t.equal(results.filter((r) => r.from === 0).length, 1, 'one of them migrated from 0');
    t.ok(
      results.every((r) => r.to === POSTGRES_SCHEMA_VERSION),
      'every one ends at the current version',
    );
    t.equal(await sql('SELECT count(*), max(version) FROM roje_schema'), `1|${POSTGRES_SCHEMA_VERSION}`);
    t.same(await migratePostgres(pools[0] as never), {
      from: POSTGRES_SCHEMA_VERSION,
      to: POSTGRES_SCHEMA_VERSION,
    });
    await pg.psql('UPDATE roje_schema SET version = version + 1');
    await t.rejects(migratePostgres(pools[1] as never), { code: 'ROJE_ERR_STORE_OPEN', message: /newer/ });
    await pg.psql('UPDATE roje_schema SET version = version - 1');
  },
);

t.test('the city: totals are the sum of the instances, and one instance on request', async (t) => {
  await reset();
  const a = await instance('a');
  const b = await instance('b');
  t.teardown(async () => {
    await a.store.close();
    await b.store.close();
  });
  t.same(a.store.salt, b.store.salt, 'one sketch salt for the city');
  a.feed(counts('Library', 10, 3));
  b.feed(counts('Library', 5, 1));
  b.feed(counts('Cafe', 7, 2));
  t.equal(await a.store.flush(), true);
  t.equal(await b.store.flush(), true);
  const city = await a.store.summary(DAY);
  t.match(city, { queries: 22, blocked: 6, cacheHits: 0 });
  t.same(city.byVenue, [
    { venue: 'Library', queries: 15, blocked: 4 },
    { venue: 'Cafe', queries: 7, blocked: 2 },
  ]);
  t.same(city.byCategory, [{ category: 'adult', count: 6 }]);
  t.match(
    await b.store.summary({ ...DAY, instance: 'a' }),
    { queries: 10, blocked: 3 },
    "a's own, read on b",
  );
  t.match(await a.store.summary({ ...DAY, instance: 'b', venue: 'Cafe' }), { queries: 7, blocked: 2 });
  t.match(await a.store.summary({ ...DAY, instance: 'nobody' }), { queries: 0, blocked: 0 });
  const series = await b.store.series({ ...DAY, bucket: 'hour', by: 'venue' });
  t.same(series.totals?.queries[14], 22, 'the series adds up across instances too');
  const seriesA = await b.store.series({ ...DAY, bucket: 'day', instance: 'a' });
  t.same(seriesA.totals?.blocked, [3]);
  const period = await a.store.period(DAY);
  t.match(period, { queries: 22, blocked: 6 });
  t.match(await b.store.instances(), [
    { instance: 'a', firstStart: new Date(T0).toISOString(), lastSeen: new Date(T0).toISOString() },
    { instance: 'b' },
  ]);
  t.equal((await a.store.period({ ...DAY, instance: 'b' })).queries, 12);
});

t.test('distinct-name sketches merge across instances in period()', async (t) => {
  await reset();
  const make = async (name: string) => {
    const recorder = createStatsRecorder(
      { venues: () => ['Library'], categories: () => ['adult'] },
      { now: () => T0 },
    );
    const { logger } = memoryLogger();
    const store = await openStatsStore(
      { postgres: { url: pg.url }, instance: name, flushIntervalMs: 0 },
      { logger, drain: () => recorder.drain(), now: () => T0 },
    );
    recorder.useSalt(store.salt);
    t.teardown(async () => {
      await store.close();
      recorder.close();
    });
    return { store, recorder };
  };
  const a = await make('a');
  const b = await make('b');
  const blocked: Answer = {
    wire: Buffer.alloc(0),
    source: 'policy',
    rcode: 3,
    block: { categories: 1, venue: 0 },
  };
  const q = (name: string) => stageQuery(name);
  for (const name of ['x.example', 'y.example']) a.recorder.onAnswer(q(name), blocked);
  for (const name of ['y.example', 'z.example']) b.recorder.onAnswer(q(name), blocked);
  await a.store.flush();
  await b.store.flush();
  t.same(
    (await a.store.period(DAY)).distinct,
    [{ category: 'adult', estimate: 3 }],
    'y counted once for the city',
  );
  t.same((await a.store.period({ ...DAY, instance: 'b' })).distinct, [{ category: 'adult', estimate: 2 }]);
});

t.test(
  "reports are the city's: made on a, reviewed on b; the open limit counts every instance",
  async (t) => {
    await reset();
    const a = await instance('a', { maxOpenReports: 2 });
    const b = await instance('b', { maxOpenReports: 2 });
    t.teardown(async () => {
      await a.store.close();
      await b.store.close();
    });
    const r1 = await a.store.addReport({ venue: 'Library', category: 'adult', name: 'museum.example' });
    t.equal(typeof r1.id, 'number', 'ids are numbers on PostgreSQL too');
    const reviewed = await b.store.reviewReport(r1.id, 'accepted', 'ops', 'art');
    t.match(reviewed, {
      id: r1.id,
      status: 'accepted',
      reviewedBy: 'ops',
      note: 'art',
      reference: r1.reference,
    });
    t.equal(await a.store.reportOutcome(r1.reference as string), 'accepted');
    await b.store.addReport({ venue: 'Cafe', category: 'adult' });
    await a.store.addReport({ venue: 'Cafe', category: 'adult' });
    await t.rejects(b.store.addReport({ venue: 'Cafe', category: 'adult' }), {
      code: 'ROJE_ERR_STATS_REPORTS_FULL',
    });
    const page = await a.store.listReports({ status: 'open' });
    t.equal(page.total, 2, 'the open ones of both instances');
    await t.rejects(a.store.getReport(9999), { code: 'ROJE_ERR_STATS_REPORT_NOT_FOUND' });
    const p = await b.store.period({ from: '2026-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' });
    t.same(p.appealTotals, { received: 3, accepted: 1, rejected: 0 }, "the report counts are the city's");
  },
);

t.test('a batch applied twice (its acknowledgement lost) counts once', async (t) => {
  await reset();
  const pool = createPostgresPool({ url: pg.url });
  const exec = postgresExecutor(pool);
  t.teardown(() => exec.close());
  const builder = createBatchBuilder();
  builder.merge(counts('Library', 4, 2));
  builder.event({
    kind: 'list',
    at: '2026-11-23T14:00:00Z',
    version: 'v1',
    entries: 3,
    sources: 1,
    reason: 'x',
  });
  const batch = builder.take('a', T0);
  if (batch === null) throw new Error('no batch');
  t.equal(await applyBatch(exec, batch), true, 'applied');
  t.equal(await applyBatch(exec, JSON.parse(JSON.stringify(batch))), false, 'the replay is recognised');
  t.equal(await sql('SELECT queries, blocked FROM hourly_totals'), '4|2');
  t.equal(await sql('SELECT count(*) FROM list_changes'), '1');
  t.equal(await sql('SELECT count(*) FROM applied_batches'), '1');
});

t.test(
  'PostgreSQL stopped: counts spooled, DNS-side calls never throw; back: every count once, in order',
  async (t) => {
    await reset();
    const spoolDir = mkdtempSync(join(tmpdir(), 'roje-spool-'));
    t.teardown(() => rmSync(spoolDir, { recursive: true, force: true }));
    const a = await instance('a', { spool: { path: spoolDir, maxBytes: 1024 * 1024 } });
    t.teardown(() => a.store.close());
    a.feed(counts('Library', 1, 1));
    t.equal(await a.store.flush(), true);
    t.match(a.store.state(), {
      kind: 'postgres',
      instance: 'a',
      up: true,
      spooledBatches: 0,
      lastError: null,
    });

    await pg.stopServer();
    for (let i = 0; i < 3; i++) {
      a.feed(counts('Library', 10, 2));
      t.equal(await a.store.flush(), false, `flush ${i + 1} while down`);
    }
    a.store.recordListChange({
      at: '2026-11-23T14:30:00Z',
      version: 'v2',
      entries: 1,
      sources: 1,
      reason: 'r',
    });
    t.equal(await a.store.flush(), false);
    const down = a.store.state();
    t.match(down, { up: false, spooledBatches: 4, dropped: 0 });
    t.ok(down.spooledBytes > 0);
    t.notMatch(down.lastError ?? '', pg.password, 'no password in the state');
    await t.rejects(a.store.addReport({ venue: 'Library', category: 'adult' }), {
      code: 'ROJE_ERR_STORE_UNAVAILABLE',
    });
    await t.rejects(a.store.summary(DAY), { code: 'ROJE_ERR_STORE_UNAVAILABLE' });
    const errors = a.entries.filter((e) => e.level === 'error');
    t.equal(errors.length, 1, 'said once, not per flush');
    t.match(errors[0]?.obj, { code: 'ROJE_ERR_STORE_UNAVAILABLE' });
    t.notMatch(JSON.stringify(a.entries), pg.password, 'no password in the logs');

    await pg.startServer();
    a.feed(counts('Library', 100, 0));
    t.equal(await a.store.flush(), true, 'back: the spool replayed, then the new batch');
    t.match(a.store.state(), { up: true, spooledBatches: 0, spooledBytes: 0 });
    t.match(await a.store.summary(DAY), { queries: 1 + 30 + 100, blocked: 1 + 6 }, 'every count once');
    t.equal(await sql('SELECT count(*) FROM list_changes'), '1', 'the list change too');
    t.ok(a.entries.some((e) => e.level === 'info' && /writable again/.test(e.msg)));
  },
);

t.test('a restart with batches in the spool replays them at open', async (t) => {
  await reset();
  const spoolDir = mkdtempSync(join(tmpdir(), 'roje-spool-'));
  t.teardown(() => rmSync(spoolDir, { recursive: true, force: true }));
  const first = await instance('a', { spool: { path: spoolDir, maxBytes: 1024 * 1024 } });
  await pg.stopServer();
  first.feed(counts('Cafe', 3, 1));
  t.equal(await first.store.flush(), false);
  first.feed(counts('Cafe', 4, 1));
  await first.store.close(); // its last flush fails too: spooled
  await pg.startServer();

  const second = await instance('a', { spool: { path: spoolDir, maxBytes: 1024 * 1024 } });
  t.teardown(() => second.store.close());
  t.match(second.store.state(), { up: true, spooledBatches: 0 }, 'replayed at open');
  t.match(await second.store.summary(DAY), { queries: 7, blocked: 2 });
});

t.test('the audit log goes through the batches to audit_log, newest first', async (t) => {
  await reset();
  const a = await instance('a');
  t.teardown(() => a.store.close());
  a.store.recordAudit({ at: '2026-11-23T14:00:00Z', who: 'ops', action: 'x' });
  a.store.recordAudit({ at: '2026-11-23T14:01:00Z', who: 'ops', action: 'y' });
  t.same(await a.store.recentAudit(10), [], 'queued, not yet written');
  await a.store.flush();
  t.same(
    (await a.store.recentAudit(10))?.map((e) => (e as { action: string }).action),
    ['y', 'x'],
  );
  t.equal(await sql("SELECT count(*) FROM audit_log WHERE instance = 'a'"), '2');
});

t.test('an unreachable store at open is ROJE_ERR_STORE_UNAVAILABLE, with no password in it', async (t) => {
  await pg.stopServer();
  t.teardown(() => pg.startServer());
  const { logger } = memoryLogger();
  const err = await openStatsStore({ postgres: { url: pg.url }, instance: 'a' }, { logger }).catch((e) => e);
  t.match(err, { code: 'ROJE_ERR_STORE_UNAVAILABLE' });
  t.notMatch(String(err.message), pg.password);
});

t.test(
  'a wrong password is ROJE_ERR_STORE_OPEN (not retried as an outage), with no password in it',
  async (t) => {
    const { logger } = memoryLogger();
    const wrong = pg.url.replace(`:${pg.password}@`, ':not-the-password-123@');
    const err = await openStatsStore({ postgres: { url: wrong }, instance: 'a' }, { logger }).catch((e) => e);
    t.match(err, { code: 'ROJE_ERR_STORE_OPEN', message: /refused the connection/ });
    t.notMatch(String(err.message), 'not-the-password-123');
  },
);
