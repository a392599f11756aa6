/**
 * roje_query_duration_seconds: the bucket logic over the constant bounds, the arrays' export as a
 * Prometheus histogram, the onAnswer wiring in createMetrics (counts kept before prom-client loads), and
 * the merge over query loops (the workers' JSON summed per label set).
 */
import { execFile } from 'node:child_process';
import t from 'tap';
import {
  createMetrics,
  type MetricsSources,
  type RojeMetrics,
  type WorkerMetrics,
} from '../../src/metrics/metrics.js';
import {
  bucketIndex,
  createQueryDurations,
  DURATION_SOURCES,
  durationGroups,
  QUERY_DURATION_BUCKETS,
} from '../../src/metrics/query-duration.js';
import type { AnswerSource, Query } from '../../src/pipeline/types.js';
import { seriesOf } from '../helpers/metrics.js';

const N = QUERY_DURATION_BUCKETS.length;

t.test('the bounds: log-spaced from 25 µs to 5 s, each one inclusive', async (t) => {
  t.equal(QUERY_DURATION_BUCKETS[0], 0.000025);
  t.equal(QUERY_DURATION_BUCKETS[N - 1], 5);
  t.ok(N >= 16 && N <= 20, `${N} buckets`);
  for (let i = 1; i < N; i++) {
    const ratio = QUERY_DURATION_BUCKETS[i]! / QUERY_DURATION_BUCKETS[i - 1]!;
    t.ok(ratio >= 2 && ratio <= 2.5, `bound ${i} is 2-2.5x the one before (${ratio})`);
  }
  for (const [i, bound] of QUERY_DURATION_BUCKETS.entries()) {
    t.equal(bucketIndex(bound), i, `${bound} s is in its own bucket (le is inclusive)`);
    t.equal(bucketIndex(bound * 1.000001), i + 1, `just above ${bound} s is in the next`);
    if (i > 0) t.equal(bucketIndex((bound + QUERY_DURATION_BUCKETS[i - 1]!) / 2), i, 'between two bounds');
  }
  t.equal(bucketIndex(0), 0);
  t.equal(bucketIndex(5.0001), N, 'over 5 s: +Inf');
  t.equal(bucketIndex(3600), N);
});

t.test('answer sources map to four label values', async (t) => {
  const sources: AnswerSource[] = [
    'cache',
    'stale',
    'upstream',
    'policy',
    'local',
    'refused',
    'rate-limited',
    'not-ready',
    'error',
  ];
  const groups = [...durationGroups(sources)].map((g) => DURATION_SOURCES[g]);
  // Stale answers and errors come after the upstreams failed (serve-stale, SERVFAIL): they waited on them.
  t.same(groups, [
    'cache',
    'upstream',
    'upstream',
    'blocked',
    'local',
    'local',
    'local',
    'local',
    'upstream',
  ]);
});

/** The exported values of one series, by source: bucket counts (cumulative, +Inf last), sum, count. */
function histogramOf(values: ReturnType<ReturnType<typeof createQueryDurations>['values']>, source: string) {
  const own = values.filter((v) => v.labels.source === source);
  return {
    buckets: own.filter((v) => v.metricName?.endsWith('_bucket')).map((v) => [v.labels.le, v.value]),
    sum: own.find((v) => v.metricName?.endsWith('_sum'))?.value,
    count: own.find((v) => v.metricName?.endsWith('_count'))?.value,
  };
}

