/**
 * The memory half of cache.bench.ts, run in a child process of its own (so that the timing rows'
 * garbage does not weigh on these figures) with --expose-gc:
 *   --alloc   bytes allocated per cache hit: the stage's whole path (key suffix, find, render), then
 *             find alone, then Buffer.allocUnsafe of the same answer size alone (the floor: the
 *             response itself); median of 5 windows of 10k, GC forced before each, none during
 *   --fill    RSS, heap and collector pauses with 96k realistic answers cached
 * Prints one JSON line. It also runs unchanged in a checkout of a tree whose cache has no find()
 * (before #21: cacheKey + get + renderResponse there), which is how the "before" figures are made:
 * copy it there and run it with TS_NODE_TRANSPILE_ONLY=1 (that tree's types lack find()).
 */
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import * as dnsCache from '../../src/cache/dns-cache.js';
import { prepareResponse } from '../../src/dns/prepare.js';
import { isRejection, readQuery } from '../../src/dns/query.js';
import { renderResponse } from '../../src/dns/render.js';
import type { ParsedQuery, PreparedResponse } from '../../src/dns/types.js';

type Collect = (o?: { type: 'major' | 'minor' }) => void;
const exposed = (globalThis as { gc?: Collect }).gc;
if (exposed === undefined) throw new Error('run with --expose-gc');
const gc: Collect = exposed;

/** The peers mix's distinct answers: about 96k. */
export const FILL_ENTRIES = 96_000;
// 256 MiB: with the 64 MiB default, the lru-cache design's 800-byte estimate per entry held only ~71k of these.
const OPTIONS = {
  maxEntries: 100_000,
  maxBytes: 256 * 1024 * 1024,
  serveStale: { enabled: true, maxStale: 86400 },
};
const BOUNDS = { minTtl: 0, maxTtl: 86400, negativeMaxTtl: 3600 };

function encodeName(name: string): Buffer {
  const parts = name
    .split('.')
    .map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')]));
  return Buffer.concat([...parts, Buffer.from([0])]);
}

export function nameOf(i: number): string {
  return `www.host-${i}.example${i % 7}.com`;
}

/** A client query for nameOf(i) A with EDNS, parsed as the transport would. */
export function query(i: number): ParsedQuery {
  const msg = Buffer.concat([
    Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1]),
    encodeName(nameOf(i)),
    Buffer.from([0, 1, 0, 1, 0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]),
  ]);
  const q = readQuery(msg);
  if (isRejection(q)) throw new Error(q.reason);
  return q;
}

/** An upstream answer of 1-4 A records (a CNAME-less answer of typical size), prepared. */
export function answer(i: number): PreparedResponse {
  const rrs: Buffer[] = [];
  const n = 1 + (i % 4);
  for (let r = 0; r < n; r++)
    rrs.push(Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 10, r, i >> 8, i]));
  const wire = Buffer.concat([
    Buffer.from([0x12, 0x34, 0x81, 0x80, 0, 1, 0, n, 0, 0, 0, 0]),
    encodeName(nameOf(i)),
    Buffer.from([0, 1, 0, 1]),
    ...rrs,
  ]);
  return prepareResponse(wire, BOUNDS);
}

function keyOf(q: ParsedQuery): string {
  return dnsCache.cacheKey({
    name: q.name,
    qtype: q.qtype,
    qclass: q.qclass,
    do: q.edns?.do === true,
    cd: false,
  });
}

type Cache = dnsCache.DnsCache;

/** The cache stage's hit path, as src/pipeline/stages/cache.ts runs it; the older API's where there is no find(). */
function hitPath(cache: Cache): (q: ParsedQuery) => number {
  if (typeof cache.find === 'function') {
    return (q) => {
      const h = cache.find(
        q.name,
        dnsCache.keySuffix(q.qtype, q.qclass, q.edns?.do === true, (q.flags & 0x10) !== 0),
      );
      if (h < 0) throw new Error('miss');
      return cache.render(h, q, 1232).length + cache.rcodeOf(h);
    };
  }
  return (q) => {
    const h = cache.get(keyOf(q));
    if (h === undefined) throw new Error('miss');
    return renderResponse(h.response, q, { age: h.age, udpSize: 1232 }).length + h.response.rcode;
  };
}

