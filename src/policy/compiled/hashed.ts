/**
 * The artifact's hashed section: entries of confidential categories (the abuse feed), held only as
 * HMAC-SHA-256 digests of their names, never as names. A lookup hashes the query name and each parent
 * domain of two labels or more and probes a table keyed by the digests themselves (uniformly random, so
 * the first word is the slot).
 *
 * Slot (HASHED_STRIDE i32): the digest as eight big-endian words, then flags: SCOPE_SUBTREE (a whole
 * domain: the name and every name under it) | SCOPE_EXACT (a host serving a listed page: that host
 * only) | SCOPE_LISTED (the host of a page entry that is counted, not enforced: it never blocks, but a
 * query log must not print it either) | category bit << 8. Flags 0 = empty slot. The table has a power-of-two size of at least twice
 * its entries.
 */
import { bytesToWords, DIGEST_BYTES, MAX_INPUT, type NameHmac } from '../abuse/hmac.js';
import { NameMemo } from './name-memo.js';

export const HASHED_STRIDE = 9;
export const SCOPE_SUBTREE = 1;
export const SCOPE_EXACT = 2;
export const SCOPE_LISTED = 4;
const BLOCKING = SCOPE_SUBTREE | SCOPE_EXACT;

export interface HashedEntry {
  digest: Uint8Array;
  scope: typeof SCOPE_SUBTREE | typeof SCOPE_EXACT | typeof SCOPE_LISTED;
  bit: number;
}

/** Slots for `n` entries: a power of two, load at most one half. */
export function hashedSlotCount(n: number): number {
  let size = 8;
  while (size < 2 * n) size *= 2;
  return n === 0 ? 0 : size;
}

/** Lays out entries (duplicates merge their flags). Returns the table and the distinct entry count. */
export function buildHashedTable(entries: readonly HashedEntry[]): { table: Int32Array; count: number } {
  const size = hashedSlotCount(entries.length);
  const table = new Int32Array(size * HASHED_STRIDE);
  const words = new Int32Array(8);
  let count = 0;
  for (const e of entries) {
    if (e.digest.length !== DIGEST_BYTES) throw new RangeError('a hashed entry needs a 32-byte digest');
    bytesToWords(e.digest, words);
    const flags = e.scope | (e.bit << 8);
    let s = words[0] & (size - 1);
    for (;;) {
      const b = s * HASHED_STRIDE;
      if (table[b + 8] === 0) {
        table.set(words, b);
        table[b + 8] = flags;
        count++;
        break;
      }
      if (sameDigest(table, b, words)) {
        // Flags hold one category index: a digest in two categories cannot be told apart.
        if (table[b + 8] >>> 8 !== e.bit) throw new RangeError('one hashed entry in two categories');
        table[b + 8] |= e.scope;
        break;
      }
      s = (s + 1) & (size - 1);
    }
  }
  return { table, count };
}

function sameDigest(table: Int32Array, b: number, w: Int32Array): boolean {
  return (
    table[b] === w[0] &&
    table[b + 1] === w[1] &&
    table[b + 2] === w[2] &&
    table[b + 3] === w[3] &&
    table[b + 4] === w[4] &&
    table[b + 5] === w[5] &&
    table[b + 6] === w[6] &&
    table[b + 7] === w[7]
  );
}

/** Lookups over a hashed table with the deployment's key. */
export class HashedLookup {
  readonly #table: Int32Array;
  readonly #mask: number;
  readonly #hmac: NameHmac;
  readonly #dotted = Buffer.alloc(MAX_INPUT + 1);
  readonly #starts = new Int32Array(128);
  readonly #digest = new Int32Array(8);
  /** Verdicts by presented name: HMACs cost ~2 µs each, and names repeat. */
  readonly #memo = new NameMemo();
  #labels = 0;
  /** Distinct entries in the table that block (listed-only page hosts left out). */
  readonly size: number;

  constructor(table: Int32Array, hmac: NameHmac) {
    this.#table = table;
    this.#mask = table.length / HASHED_STRIDE - 1;
    this.#hmac = hmac;
    let size = 0;
    for (let b = 8; b < table.length; b += HASHED_STRIDE) if ((table[b] & BLOCKING) !== 0) size++;
    this.size = size;
  }

  /**
   * Category mask of the hashed entries that block the wire name at buf[start] (uncompressed labels
   * ending with the root label), 0 when none or the name is malformed. Case-insensitive.
   */
  lookupWire(buf: Buffer, start: number): number {
    const len = this.#present(buf, start);
    if (len < 0) return 0;
    const known = this.#memo.find(this.#dotted, len);
    if (known >= 0) return this.#memo.value(known);
    const mask = this.#scan(len, false);
    this.#memo.set(this.#dotted, len, mask);
    return mask;
  }

  /** Whether the wire name matches any entry, enforced or only counted (for redacting logs). */
  listedWire(buf: Buffer, start: number): boolean {
    const len = this.#present(buf, start);
    return len >= 0 && this.#scan(len, true) !== 0;
  }

  /**
   * Writes the presentation form (lowercase, no trailing dot: what the feed's names were hashed as)
   * into #dotted and the label starts into #starts. Returns its length, or -1 for a malformed name or
   * a single label (never listed: the feed reader refuses them).
   */
  #present(buf: Buffer, start: number): number {
    const dotted = this.#dotted;
    const starts = this.#starts;
    let n = 0;
    let len = 0;
    let p = start;
    for (;;) {
      if (p >= buf.length || n === starts.length) return -1;
      const l = buf[p];
      if (l === 0) break;
      if (l > 63 || p + 1 + l > buf.length || len + l + 1 > MAX_INPUT) return -1;
      if (n > 0) dotted[len++] = 0x2e;
      starts[n++] = len;
      for (let i = p + 1; i <= p + l; i++) {
        const c = buf[i];
        dotted[len++] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
      }
      p += l + 1;
    }
    this.#labels = n;
    return n < 2 ? -1 : len;
  }

  /** Hashes the name and its parents of two labels or more; the category mask of what matched. */
  #scan(len: number, anyScope: boolean): number {
    const n = this.#labels;
    let mask = 0;
    for (let i = 0; i <= n - 2; i++) {
      const flags = this.#probe(this.#dotted, this.#starts[i], len);
      if (flags === 0) continue;
      const scopes = anyScope ? 7 : i === 0 ? BLOCKING : SCOPE_SUBTREE;
      if ((flags & scopes) !== 0) mask |= 1 << (flags >>> 8);
    }
    return mask;
  }

  /** The flags of the slot holding HMAC(dotted[from, to)), or 0. */
  #probe(dotted: Buffer, from: number, to: number): number {
    const w = this.#digest;
    this.#hmac.digestInto(dotted, from, to, w);
    const table = this.#table;
    const mask = this.#mask;
    let s = w[0] & mask;
    for (let probes = 0; probes <= mask; probes++) {
      const b = s * HASHED_STRIDE;
      const flags = table[b + 8];
      if (flags === 0) return 0;
      if (sameDigest(table, b, w)) return flags;
      s = (s + 1) & mask;
    }
    return 0;
  }
}
