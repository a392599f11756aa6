import t from 'tap';
import {
  type CacheKeyInput,
  cacheKey,
  createDnsCache,
  type DnsCacheOptions,
  ENTRY_OVERHEAD_BYTES,
  entrySize,
} from '../../src/cache/dns-cache.js';
import type { PreparedResponse } from '../../src/dns/types.js';
import { isRojeError } from '../../src/errors.js';

/** A positive answer (ANCOUNT 1) unless `rcode` says NXDOMAIN or `negative` asks for NODATA. */
function response(
  ttl: number,
  wireLength = 40,
  fill = 0,
  kind: 'positive' | 'nodata' | 'nxdomain' = 'positive',
): PreparedResponse {
  const wire = Buffer.alloc(wireLength, fill);
  if (wireLength >= 8) wire.writeUInt16BE(kind === 'positive' ? 1 : 0, 6);
  return {
    wire,
    rcode: kind === 'nxdomain' ? 3 : 0,
    ttlOffsets: Uint32Array.of(30),
    ttls: Uint32Array.of(ttl),
    ttl,
    ede: [],
  };
}

function q(name: string, over: Partial<CacheKeyInput> = {}): CacheKeyInput {
  return { name, qtype: 1, qclass: 1, do: false, cd: false, ...over };
}

/** A cache on a hand-driven clock (ms). */
function setup(options: Partial<DnsCacheOptions> = {}) {
  const clock = { ms: 1_000_000 };
  const cache = createDnsCache(
    {
      maxEntries: 1000,
      maxBytes: 10_000_000,
      serveStale: { enabled: false, maxStale: 0 },
      ...options,
    },
    { now: () => clock.ms },
  );
  return { cache, clock, start: clock.ms };
}

t.test('a fresh entry is a hit, with its age in whole seconds', async (t) => {
  const { cache, clock, start } = setup();
  const key = cacheKey(q('example.com'));
  const r = response(300);
  cache.set(key, r);
  let hit = cache.get(key);
  t.strictSame(hit?.response, r, 'the stored content');
  t.equal(hit?.age, 0);
  clock.ms = start + 999;
  t.equal(cache.get(key)?.age, 0, 'under one second is age 0');
  clock.ms = start + 1000;
  t.equal(cache.get(key)?.age, 1);
  clock.ms = start + 2999;
  hit = cache.get(key);
  t.equal(hit?.age, 2, 'floored, not rounded');
  t.strictSame(hit?.response, r);
});

t.test('an entry expires when age reaches ttl', async (t) => {
  const { cache, clock, start } = setup();
  const key = cacheKey(q('example.com'));
  cache.set(key, response(10));
  clock.ms = start + 9_999;
  t.equal(cache.get(key)?.age, 9, 'fresh until the last millisecond');
  clock.ms = start + 10_000;
  t.equal(cache.get(key), undefined, 'expired at ttl');
  t.equal(cache.stats().entries, 0, 'deleted when touched: serve-stale is off');
  t.equal(cache.getStale(key), undefined);
});

t.test('serve-stale: an expired entry is kept for maxStale seconds, for getStale only', async (t) => {
  const { cache, clock, start } = setup({ serveStale: { enabled: true, maxStale: 30 } });
  const key = cacheKey(q('example.com'));
  const r = response(10);
  cache.set(key, r);
  t.equal(cache.getStale(key), undefined, 'a fresh entry is not stale');

  clock.ms = start + 10_000;
  t.equal(cache.get(key), undefined, 'get() never returns an expired entry');
  t.equal(cache.stats().entries, 1, 'but keeps it for the stale window');
  let stale = cache.getStale(key);
  t.strictSame(stale?.response, r);
  t.equal(stale?.age, 10, 'age since stored');

  clock.ms = start + 39_999;
  stale = cache.getStale(key);
  t.equal(stale?.age, 39, 'still servable at the end of the window');
  t.equal(cache.get(key), undefined);
  t.equal(cache.stats().entries, 1);

  clock.ms = start + 40_000;
  t.equal(cache.getStale(key), undefined, 'gone at ttl + maxStale');
  t.equal(cache.stats().entries, 0, 'and deleted');
  t.equal(cache.stats().staleHits, 2);
});

t.test('serve-stale: get() deletes an entry past its stale window', async (t) => {
  const { cache, clock, start } = setup({ serveStale: { enabled: true, maxStale: 5 } });
  const key = cacheKey(q('example.com'));
  cache.set(key, response(10));
  clock.ms = start + 15_000;
  t.equal(cache.get(key), undefined);
  t.equal(cache.stats().entries, 0);
});

