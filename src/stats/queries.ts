/**
 * Read side of the statistics: totals and time series over the hourly aggregates, for the admin API
 * and the dashboard. Inputs are checked here (ROJE_ERR_STATS_RANGE) so that a route can answer 400.
 */
import { RojeError } from '../errors.js';
import type { SqlExecutor } from '../store/sql.js';
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
  /** Only this instance's counts (a shared store); absent: every instance's, summed. */
  instance?: string | undefined;
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

/** Named SQL parameters (@name), bound by name in both dialects. */
interface Params {
  from: string;
  to: string;
  instance: string | null;
  venue?: string | null;
  category?: string | null;
}

/** The filter every read takes: one instance's rows, or (null) the whole city's. */
export const INSTANCE_FILTER = '(CAST(@instance AS TEXT) IS NULL OR instance = @instance)';
const VENUE_FILTER = '(CAST(@venue AS TEXT) IS NULL OR venue = @venue)';
const CATEGORY_FILTER = '(CAST(@category AS TEXT) IS NULL OR category = @category)';

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
  summary(query: SummaryQuery): Promise<StatsSummary>;
  series(query: SeriesQuery): Promise<StatsSeries>;
}

const bucketOf = (bucket: StatsBucket) => (bucket === 'day' ? "substr(hour, 1, 10) || 'T00:00:00Z'" : 'hour');

const TOTALS = `SELECT sum(queries) AS queries, sum(blocked) AS blocked, sum(cache_hits) AS "cacheHits"
  FROM hourly_totals WHERE hour >= @from AND hour < @to AND ${INSTANCE_FILTER}`;
const BY_VENUE = `SELECT venue, sum(queries) AS queries, sum(blocked) AS blocked FROM hourly_venues
  WHERE hour >= @from AND hour < @to AND ${VENUE_FILTER} AND ${INSTANCE_FILTER}
  GROUP BY venue ORDER BY 3 DESC, venue`;
const BY_CATEGORY = `SELECT category, sum(count) AS count FROM hourly_blocks
  WHERE hour >= @from AND hour < @to AND ${VENUE_FILTER} AND ${INSTANCE_FILTER}
  GROUP BY category ORDER BY 2 DESC, category`;

function seriesSql(bucket: StatsBucket, by: StatsBy, table: 'blocks' | 'venues'): string {
  const b = bucketOf(bucket);
  return table === 'venues'
    ? `SELECT ${b} AS bucket, venue AS key, sum(blocked) AS count FROM hourly_venues
       WHERE hour >= @from AND hour < @to AND ${VENUE_FILTER} AND ${INSTANCE_FILTER} AND blocked > 0
       GROUP BY 1, 2`
    : `SELECT ${b} AS bucket, ${by} AS key, sum(count) AS count FROM hourly_blocks
       WHERE hour >= @from AND hour < @to AND ${VENUE_FILTER} AND ${CATEGORY_FILTER} AND ${INSTANCE_FILTER}
       GROUP BY 1, 2`;
}

function totalsSeriesSql(bucket: StatsBucket): string {
  return `SELECT ${bucketOf(bucket)} AS bucket, sum(queries) AS queries, sum(blocked) AS blocked,
      sum(cache_hits) AS "cacheHits"
    FROM hourly_totals WHERE hour >= @from AND hour < @to AND ${INSTANCE_FILTER} GROUP BY 1`;
}

type Point = { bucket: string; key: string; count: number };
type Totals = { queries: number | null; blocked: number | null; cacheHits: number | null };

/** The series past MAX_SERIES - 1 summed into one "(other)". */
function topSeries(sorted: StatsSeries['series'], n: number): StatsSeries['series'] {
  const series = sorted.slice(0, MAX_SERIES - 1);
  if (sorted.length > MAX_SERIES - 1) {
    const other = { key: OTHER_SERIES, total: 0, counts: new Array<number>(n).fill(0) };
    for (const s of sorted.slice(MAX_SERIES - 1)) {
      other.total += s.total;
      s.counts.forEach((c, i) => {
        other.counts[i] = (other.counts[i] ?? 0) + c;
      });
    }
    series.push(other);
  }
  return series;
}

function checkSeriesQuery(query: SeriesQuery): StatsBy {
  if (query.bucket !== 'hour' && query.bucket !== 'day') {
    throw new RojeError('ROJE_ERR_STATS_RANGE', `bucket "${String(query.bucket)}" must be "hour" or "day"`);
  }
  const by = query.by ?? 'category';
  if (by !== 'venue' && by !== 'category') {
    throw new RojeError('ROJE_ERR_STATS_RANGE', `by "${String(by)}" must be "venue" or "category"`);
  }
  return by;
}

export function createStatsQueries(db: SqlExecutor): StatsQueries {
  async function summary(query: SummaryQuery): Promise<StatsSummary> {
    const r = range(query, 'hour');
    const venue = query.venue ?? null;
    const params: Params = { from: r.from, to: r.to, venue, instance: query.instance ?? null };
    const categories = await db.all<{ category: string; count: number }>(BY_CATEGORY, params);
    const venues = await db.all<{ venue: string; queries: number; blocked: number }>(BY_VENUE, params);
    const base = { from: r.from, to: r.to, byVenue: venues, byCategory: categories };
    if (venue !== null) {
      return {
        ...base,
        venue,
        queries: venues.reduce((sum, v) => sum + v.queries, 0),
        cacheHits: null,
        blocked: venues.reduce((sum, v) => sum + v.blocked, 0),
      };
    }
    const t = await db.get<Totals>(TOTALS, params);
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
  }

  async function series(query: SeriesQuery): Promise<StatsSeries> {
    const by = checkSeriesQuery(query);
    const r = range(query, query.bucket);
    const venue = query.venue ?? null;
    const category = query.category ?? null;
    const instance = query.instance ?? null;
    const index = new Map(r.buckets.map((b, i) => [b, i]));
    // Blocks per venue come from hourly_venues (each answer once) unless a category narrows them.
    const table = by === 'venue' && category === null ? 'venues' : 'blocks';
    const points = await db.all<Point>(
      seriesSql(query.bucket, by, table),
      table === 'venues'
        ? { from: r.from, to: r.to, venue, instance }
        : { from: r.from, to: r.to, venue, category, instance },
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
    let totalsOut: StatsSeries['totals'] = null;
    if (venue === null && category === null) {
      const n = r.buckets.length;
      totalsOut = {
        queries: new Array(n).fill(0),
        blocked: new Array(n).fill(0),
        cacheHits: new Array(n).fill(0),
      };
      const rows = await db.all<{ bucket: string; queries: number; blocked: number; cacheHits: number }>(
        totalsSeriesSql(query.bucket),
        { from: r.from, to: r.to, instance },
      );
      for (const row of rows) {
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
      series: topSeries(sorted, r.buckets.length),
      totals: totalsOut,
    };
  }

  return { summary, series };
}
