import { HEADER_SIZE } from '../dns/constants.js';

/**
 * RFC 7766 framing: each DNS message on a stream is preceded by its length in two bytes. Chunks from
 * the socket split messages anywhere (even inside the length) and may carry many messages at once.
 *
 * A message that lies whole inside one chunk is returned as a view of it (no copy, the common case);
 * one that spans chunks is assembled into a buffer of exactly its announced size, so a peer that
 * dribbles bytes costs one copy per byte, never a re-concatenation.
 */
export class FrameReader {
  private chunk: Buffer | null = null;
  private offset = 0;
  /** A message being assembled across chunks, and how much of it has arrived. */
  private partial: Buffer | null = null;
  private filled = 0;
  /** The high byte of a length prefix split across chunks, or -1. */
  private lengthHigh = -1;
  /** Set once a frame shorter than a DNS header is announced; the stream cannot be trusted after. */
  invalid = false;

  /** Adds bytes read from the socket. */
  push(chunk: Buffer): void {
    if (chunk.length === 0 || this.invalid) return;
    if (this.chunk === null) {
      this.chunk = chunk;
      this.offset = 0;
    } else {
      // Only when reading was paused with bytes still unparsed and the stream emitted once more.
      this.chunk = Buffer.concat([this.chunk.subarray(this.offset), chunk]);
      this.offset = 0;
    }
  }

  /** True while bytes that were pushed have not been parsed yet. */
  get buffered(): boolean {
    return this.chunk !== null;
  }

  /** Forgets everything pushed (the connection is closing). */
  clear(): void {
    this.chunk = null;
    this.partial = null;
    this.lengthHigh = -1;
  }

  /** The next complete message, or null once every pushed byte is consumed (or the stream is invalid). */
  next(): Buffer | null {
    const chunk = this.chunk;
    if (chunk === null || this.invalid) return null;
    let offset = this.offset;

    const partial = this.partial;
    if (partial !== null) {
      const take = Math.min(partial.length - this.filled, chunk.length - offset);
      chunk.copy(partial, this.filled, offset, offset + take);
      this.filled += take;
      this.advance(chunk, offset + take);
      if (this.filled < partial.length) return null;
      this.partial = null;
      return partial;
    }

    let length: number;
    if (this.lengthHigh >= 0) {
      length = (this.lengthHigh << 8) | chunk[offset];
      this.lengthHigh = -1;
      offset += 1;
    } else if (chunk.length - offset >= 2) {
      length = (chunk[offset] << 8) | chunk[offset + 1];
      offset += 2;
    } else {
      this.lengthHigh = chunk[offset];
      this.chunk = null;
      return null;
    }

    if (length < HEADER_SIZE) {
      this.invalid = true;
      this.clear();
      return null;
    }
    const available = chunk.length - offset;
    if (available >= length) {
      this.advance(chunk, offset + length);
      return chunk.subarray(offset, offset + length);
    }
    const assembling = Buffer.allocUnsafe(length);
    chunk.copy(assembling, 0, offset);
    this.partial = assembling;
    this.filled = available;
    this.chunk = null;
    return null;
  }

  private advance(chunk: Buffer, offset: number): void {
    if (offset >= chunk.length) this.chunk = null;
    else this.offset = offset;
  }
}
