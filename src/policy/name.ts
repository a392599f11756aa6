/**
 * One listed name, normalized the way every parser and the compiler compare names: lowercase A-label,
 * no trailing dot, labels of 1..63 octets, at most 253 octets, characters [a-z0-9-_].
 *
 * It runs once per line over lists of millions of lines, so the common case (an ASCII name) is one pass
 * over the char codes with no regex and no allocation beyond the result; only a name with non-ASCII
 * characters goes through node:url's IDNA (UTS #46) mapping to its A-label.
 */
import { domainToASCII } from 'node:url';
import type { SkipReason } from './types.js';

export type NormalizedName = { name: string; reason?: undefined } | { name?: undefined; reason: SkipReason };

/** Longest name in presentation form without the trailing dot (RFC 1035: 255 octets on the wire). */
export const MAX_NAME_LENGTH = 253;
export const MAX_LABEL_LENGTH = 63;

// Per char code (0..127): 0 = not allowed, 1 = allowed as is, 2 = uppercase (allowed after lowercasing).
const CLASS = new Uint8Array(128);
for (let c = 0x61; c <= 0x7a; c++) CLASS[c] = 1; // a-z
for (let c = 0x41; c <= 0x5a; c++) CLASS[c] = 2; // A-Z
for (let c = 0x30; c <= 0x39; c++) CLASS[c] = 1; // 0-9
CLASS[0x2d] = 1; // -
CLASS[0x5f] = 1; // _ (real names use it: _dmarc, _domainkey, some trackers)

const DOT = 0x2e;

/**
 * Normalizes one name from a list. A bare top-level label ("xxx", "porn") is valid: it blocks the TLD.
 * A name whose last label is all digits (an IPv4 address, "1.2.3.4") or that holds a colon (IPv6) is
 * `not-a-name`: no TLD is numeric, and an address in a name list is a listing mistake, not a name.
 */
export function normalizeListName(text: string): NormalizedName {
  let s = text;
  let len = s.length;
  // One trailing dot is the root; "a.." stays wrong (empty label).
  if (len > 0 && s.charCodeAt(len - 1) === DOT) {
    s = s.slice(0, len - 1);
    len--;
  }
  if (len === 0) return { reason: 'empty-label' };

  let upper = false;
  let labelStart = 0;
  let digitsOnly = true;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c === DOT) {
      const labelLength = i - labelStart;
      if (labelLength === 0) return { reason: 'empty-label' };
      if (labelLength > MAX_LABEL_LENGTH) return { reason: 'label-too-long' };
      labelStart = i + 1;
      digitsOnly = true;
      continue;
    }
    if (c >= 0x80) return normalizeIdn(s);
    const k = CLASS[c];
    if (k === 0) return { reason: c === 0x3a ? 'not-a-name' : 'bad-character' };
    if (k === 2) upper = true;
    if (digitsOnly && (c < 0x30 || c > 0x39)) digitsOnly = false;
  }
  const last = len - labelStart;
  if (last === 0) return { reason: 'empty-label' };
  if (last > MAX_LABEL_LENGTH) return { reason: 'label-too-long' };
  if (len > MAX_NAME_LENGTH) return { reason: 'name-too-long' };
  if (digitsOnly) return { reason: 'not-a-name' };
  return { name: upper ? s.toLowerCase() : s };
}

/** Slow path: map a name with non-ASCII characters to its A-label, then validate that as ASCII. */
function normalizeIdn(s: string): NormalizedName {
  const ascii = domainToASCII(s);
  // domainToASCII answers '' when UTS #46 rejects the name (disallowed code points, bad punycode).
  if (ascii === '') return { reason: 'bad-character' };
  for (let i = 0; i < ascii.length; i++) {
    // Guards the recursion: the mapped form must be ASCII (it always is when not '').
    if (ascii.charCodeAt(i) >= 0x80) return { reason: 'bad-character' };
  }
  return normalizeListName(ascii);
}
