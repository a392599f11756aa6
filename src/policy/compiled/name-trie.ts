/**
 * The builder's trie of names while a list compiles, and its layout into the artifact's slot table.
 *
 * Compiling a million names is a few million trie steps, and each step's cost is memory, not arithmetic:
 * so a step reads one 16-byte entry of one table. A label of up to INLINE_LABEL bytes is its own key (two
 * little-endian words, zero-padded, as the artifact stores it), so short labels need no interning; only
 * longer ones get an id from the label table. The node table entry holds the whole key next to the node
 * id, [id, parent, w0, w1], so a probe never reads another array to compare. Everything that grows with
 * the names lives in typed arrays that double as needed: about 60 bytes per node while building.
 *
 * layout() places the nodes in creation order (a parent before its children) into the final table keyed
 * by the parent's final slot (layout.ts), so the same names in the same order give the same bytes.
 */
import {
  HAS_CHILDREN,
  hashByte,
  hashFinish,
  hashStart,
  homeSlot,
  INLINE_LABEL,
  ROOT,
  SLOT_STRIDE,
  slotCountFor,
  slotScale,
} from './layout.js';

/** nodeOf() answers these (below 0) for a name it cannot take. */
export const BAD_NAME_LENGTH = -1;
export const BAD_LABEL_LENGTH = -2;
export const NOT_ASCII = -3;

/** Second key word of a node whose label is interned (w0 is then its label id): no inline label has it. */
const INTERNED = -1;
/** Node table entry: [node id (0 = empty: the root is never a child), parent id, w0, w1]. */
const ENTRY = 4;

export interface SlotLayout {
  /** The artifact's pool: labels longer than INLINE_LABEL, each once, in order of first appearance. */
  longPool: Uint8Array;
  slots: Int32Array;
  slotCount: number;
  /** Nodes, the root not counted. */
  nodes: number;
}

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

/** Hash of a node key (builder-internal table only). */
function keyHash(parent: number, w0: number, w1: number): number {
  let h = Math.imul(parent ^ 0x7f4a7c15, 0x9e3779b1) ^ w0;
  h = Math.imul(h, 0x85ebca6b) ^ w1;
  return hashFinish(Math.imul(h, 0xc2b2ae35));
}

export class NameTrie {
  // Interned labels: bytes in `pool`, id -> (offset, length), and an open-addressing table of id + 1.
  #pool: Uint8Array = new Uint8Array(1 << 16);
  #poolLen = 0;
  #labelOff = new Uint32Array(1 << 10);
  #labelLen = new Uint32Array(1 << 10);
  #labelCount = 0;
  /** [id + 1 (0 = empty), hash] pairs: a probe compares the hash before it reads the pool. */
  #labelTable: Int32Array;
  readonly #scratch = new Uint8Array(64);

  // Nodes by id (id 0 is the root), and the (parent, label) -> id table.
  #parent: Uint32Array;
  #w0: Int32Array;
  #w1: Int32Array;
  #len: Uint8Array;
  #rec: Uint32Array;
  #count = 1;
  #table: Int32Array;
  /** Grow the table past this many nodes (load 0.7). */
  #limit: number;

  /**
   * `expectedNodes` sizes the tables up front (a guess from the lists' sizes): growing a table of
   * millions of entries rehashes every one of them, and that costs as much as filling it.
   */
  constructor(expectedNodes = 0) {
    const nodes = Math.max(1 << 12, Math.min(expectedNodes, 1 << 26));
    this.#parent = new Uint32Array(nodes);
    this.#w0 = new Int32Array(nodes);
    this.#w1 = new Int32Array(nodes);
    this.#len = new Uint8Array(nodes);
    this.#rec = new Uint32Array(nodes);
    let slots = 1 << 13;
    while (slots * 0.7 < nodes) slots *= 2;
    this.#table = new Int32Array(ENTRY * slots);
    this.#limit = Math.floor(slots * 0.7);
    let labels = 1 << 11;
    while (labels < nodes) labels *= 2;
    this.#labelTable = new Int32Array(2 * labels);
  }

  /** Nodes so far, the root included. */
  get count(): number {
    return this.#count;
  }

  record(node: number): number {
    return this.#rec[node];
  }

