import { performance } from 'node:perf_hooks';
import { LRUCache } from 'lru-cache';
import type { PreparedResponse } from '../dns/types.js';
import { RojeError } from '../errors.js';

/** The question facts a cached answer depends on. */
export interface CacheKeyInput {
  /** Presentation name; lowercased here, so callers may pass it as received. */
  name: string;
  qtype: number;
  qclass: number;
  /** DNSSEC OK: an answer fetched without DO lacks the RRSIGs a DO client expects. */
  do: boolean;
  /** Checking Disabled: an unvalidated answer must not reach a client that wants validated data. */
  cd: boolean;
}

export interface DnsCacheOptions {
  /** Upper bound on the number of entries. */
  maxEntries: number;
  /** Upper bound on the estimated memory of all entries (see entrySize). */
  maxBytes: number;
  /** RFC 8767: keep expired answers this long past expiry, to serve when every upstream fails. */
  serveStale: { enabled: boolean; maxStale: number /* seconds */ };
}

export interface DnsCacheDeps {
  /** Monotonic milliseconds. Defaults to performance.now; see coarse-clock.ts for a cheaper one. */
  now?: () => number;
}

export interface CacheHit {
  response: PreparedResponse;
  /** Whole seconds since the response was stored; what the renderer subtracts from each TTL. */
  age: number;
}

export interface DnsCacheStats {
  entries: number;
  bytes: number;
  /** get() calls answered fresh. */
  hits: number;
  /** get() calls with nothing fresh (absent or expired). */
  misses: number;
  /** getStale() calls answered with an expired entry. */
  staleHits: number;
  /** Responses stored by set(), replacements included. */
  inserts: number;
  /** Entries pushed out by the entry or byte bound (not expiry, delete or clear). */
  evictions: number;
}

export interface DnsCache {
  /** A fresh entry (age < response.ttl), or undefined. Counts a hit or a miss. */
  get(key: string): CacheHit | undefined;
  /**
   * An expired entry still within serveStale.maxStale seconds past expiry (RFC 8767), or undefined;
   * always undefined when serve-stale is disabled or the entry is still fresh (use get() first).
   */
  getStale(key: string): CacheHit | undefined;
  /** Stores a response; responses with ttl 0 (or anything not a positive number) are not stored. */
  set(key: string, response: PreparedResponse): void;
  delete(key: string): void;
  clear(): void;
  stats(): DnsCacheStats;
}

/**
 * What an entry costs beyond its wire bytes, key characters and TTL arrays: the Entry and
 * PreparedResponse objects, the Buffer and two typed-array objects, the ArrayBuffer, the key's string
 * header, lru-cache's size slot and the Map entry. Measured on Node 20.20 by filling 100k entries
 * with 100-byte wires (heapUsed + arrayBuffers after gc, minus the payload): 772 bytes; rounded up
 * because native BackingStore records are not in those figures. It assumes `wire` owns its memory:
 * a Buffer sliced from a larger one (Buffer's 8 KiB pool, a receive buffer) keeps all of that alive.
 */
export const ENTRY_OVERHEAD_BYTES = 800;
/** Most of the entries negative answers (NXDOMAIN, NODATA) may hold: see the scan resistance in createDnsCache. */
export const NEGATIVE_SHARE = 0.25;

/** NXDOMAIN, or NOERROR with an empty answer section (NODATA). */
function isNegative(r: PreparedResponse): boolean {
  return r.rcode === 3 || (r.rcode === 0 && r.wire.length >= 8 && r.wire[6] === 0 && r.wire[7] === 0);
}

/** Per Extended DNS Error attached to a response, before its text. */
const EDE_OVERHEAD_BYTES = 64;

interface Entry {
  readonly response: PreparedResponse;
  /** Clock value (ms) when stored. */
  readonly storedAt: number;
  /** storedAt + ttl: fresh strictly before this instant. */
  readonly expiresAt: number;
  /** expiresAt + maxStale (or expiresAt when serve-stale is off): gone at this instant. */
  readonly staleUntil: number;
}

