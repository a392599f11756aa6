/**
 * Everything the transparency report reads for one period, in one call: totals, blocks per venue and
 * category, distinct blocked names (day sketches merged, estimates only), uptime, list swaps and
 * self-test results. Counts and hashes only: no table read here holds a name or a client.
 */
import { existsSync } from 'node:fs';
import { RojeError } from '../errors.js';
import { openStatsDatabase, type StatsDatabase } from './db.js';
import { emptySketch, HLL_REGISTERS, hllEstimate, hllMerge } from './hll.js';

export interface PeriodQuery {
  /** Hour key (or any ISO instant that sorts like one), inclusive: "2026-10-01T00:00:00Z". */
  from: string;
  /** Exclusive. */
  to: string;
  /** Only this venue's blocks and distinct names. */
  venue?: string | undefined;
}

export interface PeriodData {
  /** Resolver-wide; null when filtered by venue (only blocked answers carry a venue). */
  queries: number | null;
  cacheHits: number | null;
  /** Blocked answers, each once (of the venue, when filtered). */
  blocked: number;
  /** Blocked answers per venue, each once. */
  venues: Array<{ venue: string; blocked: number }>;
  /** Per (venue, category); an answer blocked by several categories counts in each. */
  blocks: Array<{ venue: string; category: string; count: number }>;
  /** Estimated distinct blocked names per category over the whole period (venues merged). */
  distinct: Array<{ category: string; estimate: number }>;
  /** Seconds the resolver ran with its statistics store open, resolver-wide. */
  servedSeconds: number;
  listChanges: Array<{ at: string; version: string; entries: number; sources: number; reason: string }>;
  selfTests: Array<{ at: string; suite: string; passed: number; failed: number; sha256: string }>;
}

export interface PeriodQueries {
  period(query: PeriodQuery): PeriodData;
}

interface Params {
  from: string;
  to: string;
  venue: string | null;
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
  const venues = db.prepare<[Params], { venue: string; blocked: number }>(
    `SELECT venue, sum(blocked) AS blocked FROM hourly_venues
     WHERE hour >= @from AND hour < @to AND (@venue IS NULL OR venue = @venue)
     GROUP BY venue ORDER BY venue`,
  );
  const blocks = db.prepare<[Params], { venue: string; category: string; count: number }>(
    `SELECT venue, category, sum(count) AS count FROM hourly_blocks
     WHERE hour >= @from AND hour < @to AND (@venue IS NULL OR venue = @venue) AND action = 'blocked'
     GROUP BY venue, category ORDER BY venue, category`,
  );
  // Days whose first hour is in the period (the report's periods are whole days).
  const sketches = db.prepare<[Params], { category: string; registers: Buffer }>(
    `SELECT category, registers FROM daily_distinct
     WHERE day >= substr(@from, 1, 10) AND day < substr(@to, 1, 10) AND (@venue IS NULL OR venue = @venue)`,
  );
  const listChanges = db.prepare<[Params], PeriodData['listChanges'][number]>(
    `SELECT at, version, entries, sources, reason FROM list_changes
     WHERE at >= @from AND at < @to ORDER BY at, id`,
  );
  const selfTests = db.prepare<[Params], PeriodData['selfTests'][number]>(
    `SELECT at, suite, passed, failed, sha256 FROM self_tests
     WHERE at >= @from AND at < @to ORDER BY at, id`,
  );

  return {
    period(query) {
      const params: Params = { from: query.from, to: query.to, venue: query.venue ?? null };
      const t = totals.get(params);
      const venueRows = venues.all(params);
      const merged = new Map<string, Uint8Array>();
      for (const row of sketches.iterate(params)) {
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
        queries: filtered ? null : (t?.queries ?? 0),
        cacheHits: filtered ? null : (t?.cacheHits ?? 0),
        blocked: filtered ? venueRows.reduce((sum, v) => sum + v.blocked, 0) : (t?.blocked ?? 0),
        venues: venueRows,
        blocks: blocks.all(params),
        distinct: [...merged]
          .map(([category, registers]) => ({ category, estimate: hllEstimate(registers) }))
          .sort((a, b) => a.category.localeCompare(b.category)),
        servedSeconds: t?.served ?? 0,
        listChanges: listChanges.all(params),
        selfTests: selfTests.all(params),
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