t.test('recorded durations export as cumulative buckets, sum and count per source', async (t) => {
  const d = createQueryDurations();
  const cache = DURATION_SOURCES.indexOf('cache');
  const upstream = DURATION_SOURCES.indexOf('upstream');
  d.record(cache, 0.00002); // first bucket
  d.record(cache, 0.00004); // 50 µs
  d.record(cache, 0.00004);
  d.record(upstream, 0.03); // 50 ms
  d.record(upstream, 7); // +Inf
  d.record(cache, Number.NaN); // counts as instant, never NaN in _sum
  d.record(cache, -0.001);

  const values = d.values();
  t.equal(values.length, DURATION_SOURCES.length * (N + 3), 'every source always: buckets, +Inf, sum, count');
  const c = histogramOf(values, 'cache');
  t.equal(c.buckets.length, N + 1);
  t.same(c.buckets[0], [0.000025, 3], 'two samples at 0 and 20 µs');
  t.same(c.buckets[1], [0.00005, 5]);
  t.same(c.buckets[N], ['+Inf', 5]);
  t.equal(c.count, 5);
  t.ok(Math.abs((c.sum ?? 0) - 0.0001) < 1e-12, `sum ${c.sum}`);

  const u = histogramOf(values, 'upstream');
  const le = (b: number) => u.buckets.find(([bound]) => bound === b)?.[1];
  t.equal(le(0.025), 0, 'nothing at or under 25 ms');
  t.equal(le(0.05), 1, '30 ms counted under le=0.05');
  t.equal(le(5), 1, '7 s only in +Inf');
  t.same(u.buckets[N], ['+Inf', 2]);
  t.equal(u.count, 2);
  t.equal(u.sum, 7.03);
  for (const [, value] of histogramOf(values, 'blocked').buckets) t.equal(value, 0, 'blocked: zeros');
  // Cumulative: never decreasing.
  for (const s of DURATION_SOURCES) {
    const counts = histogramOf(values, s).buckets.map(([, v]) => v as number);
    t.ok(
      counts.every((v, i) => i === 0 || v >= counts[i - 1]!),
      `${s} buckets are cumulative`,
    );
  }
});

// --- createMetrics: the onAnswer wiring, the text exposition and the merge over loops.

const sources: MetricsSources = {
  cache: () => ({ entries: 0, bytes: 0, hits: 0, misses: 0, staleHits: 0, inserts: 0, evictions: 0 }),
  upstreams: () => [],
  listSources: () => [],
  listRefreshes: () => [],
  serving: () => true,
  abuse: () => ({
    sources: 0,
    entries: 0,
    pages: 0,
    pageEntries: 'count',
    pagesNotEnforced: 0,
    maxAgeSeconds: 43200,
    feeds: [],
    keyId: null,
    warnings: [],
  }),
  selfTest: () => null,
};
const labels = { categories: ['adult'], venues: [] };

/** A query answered `ms` milliseconds after it was read. */
function answered(metrics: RojeMetrics, source: AnswerSource, ms: number, rcode = 0): void {
  const query = {
    qtype: 1,
    client: { address: '127.0.0.1', port: 5353, transport: 'udp' },
    receivedAt: performance.now() - ms,
  } as Query;
  metrics.onAnswer(query, {
    wire: Buffer.alloc(0),
    source,
    rcode,
    ...(source === 'policy' ? { block: { categories: 1, venue: -1 } } : {}),
  });
}

/** One loop's answers: 3 cache hits, 2 blocked, 1 upstream answer after 30 ms, 1 after 7 s. */
function loop(metrics: RojeMetrics): void {
  for (let i = 0; i < 3; i++) answered(metrics, 'cache', 0);
  for (let i = 0; i < 2; i++) answered(metrics, 'policy', 0, 3);
  answered(metrics, 'upstream', 30);
  answered(metrics, 'upstream', 7000);
}

