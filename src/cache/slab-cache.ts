import { performance } from 'node:perf_hooks';
import type { ExtendedError } from '../dns/constants.js';
import type { PreparedResponse } from '../dns/types.js';
import {
  type CacheHit,
  checkOptions,
  type DnsCache,
  type DnsCacheDeps,
  type DnsCacheOptions,
  NEGATIVE_SHARE,
} from './dns-cache.js';
import { ENTRY_META_BYTES, EntryTable, FLAG_LIVE, FLAG_NEG, FLAG_REF, NegativeQueue } from './entry-table.js';
import { hashKey, IndexTable } from './index-table.js';
import { keyMatches, readResponse, writeRecord } from './records.js';
import { align8, RECORD_HEADER_BYTES, SlabRing } from './slab.js';

/**
 * The answer cache without an object per entry: each answer is one record in a ring of large
 * buffers (slab.ts) holding its TTL offsets, its TTLs, its key and its wire; an open-addressing
 * index in an Int32Array finds it (index-table.ts); every other fact sits in typed arrays
 * (entry-table.ts). The collector sees a few dozen objects whatever the number of entries.
 *
 * Eviction is CLOCK over the ring: a read sets the entry's reference bit; when room is needed the
 * head record goes, unless its bit is set, in which case it is cleared and the record moves to the
 * tail (a second chance, at most MAX_SECOND_CHANCES per insert so that one insert never copies the
 * whole ring). For a cache written in order and read now and then this is LRU's order; under a
 * flood it keeps what was read since it was stored.
 *
 * Scan resistance, TTL aging and serve-stale are those of dns-cache.ts: negatives (NXDOMAIN,
 * NODATA) hold at most NEGATIVE_SHARE of maxEntries, oldest out first; get() answers strictly
 * before storedAt + ttl, getStale() until maxStale seconds later; an entry past that goes when touched.
 */
export interface SlabCache extends DnsCache {
  /**
   * get() without the copy: the response's wire and TTL arrays are views into the ring, valid only
   * until the next set(), delete() or clear(). For a caller that renders the answer at once.
   */
  getView(key: string): CacheHit | undefined;
  /** getStale() without the copy; the same validity as getView(). */
  getStaleView(key: string): CacheHit | undefined;
}

/** Bytes an entry is accounted beyond its record: its typed-array state and index slots. */
export const SLAB_ENTRY_OVERHEAD_BYTES = ENTRY_META_BYTES;
/** Per Extended DNS Error attached to a response, before its text (as in dns-cache.ts). */
const EDE_OVERHEAD_BYTES = 64;
/** Second chances one insert may give before it evicts the head regardless (bounds its copying). */
const MAX_SECOND_CHANCES = 32;
const NO_EDE: readonly ExtendedError[] = [];
const INITIAL_ENTRIES = 1024;

/** Bytes of the ring record of an answer: header, TTL offsets and TTLs (u32 each), key, wire. */
export function recordLength(key: string, response: PreparedResponse): number {
  return align8(RECORD_HEADER_BYTES + 8 * response.ttlOffsets.length + key.length + response.wire.length);
}

/** Bytes accounted against maxBytes for an entry. */
export function slabEntrySize(key: string, response: PreparedResponse): number {
  let size = recordLength(key, response) + SLAB_ENTRY_OVERHEAD_BYTES;
  const ede = response.ede;
  for (let i = 0; i < ede.length; i++) size += EDE_OVERHEAD_BYTES + (ede[i].text?.length ?? 0);
  return size;
}

/** One byte per character is how keys are stored: anything else is not cached. */
function isLatin1(key: string): boolean {
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) > 0xff) return false;
  return true;
}

function isNegative(r: PreparedResponse): boolean {
  return r.rcode === 3 || (r.rcode === 0 && r.wire.length >= 8 && r.wire[6] === 0 && r.wire[7] === 0);
}

/** The id of the entry stored under `key` (with hash `hash`), or -1. */
function find(index: IndexTable, ring: SlabRing, e: EntryTable, key: string, hash: number): number {
  const slots = index.slots;
  const mask = index.mask;
  const len = key.length;
  for (let i = index.start(hash); ; i = (i + 1) & mask) {
    const v = slots[i];
    if (v === 0) return -1;
    const id = v - 1;
    if (e.hash[id] === hash && e.keyLen[id] === len && keyMatches(ring, e, id, key)) return id;
  }
}

/** Whole seconds since `storedAt`; a clock that steps back (an injected one) gives 0, not a negative age. */
function ageOf(t: number, storedAt: number): number {
  const ms = t - storedAt;
  return ms > 0 ? Math.floor(ms / 1000) : 0;
}

