/**
 * Byte moves for the per-query path, and the reply buffers it reuses. Buffer#copy with a sub-range
 * builds a typed-array view per call in Node 20 (~100 ns); a plain loop moves the 10-300 bytes of a
 * question far faster.
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

/**
 * Answers given synchronously (cache hits, block and bypass answers) are written into reply buffers reused
 * from one query to the next, one per exact size: a query loop answers one query at a time, and the
 * transport has sent (UDP) or copied (TCP) an answer before it reads the next message. Whoever keeps an
 * answer longer (a send the kernel did not take at once, a caller that awaits it) calls keepReply(),
 * and the next answer of that size gets a buffer of its own.
 */
const MAX_REPLY_REUSED = 512;
const replies: (Buffer | undefined)[] = new Array(MAX_REPLY_REUSED + 1).fill(undefined);

/** An empty wire: what a reused Answer holds before its first query. */
export const EMPTY: Buffer = Buffer.alloc(0);

/** A buffer of exactly `size` bytes, lent until the next query; larger answers get a new one. */
export function replyBuffer(size: number): Buffer {
  if (size > MAX_REPLY_REUSED) return Buffer.allocUnsafe(size);
  let b = replies[size];
  if (b === undefined) {
    // A slice of Node's pool, like any small Buffer: a caller that keeps every answer costs no more.
    b = Buffer.allocUnsafe(size);
    replies[size] = b;
  }
  return b;
}

/** `buf` is kept beyond this query: it is never lent again (no-op for any other buffer). */
export function keepReply(buf: Buffer): void {
  const size = buf.length;
  if (size <= MAX_REPLY_REUSED && replies[size] === buf) replies[size] = undefined;
}
