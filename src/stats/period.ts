/**
 * Everything the transparency report reads for one period, in one call: totals, queries and blocks per
 * venue and category, distinct blocked names (day sketches merged, estimates only), uptime and the
 * instance's first start, list changes, self-test results per venue and wrong-block reports per
 * category. Counts and hashes only: no column read here holds a name or a client.
 */
import { existsSync } from 'node:fs';
import { RojeError } from '../errors.js';
import { migratePostgres } from '../store/postgres-schema.js';
import type { SqlExecutor } from '../store/sql.js';
import { createPostgresPool, postgresExecutor } from '../store/sql-postgres.js';
import { sqliteExecutor } from '../store/sql-sqlite.js';
import { openStatsDatabase } from './db.js';
import { emptySketch, HLL_REGISTERS, hllEstimate, hllMerge } from './hll.js';
import { INSTANCE_FILTER } from './queries.js';

export interface PeriodQuery {
  /**
   * UTC ISO instant, inclusive: "2026-10-01T00:00:00Z" (a local month may start at any UTC hour:
   * "2026-09-30T22:00:00Z"). Hours are counted when they start in [from, to).
   */
  from: string;
  /** Exclusive. */
  to: string;
  /** Only this venue's blocks and distinct names. */
  venue?: string | undefined;
  /** Only this instance's rows (a shared store); absent: the whole city's. */
  instance?: string | undefined;
}

export interface SelfTestRow {
  at: string;
  /** The venue the suite asked as a client of; null: clients of no venue (every run before venues). */
  venue: string | null;
  suite: string;
  passed: number;
  failed: number;
  sha256: string;
}

export interface AppealCounts {
  category: string;
  /** Wrong-block reports made in the period. */
  received: number;
  /** Reviews made in the period, whenever the report was made. */
  accepted: number;
  rejected: number;
}

export interface PeriodData {
  /** Answered queries, resolver-wide or of the venue when filtered. */
  queries: number;
  /** Resolver-wide; null when filtered by venue (not counted per venue). */
  cacheHits: number | null;
  /** Blocked answers, each once (of the venue, when filtered). */
  blocked: number;
  /** Answered queries and blocked answers per venue, each once ("(none)": clients of no venue). */
  venues: Array<{ venue: string; queries: number; blocked: number }>;
  /** Per (venue, category); an answer blocked by several categories counts in each. */
  blocks: Array<{ venue: string; category: string; count: number }>;
  /** Estimated distinct blocked names per category over the whole period (venues merged). */
  distinct: Array<{ category: string; estimate: number }>;
  /** Seconds the resolver ran with its statistics store open, resolver-wide. */
  servedSeconds: number;
  /** The first start of the earliest instance (or of the one asked for), UTC ISO; null when none opened it. */
  firstStart: string | null;
  /** Changes of the lists' content: a swap to the version already in force (a restart) is left out. */
  listChanges: Array<{ at: string; version: string; entries: number; sources: number; reason: string }>;
  /** Of the venue's clients when filtered by venue. */
  selfTests: SelfTestRow[];
  /** Per category; a report naming several categories ("adult,gambling") counts in each. */
  appeals: AppealCounts[];
  /** Each report once. */
  appealTotals: Omit<AppealCounts, 'category'>;
}

export interface PeriodQueries {
  period(query: PeriodQuery): Promise<PeriodData>;
}

