import t from 'tap';
import { hashKey } from '../../src/cache/cache-key.js';
import { IndexTable } from '../../src/cache/index-table.js';

/** Ids reachable from `hash`'s home slot, walking the run as a lookup does. */
function lookup(table: IndexTable, hash: number): number[] {
  const found: number[] = [];
  for (let i = table.start(hash); table.slots[i] !== 0; i = (i + 1) & table.mask)
    found.push(table.slots[i] - 1);
  return found;
}

t.test('insert, remove and growth with heavy collisions keep every id reachable', async (t) => {
  // Only 8 distinct hashes for 2,000 ids: long runs, wrap-around, and backward shifts across them.
  const hashes = new Uint32Array(2000);
  for (let i = 0; i < hashes.length; i++) hashes[i] = ((i % 8) * 0x9e3779b1) >>> 0;
  const table = new IndexTable(4, (id) => hashes[id]);
  const present = new Set<number>();
  let x = 99;
  for (let step = 0; step < 20_000; step++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const id = x % hashes.length;
    if (present.has(id)) {
      t.equal(table.remove(id, hashes[id]), true);
      present.delete(id);
    } else {
      table.insert(id, hashes[id]);
      present.add(id);
    }
  }
  t.equal(table.size, present.size);
  let unreachable = 0;
  for (const id of present) if (!lookup(table, hashes[id]).includes(id)) unreachable++;
  t.equal(unreachable, 0, 'every present id is in its run');
  let stray = 0;
  for (let i = 0; i < table.slots.length; i++)
    if (table.slots[i] !== 0 && !present.has(table.slots[i] - 1)) stray++;
  t.equal(stray, 0, 'no removed id is left behind');
  t.equal(table.remove(hashes.length + 1, 0), false, 'removing an absent id is a no-op');
  t.ok(table.slots.length >= table.size * 2, 'load kept at or below one half');
});

t.test('hashKey: stable, and keys differing in one character differ in the low bits', async (t) => {
  t.equal(hashKey('example.com\u00001\u00001\u00000'), hashKey('example.com\u00001\u00001\u00000'));
  const low = new Set<number>();
  for (let i = 0; i < 1000; i++) low.add(hashKey(`host-${i}.example\u00001\u00001\u00000`) & 0xfff);
  t.ok(low.size > 800, `1,000 keys over 4,096 slots: ${low.size} distinct`);
});
