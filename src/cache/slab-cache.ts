import type { ExtendedError } from '../dns/constants.js';
import type { ParsedQuery, PreparedResponse } from '../dns/types.js';
import { RojeError } from '../errors.js';
import { hashKey, hashParts, hashPresented } from './cache-key.js';
import { sharedCoarseClock } from './coarse-clock.js';
import type { CacheHit, DnsCache, DnsCacheDeps, DnsCacheOptions, DnsCacheStats } from './dns-cache.js';
import { ENTRY_META_BYTES, EntryTable, FLAG_LIVE, FLAG_NEG, FLAG_REF, NegativeQueue } from './entry-table.js';
import { IndexTable } from './index-table.js';
import { keyMatches, presentedMatches, readResponse, renderRecord, writeRecord } from './records.js';
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

/** Most of the entries negative answers (NXDOMAIN, NODATA) may hold: the scan resistance above. */
export const NEGATIVE_SHARE = 0.25;

/** Bytes an entry is accounted beyond its record: its typed-array state and index slots. */
export const ENTRY_OVERHEAD_BYTES = ENTRY_META_BYTES;
/** Per Extended DNS Error attached to a response, before its text (an object kept beside the slab). */
const EDE_OVERHEAD_BYTES = 64;
/** Second chances one insert may give before it evicts the head regardless (bounds its copying). */
const MAX_SECOND_CHANCES = 32;
const NO_EDE: readonly ExtendedError[] = [];
const INITIAL_ENTRIES = 1024;

/** Bytes of the ring record of an answer: header, TTL offsets and TTLs (u32 each), key, wire. */
export function recordLength(key: string, response: PreparedResponse): number {
  return align8(RECORD_HEADER_BYTES + 8 * response.ttlOffsets.length + key.length + response.wire.length);
}

