import t from 'tap';
import { SlabRing } from '../../src/cache/slab.js';

/** Writes `fill` into the record body at `at` (after its 8-byte header). */
function fillBody(ring: SlabRing, at: number, len: number, fill: number): void {
  const block = ring.blockOf(at);
  const off = at - block * ring.blockLen;
  ring.bytes[block].fill(fill, off + 8, off + len);
}

function body(ring: SlabRing, at: number, len: number): number[] {
  const block = ring.blockOf(at);
  const off = at - block * ring.blockLen;
  return [...new Set(ring.bytes[block].subarray(off + 8, off + len))];
}

t.test('a full ring gives a second chance in place and keeps the record intact', async (t) => {
  const ring = new SlabRing(64);
  t.equal(ring.capacity, 64);
  const a = ring.append(32, 1);
  fillBody(ring, a, 32, 0xaa);
  const b = ring.append(32, 2);
  fillBody(ring, b, 32, 0xbb);
  t.notOk(ring.fits(8), 'full');
  t.equal(ring.headOwner(), 1);
  const moved = ring.moveHeadToTail();
  t.equal(moved, a, 'already where the tail goes');
  t.equal(ring.headOwner(), 2, 'the next record is the head now');
  t.same(body(ring, moved, 32), [0xaa]);
  t.same(body(ring, b, 32), [0xbb]);
});

t.test('a second chance moves the record back over a hole (memmove) with its header', async (t) => {
  const ring = new SlabRing(96);
  const a = ring.append(32, 1);
  const b = ring.append(32, 2);
  fillBody(ring, b, 32, 0xbb);
  const c = ring.append(32, 3);
  fillBody(ring, c, 32, 0xcc);
  ring.kill(a);
  ring.skipHead();
  t.equal(ring.headOwner(), 2);
  const moved = ring.moveHeadToTail();
  t.equal(moved, a, 'b goes where a was, wrapping around');
  t.same(body(ring, moved, 32), [0xbb]);
  t.same(body(ring, c, 32), [0xcc], 'c untouched');
  t.equal(ring.headOwner(), 3);
});

t.test('records never cross a block end: padding, and the head skips it', async (t) => {
  // Two 1 MiB blocks.
  const ring = new SlabRing(2 * 1024 * 1024);
  t.equal(ring.blockLen, 1024 * 1024);
  const big = 600 * 1024;
  const a = ring.append(big, 1);
  t.ok(ring.fits(big), 'a second one fits, in the next block');
  const b = ring.append(big, 2);
  t.equal(ring.blockOf(b), 1, 'placed at the start of block 1');
  t.equal(b, 1024 * 1024);
  t.notOk(ring.fits(big), 'a third does not fit while a is there');
  ring.kill(a);
  ring.skipHead();
  t.equal(ring.headOwner(), -1, 'padding after a');
  ring.skipHead();
  t.equal(ring.headOwner(), 2);
  t.ok(ring.fits(big), 'fits once the head is past a and the padding');
  const c = ring.append(big, 3);
  t.equal(c, 0, 'wrapped to block 0');
  // b at the head (block 1): its second chance pads the rest of block 0, which brings the tail round to b.
  t.equal(ring.moveHeadToTail(), b, 'b stays in place');
  t.equal(ring.headOwner(), -1, 'the padding after b, written when c went in');
  ring.skipHead();
  t.equal(ring.headOwner(), 3, 'then c');
  t.notOk(ring.fits(big), 'full for another big record');
});
