/**
 * Cost of a cache lookup with 1k and 100k entries: the hit path's keySuffix() + find() (no key
 * string), and cacheKey() + get() (key string, copy of the response), against a plain Map holding
 * the same entries under the same keys (the peer: what a lookup costs without expiry, age, eviction
 * or stats). Also splits the cost: key building alone, and the cache on performance.now() instead of
 * its default coarse clock.
 *
 * Then, in child processes with --expose-gc (cache-memory.ts): bytes allocated per hit (the cache
 * stage's whole path, against Buffer.allocUnsafe of the answer alone) and RSS, heap and collector
 * pauses with 96k answers cached.
 *
 * Run: node --import @tapjs/typescript/import bench/internal/cache.bench.ts
 * Bounded: rounds of a fixed number of operations, stopped after ~1 s per row (~20 s in all), and
 * three child processes of a few seconds each.
 */
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { type CacheKeyInput, cacheKey, createDnsCache, keySuffix } from '../../src/cache/dns-cache.js';
import type { PreparedResponse } from '../../src/dns/types.js';

const ORDER_LENGTH = 1_000_000;
const CHUNK = 200_000;
const WARMUP = 100_000;
const ROUNDS = 7;
const ROW_BUDGET_MS = 1000;
const SIZES = [1_000, 100_000];

function response(i: number): PreparedResponse {
  const wire = Buffer.alloc(64 + (i % 64));
  return {
    wire,
    rcode: 0,
    ttlOffsets: Uint32Array.of(40),
    ttls: Uint32Array.of(3600),
    ttl: 3600,
    ede: [],
  };
}

function questions(n: number): CacheKeyInput[] {
  const qs: CacheKeyInput[] = [];
  for (let i = 0; i < n; i++) {
    // Decoded from bytes, as the query parser makes them: flat strings, not template ropes.
    const name = Buffer.from(`www.host-${i}.example${i % 7}.com`, 'latin1').toString('latin1');
    qs.push({ name, qtype: i % 2 === 0 ? 1 : 28, qclass: 1, do: i % 3 === 0, cd: false });
  }
  return qs;
}

/** A fixed pseudo-random visiting order, so 100k entries do not sit in CPU cache in insertion order. */
function order(n: number): Uint32Array {
  const idx = new Uint32Array(ORDER_LENGTH);
  let x = 2463534242;
  for (let i = 0; i < idx.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    idx[i] = (x >>> 0) % n;
  }
  return idx;
}

interface Row {
  entries: number;
  label: string;
  ns: number;
}

/**
 * Median ns/op over up to ROUNDS rounds of CHUNK ops, stopping early past ROW_BUDGET_MS.
 * `op` returns 1 on a hit, so a loop optimised away or missing shows up as "no hits".
 */
function measure(op: (i: number) => number, idx: Uint32Array): number {
  let hits = 0;
  for (let i = 0; i < WARMUP; i++) hits += op(idx[i]);
  const samples: number[] = [];
  const deadline = performance.now() + ROW_BUDGET_MS;
  for (let r = 0, at = 0; r < ROUNDS && (r === 0 || performance.now() < deadline); r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < CHUNK; i++) hits += op(idx[at + i]);
    samples.push(Number(process.hrtime.bigint() - t0) / CHUNK);
    at = (at + CHUNK) % (idx.length - CHUNK);
  }
  if (hits === 0) throw new Error('no hits: the benchmark is not measuring lookups');
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1];
}

const rows: Row[] = [];
for (const n of SIZES) {
  const qs = questions(n);
  const keys = qs.map(cacheKey);
  const idx = order(n);
  const opts = { maxEntries: n, maxBytes: n * 2048, serveStale: { enabled: true, maxStale: 3600 } };

  const cache = createDnsCache(opts);
  const precise = createDnsCache(opts, { now: () => performance.now() });
  const map = new Map<string, PreparedResponse>();
  for (let i = 0; i < n; i++) {
    const r = response(i);
    cache.set(keys[i], r);
    precise.set(keys[i], r);
    map.set(keys[i], r);
  }
  const suffixOf = (q: CacheKeyInput) => keySuffix(q.qtype, q.qclass, q.do, q.cd);

  const add = (label: string, op: (i: number) => number) =>
    rows.push({ entries: n, label, ns: measure(op, idx) });
  add('keySuffix + cache.find', (i) => (cache.find(qs[i].name, suffixOf(qs[i])) >= 0 ? 1 : 0));
  add('keySuffix + cache.find, performance.now', (i) =>
    precise.find(qs[i].name, suffixOf(qs[i])) >= 0 ? 1 : 0,
  );
  add('cacheKey + cache.get (a copy)', (i) => (cache.get(cacheKey(qs[i])) ? 1 : 0));
  add('cacheKey + Map.get (peer)', (i) => (map.get(cacheKey(qs[i])) ? 1 : 0));
  add('cacheKey alone', (i) => (cacheKey(qs[i]).length > 0 ? 1 : 0));
  add('Map.get, prebuilt key (peer)', (i) => (map.get(keys[i]) ? 1 : 0));
  add('performance.now()', () => (performance.now() > 0 ? 1 : 0));
}

console.log(`node ${process.version}, median of up to ${ROUNDS} rounds of ${CHUNK} ops, random order`);
console.log(`${'entries'.padStart(8)}  ${'operation'.padEnd(38)} ${'ns/op'.padStart(7)}`);
for (const r of rows) {
  console.log(`${String(r.entries).padStart(8)}  ${r.label.padEnd(38)} ${r.ns.toFixed(1).padStart(7)}`);
}

// Memory: a child process per measure.
const script = new URL('./cache-memory.ts', import.meta.url).pathname;
const child = (mode: string) =>
  execFileSync(process.execPath, ['--expose-gc', ...process.execArgv, script, mode], {
    encoding: 'utf8',
    timeout: 120_000,
  }).trim();
console.log('\nbytes allocated per hit, 10k hits after a forced GC (heap; external = ArrayBuffers):');
console.log(child('--alloc'));
console.log('\n96k answers cached (growth over the empty process; full GC and scavenge: median of 5):');
for (let i = 0; i < 2; i++) console.log(child('--fill'));
