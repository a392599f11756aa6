/**
 * HyperLogLog sketches for "how many distinct names were blocked", counted without keeping a name:
 * 2^10 one-byte registers (about 3 % standard error, linear counting below 2.5 x 1024), merged by
 * taking the larger register, so a day's sketches fold into a month's and two venues' into one.
 *
 * Names are hashed with a 64-bit keyed hash: two 32-bit murmur3-style lanes seeded from a per-store
 * random salt, so that a sketch cannot be checked against a precomputed dictionary of names. A register
 * keeps only the longest run of leading zeros it saw, which says nothing useful about any one name.
 * Not a cryptographic MAC: the salt lives in the same database; it only makes each store's hashes its own.
 */
import { hashFinish } from '../policy/compiled/layout.js';

export const HLL_BITS = 10;
export const HLL_REGISTERS = 1 << HLL_BITS;
/** Bytes of salt a store keeps (four 32-bit key words). */
export const HLL_SALT_BYTES = 16;
/** How the estimate is made, for reports that must say it is one. */
export const HLL_METHOD = `HyperLogLog, ${HLL_REGISTERS} registers (about ${(104 / Math.sqrt(HLL_REGISTERS)).toFixed(1)} % standard error)`;

export type HllKey = Uint32Array;

/** The four key words of a salt (16 bytes). */
export function hllKey(salt: Uint8Array): HllKey {
  if (salt.length < HLL_SALT_BYTES) throw new Error(`an HLL salt needs ${HLL_SALT_BYTES} bytes`);
  const view = new DataView(salt.buffer, salt.byteOffset, HLL_SALT_BYTES);
  return Uint32Array.of(view.getUint32(0), view.getUint32(4), view.getUint32(8), view.getUint32(12));
}

/** murmur3's final avalanche, the same one the compiled lists use. */
const fmix32 = hashFinish;

/**
 * Hashes a name (ASCII case folded, no copy made) and returns its register and rank packed in one small
 * integer: register * 64 + rank. Allocates nothing, so that the resolver's answer path can call it.
 */
export function hllPoint(name: string, key: HllKey): number {
  const length = name.length;
  const bytes = length <= textBytes.length ? textBytes : new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = name.charCodeAt(i);
  return hllPointBytes(bytes, length, key);
}

// hllPoint()'s copy of a name: DNS names in presentation form are at most 1,012 latin1 characters.
const textBytes = new Uint8Array(1024);

/** hllPoint() of the latin1 text in bytes[0, length), for the answer path's names read from the wire. */
export function hllPointBytes(bytes: Uint8Array, length: number, key: HllKey): number {
  const k0 = key[0] as number;
  const k1 = key[1] as number;
  const k2 = key[2] as number;
  const k3 = key[3] as number;
  let h1 = (k0 ^ length) | 0;
  let h2 = (k1 ^ Math.imul(length, 0x9e3779b1)) | 0;
  for (let i = 0; i < length; i++) {
    let c = bytes[i];
    if (c >= 65 && c <= 90) c += 32;
    let a = Math.imul(c ^ k2, 0xcc9e2d51);
    a = Math.imul((a << 15) | (a >>> 17), 0x1b873593);
    h1 ^= a;
    h1 = (Math.imul((h1 << 13) | (h1 >>> 19), 5) + 0xe6546b64) | 0;
    let b = Math.imul(c ^ k3, 0x85ebca6b);
    b = Math.imul((b << 16) | (b >>> 16), 0xc2b2ae35);
    h2 ^= b;
    h2 = (Math.imul((h2 << 17) | (h2 >>> 15), 9) + 0x38b34ae5) | 0;
  }
  // murmur3 x86_128-style finish: each lane depends on both.
  h1 = (h1 + h2) | 0;
  h2 = (h2 + h1) | 0;
  h1 = fmix32(h1 ^ k1);
  h2 = fmix32(h2 ^ k0);
  h1 = (h1 + h2) | 0;
  h2 = (h2 + h1) | 0;
  const register = h1 >>> (32 - HLL_BITS);
  // The other 54 bits: the low 22 of h1, then h2. Rank = leading zeros + 1 (at most 55).
  const rest = (h1 << HLL_BITS) >>> 0;
  const rank = rest !== 0 ? Math.clz32(rest) + 1 : 32 - HLL_BITS + Math.clz32(h2 >>> 0) + 1;
  return register * 64 + rank;
}

/** Records a point (from hllPoint) in a sketch. */
export function hllAdd(registers: Uint8Array, point: number): void {
  const register = point >>> 6;
  const rank = point & 63;
  if ((registers[register] as number) < rank) registers[register] = rank;
}

/** Folds `from` into `into` (the union of both sets). Sketches of another size are refused. */
export function hllMerge(into: Uint8Array, from: Uint8Array): void {
  if (into.length !== HLL_REGISTERS || from.length !== HLL_REGISTERS)
    throw new Error(`an HLL sketch has ${HLL_REGISTERS} registers`);
  for (let i = 0; i < HLL_REGISTERS; i++) {
    const v = from[i] as number;
    if (v > (into[i] as number)) into[i] = v;
  }
}

/** The estimated number of distinct names, rounded. Exact-ish for small sets (linear counting). */
export function hllEstimate(registers: Uint8Array): number {
  const m = HLL_REGISTERS;
  let sum = 0;
  let zeros = 0;
  for (let i = 0; i < m; i++) {
    const v = registers[i] as number;
    sum += 2 ** -v;
    if (v === 0) zeros++;
  }
  if (zeros === m) return 0;
  const alpha = 0.7213 / (1 + 1.079 / m);
  const raw = (alpha * m * m) / sum;
  // With 64-bit hashes no large-range correction is needed at any count a WiFi network sees.
  if (raw <= 2.5 * m && zeros > 0) return Math.round(m * Math.log(m / zeros));
  return Math.round(raw);
}

export function emptySketch(): Uint8Array {
  return new Uint8Array(HLL_REGISTERS);
}
