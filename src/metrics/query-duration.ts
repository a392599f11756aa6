/**
 * roje_query_duration_seconds: how long each answer took, from the message read (the responder's
 * `receivedAt`) to the answer handed back for the socket, counted in fixed buckets held in typed arrays.
 * Recording is a subtraction, a short scan of a constant array and two typed-array writes: nothing
 * allocated, no prom-client call per query. The Prometheus histogram (_bucket, _sum, _count) is built
 * from the arrays at scrape time.
 */
import type { Histogram, MetricObjectWithValues, MetricValueWithName } from 'prom-client';
import type { AnswerSource } from '../pipeline/types.js';

export const QUERY_DURATION_METRIC = 'roje_query_duration_seconds';

/**
 * Upper bounds in seconds, 1-2.5-5 per decade: a cache hit or a blocked answer takes tens of µs, an
 * upstream miss 1-100 ms, a timeout seconds. 50 ms is a bound, so the alert's threshold is exact.
 */
export const QUERY_DURATION_BUCKETS: readonly number[] = [
  0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
  5,
];
const BOUNDS = Float64Array.from(QUERY_DURATION_BUCKETS);
/** The buckets, then the +Inf slot. */
const SLOTS = BOUNDS.length + 1;

/**
 * The `source` label: what an answer waited for, in four values (a few series, not one per
 * roje_queries_total source). `upstream` is every answer that waited on an upstream, whatever came of
 * it: forwarded answers, stale ones (served only once the upstreams failed) and errors (SERVFAIL after
 * the upstreams failed or timed out, mostly). The other three are roje's own work: fresh cache hits,
 * blocks (policy), and local answers (local zones, refusals, rate limits, not-ready).
 */
export const DURATION_SOURCES = ['cache', 'upstream', 'blocked', 'local'] as const;

const GROUP_OF: Readonly<Record<AnswerSource, number>> = {
  cache: 0,
  upstream: 1,
  stale: 1,
  error: 1,
  policy: 2,
  local: 3,
  refused: 3,
  'rate-limited': 3,
  'not-ready': 3,
};

/** The DURATION_SOURCES index of each answer source, in `sources` order (for an index lookup per query). */
export function durationGroups(sources: readonly AnswerSource[]): Uint8Array {
  return Uint8Array.from(sources, (s) => GROUP_OF[s]);
}

/** The bucket an observation falls in (its upper bound is >= seconds), or BOUNDS.length for +Inf. */
export function bucketIndex(seconds: number): number {
  // Most answers are fast: scanning up from the smallest bound ends in a step or two for them.
  let i = 0;
  while (i < BOUNDS.length && seconds > BOUNDS[i]) i++;
  return i;
}

export interface QueryDurations {
  /** One answer of DURATION_SOURCES[group] that took `seconds`. */
  record(group: number, seconds: number): void;
  /** The histogram as prom-client exports one: cumulative buckets, +Inf, _sum and _count per source. */
  values(): MetricValueWithName<string>[];
}

export function createQueryDurations(): QueryDurations {
  // [group][slot]: counts per bucket (not cumulative); doubles, as a Uint32 would wrap within a day at 50k q/s.
  const counts = new Float64Array(DURATION_SOURCES.length * SLOTS);
  const sums = new Float64Array(DURATION_SOURCES.length);

  return {
    record(group, seconds) {
      // A clock that steps back (or a query without receivedAt) counts as instant, never as NaN in _sum.
      const s = seconds >= 0 ? seconds : 0;
      counts[group * SLOTS + bucketIndex(s)]++;
      sums[group] += s;
    },
    values() {
      const out: MetricValueWithName<string>[] = [];
      const bucket = `${QUERY_DURATION_METRIC}_bucket`;
      for (let g = 0; g < DURATION_SOURCES.length; g++) {
        const source = DURATION_SOURCES[g];
        let cumulative = 0;
        for (let b = 0; b < SLOTS; b++) {
          cumulative += counts[g * SLOTS + b];
          const le = b < BOUNDS.length ? BOUNDS[b] : '+Inf';
          out.push({ metricName: bucket, labels: { le, source }, value: cumulative });
        }
        out.push({ metricName: `${QUERY_DURATION_METRIC}_sum`, labels: { source }, value: sums[g] });
        out.push({ metricName: `${QUERY_DURATION_METRIC}_count`, labels: { source }, value: cumulative });
      }
      return out;
    },
  };
}

/**
 * A prom-client Histogram whose values are read from `durations` at each scrape (its observe() is never
 * called): it is exported, merged over query loops (summed per label set) and listed like any histogram.
 */
export function queryDurationHistogram(
  HistogramClass: typeof Histogram,
  durations: QueryDurations,
): Histogram<'source'> {
  // prom-client's typings call `type` an enum and want `collect`; at run time it is the string, as here.
  const snapshot = () =>
    ({
      name: QUERY_DURATION_METRIC,
      help: HELP,
      type: 'histogram',
      aggregator: 'sum',
      values: durations.values(),
    }) as unknown as MetricObjectWithValues<MetricValueWithName<'source'>>;
  class TypedArrayHistogram extends HistogramClass<'source'> {
    override async get() {
      return snapshot();
    }
    /** What the registry's text exposition reads (prom-client 15), when the metric has it. */
    async getForPromString() {
      return snapshot();
    }
  }
  return new TypedArrayHistogram({
    name: QUERY_DURATION_METRIC,
    help: HELP,
    labelNames: ['source'] as const,
    buckets: [...QUERY_DURATION_BUCKETS],
    registers: [],
  });
}

const HELP =
  'Time from reading a query to handing its answer to the socket, by what the answer waited for: cache (fresh hits), upstream (forwarded, stale after upstream failures, errors), blocked, local';
