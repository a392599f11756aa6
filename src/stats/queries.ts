/**
 * Read side of the statistics: totals and time series over the hourly aggregates, for the admin API
 * and the dashboard. Inputs are checked here (ROJE_ERR_STATS_RANGE) so that a route can answer 400.
 */
import { RojeError } from '../errors.js';
import type { StatsDatabase } from './db.js';
import { hourKey } from './recorder.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Most buckets one series may span: a month of hours, or a bit over two years of days. */
export const MAX_HOUR_BUCKETS = 31 * 24;
export const MAX_DAY_BUCKETS = 800;
/** Series beyond this many (by total) are summed into one "(other)" series, to keep charts legible. */
export const MAX_SERIES = 12;
export const OTHER_SERIES = '(other)';

export type StatsBucket = 'hour' | 'day';
export type StatsBy = 'venue' | 'category';

export interface SummaryQuery {
  /** Any ISO 8601 instant; rounded down to its hour. */
  from: string;
  /** Any ISO 8601 instant, exclusive; rounded up to an hour. */
  to: string;
  venue?: string | undefined;
}

export interface StatsSummary {
  from: string;
  to: string;
  venue: string | null;
  /** Answered queries: resolver-wide, or of the venue when filtered. */
  queries: number;
  /** Resolver-wide; null when filtered by venue (cache hits are not counted per venue). */
  cacheHits: number | null;
  /** Blocked answers, each once. */
  blocked: number;
  /** Per venue ("(none)": clients of no venue). Hours recorded before roje counted queries per venue count 0 queries. */
  byVenue: Array<{ venue: string; queries: number; blocked: number }>;
  /** Per category; an answer blocked by several categories counts in each. */
  byCategory: Array<{ category: string; count: number }>;
}

export interface SeriesQuery extends SummaryQuery {
  bucket: StatsBucket;
  /** Split the blocks by venue or by category (default). */
  by?: StatsBy | undefined;
  category?: string | undefined;
}

export interface StatsSeries {
  from: string;
  to: string;
  bucket: StatsBucket;
  by: StatsBy;
  venue: string | null;
  category: string | null;
  /** Bucket starts, UTC ISO, every bucket of the range (empty ones too). */
  buckets: string[];
  /** One series per venue or category, counts aligned with `buckets`, largest total first. */
  series: Array<{ key: string; total: number; counts: number[] }>;
  /** Resolver-wide counts per bucket; null when filtered by venue or category. */
  totals: { queries: number[]; blocked: number[]; cacheHits: number[] } | null;
}

/** Named SQL parameters; better-sqlite3 binds an object by name (it has no ?NNN reuse). */
interface Params {
  from: string;
  to: string;
  venue?: string | null;
  category?: string | null;
}

interface Range {
  from: string;
  to: string;
  buckets: string[];
}

function parseInstant(value: string, what: string): number {
  const ms = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new RojeError(
      'ROJE_ERR_STATS_RANGE',
      `${what} "${String(value)}" is not an ISO 8601 date or instant`,
    );
  }
  return ms;
}

function range(query: SummaryQuery, bucket: StatsBucket): Range {
  const step = bucket === 'day' ? DAY_MS : HOUR_MS;
  const fromMs = Math.floor(parseInstant(query.from, 'from') / step) * step;
  const toMs = Math.ceil(parseInstant(query.to, 'to') / step) * step;
  if (toMs <= fromMs)
    throw new RojeError('ROJE_ERR_STATS_RANGE', `"to" (${query.to}) must be after "from" (${query.from})`);
  const count = (toMs - fromMs) / step;
  const max = bucket === 'day' ? MAX_DAY_BUCKETS : MAX_HOUR_BUCKETS;
  if (count > max) {
    throw new RojeError(
      'ROJE_ERR_STATS_RANGE',
      `the range spans ${count} ${bucket}s, more than ${max}; narrow it or use a larger bucket`,
    );
  }
  const buckets: string[] = [];
  for (let t = fromMs; t < toMs; t += step) buckets.push(hourKey(t));
  return { from: hourKey(fromMs), to: hourKey(toMs), buckets };
}

export interface StatsQueries {
  summary(query: SummaryQuery): StatsSummary;
  series(query: SeriesQuery): StatsSeries;
}

