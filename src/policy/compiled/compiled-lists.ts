/**
 * The compiled lists at lookup time: typed-array views over the artifact and a lookup that walks the
 * query's wire labels once, from the TLD down, allocating nothing.
 *
 * Why a hash table of (parent, label) -> node rather than a trie with sorted children (that one was not
 * built and measured: this is reasoning): the wide nodes are exactly the hot ones. Under `com` sit half of all listed names; a binary search over its children is
 * ~20 label comparisons at random addresses (a cache miss each) for every .com query, hit or miss, while
 * one open-addressing probe sequence is ~1.5 slots for a hit and a few adjacent slots for a miss (same
 * cache line or the next). The table also needs no child arrays: a node is one 16-byte slot (parent,
 * record | length, and the label itself when it has at most 8 bytes, as most do), at load <= 0.7.
 * Measured on the (busy, 2-vCPU) bench machine, 1M names, CPU ns per lookup: the first layout (12-byte
 * slots, every label in a shared byte pool) hit in ~900 ns; labels of <= 8 bytes in the slot itself
 * (one cache miss per step down instead of two) took 10-20 % off, and stopping at nodes without
 * children (no probe for a `www` under a leaf) another ~20 %: ~700 ns, against ~1,050 ns for a JS Set
 * walked by suffix. A lookup is memory-bound: line-level profiles put ~45 % on the slot read and ~17 %
 * on the pool compare of long labels.
 *
 * Semantics (types.ts LookupResult; README "Matching"): at each node on the path from the TLD to the
 * full name, subtree rules apply; exact rules only at the full name; below rules only at proper ancestors.
 * mask = (mask | block) & ~allow, allowed = (allowed & ~block) | allow at each node, so deeper rules win
 * and at one node allow beats block. The deciding node is the deepest one whose effective block bits
 * (block & ~allow there) meet the final mask; its action is the one of its most specific scope (exact at
 * the full name, below above it) whose effective bits meet the final mask, else its subtree action.
 * When nothing blocks, the deciding node is the deepest one whose allow bits meet `allowed`.
 */
import { ACTION, clearResult, type LocalRecord, type LookupResult, type SourceMeta } from '../types.js';
import type { HashedLookup } from './hashed.js';
import {
  ACT_BELOW,
  ACT_EXACT,
  ACT_SUB,
  HAS_CHILDREN,
  hashByte,
  hashFinish,
  hashStart,
  homeSlot,
  INLINE_LABEL,
  R,
  RECORD_STRIDE,
  ROOT,
  SLOT_STRIDE,
  slotScale,
} from './layout.js';

/** The loaded sections (views over the artifact buffer) and its metadata. */
export interface CompiledSections {
  pool: Uint8Array;
  records: Uint32Array;
  slots: Int32Array;
  slotCount: number;
  nodeCount: number;
  categories: string[];
  sources: SourceMeta[];
  compiledAt: string;
  entries: number;
  local: LocalRecord[][];
  version: string;
  /** The hashed (abuse feed) entries with the key to match them, or null when there are none. */
  hashed: HashedLookup | null;
  /** The whole artifact the sections view (checksum included): what is handed to workers or published. */
  artifact: Uint8Array;
}

const MAX_LABELS = 128;

/** ASCII case folding of a byte (bytes >= 0x80 unchanged), as DNS compares names (RFC 4343). */
const LOWER = new Uint8Array(256);
for (let b = 0; b < 256; b++) LOWER[b] = b >= 0x41 && b <= 0x5a ? b | 0x20 : b;

const miss = clearResult;

export class Compiled {
  readonly categories: readonly string[];
  readonly sources: readonly SourceMeta[];
  readonly entries: number;
  readonly version: string;
  readonly compiledAt: string;
  /** Nodes in the table (distinct names and their ancestors). */
  readonly nodeCount: number;
  readonly slotCount: number;
  /** Bytes held by the typed-array sections (the structure's memory, metadata aside). */
  readonly byteLength: number;
  /** The whole artifact, checksum included (the sections are views into it). */
  readonly artifact: Uint8Array;
  readonly hashedEntries: number;

  readonly #pool: Uint8Array;
  readonly #records: Uint32Array;
  readonly #slots: Int32Array;
  readonly #scale: number;
  readonly #local: LocalRecord[][];
  readonly #hashed: HashedLookup | null;
  // Per-lookup scratch, reused: lookups are synchronous, so one set per instance is enough.
  readonly #offsets = new Int32Array(MAX_LABELS);
  readonly #recAt = new Int32Array(MAX_LABELS + 1);
  readonly #name = Buffer.alloc(256);

  constructor(s: CompiledSections) {
    this.categories = Object.freeze([...s.categories]);
    this.sources = Object.freeze(s.sources.map((m) => Object.freeze({ ...m })));
    this.entries = s.entries;
    this.version = s.version;
    this.compiledAt = s.compiledAt;
    this.nodeCount = s.nodeCount;
    this.slotCount = s.slotCount;
    this.byteLength = s.pool.byteLength + s.records.byteLength + s.slots.byteLength;
    this.artifact = s.artifact;
    this.#pool = s.pool;
    this.#records = s.records;
    this.#slots = s.slots;
    this.#scale = slotScale(s.slotCount);
    this.#hashed = s.hashed;
    this.hashedEntries = s.hashed?.size ?? 0;
    this.#local = s.local.map((l) => Object.freeze(l.map((r) => Object.freeze({ ...r })))) as LocalRecord[][];
  }

  lookupHashedWire(buf: Buffer, start: number): number {
    return this.#hashed === null ? 0 : this.#hashed.lookupWire(buf, start);
  }

  hashedListedWire(buf: Buffer, start: number): boolean {
    return this.#hashed?.listedWire(buf, start) === true;
  }

