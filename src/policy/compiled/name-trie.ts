/**
 * The builder's trie of names while a list compiles, built straight into the artifact's slot table.
 *
 * Compiling a million names is a few million trie steps, and each step's cost is memory, not arithmetic:
 * so a step probes the final table itself (layout.ts: open addressing keyed by the parent's slot and the
 * label), as a lookup does, and a new node is written where it will stay. There is no second table to lay
 * out at the end. A node is its slot: its record and has-children bit live in the slot's second word.
 *
 * The table is sized up front from a guess of the node count (the caller's, from the lists' sizes). The
 * guess decides the slot count, and so where every node lands: it is a pure function of the inputs, so
 * the same inputs still give the same bytes on any machine. A guess that falls short is met by moving
 * every node to a table half as large again, in creation order (a parent before its children, so a
 * child's key can use its parent's new slot); one far too large is moved to the size the nodes need at
 * the end (layout()), so an artifact never holds more than twice the slots it needs. The reader sees
 * the same format as before: only the slot count (at most MAX_LOAD full) is no longer the least one.
 */
import {
  HAS_CHILDREN,
  HEADER_SIZE,
  hashByte,
  hashFinish,
  hashStart,
  homeSlot,
  INLINE_LABEL,
  MAX_LOAD,
  ROOT,
  SLOT_STRIDE,
  slotCountFor,
  slotScale,
} from './layout.js';

/** nodeOf() answers these (below 0) for a name it cannot take. */
export const BAD_NAME_LENGTH = -1;
export const BAD_LABEL_LENGTH = -2;
export const NOT_ASCII = -3;

export interface SlotLayout {
  /** The artifact's pool: labels longer than INLINE_LABEL, each once, in order of first appearance. */
  longPool: Uint8Array;
  /**
   * The slot table: a view at HEADER_SIZE of a buffer with room after it (see slotTable), so that the
   * artifact can be assembled around it instead of copying tens of MB (builder.ts).
   */
  slots: Int32Array;
  slotCount: number;
  /** Nodes, the root not counted. */
  nodes: number;
}

/** Bits of a slot's second word below the record: has-children and the label length. */
const LOW_BITS = 127;

