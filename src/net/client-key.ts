/**
 * The number that stands for one client in rate limits and connection caps: an IPv4 address, or an
 * IPv6 /64 (one device rotating privacy addresses inside its /64 stays one client). IPv4-mapped
 * addresses ("::ffff:a.b.c.d") are the IPv4 client they wrap. Every IPv6 spelling of the same /64
 * ("2001:db8::1", "2001:0db8:0:0::2", "2001:db8:0:0:1::") gives the same key.
 *
 * Per-query: no allocation (one shared scratch array), a hash of at most 8 bytes or 15 characters.
 */

import { parseIPv6Into } from './cidr.js';

const FNV_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
/** IPv6 keys start from another basis so that a /64 and an IPv4 address rarely share a key. */
const V6_BASIS = 0x050c5d1f;

const words = new Uint16Array(8);

/**
 * A non-zero signed 32-bit key (0 marks an empty slot in the tables that use it). Signed, so that V8
 * keeps it a small integer: an unsigned key >= 2^31 would be a heap number, allocated per query.
 */
export function clientKey(address: string): number {
  const colon = address.indexOf(':');
  if (colon === -1) return hashText(address, 0, address.length);
  const mapped = mappedIPv4Start(address);
  if (mapped > 0) return hashText(address, mapped, address.length);
  if (!parseIPv6Into(address, words)) return hashText(address, 0, address.length);
  let h = V6_BASIS;
  for (let i = 0; i < 4; i++) {
    h ^= words[i] >>> 8;
    h = Math.imul(h, FNV_PRIME);
    h ^= words[i] & 0xff;
    h = Math.imul(h, FNV_PRIME);
  }
  return h | 0 || 1;
}

function hashText(text: string, start: number, end: number): number {
  let h = FNV_BASIS;
  for (let i = start; i < end; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return h | 0 || 1;
}

/** Where the IPv4 part of "::ffff:a.b.c.d" (any case, any zero-padding of the groups) starts, or -1. */
function mappedIPv4Start(address: string): number {
  const dot = address.indexOf('.');
  if (dot === -1) return -1;
  const last = address.lastIndexOf(':', dot);
  if (last < 0 || !parseIPv6Into(address, words)) return -1;
  for (let i = 0; i < 5; i++) if (words[i] !== 0) return -1;
  return words[5] === 0xffff ? last + 1 : -1;
}