  localData(index: number): readonly LocalRecord[] {
    return this.#local[index] ?? [];
  }

  lookup(
    name: string,
    out: LookupResult = { blocked: 0, allowed: 0, action: 0, localIndex: -1, matchedLabels: 0 },
  ) {
    const buf = this.#name;
    let len = name.length;
    if (len > 0 && name.charCodeAt(len - 1) === 0x2e) len--;
    if (len === 0 || len > 253) return miss(out);
    let p = 0;
    let labelStart = 1;
    for (let i = 0; i < len; i++) {
      const c = name.charCodeAt(i);
      if (c === 0x2e) {
        const l = i + 1 - labelStart;
        if (l < 1 || l > 63) return miss(out);
        buf[p] = l;
        p = i + 1;
        labelStart = i + 2;
      } else {
        if (c > 0xff) return miss(out);
        buf[i + 1] = c;
      }
    }
    const l = len + 1 - labelStart;
    if (l < 1 || l > 63) return miss(out);
    buf[p] = l;
    buf[len + 1] = 0;
    return this.lookupWire(buf, 0, out);
  }

  lookupWire(buf: Buffer, start: number, out: LookupResult): LookupResult {
    const offsets = this.#offsets;
    const end = buf.length;
    let n = 0;
    let p = start;
    for (;;) {
      if (p >= end || n === MAX_LABELS) return miss(out);
      const len = buf[p];
      if (len === 0) break;
      if (len > 63 || p + 1 + len > end) return miss(out);
      offsets[n++] = p;
      p += len + 1;
    }
    if (n === 0 || p + 1 - start > 255) return miss(out);

    const pool = this.#pool;
    const slots = this.#slots;
    const recs = this.#records;
    const slotCount = this.slotCount;
    const scale = this.#scale;
    const recAt = this.#recAt;
    let node = ROOT;
    let mask = 0;
    let allowed = 0;
    let depth = 0;
    for (let i = n - 1; i >= 0; i--) {
      const off = offsets[i];
      const len = buf[off];
      // Hash the label and pack its first 8 bytes (lowercased) as the slot stores them.
      let h = hashStart(node);
      let w0 = 0;
      let w1 = 0;
      for (let k = 0; k < len; k++) {
        const c = LOWER[buf[off + 1 + k]];
        h = hashByte(h, c);
        if (k < 4) w0 |= c << (k * 8);
        else if (k < 8) w1 |= c << ((k - 4) * 8);
      }
      let s = homeSlot(hashFinish(h), scale);
      let found = -1;
      let word = 0;
      // At most slotCount probes; a table at load <= 0.7 ends a probe run long before.
      for (let probes = 0; probes < slotCount; probes++) {
        const b = s * SLOT_STRIDE;
        word = slots[b + 1];
        if (word === 0) break;
        if ((word & 63) === len && slots[b] === node) {
          if (len <= INLINE_LABEL) {
            if (slots[b + 2] === w0 && slots[b + 3] === w1) {
              found = s;
              break;
            }
          } else if (slots[b + 3] === w0) {
            const lab = slots[b + 2];
            let k = 4;
            while (k < len && pool[lab + k] === LOWER[buf[off + 1 + k]]) k++;
            if (k === len) {
              found = s;
              break;
            }
          }
        }
        s = s + 1 === slotCount ? 0 : s + 1;
      }
      if (found < 0) break;
      node = found;
      depth++;
      const rec = word >>> 7;
      recAt[depth] = rec;
      if (rec !== 0) {
        const r = rec * RECORD_STRIDE;
        let block: number;
        let allow: number;
        if (i === 0) {
          block = recs[r + R.BLOCK_SUB] | recs[r + R.BLOCK_EXACT];
          allow = recs[r + R.ALLOW_SUB] | recs[r + R.ALLOW_EXACT];
        } else {
          block = recs[r + R.BLOCK_SUB] | recs[r + R.BLOCK_BELOW];
          allow = recs[r + R.ALLOW_SUB] | recs[r + R.ALLOW_BELOW];
        }
        mask = (mask | block) & ~allow;
        allowed = (allowed & ~block) | allow;
      }
      if ((word & HAS_CHILDREN) === 0) break;
    }

    out.blocked = mask >>> 0;
    out.allowed = allowed >>> 0;
    out.action = ACTION.POLICY;
    out.localIndex = -1;
    out.matchedLabels = 0;
    if (mask === 0 && allowed === 0) return out;
    // The deciding node: walk back up the path (at most `depth` steps).
    for (let d = depth; d >= 1; d--) {
      const rec = recAt[d];
      if (rec === 0) continue;
      const r = rec * RECORD_STRIDE;
      const full = d === n;
      const specBlock = recs[r + (full ? R.BLOCK_EXACT : R.BLOCK_BELOW)];
      const block = recs[r + R.BLOCK_SUB] | specBlock;
      const allow = recs[r + R.ALLOW_SUB] | recs[r + (full ? R.ALLOW_EXACT : R.ALLOW_BELOW)];
      if (mask !== 0) {
        if ((block & ~allow & mask) === 0) continue;
        const actions = recs[r + R.ACTIONS];
        if ((specBlock & ~allow & mask) !== 0) {
          out.action = (actions >>> (full ? ACT_EXACT : ACT_BELOW)) & 3;
          out.localIndex = recs[r + (full ? R.LOCAL_EXACT : R.LOCAL_BELOW)] - 1;
        } else {
          out.action = (actions >>> ACT_SUB) & 3;
          out.localIndex = recs[r + R.LOCAL_SUB] - 1;
        }
        out.matchedLabels = d;
        return out;
      }
      if ((allow & allowed) !== 0) {
        out.matchedLabels = d;
        return out;
      }
    }
    return out;
  }
}
