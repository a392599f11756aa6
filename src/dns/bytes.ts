/**
 * Byte moves for the per-query path. Buffer#copy with a sub-range builds a typed-array view per call
 * in Node 20 (~100 ns); a plain loop moves the 10-300 bytes of a question far faster.
 */

/** Copies src[srcStart, srcStart + len) to dst[dstStart]; ranges must be valid and not overlap. */
export function copyBytes(
  src: Uint8Array,
  srcStart: number,
  dst: Uint8Array,
  dstStart: number,
  len: number,
): void {
  for (let i = 0; i < len; i++) dst[dstStart + i] = src[srcStart + i];
}

/** Big-endian u16 store without Buffer#writeUInt16BE's argument checks. */
export function setU16(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v >>> 8;
  buf[off + 1] = v;
}

/** Big-endian u32 store without Buffer#writeUInt32BE's argument checks. */
export function setU32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v >>> 24;
  buf[off + 1] = v >>> 16;
  buf[off + 2] = v >>> 8;
  buf[off + 3] = v;
}
