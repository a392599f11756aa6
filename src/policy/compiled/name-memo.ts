/**
 * A memo of verdicts by name, in typed arrays: the names' bytes in one arena, an open-addressing index
 * on their FNV-1a hash, each hit confirmed on the bytes. It holds up to MAX_NAMES names (or a full arena)
 * and then starts over, as the Map of strings it replaces did, but a lookup builds no string and the
 * collector has no entry to trace. The hashed (abuse feed) lookup remembers its verdicts here: its HMACs
 * cost ~2 µs each, and a venue's names repeat.
 */

export const MAX_NAMES = 65_536;
/** Index slots: twice the names, so that probes stay short. */
export const SLOTS = 2 * MAX_NAMES;
/** Arena bytes: 32 a name on average (most names are shorter; a full arena starts over too). */
export const ARENA_BYTES = 32 * MAX_NAMES;

export class NameMemo {
  readonly #index = new Int32Array(SLOTS);
  readonly #hash = new Uint32Array(MAX_NAMES);
  readonly #offset = new Int32Array(MAX_NAMES);
  readonly #length = new Int32Array(MAX_NAMES);
  readonly #value = new Int32Array(MAX_NAMES);
  readonly #arena = new Uint8Array(ARENA_BYTES);
  #count = 0;
  #used = 0;

  /** The entry of `name[0, len)`, or -1: read its value with value(). */
  find(name: Uint8Array, len: number): number {
    const h = hashName(name, len);
    const index = this.#index;
    for (let s = h & (SLOTS - 1); ; s = (s + 1) & (SLOTS - 1)) {
      const v = index[s];
      if (v === 0) return -1;
      const id = v - 1;
      if (this.#hash[id] === h && this.#length[id] === len && this.#same(id, name, len)) return id;
    }
  }

  value(id: number): number {
    return this.#value[id];
  }

  /**
   * Remembers `value` (any int32: a category mask) for `name[0, len)`, which find() did not find; a full
   * memo starts over first.
   */
  set(name: Uint8Array, len: number, value: number): void {
    if (this.#count === MAX_NAMES || this.#used + len > ARENA_BYTES) this.clear();
    const id = this.#count++;
    const at = this.#used;
    const arena = this.#arena;
    for (let i = 0; i < len; i++) arena[at + i] = name[i];
    this.#used += len;
    const h = hashName(name, len);
    this.#hash[id] = h;
    this.#offset[id] = at;
    this.#length[id] = len;
    this.#value[id] = value;
    const index = this.#index;
    let s = h & (SLOTS - 1);
    while (index[s] !== 0) s = (s + 1) & (SLOTS - 1);
    index[s] = id + 1;
  }

  clear(): void {
    this.#index.fill(0);
    this.#count = 0;
    this.#used = 0;
  }

  #same(id: number, name: Uint8Array, len: number): boolean {
    const arena = this.#arena;
    const at = this.#offset[id];
    for (let i = 0; i < len; i++) if (arena[at + i] !== name[i]) return false;
    return true;
  }
}

/** FNV-1a with a final mix, so that names differing in their last bytes differ in the slot bits. */
export function hashName(name: Uint8Array, len: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < len; i++) h = Math.imul(h ^ name[i], 0x01000193);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h >>> 0;
}