  setRecord(node: number, record: number): void {
    this.#rec[node] = record;
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
    let node = 0;
    // Labels from the right; at most 127 in a 253-character name.
    for (let guard = 0; guard < 128 && end > 0; guard++) {
      // By hand: lastIndexOf is a call into the runtime, a tenth of the whole walk.
      let dot = end - 1;
      while (dot >= 0 && name.charCodeAt(dot) !== 0x2e) dot--;
      const start = dot + 1;
      const len = end - start;
      if (len < 1 || len > 63) return BAD_LABEL_LENGTH;
      let w0 = 0;
      let w1 = 0;
      let nul = false;
      if (len <= INLINE_LABEL) {
        for (let i = 0; i < len; i++) {
          let c = name.charCodeAt(start + i);
          if (c > 0x7f) return NOT_ASCII;
          if (c >= 0x41 && c <= 0x5a) c |= 0x20;
          else if (c === 0) nul = true;
          if (i < 4) w0 |= c << (i << 3);
          else w1 |= c << ((i - 4) << 3);
        }
      }
      if (len > INLINE_LABEL || nul) {
        // A NUL byte would make the zero padding ambiguous: such a label is interned like a long one.
        const scratch = this.#scratch;
        let h = hashStart(0);
        for (let i = 0; i < len; i++) {
          let c = name.charCodeAt(start + i);
          if (c > 0x7f) return NOT_ASCII;
          if (c >= 0x41 && c <= 0x5a) c |= 0x20;
          scratch[i] = c;
          h = hashByte(h, c);
        }
        w0 = this.#intern(len, hashFinish(h));
        w1 = INTERNED;
      }
      node = this.#child(node, w0, w1, len);
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
    let node = 0;
    for (let guard = 0; guard < 128 && end > start; guard++) {
      let dot = end - 1;
      while (dot >= start && bytes[dot] !== 0x2e) dot--;
      const from = dot + 1;
      const len = end - from;
      if (len < 1 || len > 63) return BAD_LABEL_LENGTH;
      let w0 = 0;
      let w1 = 0;
      let nul = false;
      if (len <= INLINE_LABEL) {
        for (let i = 0; i < len; i++) {
          let c = bytes[from + i];
          if (c > 0x7f) return NOT_ASCII;
          if (c >= 0x41 && c <= 0x5a) c |= 0x20;
          else if (c === 0) nul = true;
          if (i < 4) w0 |= c << (i << 3);
          else w1 |= c << ((i - 4) << 3);
        }
      }
      if (len > INLINE_LABEL || nul) {
        const scratch = this.#scratch;
        let h = hashStart(0);
        for (let i = 0; i < len; i++) {
          let c = bytes[from + i];
          if (c > 0x7f) return NOT_ASCII;
          if (c >= 0x41 && c <= 0x5a) c |= 0x20;
          scratch[i] = c;
          h = hashByte(h, c);
        }
        w0 = this.#intern(len, hashFinish(h));
        w1 = INTERNED;
      }
      node = this.#child(node, w0, w1, len);
      end = dot;
    }
    return node;
  }

  #child(parent: number, w0: number, w1: number, len: number): number {
    let table = this.#table;
    let mask = (table.length >>> 2) - 1;
    let s = keyHash(parent, w0, w1) & mask;
    for (;;) {
      const e = s << 2;
      const id = table[e];
      if (id === 0) break;
      if (table[e + 1] === parent && table[e + 2] === w0 && table[e + 3] === w1) return id;
      s = (s + 1) & mask;
    }
    const id = this.#count++;
    const need = this.#count;
    if (need > this.#parent.length) {
      this.#parent = grow32(this.#parent, need);
      this.#w0 = grow32(this.#w0, need);
      this.#w1 = grow32(this.#w1, need);
      this.#len = grow8(this.#len, need);
      this.#rec = grow32(this.#rec, need);
    }
    this.#parent[id] = parent;
    this.#w0[id] = w0;
    this.#w1[id] = w1;
    this.#len[id] = len;
    if (id > this.#limit) {
      this.#rehashNodes();
      table = this.#table;
      mask = (table.length >>> 2) - 1;
      s = keyHash(parent, w0, w1) & mask;
      while (table[s << 2] !== 0) s = (s + 1) & mask;
    }
    const e = s << 2;
    table[e] = id;
    table[e + 1] = parent;
    table[e + 2] = w0;
    table[e + 3] = w1;
    return id;
  }

  #rehashNodes(): void {
    const slots = (this.#table.length >>> 2) * 2;
    const table = new Int32Array(slots * ENTRY);
    const mask = slots - 1;
    for (let id = 1; id < this.#count - 1; id++) {
      const parent = this.#parent[id];
      const w0 = this.#w0[id];
      const w1 = this.#w1[id];
      let s = keyHash(parent, w0, w1) & mask;
      while (table[s << 2] !== 0) s = (s + 1) & mask;
      const e = s << 2;
      table[e] = id;
      table[e + 1] = parent;
      table[e + 2] = w0;
      table[e + 3] = w1;
    }
    this.#table = table;
    this.#limit = Math.floor(slots * 0.7);
  }

