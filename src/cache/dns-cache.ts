import type { ExtendedError } from '../dns/constants.js';
import type { ParsedQuery, PreparedResponse } from '../dns/types.js';
import { createSlabCache } from './slab-cache.js';

export { type CacheKeyInput, cacheKey, keySuffix, questionKey } from './cache-key.js';
export { checkOptions, ENTRY_OVERHEAD_BYTES, entrySize, NEGATIVE_SHARE } from './slab-cache.js';

export interface DnsCacheOptions {
  /** Upper bound on the number of entries. */
  maxEntries: number;
  /** Upper bound on the accounted memory of all entries (see entrySize), and on the slab's blocks. */
  maxBytes: number;
  /** RFC 8767: keep expired answers this long past expiry, to serve when every upstream fails. */
  serveStale: { enabled: boolean; maxStale: number /* seconds */ };
}

export interface DnsCacheDeps {
  /** Monotonic milliseconds. Defaults to sharedCoarseClock() (coarse-clock.ts): performance.now() sampled every 5 ms. */
  now?: () => number;
}

export interface CacheHit {
  /** A copy of what was stored (the cache keeps bytes, not the caller's object). */
  response: PreparedResponse;
  /** Whole seconds since the response was stored; what the renderer subtracts from each TTL. */
  age: number;
}

export interface DnsCacheStats {
  entries: number;
  bytes: number;
  /** get() and find() calls answered fresh. */
  hits: number;
  /** get() and find() calls with nothing fresh (absent or expired). */
  misses: number;
  /** getStale() and findStale() calls answered with an expired entry. */
  staleHits: number;
  /** Responses stored by set(), replacements included. */
  inserts: number;
  /** Entries pushed out by the entry or byte bound or the negative share (not expiry, delete or clear). */
  evictions: number;
}

/**
 * The answer cache. Two ways in: by key string (get, getStale, set, delete: a cacheKey()), which
 * copies what it returns, and by question (find, findStale, then render and rcodeOf), the hit path,
 * which builds no key string and no object: a handle is an entry number, valid until the next set(),
 * delete() or clear(). find(name, keySuffix(...)) reaches the entry that set(cacheKey(...)) stored.
 */
export interface DnsCache {
  /** A fresh entry (age < response.ttl), or undefined. Counts a hit or a miss. */
  get(key: string): CacheHit | undefined;
  /**
   * An expired entry still within serveStale.maxStale seconds past expiry (RFC 8767), or undefined;
   * always undefined when serve-stale is disabled or the entry is still fresh (use get() first).
   */
  getStale(key: string): CacheHit | undefined;
  /**
   * get() for the question whose key is cacheKey({ name, ... }) = name.toLowerCase() + suffix
   * (`suffix` from keySuffix(); `name` in presentation form, ASCII, any case): the entry's handle, or
   * -1. Counts a hit or a miss.
   */
  find(name: string, suffix: string): number;
  /** getStale() by question, as find(): a handle or -1. */
  findStale(name: string, suffix: string): number;
  /**
   * find() for a name given as its presentation bytes, `name[0, length)` (dns/name.ts presentName:
   * the characters of the string readName() makes): a cache hit decodes no name.
   */
  findPresented(name: Uint8Array, length: number, suffix: string): number;
  /**
   * The entry of `handle` rendered for `query` (renderResponse's rules), its TTLs aged as of the last
   * find() or findStale(); `ttlOverride` and `ede` as in RenderOptions (a stale answer's).
   */
  render(
    handle: number,
    query: ParsedQuery,
    udpSize: number,
    ttlOverride?: number,
    ede?: readonly ExtendedError[],
    /** Written into the reply buffer the next query reuses (dns/bytes.ts replyBuffer): synchronous answers only. */
    lend?: boolean,
  ): Buffer;
  /** The full RCODE of the entry of `handle`. */
  rcodeOf(handle: number): number;
  /** Stores a response; responses with ttl 0 (or anything not a positive number) are not stored. */
  set(key: string, response: PreparedResponse): void;
  delete(key: string): void;
  clear(): void;
  stats(): DnsCacheStats;
}

/** The answer cache: the slab cache (slab-cache.ts), which keeps no JS object per entry. */
export function createDnsCache(options: DnsCacheOptions, deps: DnsCacheDeps = {}): DnsCache {
  return createSlabCache(options, deps);
}