function grow32<T extends Uint32Array | Int32Array>(a: T, need: number): T {
  if (need <= a.length) return a;
  const b = new (a.constructor as new (n: number) => T)(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

function grow8(a: Uint8Array, need: number): Uint8Array {
  if (need <= a.length) return a;
  const b = new Uint8Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

/**
 * A zeroed slot table of `slotCount` slots at HEADER_SIZE in a buffer with room for the artifact's other
 * sections after it (half the table's size: the long-label pool of real lists is well below that). A
 * large buffer is mapped, not written: the room left unused takes address space, not memory.
 */
function slotTable(slotCount: number): Int32Array {
  const bytes = slotCount * SLOT_STRIDE * 4;
  const buffer = new ArrayBuffer(HEADER_SIZE + bytes + Math.max(1 << 16, bytes >>> 1));
  return new Int32Array(buffer, HEADER_SIZE, slotCount * SLOT_STRIDE);
}

/** Most nodes a table of `slotCount` slots takes (slotCountFor() of it fits). */
function capacityOf(slotCount: number): number {
  return Math.floor((slotCount - 1) * MAX_LOAD);
}

export class NameTrie {
  // The artifact's long-label pool, and a table of the labels in it (for each label once): [offset + 1
  // (0 = empty), hash] pairs. Consulted only when a node with a long label is created.
  #pool: Uint8Array = new Uint8Array(1 << 16);
  #poolLen = 0;
  #labels = 0;
  #labelTable: Int32Array;
  readonly #scratch = new Uint8Array(64);

  // The artifact's slot table, and the slot of each node in creation order (to move them, parents first).
  #slots: Int32Array;
  #slotCount: number;
  #scale: number;
  #capacity: number;
  #order: Int32Array;
  #nodes = 0;

  /**
   * `expectedNodes` sizes the table up front (a guess from the lists' sizes): it decides the layout, so
   * it must come from the inputs only.
   */
  constructor(expectedNodes = 0) {
    const nodes = Math.max(0, Math.min(Math.floor(expectedNodes), 1 << 27));
    this.#slotCount = slotCountFor(nodes);
    this.#slots = slotTable(this.#slotCount);
    this.#scale = slotScale(this.#slotCount);
    this.#capacity = capacityOf(this.#slotCount);
    this.#order = new Int32Array(Math.max(1 << 10, Math.min(nodes, this.#capacity)));
    // Distinct long labels run at about a tenth of the nodes (78k for 1M names): room for them without
    // rehashing, in a table small enough to stay in cache (2 MB at 1M names).
    let labelSlots = 1 << 12;
    while (labelSlots < nodes >>> 3) labelSlots *= 2;
    this.#labelTable = new Int32Array(2 * labelSlots);
  }

  /** Nodes so far, the root included. */
  get count(): number {
    return this.#nodes + 1;
  }

  record(node: number): number {
    return this.#slots[node * SLOT_STRIDE + 1] >>> 7;
  }

  setRecord(node: number, record: number): void {
    const e = node * SLOT_STRIDE + 1;
    this.#slots[e] = (record << 7) | (this.#slots[e] & LOW_BITS);
  }

  /**
   * The node of `name` (ASCII, any case, one trailing dot allowed), created with its ancestors as
   * needed; or BAD_NAME_LENGTH, BAD_LABEL_LENGTH or NOT_ASCII (labels right of the bad one may have
   * been created: harmless, a compile that meets one fails).
   */
  nodeOf(name: string): number {
    let end = name.length;
    if (end > 0 && name.charCodeAt(end - 1) === 0x2e) end--;
    if (end === 0 || end > 253) return BAD_NAME_LENGTH;
    const scratch = this.#scratch;
    let node = ROOT;
    // Labels from the right; at most 127 in a 253-character name.
    for (let guard = 0; guard < 128 && end > 0; guard++) {
      // By hand: lastIndexOf is a call into the runtime, a tenth of the whole walk.
      let dot = end - 1;
      while (dot >= 0 && name.charCodeAt(dot) !== 0x2e) dot--;
      const start = dot + 1;
      const len = end - start;
      if (len < 1 || len > 63) return BAD_LABEL_LENGTH;
      let h = hashStart(node);
      let w0 = 0;
      let w1 = 0;
      for (let i = 0; i < len; i++) {
        let c = name.charCodeAt(start + i);
        if (c > 0x7f) return NOT_ASCII;
        if (c >= 0x41 && c <= 0x5a) c |= 0x20;
        h = hashByte(h, c);
        if (i < 4) w0 |= c << (i << 3);
        else if (i < 8) w1 |= c << ((i - 4) << 3);
        scratch[i] = c;
      }
      node = this.#child(node, len, hashFinish(h), w0, w1);
      end = dot;
    }
    return node;
  }

  /**
   * nodeOf() over bytes: the name in `bytes[start, end)` (no trailing dot), read in place. The domains
   * parser's fast path hands names this way, without a string per line; its names are already checked
   * (parsers/domains-bytes.ts), so only the case is folded here. Same nodes as nodeOf() of the same name.
   */
  nodeOfBytes(bytes: Uint8Array, start: number, end: number): number {
    if (end <= start || end - start > 253) return BAD_NAME_LENGTH;
    const scratch = this.#scratch;
    let node = ROOT;
    for (let guard = 0; guard < 128 && end > start; guard++) {
      let dot = end - 1;
      while (dot >= start && bytes[dot] !== 0x2e) dot--;
      const from = dot + 1;
      const len = end - from;
      if (len < 1 || len > 63) return BAD_LABEL_LENGTH;
      let h = hashStart(node);
      let w0 = 0;
      let w1 = 0;
      for (let i = 0; i < len; i++) {
        let c = bytes[from + i];
        if (c > 0x7f) return NOT_ASCII;
        if (c >= 0x41 && c <= 0x5a) c |= 0x20;
        h = hashByte(h, c);
        if (i < 4) w0 |= c << (i << 3);
        else if (i < 8) w1 |= c << ((i - 4) << 3);
        scratch[i] = c;
      }
      node = this.#child(node, len, hashFinish(h), w0, w1);
      end = dot;
    }
    return node;
  }

  /**
   * The slot of the child of `parent` whose label (lowercase, in scratch) is `len` bytes, hashes to
   * `hash` and starts with the words w0, w1; created if new. The same comparison as a lookup's
   * (compiled-lists.ts): the length, the parent, then the label words (a long label: its first word and
   * the rest in the pool).
   */
  #child(parent: number, len: number, hash: number, w0: number, w1: number): number {
    const slots = this.#slots;
    const slotCount = this.#slotCount;
    let s = homeSlot(hash, this.#scale);
    for (;;) {
      const b = s * SLOT_STRIDE;
      const word = slots[b + 1];
      if (word === 0) break;
      if ((word & 63) === len && slots[b] === parent) {
        if (len <= INLINE_LABEL) {
          if (slots[b + 2] === w0 && slots[b + 3] === w1) return s;
        } else if (slots[b + 3] === w0 && this.#poolHas(slots[b + 2], len)) {
          return s;
        }
      }
      s = s + 1 === slotCount ? 0 : s + 1;
    }
    if (this.#nodes >= this.#capacity) {
      // The guess fell short: move every node to a table half as large again (at load 0.47 then), and
      // place this one there.
      const movedTo = this.#resize(slotCountFor(Math.ceil(1.5 * (this.#nodes + 1))));
      const moved = parent === ROOT ? ROOT : movedTo[parent];
      const scratch = this.#scratch;
      let h = hashStart(moved);
      for (let i = 0; i < len; i++) h = hashByte(h, scratch[i]);
      return this.#child(moved, len, hashFinish(h), w0, w1);
    }
    const b = s * SLOT_STRIDE;
    slots[b] = parent;
    slots[b + 1] = len;
    if (len <= INLINE_LABEL) {
      slots[b + 2] = w0;
      slots[b + 3] = w1;
    } else {
      slots[b + 2] = this.#intern(len);
      slots[b + 3] = w0;
    }
    if (parent !== ROOT) slots[parent * SLOT_STRIDE + 1] |= HAS_CHILDREN;
    this.#order = grow32(this.#order, this.#nodes + 1);
    this.#order[this.#nodes++] = s;
    return s;
  }

  /** Does the pool hold scratch[4, len) at `off + 4`? (The first 4 bytes were compared as a word.) */
  #poolHas(off: number, len: number): boolean {
    const pool = this.#pool;
    const scratch = this.#scratch;
    for (let i = 4; i < len; i++) if (pool[off + i] !== scratch[i]) return false;
    return true;
  }

  /** The pool offset of the long label in scratch[0, len): added on its first appearance. */
  #intern(len: number): number {
    const scratch = this.#scratch;
    let h = hashStart(0);
    for (let i = 0; i < len; i++) h = hashByte(h, scratch[i]);
    const hash = hashFinish(h);
    const table = this.#labelTable;
    const mask = (table.length >>> 1) - 1;
    // The tag is the hash with the label's length in its low 6 bits: equal tags, equal lengths.
    const tag = (hash & ~63) | len;
    let s = hash & mask;
    for (;;) {
      const v = table[s << 1];
      if (v === 0) break;
      if (table[(s << 1) + 1] === tag && this.#poolIs(v - 1, len)) return v - 1;
      s = (s + 1) & mask;
    }
    const off = this.#poolLen;
    this.#pool = grow8(this.#pool, off + len);
    this.#pool.set(scratch.subarray(0, len), off);
    this.#poolLen += len;
    table[s << 1] = off + 1;
    table[(s << 1) + 1] = tag;
    if (++this.#labels * 2 > table.length >>> 1) this.#rehashLabels();
    return off;
  }

  /** Does the pool hold scratch[0, len) at `off`? */
  #poolIs(off: number, len: number): boolean {
    const pool = this.#pool;
    const scratch = this.#scratch;
    for (let i = 0; i < len; i++) if (pool[off + i] !== scratch[i]) return false;
    return true;
  }

  #rehashLabels(): void {
    const old = this.#labelTable;
    const table = new Int32Array(old.length * 2);
    const mask = (table.length >>> 1) - 1;
    const pool = this.#pool;
    for (let e = 0; e < old.length; e += 2) {
      if (old[e] === 0) continue;
      const off = old[e] - 1;
      const len = old[e + 1] & 63;
      let h = hashStart(0);
      for (let i = 0; i < len; i++) h = hashByte(h, pool[off + i]);
      let s = hashFinish(h) & mask;
      while (table[s << 1] !== 0) s = (s + 1) & mask;
      table[s << 1] = old[e];
      table[(s << 1) + 1] = old[e + 1];
    }
    this.#labelTable = table;
  }

  /** Moves every node, in creation order, to a table of `slotCount` slots; old slot -> new slot. */
  #resize(slotCount: number): Int32Array {
    const old = this.#slots;
    const slots = slotTable(slotCount);
    const scale = slotScale(slotCount);
    const movedTo = new Int32Array(this.#slotCount);
    const order = this.#order;
    const pool = this.#pool;
    for (let i = 0; i < this.#nodes; i++) {
      const o = order[i] * SLOT_STRIDE;
      const oldParent = old[o];
      const parent = oldParent === ROOT ? ROOT : movedTo[oldParent];
      const word = old[o + 1];
      const a = old[o + 2];
      const b = old[o + 3];
      const len = word & 63;
      let h = hashStart(parent);
      if (len <= INLINE_LABEL) {
        for (let k = 0; k < len; k++) h = hashByte(h, (k < 4 ? a >>> (k << 3) : b >>> ((k - 4) << 3)) & 0xff);
      } else {
        for (let k = 0; k < len; k++) h = hashByte(h, pool[a + k]);
      }
      let s = homeSlot(hashFinish(h), scale);
      while (slots[s * SLOT_STRIDE + 1] !== 0) s = s + 1 === slotCount ? 0 : s + 1;
      const e = s * SLOT_STRIDE;
      slots[e] = parent;
      slots[e + 1] = word;
      slots[e + 2] = a;
      slots[e + 3] = b;
      movedTo[order[i]] = s;
      order[i] = s;
    }
    this.#slots = slots;
    this.#slotCount = slotCount;
    this.#scale = scale;
    this.#capacity = capacityOf(slotCount);
    return movedTo;
  }

  /**
   * The artifact's slot table and long-label pool (layout.ts). A table the guess made more than twice
   * as large as the nodes need is moved to the size they need first. The trie is not used afterwards.
   */
  layout(): SlotLayout {
    const nodes = this.#nodes;
    if (nodes < this.#capacity / 2 && this.#slotCount > slotCountFor(0)) this.#resize(slotCountFor(nodes));
    return {
      longPool: this.#pool.slice(0, this.#poolLen),
      slots: this.#slots,
      slotCount: this.#slotCount,
      nodes,
    };
  }
}
