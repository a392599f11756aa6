/**
 * What recording an answer in the metrics costs: roje_query_duration_seconds' record (typed arrays),
 * the whole onAnswer hook (query counters, histogram, the one performance.now()), against the floor (the
 * clock read alone) and the peer it replaces (prom-client's Histogram.observe per query, with and
 * without a label). ns per call, best of 5 interleaved rounds, and bytes allocated per call (heap growth
 * over 10,000 calls between collections: ~0 means nothing outlives the call). No network.
 *
 *   node --expose-gc --import @tapjs/typescript/import bench/internal/metrics.bench.ts
 */
import { Histogram } from 'prom-client';
import { createMetrics, type MetricsSources } from '../../src/metrics/metrics.js';
import {
  createQueryDurations,
  DURATION_SOURCES,
  QUERY_DURATION_BUCKETS,
} from '../../src/metrics/query-duration.js';
import type { Answer, Query } from '../../src/pipeline/types.js';
import { timedRound } from './timed-round.js';

const CASE_MS = Number(process.env.BENCH_CASE_MS ?? 1000);
const BATCH = 10_000;
const ROUNDS = 5;

// Durations as a busy resolver sees them: 90% cache hits and blocks (~20 µs), 9% upstream (~30 ms), 1% slow.
const MIX = new Float64Array(1024).map((_, i) => (i % 100 === 0 ? 2 : i % 10 === 0 ? 0.03 : 0.00002));
const MASK = MIX.length - 1;

const durations = createQueryDurations();
const sources = new Proxy({} as MetricsSources, {
  get: () => () => {
    throw new Error('a metrics source read in a benchmark');
  },
});
const metrics = createMetrics(sources, { categories: ['adult'], venues: [] }, { processMetrics: false });
const query = {
  qtype: 1,
  client: { address: '127.0.0.1', port: 5353, transport: 'udp' },
  receivedAt: performance.now(),
} as Query;
const cacheHit: Answer = { wire: Buffer.alloc(0), source: 'cache', rcode: 0 };
const peerLabelled = new Histogram({
  name: 'peer_labelled_seconds',
  help: 'peer',
  labelNames: ['source'] as const,
  buckets: [...QUERY_DURATION_BUCKETS],
  registers: [],
});
const peerPlain = new Histogram({
  name: 'peer_plain_seconds',
  help: 'peer',
  buckets: [...QUERY_DURATION_BUCKETS],
  registers: [],
});

let sink = 0;
let i = 0;
const cases: [string, () => void][] = [
  [
    'floor: performance.now()',
    () => {
      sink += performance.now();
    },
  ],
  [
    'record: one value (20 µs, first bucket)',
    () => {
      durations.record(0, 0.00002);
    },
  ],
  [
    'record: the mix (90% 20 µs, 9% 30 ms, 1% 2 s)',
    () => {
      durations.record(i & 3, MIX[i++ & MASK]);
    },
  ],
  [
    'onAnswer: counters + histogram + clock',
    () => {
      metrics.onAnswer(query, cacheHit);
    },
  ],
  [
    'peer: prom-client observe({source}, v)',
    () => {
      peerLabelled.observe({ source: DURATION_SOURCES[i & 3] }, MIX[i++ & MASK]);
    },
  ],
  [
    'peer: prom-client observe(v), no label',
    () => {
      peerPlain.observe(MIX[i++ & MASK]);
    },
  ],
];

/**
 * Heap growth per call over BATCH calls after a full collection; a batch in which a scavenge ran (the
 * heap shrank) is retried. The least of 5 batches: garbage shows in every one of them.
 */
function bytesPerCall(fn: () => void): number | null {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return null;
  let least = Number.POSITIVE_INFINITY;
  for (let attempt = 0, kept = 0; attempt < 20 && kept < 5; attempt++) {
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let k = 0; k < BATCH; k++) fn();
    const grown = process.memoryUsage().heapUsed - before;
    if (grown < 0) continue;
    kept++;
    least = Math.min(least, grown / BATCH);
  }
  return Number.isFinite(least) ? least : null;
}

for (const [, fn] of cases) for (let k = 0; k < BATCH * 5; k++) fn(); // JIT warm-up
const best = cases.map(() => Number.POSITIVE_INFINITY);
for (let r = 0; r < ROUNDS; r++) {
  for (const [c, [, fn]] of cases.entries())
    best[c] = Math.min(best[c], timedRound(fn, CASE_MS / ROUNDS, BATCH));
}
const bytes = cases.map(([, fn]) => bytesPerCall(fn));
console.log(`node ${process.version}, ${CASE_MS} ms per case, best of ${ROUNDS} rounds`);
console.log(`${'case'.padEnd(48)} ${'ops/s'.padStart(12)} ${'ns/op'.padStart(8)} ${'B/op'.padStart(7)}`);
for (const [c, [name]] of cases.entries()) {
  const b = bytes[c];
  console.log(
    `${name.padEnd(48)} ${Math.round(1e9 / best[c])
      .toLocaleString('en-US')
      .padStart(12)} ${best[c].toFixed(1).padStart(8)} ${(b === null ? 'n/a' : b.toFixed(1)).padStart(7)}`,
  );
}
if (bytes[0] === null) console.log('(B/op: run with node --expose-gc)');
if (sink === 42) console.log('');