export function createSlabCache(options: DnsCacheOptions, deps: DnsCacheDeps = {}): SlabCache {
  checkOptions(options);
  const now = deps.now ?? (() => performance.now());
  const serveStale = options.serveStale.enabled;
  const staleMs = serveStale ? options.serveStale.maxStale * 1000 : 0;
  const { maxEntries, maxBytes } = options;
  const maxNegatives = Math.max(1, Math.floor(maxEntries * NEGATIVE_SHARE));

  const ring = new SlabRing(maxBytes);
  const e = new EntryTable(INITIAL_ENTRIES, maxEntries);
  const index = new IndexTable(2 * Math.min(INITIAL_ENTRIES, maxEntries), (id) => e.hash[id]);
  // EDEs are rare (an upstream's own); kept as the objects they are, only for the entries that have them.
  let edes: (readonly ExtendedError[] | undefined)[] = [];
  const negatives = new NegativeQueue(e);
  let live = 0;
  let bytes = 0;
  let hits = 0;
  let misses = 0;
  let staleHits = 0;
  let inserts = 0;
  let evictions = 0;

  function remove(id: number): void {
    ring.kill(e.at[id]);
    index.remove(id, e.hash[id]);
    if ((e.flags[id] & FLAG_NEG) !== 0) negatives.unlink(id);
    bytes -= e.size[id];
    live--;
    edes[id] = undefined;
    e.release(id);
  }

  /** One step of CLOCK at the ring's head: skip a hole, give a second chance, or evict. */
  function reclaimHead(chances: { left: number }): void {
    const owner = ring.headOwner();
    if (owner < 0) {
      ring.skipHead();
      return;
    }
    if ((e.flags[owner] & FLAG_REF) !== 0 && chances.left > 0) {
      chances.left--;
      e.flags[owner] &= ~FLAG_REF;
      const to = ring.moveHeadToTail();
      if (to >= 0) {
        e.at[owner] = to;
        return;
      }
    }
    remove(owner);
    evictions++;
  }

  function lookup(key: string, copy: boolean): CacheHit | undefined {
    const id = find(index, ring, e, key, hashKey(key));
    if (id >= 0) {
      // Set on expired entries too: just asked for, so about to be refreshed or served stale.
      e.flags[id] |= FLAG_REF;
      const t = now();
      if (t < e.expiresAt[id]) {
        hits++;
        return {
          response: readResponse(ring, e, id, edes[id] ?? NO_EDE, copy),
          age: ageOf(t, e.storedAt[id]),
        };
      }
      if (t >= e.staleUntil[id]) remove(id);
    }
    misses++;
    return undefined;
  }

  function lookupStale(key: string, copy: boolean): CacheHit | undefined {
    if (!serveStale) return undefined;
    const id = find(index, ring, e, key, hashKey(key));
    if (id < 0) return undefined;
    e.flags[id] |= FLAG_REF;
    const t = now();
    if (t < e.expiresAt[id]) return undefined;
    if (t >= e.staleUntil[id]) {
      remove(id);
      return undefined;
    }
    staleHits++;
    return { response: readResponse(ring, e, id, edes[id] ?? NO_EDE, copy), age: ageOf(t, e.storedAt[id]) };
  }

  function set(key: string, r: PreparedResponse): void {
    const ttl = r.ttl;
    // Also rejects NaN and negatives: nothing that may not be served for a whole second is kept.
    if (!(ttl > 0)) return;
    const recLen = recordLength(key, r);
    const size = slabEntrySize(key, r);
    // Too big for a block or for the whole cache, or a key not stored one byte per character:
    // refused, and the entry it would replace (maybe still fresh) stays.
    if (recLen > ring.blockLen || size > maxBytes || !isLatin1(key)) return;
    const hash = hashKey(key);
    const old = find(index, ring, e, key, hash);
    if (old >= 0) remove(old);
    const chances = { left: MAX_SECOND_CHANCES };
    while (live >= maxEntries || bytes + size > maxBytes || !ring.fits(recLen)) reclaimHead(chances);
    const id = e.allocate();
    if (edes.length < e.capacity) edes.length = e.capacity;
    writeRecord(ring, e, id, key, r, recLen);
    const storedAt = now();
    e.hash[id] = hash;
    e.storedAt[id] = storedAt;
    e.expiresAt[id] = storedAt + ttl * 1000;
    e.staleUntil[id] = storedAt + ttl * 1000 + staleMs;
    e.size[id] = size;
    edes[id] = r.ede.length > 0 ? r.ede : undefined;
    index.insert(id, hash);
    live++;
    bytes += size;
    inserts++;
    if (isNegative(r)) {
      e.flags[id] = FLAG_LIVE | FLAG_NEG;
      negatives.append(id);
      if (negatives.count > maxNegatives) {
        remove(negatives.head);
        evictions++;
      }
    } else {
      e.flags[id] = FLAG_LIVE;
    }
  }

  return {
    get: (key) => lookup(key, true),
    getView: (key) => lookup(key, false),
    getStale: (key) => lookupStale(key, true),
    getStaleView: (key) => lookupStale(key, false),
    set,
    delete(key) {
      const id = find(index, ring, e, key, hashKey(key));
      if (id >= 0) remove(id);
    },
    clear() {
      ring.reset();
      index.clear();
      e.reset();
      edes = [];
      negatives.reset();
      live = 0;
      bytes = 0;
    },
    stats: () => ({ entries: live, bytes, hits, misses, staleHits, inserts, evictions }),
  };
}
