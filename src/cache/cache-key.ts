/**
 * The cache key of a question, as one string (cacheKey: the string API, tests, a miss's set()) or as
 * its two parts, the name and a prebuilt suffix (keySuffix), hashed and compared without building the
 * string (a hit). Both reach the same entry: see hashParts.
 */

/** The question facts a cached answer depends on. */
export interface CacheKeyInput {
  /** Presentation name; lowercased here, so callers may pass it as received. */
  name: string;
  qtype: number;
  qclass: number;
  /** DNSSEC OK: an answer fetched without DO lacks the RRSIGs a DO client expects. */
  do: boolean;
  /** Checking Disabled: an unvalidated answer must not reach a client that wants validated data. */
  cd: boolean;
}

// Suffixes for the common case (class IN, qtype < 256), built once so that a hit builds no string.
// The separator is NUL, which a presentation name carries only as the escape \000; and since the
// suffix fields hold no NUL, a key splits unambiguously from its right end anyway.
const FLAG_COMBOS = 4;
const COMMON_QTYPES = 256;
const QCLASS_IN = 1;
const COMMON_SUFFIXES: string[] = [];
for (let qtype = 0; qtype < COMMON_QTYPES; qtype++) {
  for (let flags = 0; flags < FLAG_COMBOS; flags++) {
    COMMON_SUFFIXES.push(`\0${qtype}\0${QCLASS_IN}\0${flags}`);
  }
}

/** The key's part after the name: qtype, qclass, DO and CD. A table entry for class IN and qtype < 256. */
export function keySuffix(
  qtype: number,
  qclass: number,
  dnssecOk: boolean,
  checkingDisabled: boolean,
): string {
  const flags = (dnssecOk ? 2 : 0) | (checkingDisabled ? 1 : 0);
  // `(qtype & 0xff) === qtype`: an integer 0-255, so a fractional qtype cannot alias a table slot.
  return qclass === QCLASS_IN && (qtype & 0xff) === qtype
    ? COMMON_SUFFIXES[qtype * FLAG_COMBOS + flags]
    : `\0${qtype}\0${qclass}\0${flags}`;
}

/**
 * The cache key of a question: lowercase name, qtype, qclass, DO and CD. The concatenation is a rope
 * in V8, flattened here at once: hashing and comparing read it a character at a time.
 */
export function cacheKey(q: CacheKeyInput): string {
  return questionKey(q.name, keySuffix(q.qtype, q.qclass, q.do, q.cd));
}

/** cacheKey() of a name and its keySuffix(): what find(name, suffix) reaches. */
export function questionKey(name: string, suffix: string): string {
  const key = name.toLowerCase() + suffix;
  key.charCodeAt(key.length - 1); // flattens the rope here, on V8's fast path
  return key;
}

/** ASCII letters to lowercase, nothing else: DNS names compare case-insensitively in ASCII only (RFC 4343). */
export function foldAscii(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

/**
 * FNV-1a over `head + tail` (head's ASCII letters folded when `foldHead`), without concatenating:
 * hashKey(name.toLowerCase() + suffix) === hashParts(name, true, suffix) for an ASCII name, so the
 * string API and the question API find the same entries. Math.imul keeps it in 32-bit integers.
 */
export function hashParts(head: string, foldHead: boolean, tail: string): number {
  let h = 0x811c9dc5;
  if (foldHead) {
    for (let i = 0; i < head.length; i++) h = Math.imul(h ^ foldAscii(head.charCodeAt(i)), 0x01000193);
  } else {
    for (let i = 0; i < head.length; i++) h = Math.imul(h ^ head.charCodeAt(i), 0x01000193);
  }
  return hashTail(h, tail);
}

/**
 * hashParts() of a name given as its presentation bytes (dns/name.ts presentName: the characters of
 * the string readName() makes), folded: a cache hit hashes the question without decoding its name.
 */
export function hashPresented(head: Uint8Array, headLen: number, tail: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < headLen; i++) h = Math.imul(h ^ foldAscii(head[i]), 0x01000193);
  return hashTail(h, tail);
}

function hashTail(h: number, tail: string): number {
  for (let i = 0; i < tail.length; i++) h = Math.imul(h ^ tail.charCodeAt(i), 0x01000193);
  // Final mix, so that keys differing only in the last characters differ in the low (slot) bits.
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h >>> 0;
}

/** The hash of a whole key (set, get, delete by key). */
export function hashKey(key: string): number {
  return hashParts(key, false, '');
}
