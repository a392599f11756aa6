/**
 * HMAC-SHA-256 of names, for the confidential abuse feed: entries are stored and matched only as keyed
 * hashes, so every query needs the HMAC of its name and of each parent domain.
 *
 * Why our own SHA-256 rather than node:crypto: a query hashes two to four names, and node:crypto costs
 * ~2.5 µs per createHmac()/hash() call on this machine (OpenSSL 3 fetches the algorithm per object), up to
 * ~35 µs under Node 24: more than the rest of the query's work. Here the key's inner and outer pad blocks
 * are compressed once, so a name of up to 55 bytes costs two compressions, allocation-free. Outputs are
 * checked against node:crypto's createHmac in the tests (every length up to the longest name).
 */
import { createHash, createHmac } from 'node:crypto';

const K = Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);
const IV = Int32Array.from([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

/** Longest input digestInto takes: a name in presentation form is at most 253 bytes. */
export const MAX_INPUT = 255;

/** Bytes of a digest. */
export const DIGEST_BYTES = 32;

/** Keyed name hasher. One instance per key; not re-entrant (shared scratch), like the lookups it serves. */
export class NameHmac {
  readonly #inner = new Int32Array(8);
  readonly #outer = new Int32Array(8);
  readonly #state = new Int32Array(8);
  readonly #w = new Int32Array(64);
  readonly #block = new Uint8Array(64);
  readonly #mid = new Uint8Array(32);

  constructor(key: Uint8Array) {
    if (key.length < 16) throw new RangeError('an HMAC key needs at least 16 bytes');
    // Keys longer than a block are hashed first (RFC 2104); ours are 32 bytes, but stay correct.
    const k = key.length > 64 ? createHash('sha256').update(key).digest() : key;
    const pad = new Uint8Array(64);
    for (const [target, byte] of [
      [this.#inner, 0x36],
      [this.#outer, 0x5c],
    ] as const) {
      pad.fill(byte);
      for (let i = 0; i < k.length; i++) pad[i] = k[i] ^ byte;
      target.set(IV);
      this.#compress(target, pad, 0);
    }
  }

  /**
   * HMAC of bytes[start, end) into `out` as eight big-endian words (word 0 = digest bytes 0..3).
   * At most MAX_INPUT bytes.
   */
  digestInto(bytes: Uint8Array, start: number, end: number, out: Int32Array): void {
    const len = end - start;
    if (len < 0 || len > MAX_INPUT) throw new RangeError(`HMAC input of ${len} bytes`);
    const s = this.#state;
    s.set(this.#inner);
    this.#finish(s, bytes, start, len, 64);
    // Outer: the inner digest (32 bytes) after the outer pad block.
    const mid = this.#mid;
    for (let i = 0; i < 8; i++) {
      const v = s[i];
      mid[4 * i] = v >>> 24;
      mid[4 * i + 1] = v >>> 16;
      mid[4 * i + 2] = v >>> 8;
      mid[4 * i + 3] = v;
    }
    s.set(this.#outer);
    this.#finish(s, mid, 0, 32, 64);
    out.set(s);
  }

  /** The digest of a string's UTF-8 bytes, as 32 bytes (slow path: parsing, tests). */
  digest(text: string | Uint8Array): Buffer {
    const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
    const words = new Int32Array(8);
    this.digestInto(bytes, 0, bytes.length, words);
    return wordsToBytes(words);
  }

  /** Runs the remaining blocks of a message whose first `prefix` bytes were already compressed. */
  #finish(s: Int32Array, bytes: Uint8Array, start: number, len: number, prefix: number): void {
    const b = this.#block;
    let p = 0;
    // Whole blocks straight from the input.
    while (len - p >= 64) {
      b.set(bytes.subarray(start + p, start + p + 64));
      this.#compress(s, b, 0);
      p += 64;
    }
    const rest = len - p;
    b.fill(0);
    for (let i = 0; i < rest; i++) b[i] = bytes[start + p + i];
    b[rest] = 0x80;
    if (rest >= 56) {
      this.#compress(s, b, 0);
      b.fill(0);
    }
    const bits = (prefix + len) * 8;
    b[60] = bits >>> 24;
    b[61] = bits >>> 16;
    b[62] = bits >>> 8;
    b[63] = bits;
    this.#compress(s, b, 0);
  }

  #compress(s: Int32Array, b: Uint8Array, off: number): void {
    const w = this.#w;
    for (let i = 0; i < 16; i++) {
      const j = off + 4 * i;
      w[i] = (b[j] << 24) | (b[j + 1] << 16) | (b[j + 2] << 8) | b[j + 3];
    }
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15];
      const y = w[i - 2];
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    let a = s[0];
    let bb = s[1];
    let c = s[2];
    let d = s[3];
    let e = s[4];
    let f = s[5];
    let g = s[6];
    let h = s[7];
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const ch = (e & f) ^ (~e & g);
      const t1 = (h + S1 + ch + K[i] + w[i]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const maj = (a & bb) ^ (a & c) ^ (bb & c);
      const t2 = (S0 + maj) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = bb;
      bb = a;
      a = (t1 + t2) | 0;
    }
    s[0] = (s[0] + a) | 0;
    s[1] = (s[1] + bb) | 0;
    s[2] = (s[2] + c) | 0;
    s[3] = (s[3] + d) | 0;
    s[4] = (s[4] + e) | 0;
    s[5] = (s[5] + f) | 0;
    s[6] = (s[6] + g) | 0;
    s[7] = (s[7] + h) | 0;
  }
}

/** Eight big-endian words -> 32 bytes. */
export function wordsToBytes(words: Int32Array): Buffer {
  const out = Buffer.alloc(DIGEST_BYTES);
  for (let i = 0; i < 8; i++) out.writeInt32BE(words[i], 4 * i);
  return out;
}

/** 32 bytes -> eight big-endian words. */
export function bytesToWords(bytes: Uint8Array, out: Int32Array = new Int32Array(8)): Int32Array {
  for (let i = 0; i < 8; i++) {
    const j = 4 * i;
    out[i] = (bytes[j] << 24) | (bytes[j + 1] << 16) | (bytes[j + 2] << 8) | bytes[j + 3];
  }
  return out;
}

/**
 * A short, stable id of a key (first 16 hex digits of HMAC(key, "roje abuse key id")): recorded with
 * hashed copies and artifacts, so that hashes made with another key are refused instead of silently
 * matching nothing. Reveals nothing of the key.
 */
export function keyId(key: Uint8Array): string {
  return createHmac('sha256', key).update('roje abuse key id').digest('hex').slice(0, 16);
}