t.test('serve-stale disabled: getStale() is always undefined', async (t) => {
  const { cache, clock, start } = setup({ serveStale: { enabled: false, maxStale: 3600 } });
  const key = cacheKey(q('example.com'));
  cache.set(key, response(10));
  clock.ms = start + 10_000;
  t.equal(cache.getStale(key), undefined, 'even within what maxStale would allow');
  t.equal(cache.stats().staleHits, 0);
});

t.test('responses with ttl 0 (or no valid ttl) are not stored', async (t) => {
  const { cache } = setup();
  for (const ttl of [0, -1, Number.NaN]) {
    const key = cacheKey(q(`ttl${ttl}.example`));
    cache.set(key, response(ttl));
    t.equal(cache.get(key), undefined, `ttl ${ttl}`);
  }
  t.equal(cache.stats().entries, 0);
  t.equal(cache.stats().inserts, 0);
});

t.test('a later ttl-0 response leaves the cached one in place', async (t) => {
  const { cache } = setup();
  const key = cacheKey(q('example.com'));
  const r = response(60);
  cache.set(key, r);
  cache.set(key, response(0));
  t.strictSame(cache.get(key)?.response, r);
});

t.test('cacheKey separates DO, CD, qtype and qclass, and folds case', async (t) => {
  const base = cacheKey(q('example.com'));
  t.equal(cacheKey(q('Example.COM')), base, 'case-insensitive name (RFC 4343)');
  t.equal(cacheKey(q('EXAMPLE.COM', { do: false })), base);
  const variants = [
    q('example.com', { do: true }),
    q('example.com', { cd: true }),
    q('example.com', { do: true, cd: true }),
    q('example.com', { qtype: 28 }),
    q('example.com', { qclass: 3 }),
    q('example.org'),
    q('example.com.'),
    q(''),
  ];
  const keys = new Set([base, ...variants.map(cacheKey)]);
  t.equal(keys.size, variants.length + 1, 'every variant has its own key');

  const { cache } = setup();
  cache.set(cacheKey(q('Example.com', { do: true })), response(60));
  t.ok(cache.get(cacheKey(q('example.COM', { do: true }))), 'stored under one case, found under another');
  t.equal(cache.get(base), undefined, 'a DO answer is not served to a non-DO query');
  t.equal(cache.get(cacheKey(q('example.com', { do: true, cd: true }))), undefined, 'nor to a CD query');
});

t.test('cacheKey: no two questions share a key, common table or not', async (t) => {
  const seen = new Map<string, string>();
  const qtypes = [0, 1, 2, 11, 28, 65, 255, 256, 257, 1000, 65535];
  let count = 0;
  for (const name of ['a', 'a1', '1.a', '']) {
    for (const qtype of qtypes) {
      for (const qclass of [1, 3, 11, 255, 256]) {
        for (const flags of [0, 1, 2, 3]) {
          const input = q(name, { qtype, qclass, do: (flags & 2) !== 0, cd: (flags & 1) !== 0 });
          const key = cacheKey(input);
          const label = JSON.stringify(input);
          if (seen.has(key)) t.fail(`${label} collides with ${seen.get(key)}`);
          seen.set(key, label);
          count++;
        }
      }
    }
  }
  t.equal(seen.size, count);
  t.equal(
    cacheKey(q('x', { qtype: 1, qclass: 1 })),
    cacheKey(q('x', { qtype: 1, qclass: 1 })),
    'stable across calls',
  );
  t.equal(cacheKey(q('x', { qtype: 255 })), 'x\u0000255\u00001\u00000', 'table suffix has the general form');
  t.equal(cacheKey(q('x', { qtype: 256 })), 'x\u0000256\u00001\u00000', 'fallback suffix');
});

t.test('the entry count is bounded, least recently used out first', async (t) => {
  const { cache } = setup({ maxEntries: 3 });
  const keys = ['a', 'b', 'c', 'd', 'e'].map((n) => cacheKey(q(n)));
  for (const key of keys) cache.set(key, response(60));
  const s = cache.stats();
  t.equal(s.entries, 3);
  t.equal(s.evictions, 2);
  t.equal(cache.get(keys[0]), undefined);
  t.equal(cache.get(keys[1]), undefined);
  t.ok(cache.get(keys[2]));
  t.ok(cache.get(keys[4]));
});