/** The lookup alone (no render): find(), or cacheKey + get() in the older API. */
function lookupOnly(cache: Cache): (q: ParsedQuery) => number {
  if (typeof cache.find === 'function') {
    return (q) => cache.find(q.name, dnsCache.keySuffix(q.qtype, q.qclass, q.edns?.do === true, false)) + 1;
  }
  return (q) => (cache.get(keyOf(q)) === undefined ? 0 : 1);
}

/** Bytes allocated per hit: heapUsed and arrayBuffers deltas over `ops` hits, with no GC in between. */
function alloc(): Record<string, number | string> {
  const cache = dnsCache.createDnsCache(OPTIONS);
  const n = 1000;
  const qs: ParsedQuery[] = [];
  const sizes: number[] = [];
  for (let i = 0; i < n; i++) {
    qs.push(query(i));
    cache.set(keyOf(qs[i]), answer(i));
    sizes.push(renderResponse(answer(i), qs[i], { age: 0, udpSize: 1232 }).length);
  }
  let sink = 0;
  const ops = 10_000;
  const once = (op: (i: number) => number) => {
    gc();
    const profiler = new v8.GCProfiler();
    profiler.start();
    const m0 = process.memoryUsage();
    for (let i = 0; i < ops; i++) sink += op(i % n);
    const m1 = process.memoryUsage();
    // A collection inside the window would hide what it freed.
    if (profiler.stop().statistics.length > 0) return { heap: Number.NaN, external: Number.NaN };
    return { heap: (m1.heapUsed - m0.heapUsed) / ops, external: (m1.arrayBuffers - m0.arrayBuffers) / ops };
  };
  // Warmed up (optimised code, Buffer pool primed), then the median of 5 windows: one window now and
  // then catches a re-optimisation's own allocations.
  const measure = (op: (i: number) => number) => {
    for (let i = 0; i < 20_000; i++) sink += op(i % n);
    const runs = Array.from({ length: 5 }, () => once(op));
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[2];
    return { heap: median(runs.map((r) => r.heap)), external: median(runs.map((r) => r.external)) };
  };
  const hit = hitPath(cache);
  const lookup = lookupOnly(cache);
  const h = measure((i) => hit(qs[i]));
  const l = measure((i) => lookup(qs[i]));
  const floor = measure((i) => Buffer.allocUnsafe(sizes[i]).length);
  if (sink === 0) throw new Error('nothing measured');
  const r = (x: number) => +x.toFixed(1);
  return {
    api: typeof cache.find === 'function' ? 'find + render' : 'cacheKey + get + renderResponse',
    ops,
    hitHeapBytes: r(h.heap),
    hitExternalBytes: r(h.external),
    lookupHeapBytes: r(l.heap),
    bufferAloneHeapBytes: r(floor.heap),
    bufferAloneExternalBytes: r(floor.external),
  };
}

/** RSS, heap and collector pauses with FILL_ENTRIES answers, each prepared from its own upstream buffer. */
function fill(): Record<string, number | string> {
  gc();
  const base = process.memoryUsage();
  const cache = dnsCache.createDnsCache(OPTIONS);
  for (let i = 0; i < FILL_ENTRIES; i++) cache.set(keyOf(query(i)), answer(i));
  for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  const time = (type: 'major' | 'minor') => {
    const samples: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      // gc() is the full collection: on Node 20, gc({ type: 'major' }) is not (it returns in ~1 ms).
      if (type === 'major') gc();
      else gc({ type });
      samples.push(performance.now() - t0);
    }
    samples.sort((a, b) => a - b);
    return +samples[2].toFixed(2);
  };
  const mib = (b: number) => +(b / 1048576).toFixed(1);
  return {
    entries: cache.stats().entries,
    rssMiB: mib(m.rss),
    rssGrowthMiB: mib(m.rss - base.rss),
    heapUsedGrowthMiB: mib(m.heapUsed - base.heapUsed),
    arrayBuffersGrowthMiB: mib(m.arrayBuffers - base.arrayBuffers),
    accountedMiB: mib(cache.stats().bytes),
    fullGcMs: time('major'),
    scavengeMs: time('minor'),
  };
}

const mode = process.argv[2];
if (mode === '--alloc') console.log(JSON.stringify(alloc()));
else if (mode === '--fill') console.log(JSON.stringify(fill()));
else if (process.argv[1]?.endsWith('cache-memory.ts'))
  throw new Error('usage: cache-memory.ts --alloc|--fill');