// Suffixes for the common case (class IN, qtype < 256), built once so that a key is one
// concatenation. The separator is NUL, which a presentation name carries only as the escape \000;
// and since the suffix fields hold no NUL, a key splits unambiguously from its right end anyway.
const FLAG_COMBOS = 4;
const COMMON_QTYPES = 256;
const QCLASS_IN = 1;
const COMMON_SUFFIXES: string[] = [];
for (let qtype = 0; qtype < COMMON_QTYPES; qtype++) {
  for (let flags = 0; flags < FLAG_COMBOS; flags++) {
    COMMON_SUFFIXES.push(`\0${qtype}\0${QCLASS_IN}\0${flags}`);
  }
}

/**
 * The cache key of a question: lowercase name, qtype, qclass, DO and CD.
 * Runs per query, so it makes one string and flattens it at once: a concatenation is a rope in V8,
 * and a rope used as a Map key is flattened on a slower runtime path (measured ~25% slower).
 */
export function cacheKey(q: CacheKeyInput): string {
  const flags = (q.do ? 2 : 0) | (q.cd ? 1 : 0);
  const qtype = q.qtype;
  const suffix =
    // `(qtype & 0xff) === qtype`: an integer 0-255, so a fractional qtype cannot alias a table slot.
    q.qclass === QCLASS_IN && (qtype & 0xff) === qtype
      ? COMMON_SUFFIXES[qtype * FLAG_COMBOS + flags]
      : `\0${qtype}\0${q.qclass}\0${flags}`;
  const key = q.name.toLowerCase() + suffix;
  key.charCodeAt(key.length - 1); // flattens the rope here, on V8's fast path
  return key;
}

/** Estimated bytes an entry holds; lru-cache's maxSize bounds the sum of these. */
export function entrySize(key: string, response: PreparedResponse): number {
  let size =
    ENTRY_OVERHEAD_BYTES +
    key.length +
    response.wire.length +
    response.ttlOffsets.byteLength +
    response.ttls.byteLength;
  const ede = response.ede;
  for (let i = 0; i < ede.length; i++) size += EDE_OVERHEAD_BYTES + (ede[i].text?.length ?? 0);
  return size;
}

export function checkOptions(options: DnsCacheOptions): void {
  const { maxEntries, maxBytes, serveStale } = options;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
    throw new RojeError(
      'ROJE_ERR_CACHE_OPTIONS',
      `cache maxEntries must be a positive integer, got ${maxEntries}; set cache.maxEntries to e.g. 100000`,
    );
  }
  if (!Number.isSafeInteger(maxBytes) || maxBytes < ENTRY_OVERHEAD_BYTES) {
    throw new RojeError(
      'ROJE_ERR_CACHE_OPTIONS',
      `cache maxBytes must be an integer of at least ${ENTRY_OVERHEAD_BYTES}, got ${maxBytes}; set cache.maxBytes to e.g. 67108864`,
    );
  }
  if (serveStale.enabled && !(Number.isFinite(serveStale.maxStale) && serveStale.maxStale >= 0)) {
    throw new RojeError(
      'ROJE_ERR_CACHE_OPTIONS',
      `cache serveStale.maxStale must be a number of seconds >= 0, got ${serveStale.maxStale}`,
    );
  }
}

/**
 * The wire-response cache: PreparedResponse objects under cacheKey() keys, in an lru-cache bounded
 * by entry count and estimated bytes.
 *
 * Expiry is ours, not lru-cache's `ttl`: an entry keeps storedAt/expiresAt/staleUntil and a hit is
 * one lru-cache lookup plus one clock read and two comparisons. lru-cache's ttl would add its own
 * per-entry timestamp arrays and a clock read inside every get, and could not keep an entry for the
 * serve-stale window while still reporting it as a miss to get().
 *
 * Cache-busting floods (random unique names, e.g. random-subdomain attacks): lru-cache is plain LRU.
 * Each new name goes in at the most-recent end and pushes the least recently used entry out (by
 * count, or as many as needed to fit maxBytes), so memory never exceeds maxBytes (entries larger
 * than maxBytes are refused). A popular entry survives as long as it is read again before `capacity`
 * newer names have been inserted: with 100k entries and a flood of 10k names/s, anything asked for
 * at least once every ~10 s stays; rarer names are lost. There is no frequency-aware admission
 * (TinyLFU, ARC) yet; a flood larger than the cache still washes out the long tail.
 */