t.test('a read makes an entry recent again (LRU order)', async (t) => {
  const { cache } = setup({ maxEntries: 3 });
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => cacheKey(q(n)));
  cache.set(a, response(60));
  cache.set(b, response(60));
  cache.set(c, response(60));
  t.ok(cache.get(a), 'a is now the most recent');
  cache.set(d, response(60));
  t.equal(cache.get(b), undefined, 'b was the least recently used');
  t.ok(cache.get(a));
  t.ok(cache.get(c));
  t.ok(cache.get(d));
});

t.test('the byte bound holds while many big responses go in', async (t) => {
  const maxBytes = 50_000;
  const { cache } = setup({ maxEntries: 10_000, maxBytes });
  const wireLength = 4000;
  for (let i = 0; i < 500; i++) {
    cache.set(cacheKey(q(`big-${i}.example`)), response(300, wireLength, i & 0xff));
    const bytes = cache.stats().bytes;
    if (bytes > maxBytes) t.fail(`bytes ${bytes} > maxBytes ${maxBytes} after ${i + 1} inserts`);
  }
  const s = cache.stats();
  const perEntry = entrySize(cacheKey(q('big-100.example')), response(300, wireLength));
  t.ok(perEntry > wireLength + ENTRY_OVERHEAD_BYTES, 'the size estimate counts wire and overhead');
  t.equal(s.entries, Math.floor(maxBytes / perEntry), 'as many as fit');
  t.equal(s.inserts, 500);
  t.equal(s.evictions, 500 - s.entries);
  t.ok(cache.get(cacheKey(q('big-499.example'))), 'the newest is kept');
  t.equal(cache.get(cacheKey(q('big-0.example'))), undefined, 'the oldest went');
});

t.test('a response larger than the whole cache is refused and displaces nothing', async (t) => {
  const { cache } = setup({ maxBytes: 10_000 });
  const key = cacheKey(q('example.com'));
  const r = response(60);
  cache.set(key, r);
  cache.set(key, response(60, 20_000));
  cache.set(cacheKey(q('other.example')), response(60, 20_000));
  t.strictSame(cache.get(key)?.response, r);
  const s = cache.stats();
  t.equal(s.entries, 1);
  t.equal(s.inserts, 1);
  t.equal(s.evictions, 0);
});

t.test('a flood of unique names stays within bounds and keeps a popular entry', async (t) => {
  const maxEntries = 1000;
  const maxBytes = 1000 * 1200;
  const { cache } = setup({ maxEntries, maxBytes });
  const popular = cacheKey(q('popular.example'));
  cache.set(popular, response(3600));
  for (let i = 0; i < 20_000; i++) {
    cache.set(cacheKey(q(`r${i}.flood.example`)), response(30, 200));
    // Asked for once per 100 flood names: well inside the cache's capacity.
    if (i % 100 === 0 && !cache.get(popular)) {
      t.fail(`popular entry lost after ${i} flood names`);
      break;
    }
    const s = cache.stats();
    if (s.bytes > maxBytes || s.entries > maxEntries) {
      t.fail(`bounds broken after ${i} flood names: ${JSON.stringify(s)}`);
      break;
    }
  }
  t.ok(cache.get(popular), 'popular entry survived');
  t.ok(cache.stats().evictions >= 19_000, 'the flood evicted itself');
});

t.test('set() replaces an entry and restarts its age', async (t) => {
  const { cache, clock, start } = setup();
  const key = cacheKey(q('example.com'));
  cache.set(key, response(60));
  clock.ms = start + 30_000;
  const r2 = response(60, 50);
  cache.set(key, r2);
  const hit = cache.get(key);
  t.strictSame(hit?.response, r2);
  t.equal(hit?.age, 0);
  const s = cache.stats();
  t.equal(s.entries, 1);
  t.equal(s.inserts, 2);
  t.equal(s.evictions, 0, 'a replacement is not an eviction');
  t.equal(s.bytes, entrySize(key, r2), 'bytes follow the new size');
});

t.test('a clock that steps back gives age 0, not a negative age', async (t) => {
  const { cache, clock, start } = setup();
  const key = cacheKey(q('example.com'));
  cache.set(key, response(60));
  clock.ms = start - 5_000;
  t.equal(cache.get(key)?.age, 0);
});

