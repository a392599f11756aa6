import t from 'tap';
import { cacheKey } from '../../src/cache/dns-cache.js';
import { createSlabCache, ENTRY_OVERHEAD_BYTES, entrySize } from '../../src/cache/slab-cache.js';
import type { PreparedResponse } from '../../src/dns/types.js';

/** A response whose every byte depends on `seed`, so that a mixed-up record shows. */
function response(seed: number, wireLength: number, ttl = 300, negative = false): PreparedResponse {
  const wire = Buffer.alloc(wireLength);
  for (let i = 0; i < wireLength; i++) wire[i] = (seed * 31 + i * 7) & 0xff;
  wire.writeUInt16BE(negative ? 0 : 1, 6);
  const n = 1 + (seed % 3);
  const ttlOffsets = new Uint32Array(n);
  const ttls = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    ttlOffsets[i] = 12 + i * 4;
    ttls[i] = ttl + i;
  }
  return { wire, rcode: negative && seed % 2 === 0 ? 3 : 0, ttlOffsets, ttls, ttl, ede: [] };
}

function key(i: number): string {
  return cacheKey({ name: `host-${i}.example`, qtype: 1, qclass: 1, do: false, cd: false });
}

/** xorshift32: a fixed pseudo-random sequence. */
function prng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

t.test('random sets, gets and deletes across blocks never serve a wrong or torn record', async (t) => {
  // 3.5 MiB: three 1 MiB blocks, records up to 60 KB, so that padding, wrap-around and moves happen.
  const maxBytes = 3.5 * 1024 * 1024;
  const cache = createSlabCache({ maxEntries: 400, maxBytes, serveStale: { enabled: false, maxStale: 0 } });
  const model = new Map<string, PreparedResponse>();
  const rand = prng(12345);
  let hits = 0;
  let wrong = 0;
  for (let op = 0; op < 30_000; op++) {
    const k = key(Math.floor(rand() * 600));
    const x = rand();
    if (x < 0.45) {
      const big = rand() < 0.05;
      const r = response(op, big ? 20_000 + Math.floor(rand() * 40_000) : 20 + Math.floor(rand() * 500));
      cache.set(k, r);
      model.set(k, r);
    } else if (x < 0.95) {
      const hit = cache.get(k);
      if (hit === undefined) continue;
      hits++;
      const want = model.get(k);
      const r = hit.response;
      if (
        want === undefined ||
        !r.wire.equals(want.wire) ||
        r.ttlOffsets.join() !== want.ttlOffsets.join() ||
        r.ttls.join() !== want.ttls.join() ||
        r.rcode !== want.rcode
      ) {
        wrong++;
      }
    } else {
      cache.delete(k);
      model.delete(k);
    }
    const s = cache.stats();
    if (s.bytes > maxBytes || s.entries > 400) {
      t.fail(`bounds broken at op ${op}: ${JSON.stringify(s)}`);
      break;
    }
  }
  t.equal(wrong, 0, 'every hit is the last response stored under its key');
  t.ok(hits > 1000, `enough hits to mean something (${hits})`);
  t.ok(cache.stats().evictions > 0, 'the bounds were reached');
});

t.test('CLOCK: an entry read between inserts survives a byte-bound churn', async (t) => {
  const cache = createSlabCache({
    maxEntries: 100_000,
    maxBytes: 40_000,
    serveStale: { enabled: false, maxStale: 0 },
  });
  const hot = key(0);
  cache.set(hot, response(0, 900));
  for (let i = 1; i < 2000; i++) {
    cache.set(key(i), response(i, 900));
    if (i % 10 === 0 && cache.get(hot) === undefined) {
      t.fail(`hot entry lost after ${i} inserts`);
      break;
    }
  }
  t.ok(cache.get(hot), 'still cached');
  t.equal(cache.get(key(1)), undefined, 'an entry never read went');
});

t.test('get() returns a copy that outlives the slab it came from', async (t) => {
  const cache = createSlabCache({
    maxEntries: 10,
    maxBytes: 100_000,
    serveStale: { enabled: true, maxStale: 60 },
  });
  const r = response(7, 120);
  cache.set(key(1), r);
  const copy = cache.get(key(1));
  t.strictSame(copy?.response, r);
  cache.clear();
  for (let i = 0; i < 10; i++) cache.set(key(100 + i), response(100 + i, 120));
  t.strictSame(copy?.response, r, 'the copy outlives clear() and reuse of the slab');
});

t.test('EDEs are kept and accounted', async (t) => {
  const cache = createSlabCache({
    maxEntries: 10,
    maxBytes: 100_000,
    serveStale: { enabled: false, maxStale: 0 },
  });
  const r = { ...response(1, 60), ede: [{ code: 3, text: 'stale upstream' }] };
  cache.set(key(1), r);
  t.strictSame(cache.get(key(1))?.response.ede, r.ede);
  t.equal(cache.stats().bytes, entrySize(key(1), r));
  t.ok(entrySize(key(1), r) > entrySize(key(1), response(1, 60)), 'EDE text counts');
  t.strictSame(cache.get(key(1))?.response.ede, r.ede, 'twice');
});

t.test('a key not stored one byte per character is not cached', async (t) => {
  const cache = createSlabCache({
    maxEntries: 10,
    maxBytes: 100_000,
    serveStale: { enabled: false, maxStale: 0 },
  });
  const k = cacheKey({ name: 'ex\u0101mple.com', qtype: 1, qclass: 1, do: false, cd: false });
  cache.set(k, response(1, 60));
  t.equal(cache.get(k), undefined);
  t.equal(cache.stats().inserts, 0);
});

t.test('a large maxEntries costs nothing up front; the tables grow with use', async (t) => {
  const cache = createSlabCache({
    maxEntries: 10_000_000,
    maxBytes: 64 * 1024 * 1024,
    serveStale: { enabled: false, maxStale: 0 },
  });
  const before = process.memoryUsage().arrayBuffers;
  for (let i = 0; i < 20_000; i++) cache.set(key(i), response(i, 80));
  let missing = 0;
  for (let i = 0; i < 20_000; i++) if (cache.get(key(i)) === undefined) missing++;
  t.equal(missing, 0, 'all 20k found after the tables grew');
  t.equal(cache.stats().entries, 20_000);
  const grown = process.memoryUsage().arrayBuffers - before;
  t.ok(grown < 20 * 1024 * 1024, `grew by ${grown} bytes, not by maxEntries' worth`);
  t.ok(ENTRY_OVERHEAD_BYTES < 200, 'the per-entry overhead is a few typed-array slots');
});