interface Params {
  from: string;
  to: string;
  venue: string | null;
  instance: string | null;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * Sketches are per UTC day; a day belongs to the period its midday (UTC) falls in, so that a local
 * month (Tirane: from 22:00 UTC the day before) takes the days it holds most of. The first day at or
 * after `ms`, as "YYYY-MM-DD".
 */
function dayFrom(ms: number): string {
  return new Date(Math.ceil((ms - DAY_MS / 2) / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
}

const VENUE_FILTER = '(CAST(@venue AS TEXT) IS NULL OR venue = @venue)';
const IN_PERIOD = `hour >= @from AND hour < @to AND ${INSTANCE_FILTER}`;

const SQL = {
  totals: `SELECT sum(queries) AS queries, sum(blocked) AS blocked, sum(cache_hits) AS "cacheHits",
      sum(served_seconds) AS served
    FROM hourly_totals WHERE ${IN_PERIOD}`,
  venues: `SELECT venue, sum(queries) AS queries, sum(blocked) AS blocked FROM hourly_venues
    WHERE ${IN_PERIOD} AND ${VENUE_FILTER} GROUP BY venue ORDER BY venue`,
  blocks: `SELECT venue, category, sum(count) AS count FROM hourly_blocks
    WHERE ${IN_PERIOD} AND ${VENUE_FILTER} AND action = 'blocked'
    GROUP BY venue, category ORDER BY venue, category`,
  // Each instance keeps its own day sketches: merged here, across instances as across days.
  sketches: `SELECT category, registers FROM daily_distinct
    WHERE day >= @fromDay AND day < @toDay AND ${VENUE_FILTER} AND ${INSTANCE_FILTER}`,
  firstStart: `SELECT min(first_start) AS "firstStart" FROM roje_instances WHERE ${INSTANCE_FILTER}`,
  listChanges: `SELECT at, version, entries, sources, reason FROM list_changes
    WHERE at >= @from AND at < @to AND ${INSTANCE_FILTER} ORDER BY at, id`,
  versionBefore: `SELECT version FROM list_changes WHERE at < @from AND ${INSTANCE_FILTER}
    ORDER BY at DESC, id DESC LIMIT 1`,
  // A venue's report shows its own clients' runs; one for all venues shows every run.
  selfTests: `SELECT at, venue, suite, passed, failed, sha256 FROM self_tests
    WHERE at >= @from AND at < @to AND ${VENUE_FILTER} AND ${INSTANCE_FILTER} ORDER BY at, id`,
  // Reports are the city's (made on one instance, reviewed on another): never filtered by instance.
  received: `SELECT category, count(*) AS n FROM reports
    WHERE at >= @from AND at < @to AND ${VENUE_FILTER} GROUP BY category`,
  reviewed: `SELECT category, status, count(*) AS n FROM reports
    WHERE status IN ('accepted', 'rejected') AND reviewed_at >= @from AND reviewed_at < @to AND ${VENUE_FILTER}
    GROUP BY category, status`,
};

type ListChangeRow = PeriodData['listChanges'][number];

export function createPeriodQueries(db: SqlExecutor): PeriodQueries {
  /** Only the swaps that changed the content: a restart loads the version already in force. */
  async function contentChanges(params: Params): Promise<PeriodData['listChanges']> {
    const { from, instance } = params;
    let previous =
      (await db.get<{ version: string }>(SQL.versionBefore, { from, instance }))?.version ?? null;
    const out: PeriodData['listChanges'] = [];
    for (const change of await db.all<ListChangeRow>(SQL.listChanges, params)) {
      if (change.version !== previous) out.push(change);
      previous = change.version;
    }
    return out;
  }

  async function appeals(params: Params): Promise<Pick<PeriodData, 'appeals' | 'appealTotals'>> {
    const byCategory = new Map<string, AppealCounts>();
    const totals = { received: 0, accepted: 0, rejected: 0 };
    const add = (categories: string, field: 'received' | 'accepted' | 'rejected', n: number) => {
      totals[field] += n;
      for (const raw of categories.split(',')) {
        const category = raw.trim();
        if (category === '') continue;
        let a = byCategory.get(category);
        if (a === undefined) {
          a = { category, received: 0, accepted: 0, rejected: 0 };
          byCategory.set(category, a);
        }
        a[field] += n;
      }
    };
    const { from, to, venue } = params;
    for (const r of await db.all<{ category: string; n: number }>(SQL.received, { from, to, venue }))
      add(r.category, 'received', r.n);
    for (const r of await db.all<{ category: string; status: string; n: number }>(SQL.reviewed, {
      from,
      to,
      venue,
    }))
      add(r.category, r.status as 'accepted' | 'rejected', r.n);
    const sorted = [...byCategory.values()].sort((a, b) => a.category.localeCompare(b.category));
    return { appeals: sorted, appealTotals: totals };
  }

  async function distinct(params: Params): Promise<PeriodData['distinct']> {
    const merged = new Map<string, Uint8Array>();
    const rows = await db.all<{ category: string; registers: Buffer }>(SQL.sketches, {
      fromDay: dayFrom(Date.parse(params.from)),
      toDay: dayFrom(Date.parse(params.to)),
      venue: params.venue,
      instance: params.instance,
    });
    for (const row of rows) {
      if (row.registers.length !== HLL_REGISTERS) continue;
      let into = merged.get(row.category);
      if (into === undefined) {
        into = emptySketch();
        merged.set(row.category, into);
      }
      hllMerge(into, new Uint8Array(row.registers));
    }
    return [...merged]
      .map(([category, registers]) => ({ category, estimate: hllEstimate(registers) }))
      .sort((a, b) => a.category.localeCompare(b.category));
  }

  return {
    async period(query) {
      const params: Params = {
        from: query.from,
        to: query.to,
        venue: query.venue ?? null,
        instance: query.instance ?? null,
      };
      const { from, to, instance } = params;
      const t = await db.get<{
        queries: number | null;
        blocked: number | null;
        cacheHits: number | null;
        served: number | null;
      }>(SQL.totals, { from, to, instance });
      const venueRows = await db.all<{ venue: string; queries: number; blocked: number }>(SQL.venues, params);
      const filtered = params.venue !== null;
      const first = await db.get<{ firstStart: string | null }>(SQL.firstStart, { instance });
      return {
        queries: filtered ? venueRows.reduce((sum, v) => sum + v.queries, 0) : (t?.queries ?? 0),
        cacheHits: filtered ? null : (t?.cacheHits ?? 0),
        blocked: filtered ? venueRows.reduce((sum, v) => sum + v.blocked, 0) : (t?.blocked ?? 0),
        venues: venueRows,
        blocks: await db.all(SQL.blocks, params),
        distinct: await distinct(params),
        servedSeconds: t?.served ?? 0,
        firstStart: first?.firstStart ?? null,
        listChanges: await contentChanges(params),
        selfTests: await db.all<SelfTestRow>(SQL.selfTests, params),
        ...(await appeals(params)),
      };
    },
  };
}

/**
 * Opens a statistics file for reading a report (the `roje report` command): no timer, no retention, no
 * uptime counted. An older schema is migrated, as the server would at its next start.
 */
export function openStatsReader(path: string): PeriodQueries & { close(): Promise<void> } {
  if (path === ':memory:' || !existsSync(path)) {
    throw new RojeError(
      'ROJE_ERR_STATS_OPEN',
      `there is no statistics database at ${path}; give --stats with the file roje serve writes (stats.path, default <stateDir>/stats.db)`,
    );
  }
  const exec = sqliteExecutor(openStatsDatabase(path));
  return { ...createPeriodQueries(exec), close: () => exec.close() };
}

/** Opens a shared store (PostgreSQL) for reading a report; its schema is brought up to date first. */
export async function openSharedReader(url: string): Promise<PeriodQueries & { close(): Promise<void> }> {
  const pool = createPostgresPool({ url, poolSize: 1 });
  try {
    await migratePostgres(pool);
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
  const exec = postgresExecutor(pool);
  return { ...createPeriodQueries(exec), close: () => exec.close() };
}