  #labelHash(bytes: Uint8Array, off: number, len: number): number {
    let h = hashStart(0);
    for (let i = 0; i < len; i++) h = hashByte(h, bytes[off + i]);
    return hashFinish(h);
  }

  /** Interns the label in scratch[0..len), whose #labelHash is `hash`: its id, in order of first appearance. */
  #intern(len: number, hash: number): number {
    const scratch = this.#scratch;
    const table = this.#labelTable;
    const mask = (table.length >>> 1) - 1;
    const tag = hash | 0;
    let s = hash & mask;
    for (;;) {
      const v = table[s << 1];
      if (v === 0) break;
      if (table[(s << 1) + 1] === tag) {
        const id = v - 1;
        if (this.#labelLen[id] === len) {
          const pool = this.#pool;
          const off = this.#labelOff[id];
          let i = 0;
          while (i < len && pool[off + i] === scratch[i]) i++;
          if (i === len) return id;
        }
      }
      s = (s + 1) & mask;
    }
    const id = this.#labelCount++;
    this.#pool = grow8(this.#pool, this.#poolLen + len);
    this.#pool.set(scratch.subarray(0, len), this.#poolLen);
    this.#labelOff = grow32(this.#labelOff, this.#labelCount);
    this.#labelLen = grow32(this.#labelLen, this.#labelCount);
    this.#labelOff[id] = this.#poolLen;
    this.#labelLen[id] = len;
    this.#poolLen += len;
    table[s << 1] = id + 1;
    table[(s << 1) + 1] = tag;
    if (this.#labelCount * 2 > table.length >>> 1) this.#rehashLabels();
    return id;
  }

  #rehashLabels(): void {
    const slots = this.#labelTable.length;
    const table = new Int32Array(slots * 2);
    const mask = slots - 1;
    for (let id = 0; id < this.#labelCount; id++) {
      const hash = this.#labelHash(this.#pool, this.#labelOff[id], this.#labelLen[id]);
      let s = hash & mask;
      while (table[s << 1] !== 0) s = (s + 1) & mask;
      table[s << 1] = id + 1;
      table[(s << 1) + 1] = hash | 0;
    }
    this.#labelTable = table;
  }

  /** The artifact's slot table and long-label pool (layout.ts). The trie is not changed. */
  layout(): SlotLayout {
    const count = this.#count;
    const nodes = count - 1;
    const pool = this.#pool;
    const labelOff = this.#labelOff;
    const labelLen = this.#labelLen;
    // Labels too long to sit in a slot go to the artifact's pool, once each.
    let longBytes = 0;
    for (let lab = 0; lab < this.#labelCount; lab++) {
      if (labelLen[lab] > INLINE_LABEL) longBytes += labelLen[lab];
    }
    const longPool = new Uint8Array(longBytes);
    const longOff = new Int32Array(this.#labelCount).fill(-1);
    for (let lab = 0, at = 0; lab < this.#labelCount; lab++) {
      if (labelLen[lab] <= INLINE_LABEL) continue;
      longPool.set(pool.subarray(labelOff[lab], labelOff[lab] + labelLen[lab]), at);
      longOff[lab] = at;
      at += labelLen[lab];
    }
    const slotCount = slotCountFor(nodes);
    const scale = slotScale(slotCount);
    const slots = new Int32Array(slotCount * SLOT_STRIDE);
    const slotOf = new Int32Array(count);
    slotOf[0] = ROOT;
    const parents = this.#parent;
    const hasChildren = new Uint8Array(count);
    for (let id = 1; id < count; id++) hasChildren[parents[id]] = 1;
    const nodeW0 = this.#w0;
    const nodeW1 = this.#w1;
    const nodeLen = this.#len;
    const rec = this.#rec;
    for (let id = 1; id < count; id++) {
      const parent = slotOf[parents[id]];
      const len = nodeLen[id];
      let w0 = nodeW0[id];
      let w1 = nodeW1[id];
      let h = hashStart(parent);
      let a: number;
      let b: number;
      if (w1 !== INTERNED) {
        for (let i = 0; i < len; i++)
          h = hashByte(h, (i < 4 ? w0 >>> (i << 3) : w1 >>> ((i - 4) << 3)) & 0xff);
        a = w0;
        b = w1;
      } else {
        const lab = w0;
        const off = labelOff[lab];
        w0 = 0;
        w1 = 0;
        for (let i = 0; i < len; i++) {
          const c = pool[off + i];
          h = hashByte(h, c);
          if (i < 4) w0 |= c << (i << 3);
          else if (i < 8) w1 |= c << ((i - 4) << 3);
        }
        a = len <= INLINE_LABEL ? w0 : longOff[lab];
        b = len <= INLINE_LABEL ? w1 : w0;
      }
      let s = homeSlot(hashFinish(h), scale);
      while (slots[s * SLOT_STRIDE + 1] !== 0) s = s + 1 === slotCount ? 0 : s + 1;
      const e = s * SLOT_STRIDE;
      slots[e] = parent;
      slots[e + 1] = (rec[id] << 7) | (hasChildren[id] === 1 ? HAS_CHILDREN : 0) | len;
      slots[e + 2] = a;
      slots[e + 3] = b;
      slotOf[id] = s;
    }
    return { longPool, slots, slotCount, nodes };
  }
}
