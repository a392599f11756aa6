/**
 * Everything the transparency report reads for one period, in one call: totals, queries and blocks per
 * venue and category, distinct blocked names (day sketches merged, estimates only), uptime and the
 * instance's first start, list changes, self-test results per venue and wrong-block reports per
 * category. Counts and hashes only: no column read here holds a name or a client.
 */
import { existsSync } from 'node:fs';
import { RojeError } from '../errors.js';
import { openStatsDatabase, readFirstStart, type StatsDatabase } from './db.js';
import { emptySketch, HLL_REGISTERS, hllEstimate, hllMerge } from './hll.js';

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
  /** The instance's first start (UTC ISO), or null when no server has opened this database. */
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
  period(query: PeriodQuery): PeriodData;
}

interface Params {
  from: string;
  to: string;
  venue: string | null;
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

export function createPeriodQueries(db: StatsDatabase): PeriodQueries {
  const totals = db.prepare<
    [Params],
    { queries: number | null; blocked: number | null; cacheHits: number | null; served: number | null }
  >(
    `SELECT sum(queries) AS queries, sum(blocked) AS blocked, sum(cache_hits) AS cacheHits,
       sum(served_seconds) AS served
     FROM hourly_totals WHERE hour >= @from AND hour < @to`,
  );
  const venues = db.prepare<[Params], { venue: string; queries: number; blocked: number }>(
    `SELECT venue, sum(queries) AS queries, sum(blocked) AS blocked FROM hourly_venues
     WHERE hour >= @from AND hour < @to AND (@venue IS NULL OR venue = @venue)
     GROUP BY venue ORDER BY venue`,
  );
  const blocks = db.prepare<[Params], { venue: string; category: string; count: number }>(
    `SELECT venue, category, sum(count) AS count FROM hourly_blocks
     WHERE hour >= @from AND hour < @to AND (@venue IS NULL OR venue = @venue) AND action = 'blocked'
     GROUP BY venue, category ORDER BY venue, category`,
  );
  const sketches = db.prepare<
    [{ fromDay: string; toDay: string; venue: string | null }],
    { category: string; registers: Buffer }
  >(
    `SELECT category, registers FROM daily_distinct
     WHERE day >= @fromDay AND day < @toDay AND (@venue IS NULL OR venue = @venue)`,
  );
  const listChanges = db.prepare<[Params], PeriodData['listChanges'][number]>(
    `SELECT at, version, entries, sources, reason FROM list_changes
     WHERE at >= @from AND at < @to ORDER BY at, id`,
  );
  const versionBefore = db.prepare<[Params], { version: string }>(
    'SELECT version FROM list_changes WHERE at < @from ORDER BY at DESC, id DESC LIMIT 1',
  );
  // A venue's report shows its own clients' runs; one for all venues shows every run.
  const selfTests = db.prepare<[Params], SelfTestRow>(
    `SELECT at, venue, suite, passed, failed, sha256 FROM self_tests
     WHERE at >= @from AND at < @to AND (@venue IS NULL OR venue = @venue) ORDER BY at, id`,
  );
  const received = db.prepare<[Params], { category: string; n: number }>(
    `SELECT category, count(*) AS n FROM reports
     WHERE at >= @from AND at < @to AND (@venue IS NULL OR venue = @venue) GROUP BY category`,
  );
  const reviewed = db.prepare<[Params], { category: string; status: string; n: number }>(
    `SELECT category, status, count(*) AS n FROM reports
     WHERE status IN ('accepted', 'rejected') AND reviewed_at >= @from AND reviewed_at < @to
       AND (@venue IS NULL OR venue = @venue)
     GROUP BY category, status`,
  );

  /** Only the swaps that changed the content: a restart loads the version already in force. */
  function contentChanges(params: Params): PeriodData['listChanges'] {
    let previous = versionBefore.get(params)?.version ?? null;
    const out: PeriodData['listChanges'] = [];
    for (const change of listChanges.all(params)) {
      if (change.version !== previous) out.push(change);
      previous = change.version;
    }
    return out;
  }

  function appeals(params: Params): Pick<PeriodData, 'appeals' | 'appealTotals'> {
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
    for (const r of received.all(params)) add(r.category, 'received', r.n);
    for (const r of reviewed.all(params)) add(r.category, r.status as 'accepted' | 'rejected', r.n);
    const sorted = [...byCategory.values()].sort((a, b) => a.category.localeCompare(b.category));
    return { appeals: sorted, appealTotals: totals };
  }

  return {
    period(query) {
      const params: Params = { from: query.from, to: query.to, venue: query.venue ?? null };
      const t = totals.get(params);
      const venueRows = venues.all(params);
      const merged = new Map<string, Uint8Array>();
      const days = {
        fromDay: dayFrom(Date.parse(params.from)),
        toDay: dayFrom(Date.parse(params.to)),
        venue: params.venue,
      };
      for (const row of sketches.iterate(days)) {
        if (row.registers.length !== HLL_REGISTERS) continue;
        let into = merged.get(row.category);
        if (into === undefined) {
          into = emptySketch();
          merged.set(row.category, into);
        }
        hllMerge(into, new Uint8Array(row.registers));
      }
      const filtered = params.venue !== null;
      return {
        queries: filtered ? venueRows.reduce((sum, v) => sum + v.queries, 0) : (t?.queries ?? 0),
        cacheHits: filtered ? null : (t?.cacheHits ?? 0),
        blocked: filtered ? venueRows.reduce((sum, v) => sum + v.blocked, 0) : (t?.blocked ?? 0),
        venues: venueRows,
        blocks: blocks.all(params),
        distinct: [...merged]
          .map(([category, registers]) => ({ category, estimate: hllEstimate(registers) }))
          .sort((a, b) => a.category.localeCompare(b.category)),
        servedSeconds: t?.served ?? 0,
        firstStart: readFirstStart(db),
        listChanges: contentChanges(params),
        selfTests: selfTests.all(params),
        ...appeals(params),
      };
    },
  };
}

/**
 * Opens a statistics file for reading a report (the `roje report` command): no timer, no retention, no
 * uptime counted. An older schema is migrated, as the server would at its next start.
 */
export function openStatsReader(path: string): PeriodQueries & { close(): void } {
  if (path === ':memory:' || !existsSync(path)) {
    throw new RojeError(
      'ROJE_ERR_STATS_OPEN',
      `there is no statistics database at ${path}; give --stats with the file roje serve writes (stats.path, default <stateDir>/stats.db)`,
    );
  }
  const db = openStatsDatabase(path);
  return { ...createPeriodQueries(db), close: () => db.close() };
}