t.test('delete, clear and stats', async (t) => {
  const { cache, clock, start } = setup({ serveStale: { enabled: true, maxStale: 100 } });
  const [a, b, c] = ['a', 'b', 'c'].map((n) => cacheKey(q(n)));
  cache.set(a, response(10));
  cache.set(b, response(60));
  cache.set(c, response(60));
  t.ok(cache.get(a));
  t.ok(cache.get(b));
  t.equal(cache.get(cacheKey(q('absent'))), undefined);
  clock.ms = start + 10_000;
  t.equal(cache.get(a), undefined, 'expired: a miss');
  t.ok(cache.getStale(a));
  t.equal(cache.getStale(cacheKey(q('absent'))), undefined);
  cache.delete(b);
  t.equal(cache.get(b), undefined);
  const s = cache.stats();
  t.same(s, {
    entries: 2,
    bytes: entrySize(a, response(10)) + entrySize(c, response(60)),
    hits: 2,
    misses: 3,
    staleHits: 1,
    inserts: 3,
    evictions: 0,
  });
  cache.clear();
  const cleared = cache.stats();
  t.equal(cleared.entries, 0);
  t.equal(cleared.bytes, 0);
  t.equal(cleared.evictions, 0, 'clearing is not evicting');
  t.equal(cleared.hits, 2, 'counters survive clear()');
  t.equal(cache.get(c), undefined);
});

t.test('the default clock is real and monotonic', async (t) => {
  const cache = createDnsCache({
    maxEntries: 10,
    maxBytes: 100_000,
    serveStale: { enabled: false, maxStale: 0 },
  });
  const key = cacheKey(q('example.com'));
  cache.set(key, response(3600));
  t.equal(cache.get(key)?.age, 0);
});

t.test('invalid options are refused with ROJE_ERR_CACHE_OPTIONS', async (t) => {
  const ok: DnsCacheOptions = {
    maxEntries: 10,
    maxBytes: 100_000,
    serveStale: { enabled: true, maxStale: 0 },
  };
  const bad: DnsCacheOptions[] = [
    { ...ok, maxEntries: 0 },
    { ...ok, maxEntries: 1.5 },
    { ...ok, maxEntries: Number.NaN },
    { ...ok, maxBytes: 0 },
    { ...ok, maxBytes: 10 },
    { ...ok, serveStale: { enabled: true, maxStale: -1 } },
    { ...ok, serveStale: { enabled: true, maxStale: Number.POSITIVE_INFINITY } },
  ];
  for (const options of bad) {
    let caught: unknown;
    try {
      createDnsCache(options);
    } catch (err) {
      caught = err;
    }
    t.ok(isRojeError(caught, 'ROJE_ERR_CACHE_OPTIONS'), JSON.stringify(options));
  }
  t.doesNotThrow(() => createDnsCache(ok), 'maxStale 0 is allowed');
});

t.test(
  'scan resistance: a flood of negative answers cannot push the popular positive ones out',
  async (t) => {
    const { cache } = setup({ maxEntries: 100 });
    for (let i = 0; i < 60; i++) cache.set(cacheKey(q(`popular${i}.example`)), response(300));
    // A random-subdomain flood: 1,000 names, NXDOMAIN and NODATA.
    for (let i = 0; i < 1000; i++) {
      cache.set(
        cacheKey(q(`r${i}.flood.example`)),
        response(300, 40, 0, i % 2 === 0 ? 'nxdomain' : 'nodata'),
      );
    }
    let kept = 0;
    for (let i = 0; i < 60; i++) if (cache.get(cacheKey(q(`popular${i}.example`))) !== undefined) kept++;
    t.equal(kept, 60, 'every popular answer survived');
    t.equal(cache.stats().entries, 60 + 25, 'negatives hold at most a quarter of the entries');
    t.ok(cache.get(cacheKey(q('r999.flood.example'))) !== undefined, 'the newest negatives are cached');
    t.equal(cache.get(cacheKey(q('r0.flood.example'))), undefined, 'the oldest went first');
    // A name that becomes positive leaves the negative share.
    cache.set(cacheKey(q('r999.flood.example')), response(300));
    for (let i = 0; i < 30; i++)
      cache.set(cacheKey(q(`x${i}.flood.example`)), response(300, 40, 0, 'nxdomain'));
    t.ok(cache.get(cacheKey(q('r999.flood.example'))) !== undefined, 'no longer counted as negative');
    cache.clear();
    t.equal(cache.stats().entries, 0);
  },
);
