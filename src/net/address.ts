import { isIP } from 'node:net';
import type { ListenAddress } from '../transport/types.js';

/**
 * Address helpers shared by config, ACL and transports. Parsers return null rather than throw: the
 * caller knows which key or flag the text came from and words the error.
 */

const LISTEN_RE = /^(?:\[([^\]]*)\]|([^:[\]]+)):(\d{1,5})$/;

/**
 * "127.0.0.1:5353" or "[::1]:53" -> { host, port }. The host must be an IP literal: roje binds
 * before it can resolve anything, and a name that resolves to several addresses is ambiguous.
 * An IPv6 host must be bracketed (so the port is never mistaken for the last group); port 0 means
 * "pick an ephemeral port" (tests).
 */
export function parseListenAddress(text: string): ListenAddress | null {
  if (typeof text !== 'string') return null;
  const m = LISTEN_RE.exec(text.trim());
  if (m === null) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  if (m[1] !== undefined) {
    const host = stripScope(m[1]);
    return isIP(host) === 6 ? { host: m[1], port } : null;
  }
  return isIP(m[2]) === 4 ? { host: m[2], port } : null;
}

/** { host, port } -> "127.0.0.1:53" or "[::1]:53". */
export function formatListenAddress(address: ListenAddress): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** 4, 6, or 0 when `text` is not an IP address (node:net isIP; zone ids like "%eth0" count as 6). */
export function ipVersion(text: string): 0 | 4 | 6 {
  return isIP(text) as 0 | 4 | 6;
}

export function isIPv4(text: string): boolean {
  return isIP(text) === 4;
}

export function isIPv6(text: string): boolean {
  return isIP(text) === 6;
}

/** "fe80::1%eth0" -> "fe80::1". */
export function stripScope(address: string): string {
  const i = address.indexOf('%');
  return i === -1 ? address : address.slice(0, i);
}

/**
 * "::ffff:1.2.3.4" -> "1.2.3.4", so that a dual-stack socket's IPv4 clients meet the IPv4 rules.
 * Any other address is returned as it is. Cheap enough for the per-query path: one prefix test.
 */
export function unwrapMapped(address: string): string {
  // Every mapped address Node reports starts with "::"; anything else leaves after one comparison.
  if (address.charCodeAt(0) !== 0x3a || address.length < 14) return address;
  if (!/^::ffff:\d/i.test(address)) return address;
  const v4 = address.slice(7);
  return isIP(v4) === 4 ? v4 : address;
}

/** True for 127.0.0.0/8, ::1 and their IPv4-mapped forms. */
export function isLoopback(address: string): boolean {
  const a = unwrapMapped(stripScope(address));
  if (isIP(a) === 4) return a.startsWith('127.');
  return isIP(a) === 6 && expandIPv6(a)?.every((w, i) => (i === 7 ? w === 1 : w === 0)) === true;
}

/** True for 0.0.0.0 and :: (listen on every interface). */
export function isUnspecified(address: string): boolean {
  const a = stripScope(address);
  if (a === '0.0.0.0') return true;
  return isIP(a) === 6 && expandIPv6(a)?.every((w) => w === 0) === true;
}

/**
 * Canonical comparison key for an address: IPv4 dotted as is, IPv6 expanded to eight lowercase
 * hex groups, IPv4-mapped unwrapped. "::1" and "0:0:0:0:0:0:0:1" compare equal.
 */
export function addressKey(address: string): string | null {
  const a = unwrapMapped(stripScope(address));
  const v = isIP(a);
  if (v === 4) return a;
  if (v !== 6) return null;
  const words = expandIPv6(a);
  return words === null ? null : words.map((w) => w.toString(16)).join(':');
}

/** Eight 16-bit words of an IPv6 address (embedded dotted IPv4 allowed), or null. Not per-query. */
export function expandIPv6(text: string): number[] | null {
  let s = stripScope(text);
  if (isIP(s) !== 6) return null;
  const tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  const last = s.slice(lastColon + 1);
  if (last.includes('.')) {
    const o = last.split('.').map(Number);
    tail.push((o[0] << 8) | o[1], (o[2] << 8) | o[3]);
    s = s.slice(0, lastColon + 1);
    if (!s.endsWith('::')) s = s.slice(0, -1);
  }
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((h) => Number.parseInt(h, 16)));
  const gap = s.indexOf('::');
  if (gap === -1) {
    const words = [...parse(s), ...tail];
    return words.length === 8 ? words : null;
  }
  const head = parse(s.slice(0, gap));
  const rest = [...parse(s.slice(gap + 2)), ...tail];
  const fill = 8 - head.length - rest.length;
  if (fill < 0) return null;
  return [...head, ...new Array<number>(fill).fill(0), ...rest];
}
