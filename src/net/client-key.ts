/**
 * The number that stands for one client in rate limits and connection caps: an IPv4 address, or an
 * IPv6 /64 (one device rotating privacy addresses inside its /64 stays one client). IPv4-mapped
 * addresses ("::ffff:a.b.c.d") are the IPv4 client they wrap. Every IPv6 spelling of the same /64
 * ("2001:db8::1", "2001:0db8:0:0::2", "2001:db8:0:0:1::") gives the same key.
 *
 * Per-query: no allocation (one shared scratch array), a hash of at most 8 bytes or 15 characters.
 */

const FNV_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
/** IPv6 keys start from another basis so that a /64 and an IPv4 address rarely share a key. */
const V6_BASIS = 0x050c5d1f;

const words = new Uint16Array(8);

/** A non-zero 32-bit key (0 marks an empty slot in the tables that use it). */
export function clientKey(address: string): number {
  const colon = address.indexOf(':');
  if (colon === -1) return hashText(address, 0, address.length);
  const mapped = mappedIPv4Start(address);
  if (mapped > 0) return hashText(address, mapped, address.length);
  if (!parseIPv6Words(address, words)) return hashText(address, 0, address.length);
  let h = V6_BASIS;
  for (let i = 0; i < 4; i++) {
    h ^= words[i] >>> 8;
    h = Math.imul(h, FNV_PRIME);
    h ^= words[i] & 0xff;
    h = Math.imul(h, FNV_PRIME);
  }
  return h >>> 0 || 1;
}

function hashText(text: string, start: number, end: number): number {
  let h = FNV_BASIS;
  for (let i = start; i < end; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return h >>> 0 || 1;
}

/** Where the IPv4 part of "::ffff:a.b.c.d" (any case, any zero-padding of the groups) starts, or -1. */
function mappedIPv4Start(address: string): number {
  const dot = address.indexOf('.');
  if (dot === -1) return -1;
  const last = address.lastIndexOf(':', dot);
  if (last < 0 || !parseIPv6Words(address, words)) return -1;
  for (let i = 0; i < 5; i++) if (words[i] !== 0) return -1;
  return words[5] === 0xffff ? last + 1 : -1;
}

/**
 * Parses an IPv6 address (with `::`, an embedded dotted IPv4 tail, a %zone) into eight words.
 * False when the text is not one: the caller then keys on the text as it is.
 */
export function parseIPv6Words(text: string, out: Uint16Array): boolean {
  let end = text.indexOf('%');
  if (end === -1) end = text.length;
  let n = 0;
  let gap = -1;
  let i = 0;
  if (end >= 2 && text.charCodeAt(0) === 0x3a && text.charCodeAt(1) === 0x3a) {
    gap = 0;
    i = 2;
  }
  while (i < end) {
    if (n === 8) return false;
    let value = 0;
    let digits = 0;
    const start = i;
    while (i < end) {
      const c = text.charCodeAt(i);
      const d = hexValue(c);
      if (d < 0) break;
      value = (value << 4) | d;
      if (++digits > 4) return false;
      i++;
    }
    if (i < end && text.charCodeAt(i) === 0x2e /* . */) {
      // The dotted IPv4 tail: the last two words.
      if (n > 6) return false;
      const v4 = parseIPv4(text, start, end);
      if (v4 < 0) return false;
      out[n++] = v4 >>> 16;
      out[n++] = v4 & 0xffff;
      i = end;
      break;
    }
    if (digits === 0) return false;
    out[n++] = value;
    if (i === end) break;
    if (text.charCodeAt(i) !== 0x3a) return false;
    i++;
    if (i < end && text.charCodeAt(i) === 0x3a) {
      if (gap !== -1) return false;
      gap = n;
      i++;
    } else if (i === end) {
      return false;
    }
  }
  if (gap === -1) return n === 8;
  if (n === 8) return false;
  // Slide the groups after `::` to the end and fill the gap with zeros.
  const tail = n - gap;
  for (let k = 0; k < tail; k++) out[7 - k] = out[n - 1 - k];
  for (let k = gap; k < 8 - tail; k++) out[k] = 0;
  return true;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** a.b.c.d in text[start, end) as an unsigned 32-bit number, or -1. */
function parseIPv4(text: string, start: number, end: number): number {
  let result = 0;
  let octets = 0;
  let value = 0;
  let digits = 0;
  for (let i = start; i <= end; i++) {
    const c = i === end ? 0x2e : text.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || value > 255) return -1;
      result = result * 256 + value;
      octets++;
      value = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      value = value * 10 + (c - 0x30);
      if (++digits > 3) return -1;
    } else {
      return -1;
    }
  }
  return octets === 4 ? result : -1;
}