export function createDnsCache(options: DnsCacheOptions, deps: DnsCacheDeps = {}): DnsCache {
  checkOptions(options);
  const now = deps.now ?? (() => performance.now());
  const staleMs = options.serveStale.enabled ? options.serveStale.maxStale * 1000 : 0;
  const serveStale = options.serveStale.enabled;
  const maxBytes = options.maxBytes;

  let hits = 0;
  let misses = 0;
  let staleHits = 0;
  let inserts = 0;
  let evictions = 0;

  const maxEntries = options.maxEntries;
  // No `max` for lru-cache: with one it allocates its index arrays for every entry up front (1M entries:
  // ~25 MiB and ~150 ms at start, in every query loop). The entry bound is kept in set() instead, and
  // the arrays grow with what is cached.
  const lru = new LRUCache<string, Entry>({
    maxSize: options.maxBytes,
    // Called on removals only (never on a hit); 'set' is a replacement, 'delete' is ours or clear().
    dispose: (_entry, key, reason) => {
      if (reason === 'evict') evictions++;
      if (reason !== 'set') negatives.delete(key);
    },
  });
  // Scan resistance: a flood of random names (cache-busting, random-subdomain attacks) yields negative
  // answers. They may hold at most a quarter of the entries; past that the oldest negative goes, not the
  // least recently used answer overall, so the popular names stay cached through the flood.
  // Insertion-ordered keys of the negative entries: the first is the oldest.
  const negatives = new Set<string>();
  const maxNegatives = Math.max(1, Math.floor(options.maxEntries * NEGATIVE_SHARE));
  function addNegative(key: string): void {
    negatives.delete(key);
    negatives.add(key);
    if (negatives.size <= maxNegatives) return;
    const oldest = negatives.values().next().value as string;
    negatives.delete(oldest);
    if (lru.delete(oldest)) evictions++;
  }

  function ageOf(nowMs: number, entry: Entry): number {
    const ms = nowMs - entry.storedAt;
    // A clock that steps back (an injected one) must not yield a negative age.
    return ms > 0 ? Math.floor(ms / 1000) : 0;
  }

  return {
    get(key) {
      // lru.get also moves an expired entry to the recent end: it was just asked for, so it is
      // about to be replaced by a fresh answer, or served stale if the upstreams fail.
      const entry = lru.get(key);
      if (entry !== undefined) {
        const t = now();
        if (t < entry.expiresAt) {
          hits++;
          return { response: entry.response, age: ageOf(t, entry) };
        }
        if (t >= entry.staleUntil) lru.delete(key);
      }
      misses++;
      return undefined;
    },

    getStale(key) {
      if (!serveStale) return undefined;
      const entry = lru.get(key);
      if (entry === undefined) return undefined;
      const t = now();
      if (t < entry.expiresAt) return undefined;
      if (t >= entry.staleUntil) {
        lru.delete(key);
        return undefined;
      }
      staleHits++;
      return { response: entry.response, age: ageOf(t, entry) };
    },

    set(key, response) {
      const ttl = response.ttl;
      // Also rejects NaN and negatives: nothing that may not be served for a whole second is kept.
      if (!(ttl > 0)) return;
      const size = entrySize(key, response);
      // Bigger than the whole cache: lru-cache would refuse it and drop the entry it replaces,
      // which may still be fresh; keep that one instead.
      if (size > maxBytes) return;
      const storedAt = now();
      const expiresAt = storedAt + ttl * 1000;
      lru.set(key, { response, storedAt, expiresAt, staleUntil: expiresAt + staleMs }, { size });
      // The least recently used goes, as lru-cache's own `max` would do it (dispose sees 'evict').
      if (lru.size > maxEntries) lru.pop();
      if (isNegative(response)) addNegative(key);
      else negatives.delete(key);
      inserts++;
    },

    delete(key) {
      lru.delete(key);
    },

    clear() {
      lru.clear();
      negatives.clear();
    },

    stats() {
      return {
        entries: lru.size,
        bytes: lru.calculatedSize,
        hits,
        misses,
        staleHits,
        inserts,
        evictions,
      };
    },
  };
}