// long-function: the statements prepared once per database (and cached per bucket and grouping) are its
// state; summary() and series() are the two readers of them.
export function createStatsQueries(db: StatsDatabase): StatsQueries {
  const totals = db.prepare<
    [Params],
    { queries: number | null; blocked: number | null; cacheHits: number | null }
  >(
    'SELECT sum(queries) AS queries, sum(blocked) AS blocked, sum(cache_hits) AS cacheHits FROM hourly_totals WHERE hour >= @from AND hour < @to',
  );
  const byVenue = db.prepare<[Params], { venue: string; queries: number; blocked: number }>(
    `SELECT venue, sum(queries) AS queries, sum(blocked) AS blocked FROM hourly_venues
     WHERE hour >= @from AND hour < @to AND (@venue IS NULL OR venue = @venue)
     GROUP BY venue ORDER BY blocked DESC, venue`,
  );
  const byCategory = db.prepare<[Params], { category: string; count: number }>(
    `SELECT category, sum(count) AS count FROM hourly_blocks
     WHERE hour >= @from AND hour < @to AND (@venue IS NULL OR venue = @venue)
     GROUP BY category ORDER BY count DESC, category`,
  );
  const bucketOf = (bucket: StatsBucket) =>
    bucket === 'day' ? "substr(hour, 1, 10) || 'T00:00:00Z'" : 'hour';
  type Point = { bucket: string; key: string; count: number };
  const seriesStatements = new Map<string, ReturnType<typeof db.prepare<[Params], Point>>>();
  function seriesStatement(bucket: StatsBucket, by: StatsBy, table: 'blocks' | 'venues') {
    const id = `${bucket}/${by}/${table}`;
    let statement = seriesStatements.get(id);
    if (statement === undefined) {
      const b = bucketOf(bucket);
      statement =
        table === 'venues'
          ? db.prepare(
              `SELECT ${b} AS bucket, venue AS key, sum(blocked) AS count FROM hourly_venues
               WHERE hour >= @from AND hour < @to AND (@venue IS NULL OR venue = @venue) AND blocked > 0
               GROUP BY 1, 2`,
            )
          : db.prepare(
              `SELECT ${b} AS bucket, ${by} AS key, sum(count) AS count FROM hourly_blocks
               WHERE hour >= @from AND hour < @to AND (@venue IS NULL OR venue = @venue) AND (@category IS NULL OR category = @category)
               GROUP BY 1, 2`,
            );
      seriesStatements.set(id, statement);
    }
    return statement;
  }
  const totalsSeries = new Map<
    StatsBucket,
    ReturnType<
      typeof db.prepare<[Params], { bucket: string; queries: number; blocked: number; cacheHits: number }>
    >
  >();
  function totalsStatement(bucket: StatsBucket) {
    let statement = totalsSeries.get(bucket);
    if (statement === undefined) {
      statement = db.prepare(
        `SELECT ${bucketOf(bucket)} AS bucket, sum(queries) AS queries, sum(blocked) AS blocked, sum(cache_hits) AS cacheHits
         FROM hourly_totals WHERE hour >= @from AND hour < @to GROUP BY 1`,
      );
      totalsSeries.set(bucket, statement);
    }
    return statement;
  }

  return {
    summary(query) {
      const r = range(query, 'hour');
      const venue = query.venue ?? null;
      const categories = byCategory.all({ from: r.from, to: r.to, venue });
      const venues = byVenue.all({ from: r.from, to: r.to, venue });
      if (venue !== null) {
        const blocked = venues.reduce((sum, v) => sum + v.blocked, 0);
        return {
          from: r.from,
          to: r.to,
          venue,
          queries: venues.reduce((sum, v) => sum + v.queries, 0),
          cacheHits: null,
          blocked,
          byVenue: venues,
          byCategory: categories,
        };
      }
      const t = totals.get({ from: r.from, to: r.to });
      return {
        from: r.from,
        to: r.to,
        venue: null,
        queries: t?.queries ?? 0,
        cacheHits: t?.cacheHits ?? 0,
        blocked: t?.blocked ?? 0,
        byVenue: venues,
        byCategory: categories,
      };
    },
    series(query) {
      if (query.bucket !== 'hour' && query.bucket !== 'day') {
        throw new RojeError(
          'ROJE_ERR_STATS_RANGE',
          `bucket "${String(query.bucket)}" must be "hour" or "day"`,
        );
      }
      const by = query.by ?? 'category';
      if (by !== 'venue' && by !== 'category') {
        throw new RojeError('ROJE_ERR_STATS_RANGE', `by "${String(by)}" must be "venue" or "category"`);
      }
      const r = range(query, query.bucket);
      const venue = query.venue ?? null;
      const category = query.category ?? null;
      const index = new Map(r.buckets.map((b, i) => [b, i]));
      // Blocks per venue come from hourly_venues (each answer once) unless a category narrows them.
      const table = by === 'venue' && category === null ? 'venues' : 'blocks';
      const points = seriesStatement(query.bucket, by, table).all(
        table === 'venues' ? { from: r.from, to: r.to, venue } : { from: r.from, to: r.to, venue, category },
      );
      const byKey = new Map<string, { key: string; total: number; counts: number[] }>();
      for (const p of points) {
        const i = index.get(p.bucket);
        if (i === undefined) continue;
        let s = byKey.get(p.key);
        if (s === undefined) {
          s = { key: p.key, total: 0, counts: new Array<number>(r.buckets.length).fill(0) };
          byKey.set(p.key, s);
        }
        s.counts[i] = (s.counts[i] ?? 0) + p.count;
        s.total += p.count;
      }
      const sorted = [...byKey.values()].sort((a, b) => b.total - a.total || a.key.localeCompare(b.key));
      const series = sorted.slice(0, MAX_SERIES - 1);
      if (sorted.length > MAX_SERIES - 1) {
        const rest = sorted.slice(MAX_SERIES - 1);
        const other = { key: OTHER_SERIES, total: 0, counts: new Array<number>(r.buckets.length).fill(0) };
        for (const s of rest) {
          other.total += s.total;
          s.counts.forEach((c, i) => {
            other.counts[i] = (other.counts[i] ?? 0) + c;
          });
        }
        series.push(other);
      }
      let totalsOut: StatsSeries['totals'] = null;
      if (venue === null && category === null) {
        const n = r.buckets.length;
        totalsOut = {
          queries: new Array(n).fill(0),
          blocked: new Array(n).fill(0),
          cacheHits: new Array(n).fill(0),
        };
        for (const row of totalsStatement(query.bucket).all({ from: r.from, to: r.to })) {
          const i = index.get(row.bucket);
          if (i === undefined) continue;
          totalsOut.queries[i] = row.queries;
          totalsOut.blocked[i] = row.blocked;
          totalsOut.cacheHits[i] = row.cacheHits;
        }
      }
      return {
        from: r.from,
        to: r.to,
        bucket: query.bucket,
        by,
        venue,
        category,
        buckets: r.buckets,
        series,
        totals: totalsOut,
      };
    },
  };
}
