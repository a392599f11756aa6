/**
 * The layout of one answer in the slab ring, written and read in one place:
 *   header (8) | TTL offsets (u32 each) | TTLs (u32 each) | key (1 byte a character) | wire
 * The TTL arrays come first so that they are 4-byte aligned (the record is 8-byte aligned) and can be
 * read as Uint32Array views without a copy. They are in host byte order: the ring never leaves the process.
 */
import type { ExtendedError } from '../dns/constants.js';
import type { PreparedResponse } from '../dns/types.js';
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
  const words = ring.words[block];
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

/** Whether entry `id`'s stored key is `key` (the caller checked hash and length). */
export function keyMatches(ring: SlabRing, e: EntryTable, id: number, key: string): boolean {
  const at = e.at[id];
  const block = ring.blockOf(at);
  const buf = ring.bytes[block];
  let p = at - block * ring.blockLen + RECORD_HEADER_BYTES + 8 * e.nTtl[id];
  const len = key.length;
  for (let j = 0; j < len; j++, p++) if (buf[p] !== key.charCodeAt(j)) return false;
  return true;
}

/**
 * Entry `id`'s response: views into the ring (`copy` false: valid until the ring changes) or
 * copies of them. `ede` is the entry's, kept outside the ring.
 */
export function readResponse(
  ring: SlabRing,
  e: EntryTable,
  id: number,
  ede: readonly ExtendedError[],
  copy: boolean,
): PreparedResponse {
  const at = e.at[id];
  const block = ring.blockOf(at);
  const off = at - block * ring.blockLen;
  const buf = ring.bytes[block];
  const n = e.nTtl[id];
  const ttlAt = buf.byteOffset + off + RECORD_HEADER_BYTES;
  const wireAt = off + RECORD_HEADER_BYTES + 8 * n + e.keyLen[id];
  let wire = buf.subarray(wireAt, wireAt + e.wireLen[id]);
  let ttlOffsets = new Uint32Array(buf.buffer, ttlAt, n);
  let ttls = new Uint32Array(buf.buffer, ttlAt + 4 * n, n);
  if (copy) {
    wire = Buffer.from(wire);
    ttlOffsets = ttlOffsets.slice();
    ttls = ttls.slice();
  }
  return { wire, rcode: e.rcode[id], ttlOffsets, ttls, ttl: e.ttl[id], ede };
}
