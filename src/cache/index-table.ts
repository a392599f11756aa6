/**
 * An open-addressing hash index from a 32-bit hash to entry ids, in one Int32Array: no Map, no
 * per-entry object. Linear probing; removal shifts the following run back (no tombstones), so a
 * lookup's cost depends only on the load, kept at or below one half by doubling.
 *
 * It stores ids, not keys: the caller compares the full key of each candidate id (the hash only
 * narrows the search). `hashOf(id)` gives the hash an id was inserted with, which the shift and the
 * rehash need.
 */
export class IndexTable {
  /** Slot -> entry id + 1; 0 is an empty slot. */
  slots: Int32Array;
  mask: number;
  private count = 0;

  constructor(
    initialSlots: number,
    private readonly hashOf: (id: number) => number,
  ) {
    const size = powerOfTwoAtLeast(Math.max(16, initialSlots));
    this.slots = new Int32Array(size);
    this.mask = size - 1;
  }

  get size(): number {
    return this.count;
  }

  /** The first slot to probe for `hash`; walk with (slot + 1) & mask until slots[slot] is 0. */
  start(hash: number): number {
    return hash & this.mask;
  }

  insert(id: number, hash: number): void {
    if ((this.count + 1) * 2 > this.slots.length) this.rehash(this.slots.length * 2);
    const slots = this.slots;
    const mask = this.mask;
    let i = hash & mask;
    while (slots[i] !== 0) i = (i + 1) & mask;
    slots[i] = id + 1;
    this.count++;
  }

  /** Removes `id` (inserted with `hash`); false when it is not there. */
  remove(id: number, hash: number): boolean {
    const slots = this.slots;
    const mask = this.mask;
    let i = hash & mask;
    for (;;) {
      const v = slots[i];
      if (v === 0) return false;
      if (v === id + 1) break;
      i = (i + 1) & mask;
    }
    // Backward-shift: move each later member of the run into the hole if its home slot allows it.
    let hole = i;
    let j = (i + 1) & mask;
    while (slots[j] !== 0) {
      const home = this.hashOf(slots[j] - 1) & mask;
      // The entry at j may fill the hole when its home is not cyclically within (hole, j].
      const between = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!between) {
        slots[hole] = slots[j];
        hole = j;
      }
      j = (j + 1) & mask;
    }
    slots[hole] = 0;
    this.count--;
    return true;
  }

  clear(): void {
    this.slots.fill(0);
    this.count = 0;
  }

  private rehash(size: number): void {
    const old = this.slots;
    this.slots = new Int32Array(size);
    this.mask = size - 1;
    for (let i = 0; i < old.length; i++) {
      const v = old[i];
      if (v === 0) continue;
      let j = this.hashOf(v - 1) & this.mask;
      while (this.slots[j] !== 0) j = (j + 1) & this.mask;
      this.slots[j] = v;
    }
  }
}

function powerOfTwoAtLeast(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
