/**
 * A ring of records in a few large buffers: the storage of the slab cache. Records are appended at
 * the tail and leave from the head, so memory is bounded by the ring's capacity and never fragments
 * beyond the holes that deleted records leave until the head passes them.
 *
 * A record is 8-byte aligned and never crosses a block; it starts with an 8-byte header, its length
 * and its owner (an entry id, or -1 for a deleted record or the padding at the end of a block).
 * Positions are logical byte counts that only grow (a float64 stays exact for 2^53 bytes, centuries
 * of appends); the physical place is the position modulo the capacity.
 */
export const RECORD_HEADER_BYTES = 8;
/** Blocks are allocated on first use, so an idle cache holds one block, not maxBytes. */
const MAX_BLOCK_BYTES = 1024 * 1024;

export function align8(n: number): number {
  return (n + 7) & ~7;
}

export class SlabRing {
  readonly blockLen: number;
  readonly capacity: number;
  /** Blocks as Buffers (wires, keys), as Int32Arrays (headers) and Uint32Arrays (TTL fields) over the same memory. */
  readonly bytes: Buffer[] = [];
  readonly words: Int32Array[] = [];
  readonly u32: Uint32Array[] = [];
  private head = 0;
  private tail = 0;

  /** `maxBytes`: the most memory the blocks may take; the capacity is the largest multiple of a block within it. */
  constructor(maxBytes: number) {
    const limit = Math.floor(maxBytes / 8) * 8;
    this.blockLen = Math.min(limit, MAX_BLOCK_BYTES);
    this.capacity = Math.floor(limit / this.blockLen) * this.blockLen;
  }

  /** Physical position of the head record; only meaningful when used > 0. */
  get headAt(): number {
    return this.head % this.capacity;
  }

  /** The block holding physical position `at`; `| 0`: an int32, which crosses a call without boxing. */
  blockOf(at: number): number {
    return (at / this.blockLen) | 0;
  }

  /** Whether a record of `len` bytes fits at the tail, given that the first `freed` bytes at the head go. */
  fits(len: number, freed = 0): boolean {
    // An empty ring may start anywhere: at a block start, so that any record up to a block fits.
    if (this.tail === this.head) {
      this.tail = 0;
      this.head = 0;
    }
    return this.tail + this.padFor(len) + len - (this.head + freed) <= this.capacity;
  }

  /** Appends a record of `len` (aligned) bytes owned by `owner`; the caller checked fits(). Returns its physical position. */
  append(len: number, owner: number): number {
    const pad = this.padFor(len);
    if (pad > 0) {
      this.writeHeader(this.tail % this.capacity, pad, -1);
      this.tail += pad;
    }
    const at = this.tail % this.capacity;
    this.ensureBlock(this.blockOf(at));
    this.writeHeader(at, len, owner);
    this.tail += len;
    return at;
  }

  /** Length and owner of the record at the head. */
  headLen(): number {
    return this.readWord(this.headAt, 0);
  }
  headOwner(): number {
    return this.readWord(this.headAt, 1);
  }

  /** The head record leaves (it was deleted, evicted, or is being moved to the tail). */
  skipHead(): void {
    this.head += this.headLen();
  }

  /**
   * Moves the head record to the tail (CLOCK's second chance) and returns its new position, or -1
   * when the padding to the next block does not fit. Safe when the ring is full: the copy goes
   * backwards within a block (memmove) or to another block.
   */
  moveHeadToTail(): number {
    const from = this.headAt;
    const len = this.headLen();
    if (!this.fits(len, len)) return -1;
    const pad = this.padFor(len);
    const to = (this.tail + pad) % this.capacity;
    // to === from: a full ring, where the record already is where the tail goes.
    if (to !== from) {
      const fromBlock = this.blockOf(from);
      const toBlock = this.blockOf(to);
      this.ensureBlock(toBlock);
      const fromOff = from - fromBlock * this.blockLen;
      const toOff = to - toBlock * this.blockLen;
      if (fromBlock === toBlock) this.bytes[toBlock].copyWithin(toOff, fromOff, fromOff + len);
      else this.bytes[fromBlock].copy(this.bytes[toBlock], toOff, fromOff, fromOff + len);
    }
    // The header came with the copy; the padding header goes in only now, as it may overlap the source.
    if (pad > 0) this.writeHeader(this.tail % this.capacity, pad, -1);
    this.head += len;
    this.tail += pad + len;
    return to;
  }

  /** Marks the record at `at` deleted; the head skips it when it gets there. */
  kill(at: number): void {
    const block = this.blockOf(at);
    this.words[block][((at - block * this.blockLen) >> 2) | 1] = -1;
  }

  reset(): void {
    this.head = 0;
    this.tail = 0;
  }

  /** Bytes of padding needed before a `len`-byte record so that it does not cross a block end. */
  private padFor(len: number): number {
    const off = this.tail % this.blockLen;
    return off + len > this.blockLen ? this.blockLen - off : 0;
  }

  private ensureBlock(block: number): void {
    if (this.bytes[block] !== undefined) return;
    for (let b = this.bytes.length; b <= block; b++) {
      // allocUnsafeSlow: a block of its own, outside Buffer's shared pool; every byte read is written first.
      const buf = Buffer.allocUnsafeSlow(this.blockLen);
      this.bytes.push(buf);
      this.words.push(new Int32Array(buf.buffer, buf.byteOffset, this.blockLen >> 2));
      this.u32.push(new Uint32Array(buf.buffer, buf.byteOffset, this.blockLen >> 2));
    }
  }

  private writeHeader(at: number, len: number, owner: number): void {
    const block = this.blockOf(at);
    this.ensureBlock(block);
    const w = (at - block * this.blockLen) >> 2;
    this.words[block][w] = len;
    this.words[block][w + 1] = owner;
  }

  private readWord(at: number, word: number): number {
    const block = this.blockOf(at);
    return this.words[block][((at - block * this.blockLen) >> 2) + word];
  }
}
