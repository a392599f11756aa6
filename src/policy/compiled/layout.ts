/**
 * The artifact's binary layout and the one hash function that the builder and the lookup must share.
 *
 * File (all integers little-endian; sections start on 8-byte boundaries so typed-array views work):
 *
 *   0   "ROJEBL"        magic, 6 bytes
 *   6   u16 version     FORMAT_VERSION
 *   8   u32 × 13        header: total length before the checksum, then (offset, byte length) of the
 *                       meta, pool, records and slots sections, then slot count and node count, then
 *                       (offset, byte length) of the hashed section
 *   60  (padding to 64)
 *   ... sections        where the header says (a reader takes them in any order); roje writes the
 *                       slots first, then meta, pool, records, hashed
 *   end 32 bytes        SHA-256 of everything before it
 *
 * - meta: UTF-8 JSON { categories, sources, compiledAt, entries, local, hashedKeyId } (small; `local` is
 *   RPZ local data; `hashedKeyId` the id of the key the hashed section was made with, or null).
 * - pool: the distinct labels longer than INLINE_LABEL bytes, lowercase, back to back (Uint8Array).
 * - records: RECORD_STRIDE u32 per rule record; record 0 is "no rule". Records are deduplicated, so a
 *   million names blocked in one category share one record.
 * - slots: the node table, SLOT_STRIDE i32 per slot (16 bytes: a slot never straddles a cache line),
 *   open addressing with linear probing keyed by (parent slot, label bytes):
 *   [parent slot or ROOT, record << 7 | has-children << 6 | label length, A, B] (a lookup stops at a
 *   node without children instead of probing for a child that cannot be there). A label of up to INLINE_LABEL bytes is
 *   stored in the slot itself (A = bytes 0..3, B = bytes 4..7, little-endian, zero-padded), so that a
 *   step down the tree costs one memory access; a longer one has A = its offset in the pool and
 *   B = its first 4 bytes (most mismatches are settled without reading the pool).
 *   A slot whose second word is 0 is empty (labels are 1..63 bytes, so a used slot never has length 0).
 * - hashed: the confidential (abuse feed) entries as HMAC-SHA-256 digests, never names (hashed.ts);
 *   empty when there are none.
 */

export const MAGIC = 'ROJEBL';
export const FORMAT_VERSION = 2;
export const HEADER_SIZE = 64;
export const CHECKSUM_SIZE = 32;

/** Header word indexes (u32, from byte 8). */
export const H = {
  TOTAL: 0,
  META_OFF: 1,
  META_LEN: 2,
  POOL_OFF: 3,
  POOL_LEN: 4,
  RECS_OFF: 5,
  RECS_LEN: 6,
  SLOTS_OFF: 7,
  SLOTS_LEN: 8,
  SLOT_COUNT: 9,
  NODE_COUNT: 10,
  HASHED_OFF: 11,
  HASHED_LEN: 12,
} as const;
/** Header words. */
export const HEADER_WORDS = 13;

/** Parent word of a top-level (TLD) node. */
export const ROOT = -1;
export const SLOT_STRIDE = 4;
/** Labels up to this length live in their slot. */
export const INLINE_LABEL = 8;
/** Bit of a slot's second word set when the node has children. */
export const HAS_CHILDREN = 64;
/** Most distinct rule records: what fits above the length and has-children bits. */
export const MAX_RECORDS = 1 << 25;
/**
 * Highest fraction of slots in use. Linear probing at 0.7 averages ~2.2 slots per hit and ~6 per miss,
 * mostly in the same or the next cache line (4 slots per line); 16 bytes / 0.7 = 23 bytes per node.
 */
export const MAX_LOAD = 0.7;

/**
 * A record: block masks for subtree / exact / below, allow masks for the same, the three scopes' actions
 * (2 bits each, ACTION codes), and the three scopes' local data index + 1 (0 = none).
 */
export const RECORD_STRIDE = 10;
export const R = {
  BLOCK_SUB: 0,
  BLOCK_EXACT: 1,
  BLOCK_BELOW: 2,
  ALLOW_SUB: 3,
  ALLOW_EXACT: 4,
  ALLOW_BELOW: 5,
  ACTIONS: 6,
  LOCAL_SUB: 7,
  LOCAL_EXACT: 8,
  LOCAL_BELOW: 9,
} as const;
/** Bit shift of each scope's action in the ACTIONS word. */
export const ACT_SUB = 0;
export const ACT_EXACT = 2;
export const ACT_BELOW = 4;

/** Seeds the hash of a label with its parent's slot: the first step of hashLabel. */
export function hashStart(parent: number): number {
  return Math.imul(parent ^ 0x2545f491, 0x9e3779b1);
}

/** One (already lowercased) byte into the hash: FNV-1a style. */
export function hashByte(h: number, b: number): number {
  return Math.imul(h ^ b, 0x01000193);
}

/** Final avalanche (murmur3 fmix32), so that the high bits used for the slot index are well mixed. */
export function hashFinish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Home slot of a hash in a table of `slotCount` slots: the high part of hash × slotCount (Lemire's
 * fast range), which needs no power-of-two table and no division. Exact in doubles for any u32 × u32.
 */
export function homeSlot(h: number, scale: number): number {
  return Math.floor(h * scale);
}

/** scale = slotCount / 2^32, for homeSlot. */
export function slotScale(slotCount: number): number {
  return slotCount / 4294967296;
}

/** Slots for `nodes` nodes at MAX_LOAD (at least 8, so that an empty table still has an empty slot). */
export function slotCountFor(nodes: number): number {
  return Math.max(8, Math.ceil(nodes / MAX_LOAD) + 1);
}

export function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}