t.test('onAnswer records each answer, before and after prom-client is loaded', async (t) => {
  const metrics = createMetrics(sources, labels);
  loop(metrics); // before prepare(): only the typed arrays
  metrics.prepare();
  answered(metrics, 'local', 0);
  const text = await metrics.render();
  const s = seriesOf(text);
  t.match(text, '# TYPE roje_query_duration_seconds histogram');
  t.equal(s.get('roje_query_duration_seconds_count{source="cache"}'), 3);
  t.equal(s.get('roje_query_duration_seconds_count{source="blocked"}'), 2);
  t.equal(s.get('roje_query_duration_seconds_count{source="upstream"}'), 2);
  t.equal(s.get('roje_query_duration_seconds_count{source="local"}'), 1);
  t.equal(s.get('roje_query_duration_seconds_bucket{le="0.025",source="upstream"}'), 0);
  t.equal(s.get('roje_query_duration_seconds_bucket{le="0.05",source="upstream"}'), 1, '30 ms under 50 ms');
  t.equal(s.get('roje_query_duration_seconds_bucket{le="5",source="upstream"}'), 1);
  t.equal(s.get('roje_query_duration_seconds_bucket{le="+Inf",source="upstream"}'), 2, '7 s over 5 s');
  const upSum = s.get('roje_query_duration_seconds_sum{source="upstream"}') ?? 0;
  t.ok(upSum >= 7.03 && upSum < 7.2, `upstream sum ${upSum}`);
  // Same count as roje_queries_total: every answer is timed once.
  const queries = [...s].filter(([k]) => k.startsWith('roje_queries_total{')).reduce((n, [, v]) => n + v, 0);
  t.equal(queries, 8);
  // The in-process answers are timed from their own receivedAt: a collection or a preempted CI runner can
  // land between the two clock reads, so the bound is loose (bucketIndex's own test checks the edges).
  t.equal(s.get('roje_query_duration_seconds_bucket{le="1",source="cache"}'), 3);
  t.equal(s.get('roje_query_duration_seconds_bucket{le="1",source="blocked"}'), 2);
});

t.test('with query loops: the histograms of every loop summed per bucket', async (t) => {
  const loops = [createMetrics(sources, labels), createMetrics(sources, labels)];
  for (const l of loops) loop(l);
  answered(loops[1]!, 'cache', 0);
  const primary = createMetrics(sources, labels, {
    workers: {
      metrics: async () =>
        Promise.all(loops.map(async (l) => (await l.registry.getMetricsAsJSON()) as WorkerMetrics)),
      processMetrics: false,
      status: () => ({ configured: 2, running: 2, restarts: 0 }),
    },
  });
  answered(primary, 'cache', 0); // the primary answers nothing in workers mode; were it to, not counted
  const text = await primary.render();
  const s = seriesOf(text);
  t.equal((text.match(/^# TYPE roje_query_duration_seconds /gm) ?? []).length, 1, 'one family');
  t.equal(s.get('roje_query_duration_seconds_count{source="cache"}'), 7);
  t.equal(s.get('roje_query_duration_seconds_count{source="upstream"}'), 4);
  t.equal(s.get('roje_query_duration_seconds_bucket{le="0.05",source="upstream"}'), 2);
  t.equal(s.get('roje_query_duration_seconds_bucket{le="+Inf",source="upstream"}'), 4);
  t.equal(s.get('roje_query_duration_seconds_bucket{le="0.005",source="blocked"}'), 4);
  const buckets = [...s.keys()].filter((k) => k.startsWith('roje_query_duration_seconds_bucket'));
  t.equal(buckets.length, DURATION_SOURCES.length * (N + 1), 'no series twice');
});

t.test('promtool reads the exposition as a valid histogram', async (t) => {
  const metrics = createMetrics(sources, labels, { processMetrics: false });
  loop(metrics);
  const text = await metrics.render();
  const result = await new Promise<{ code: number; output: string }>((resolve) => {
    const child = execFile('promtool', ['check', 'metrics'], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({
        code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1,
        output: stdout + stderr,
      });
    });
    child.stdin?.end(text);
  });
  if (result.code === -1 && /ENOENT/.test(result.output)) {
    t.comment('skipped: promtool is not on PATH (Debian: apt-get install prometheus)');
    return;
  }
  // promtool's lint notes (e.g. on other metrics' names) exit 1; a malformed exposition is an error line.
  t.notMatch(result.output, /error|roje_query_duration_seconds/i, result.output);
});