/** Bytes accounted against maxBytes for an entry (stats().bytes, roje_cache_bytes). */
export function entrySize(key: string, response: PreparedResponse): number {
  let size = recordLength(key, response) + ENTRY_OVERHEAD_BYTES;
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
 * The id of the entry whose key is `head + tail` (head folded to lowercase ASCII when `foldHead`),
 * hashed `hash`, or -1.
 */
function find(
  index: IndexTable,
  ring: SlabRing,
  e: EntryTable,
  hash: number,
  head: string,
  foldHead: boolean,
  tail: string,
): number {
  const slots = index.slots;
  const mask = index.mask;
  const len = head.length + tail.length;
  for (let i = index.start(hash); ; i = (i + 1) & mask) {
    const v = slots[i];
    if (v === 0) return -1;
    const id = v - 1;
    if (e.hash[id] === hash && e.keyLen[id] === len && keyMatches(ring, e, id, head, foldHead, tail))
      return id;
  }
}

/** find() for a name given as its presentation bytes (hashPresented), folded: no string on a hit. */
function findPresented(
  index: IndexTable,
  ring: SlabRing,
  e: EntryTable,
  hash: number,
  head: Uint8Array,
  headLen: number,
  tail: string,
): number {
  const len = headLen + tail.length;
  for (let i = index.start(hash); ; i = (i + 1) & index.mask) {
    const v = index.slots[i];
    if (v === 0) return -1;
    const id = v - 1;
    if (e.hash[id] === hash && e.keyLen[id] === len && presentedMatches(ring, e, id, head, headLen, tail)) {
      return id;
    }
  }
}

/** Whole seconds since `storedAt`; a clock that steps back (an injected one) gives 0, not a negative age. */
function ageOf(t: number, storedAt: number): number {
  const ms = t - storedAt;
  // `| 0` (truncation, an int32 for ages under 68 years): passed on to the renderer without boxing.
  return ms > 0 ? (ms / 1000) | 0 : 0;
}

export function createSlabCache(options: DnsCacheOptions, deps: DnsCacheDeps = {}): DnsCache {
  return new SlabCache(options, deps);
}

class SlabCache implements DnsCache {
  private readonly now: () => number;
  private readonly serveStale: boolean;
  private readonly staleMs: number;
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly maxNegatives: number;
  private readonly ring: SlabRing;
  private readonly e: EntryTable;
  private readonly index: IndexTable;
  private readonly negatives: NegativeQueue;
  // EDEs are rare (an upstream's own); kept as the objects they are, only for the entries that have them.
  private edes: (readonly ExtendedError[] | undefined)[] = [];
  // The clock at the last find: render() ages the entry it returned as of then. In a typed array: a
  // double stored in a field or closure variable may be boxed, an allocation per hit.
  private readonly found = new Float64Array(1);
  private live = 0;
  private bytes = 0;
  private hits = 0;
  private misses = 0;
  private staleHits = 0;
  private inserts = 0;
  private evictions = 0;

  constructor(options: DnsCacheOptions, deps: DnsCacheDeps) {
    checkOptions(options);
    this.now = deps.now ?? sharedCoarseClock().now;
    this.serveStale = options.serveStale.enabled;
    this.staleMs = this.serveStale ? options.serveStale.maxStale * 1000 : 0;
    this.maxEntries = options.maxEntries;
    this.maxBytes = options.maxBytes;
    this.maxNegatives = Math.max(1, Math.floor(options.maxEntries * NEGATIVE_SHARE));
    this.ring = new SlabRing(options.maxBytes);
    const e = new EntryTable(INITIAL_ENTRIES, options.maxEntries);
    this.e = e;
    this.index = new IndexTable(2 * Math.min(INITIAL_ENTRIES, options.maxEntries), (id) => e.hash[id]);
    this.negatives = new NegativeQueue(e);
  }

  get(key: string): CacheHit | undefined {
    return this.copyOf(this.findFresh(hashKey(key), key, false, ''));
  }

  getStale(key: string): CacheHit | undefined {
    return this.copyOf(this.findExpired(hashKey(key), key, false, ''));
  }

  find(name: string, suffix: string): number {
    return this.findFresh(hashParts(name, true, suffix), name, true, suffix);
  }

  findStale(name: string, suffix: string): number {
    return this.findExpired(hashParts(name, true, suffix), name, true, suffix);
  }

  findPresented(name: Uint8Array, length: number, suffix: string): number {
    const hash = hashPresented(name, length, suffix);
    return this.fresh(findPresented(this.index, this.ring, this.e, hash, name, length, suffix));
  }

  render(
    id: number,
    query: ParsedQuery,
    udpSize: number,
    ttlOverride?: number,
    ede?: readonly ExtendedError[],
    lend = false,
  ): Buffer {
    const e = this.e;
    const age = ageOf(this.found[0], e.storedAt[id]);
    return renderRecord(
      this.ring,
      e,
      id,
      this.edes[id] ?? NO_EDE,
      query,
      age,
      udpSize,
      ttlOverride,
      ede,
      lend,
    );
  }

  rcodeOf(id: number): number {
    return this.e.rcode[id];
  }

  set(key: string, r: PreparedResponse): void {
    const ttl = r.ttl;
    // Also rejects NaN and negatives: nothing that may not be served for a whole second is kept.
    if (!(ttl > 0)) return;
    const { ring, e } = this;
    const recLen = recordLength(key, r);
    const size = entrySize(key, r);
    // Too big for a block or for the whole cache, or a key not stored one byte per character:
    // refused, and the entry it would replace (maybe still fresh) stays.
    if (recLen > ring.blockLen || size > this.maxBytes || !isLatin1(key)) return;
    const hash = hashKey(key);
    const old = find(this.index, ring, e, hash, key, false, '');
    if (old >= 0) this.remove(old);
    const chances = { left: MAX_SECOND_CHANCES };
    while (this.live >= this.maxEntries || this.bytes + size > this.maxBytes || !ring.fits(recLen)) {
      this.reclaimHead(chances);
    }
    const id = e.allocate();
    if (this.edes.length < e.capacity) this.edes.length = e.capacity;
    writeRecord(ring, e, id, key, r, recLen);
    const storedAt = this.now();
    e.hash[id] = hash;
    e.storedAt[id] = storedAt;
    e.expiresAt[id] = storedAt + ttl * 1000;
    e.staleUntil[id] = storedAt + ttl * 1000 + this.staleMs;
    e.size[id] = size;
    this.edes[id] = r.ede.length > 0 ? r.ede : undefined;
    this.index.insert(id, hash);
    this.live++;
    this.bytes += size;
    this.inserts++;
    if (isNegative(r)) {
      e.flags[id] = FLAG_LIVE | FLAG_NEG;
      this.negatives.append(id);
      if (this.negatives.count > this.maxNegatives) {
        this.remove(this.negatives.head);
        this.evictions++;
      }
    } else {
      e.flags[id] = FLAG_LIVE;
    }
  }

  delete(key: string): void {
    const id = find(this.index, this.ring, this.e, hashKey(key), key, false, '');
    if (id >= 0) this.remove(id);
  }

  clear(): void {
    this.ring.reset();
    this.index.clear();
    this.e.reset();
    this.edes = [];
    this.negatives.reset();
    this.live = 0;
    this.bytes = 0;
  }

  stats(): DnsCacheStats {
    const { live: entries, bytes, hits, misses, staleHits, inserts, evictions } = this;
    return { entries, bytes, hits, misses, staleHits, inserts, evictions };
  }

  /** The fresh entry `head + tail` as an id, or -1; counts a hit or a miss. */
  private findFresh(hash: number, head: string, foldHead: boolean, tail: string): number {
    return this.fresh(find(this.index, this.ring, this.e, hash, head, foldHead, tail));
  }

  /** Entry `id` (or -1) if it is fresh, counting a hit or a miss; an entry past serving stale goes. */
  private fresh(id: number): number {
    const e = this.e;
    if (id >= 0) {
      // Set on expired entries too: just asked for, so about to be refreshed or served stale.
      e.flags[id] |= FLAG_REF;
      const t = this.now();
      if (t < e.expiresAt[id]) {
        this.hits++;
        this.found[0] = t;
        return id;
      }
      if (t >= e.staleUntil[id]) this.remove(id);
    }
    this.misses++;
    return -1;
  }

  /** The expired entry `head + tail` still within the serve-stale window as an id, or -1. */
  private findExpired(hash: number, head: string, foldHead: boolean, tail: string): number {
    if (!this.serveStale) return -1;
    const e = this.e;
    const id = find(this.index, this.ring, e, hash, head, foldHead, tail);
    if (id < 0) return -1;
    e.flags[id] |= FLAG_REF;
    const t = this.now();
    if (t < e.expiresAt[id]) return -1;
    if (t >= e.staleUntil[id]) {
      this.remove(id);
      return -1;
    }
    this.staleHits++;
    this.found[0] = t;
    return id;
  }

  private copyOf(id: number): CacheHit | undefined {
    if (id < 0) return undefined;
    const e = this.e;
    const response = readResponse(this.ring, e, id, this.edes[id] ?? NO_EDE);
    return { response, age: ageOf(this.found[0], e.storedAt[id]) };
  }

  private remove(id: number): void {
    const e = this.e;
    this.ring.kill(e.at[id]);
    this.index.remove(id, e.hash[id]);
    if ((e.flags[id] & FLAG_NEG) !== 0) this.negatives.unlink(id);
    this.bytes -= e.size[id];
    this.live--;
    this.edes[id] = undefined;
    e.release(id);
  }

  /** One step of CLOCK at the ring's head: skip a hole, give a second chance, or evict. */
  private reclaimHead(chances: { left: number }): void {
    const { ring, e } = this;
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
    this.remove(owner);
    this.evictions++;
  }
}
