/**
 * Per-entry facts of the slab cache in parallel typed arrays indexed by entry id: what a Map of
 * objects would hold, with no object per entry. The arrays start small and double up to maxEntries,
 * so a large bound costs nothing until it is used.
 */
export const FLAG_LIVE = 1;
/** CLOCK's reference bit: read since stored or since its last second chance. */
export const FLAG_REF = 2;
/** NXDOMAIN or NODATA: counted in the negative share. */
export const FLAG_NEG = 4;

/** Bytes of typed-array state per entry (the fields below), plus two index slots at load <= 1/2. */
export const ENTRY_META_BYTES = 4 + 8 + 4 + 4 + 4 + 2 + 2 + 8 + 8 + 8 + 8 + 1 + 4 + 4 + 8 + 4 + 8 + 8;

export class EntryTable {
  capacity: number;
  hash: Uint32Array;
  /** Physical position of the record in the ring. */
  at: Float64Array;
  recLen: Uint32Array;
  keyLen: Uint32Array;
  wireLen: Uint32Array;
  nTtl: Uint16Array;
  rcode: Uint16Array;
  ttl: Float64Array;
  storedAt: Float64Array;
  expiresAt: Float64Array;
  staleUntil: Float64Array;
  flags: Uint8Array;
  /** Insertion-ordered doubly linked list of negative entries (-1 ends). */
  negPrev: Int32Array;
  negNext: Int32Array;
  /** Bytes accounted against maxBytes. */
  size: Float64Array;
  private free: Int32Array;
  private freeTop = 0;
  private nextId = 0;

  constructor(
    initial: number,
    private readonly max: number,
  ) {
    this.capacity = Math.max(1, Math.min(initial, max));
    this.hash = new Uint32Array(this.capacity);
    this.at = new Float64Array(this.capacity);
    this.recLen = new Uint32Array(this.capacity);
    this.keyLen = new Uint32Array(this.capacity);
    this.wireLen = new Uint32Array(this.capacity);
    this.nTtl = new Uint16Array(this.capacity);
    this.rcode = new Uint16Array(this.capacity);
    this.ttl = new Float64Array(this.capacity);
    this.storedAt = new Float64Array(this.capacity);
    this.expiresAt = new Float64Array(this.capacity);
    this.staleUntil = new Float64Array(this.capacity);
    this.flags = new Uint8Array(this.capacity);
    this.negPrev = new Int32Array(this.capacity);
    this.negNext = new Int32Array(this.capacity);
    this.size = new Float64Array(this.capacity);
    this.free = new Int32Array(this.capacity);
  }

  /** A free id; the caller keeps the count within max. */
  allocate(): number {
    if (this.freeTop > 0) return this.free[--this.freeTop];
    if (this.nextId === this.capacity) this.grow();
    return this.nextId++;
  }

  release(id: number): void {
    this.flags[id] = 0;
    this.free[this.freeTop++] = id;
  }

  reset(): void {
    this.flags.fill(0);
    this.freeTop = 0;
    this.nextId = 0;
  }

  private grow(): void {
    const cap = Math.min(this.capacity * 2, this.max);
    const grow = <T extends Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(cap);
      b.set(a as never);
      return b;
    };
    this.hash = grow(this.hash);
    this.at = grow(this.at);
    this.recLen = grow(this.recLen);
    this.keyLen = grow(this.keyLen);
    this.wireLen = grow(this.wireLen);
    this.nTtl = grow(this.nTtl);
    this.rcode = grow(this.rcode);
    this.ttl = grow(this.ttl);
    this.storedAt = grow(this.storedAt);
    this.expiresAt = grow(this.expiresAt);
    this.staleUntil = grow(this.staleUntil);
    this.flags = grow(this.flags);
    this.negPrev = grow(this.negPrev);
    this.negNext = grow(this.negNext);
    this.size = grow(this.size);
    this.free = grow(this.free);
    this.capacity = cap;
  }
}

/**
 * The negative entries in insertion order, as a doubly linked list through the table's
 * negPrev/negNext: what a Set of keys gave dns-cache.ts (oldest first, re-insertion moves to the end).
 */
export class NegativeQueue {
  head = -1;
  tail = -1;
  count = 0;

  constructor(private readonly e: EntryTable) {}

  append(id: number): void {
    const e = this.e;
    e.negPrev[id] = this.tail;
    e.negNext[id] = -1;
    if (this.tail >= 0) e.negNext[this.tail] = id;
    else this.head = id;
    this.tail = id;
    this.count++;
  }

  unlink(id: number): void {
    const e = this.e;
    const prev = e.negPrev[id];
    const next = e.negNext[id];
    if (prev >= 0) e.negNext[prev] = next;
    else this.head = next;
    if (next >= 0) e.negPrev[next] = prev;
    else this.tail = prev;
    this.count--;
  }

  reset(): void {
    this.head = -1;
    this.tail = -1;
    this.count = 0;
  }
}
