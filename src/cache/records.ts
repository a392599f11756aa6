/**
 * The layout of one answer in the slab ring, written and read in one place:
 *   header (8) | TTL offsets (u32 each) | TTLs (u32 each) | key (1 byte a character) | wire
 * The TTL arrays come first so that they are 4-byte aligned (the record is 8-byte aligned) and are
 * read through the block's Uint32Array. They are in host byte order: the ring never leaves the process.
 */
import type { ExtendedError } from '../dns/constants.js';
import { renderWire } from '../dns/render.js';
import type { ParsedQuery, PreparedResponse } from '../dns/types.js';
import { foldAscii } from './cache-key.js';
import type { EntryTable } from './entry-table.js';
import { RECORD_HEADER_BYTES, type SlabRing } from './slab.js';

/** Appends entry `id`'s record (the caller made room for recLen bytes) and notes where it went. */
export function writeRecord(
  ring: SlabRing,
  e: EntryTable,
  id: number,
  key: string,
  r: PreparedResponse,
  recLen: number,
): void {
  const at = ring.append(recLen, id);
  const block = ring.blockOf(at);
  const off = at - block * ring.blockLen;
  const words = ring.u32[block];
  const buf = ring.bytes[block];
  const n = r.ttlOffsets.length;
  const w = (off + RECORD_HEADER_BYTES) >> 2;
  for (let i = 0; i < n; i++) {
    words[w + i] = r.ttlOffsets[i];
    words[w + n + i] = r.ttls[i];
  }
  let p = off + RECORD_HEADER_BYTES + 8 * n;
  for (let i = 0; i < key.length; i++) buf[p++] = key.charCodeAt(i);
  buf.set(r.wire, p);
  e.at[id] = at;
  e.nTtl[id] = n;
  e.keyLen[id] = key.length;
  e.wireLen[id] = r.wire.length;
  e.recLen[id] = recLen;
  e.rcode[id] = r.rcode;
  e.ttl[id] = r.ttl;
}

/**
 * Whether entry `id`'s stored key is `head + tail`, with `head`'s ASCII letters folded to lowercase
 * when `foldHead` (a question's name); the caller checked the hash and the length.
 */
export function keyMatches(
  ring: SlabRing,
  e: EntryTable,
  id: number,
  head: string,
  foldHead: boolean,
  tail: string,
): boolean {
  const buf = ring.bytes[ring.blockOf(e.at[id])];
  let p = keyAt(ring, e, id);
  const len = head.length;
  if (foldHead) {
    for (let j = 0; j < len; j++, p++) if (buf[p] !== foldAscii(head.charCodeAt(j))) return false;
  } else {
    for (let j = 0; j < len; j++, p++) if (buf[p] !== head.charCodeAt(j)) return false;
  }
  return tailMatches(buf, p, tail);
}

/** keyMatches() for a name given as its presentation bytes (hashPresented), folded. */
export function presentedMatches(
  ring: SlabRing,
  e: EntryTable,
  id: number,
  head: Uint8Array,
  headLen: number,
  tail: string,
): boolean {
  const buf = ring.bytes[ring.blockOf(e.at[id])];
  let p = keyAt(ring, e, id);
  for (let j = 0; j < headLen; j++, p++) if (buf[p] !== foldAscii(head[j])) return false;
  return tailMatches(buf, p, tail);
}

/** Where entry `id`'s key starts in its block. */
function keyAt(ring: SlabRing, e: EntryTable, id: number): number {
  const at = e.at[id];
  return at - ring.blockOf(at) * ring.blockLen + RECORD_HEADER_BYTES + 8 * e.nTtl[id];
}

function tailMatches(buf: Uint8Array, p: number, tail: string): boolean {
  for (let j = 0; j < tail.length; j++, p++) if (buf[p] !== tail.charCodeAt(j)) return false;
  return true;
}

/** A copy of entry `id`'s response (`ede` is the entry's, kept outside the ring). */
export function readResponse(
  ring: SlabRing,
  e: EntryTable,
  id: number,
  ede: readonly ExtendedError[],
): PreparedResponse {
  const at = e.at[id];
  const block = ring.blockOf(at);
  const off = at - block * ring.blockLen;
  const n = e.nTtl[id];
  const w = (off + RECORD_HEADER_BYTES) >> 2;
  const wireAt = off + RECORD_HEADER_BYTES + 8 * n + e.keyLen[id];
  const words = ring.u32[block];
  return {
    wire: Buffer.from(ring.bytes[block].subarray(wireAt, wireAt + e.wireLen[id])),
    rcode: e.rcode[id],
    ttlOffsets: words.slice(w, w + n),
    ttls: words.slice(w + n, w + 2 * n),
    ttl: e.ttl[id],
    ede,
  };
}

/** Entry `id` rendered for `q` straight from the ring (renderResponse's rules): no view, no copy but the answer. */
export function renderRecord(
  ring: SlabRing,
  e: EntryTable,
  id: number,
  upstreamEde: readonly ExtendedError[],
  q: ParsedQuery,
  age: number,
  udpSize: number,
  ttlOverride: number | undefined,
  ede: readonly ExtendedError[] | undefined,
  lend: boolean,
): Buffer {
  const at = e.at[id];
  const block = ring.blockOf(at);
  // Int32 arithmetic (a block is at most 1 MiB): renderWire takes these as numbers without boxing.
  const off = (at - block * ring.blockLen) | 0;
  const n = e.nTtl[id];
  const w = (off + RECORD_HEADER_BYTES) >> 2;
  const words = ring.u32[block];
  const wireAt = off + RECORD_HEADER_BYTES + 8 * n + e.keyLen[id];
  return renderWire(
    ring.bytes[block],
    wireAt,
    e.wireLen[id],
    words,
    w,
    words,
    w + n,
    n,
    e.rcode[id],
    upstreamEde,
    q,
    age,
    ttlOverride,
    ede,
    udpSize,
    lend,
  );
}
