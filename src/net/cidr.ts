import { isIP } from 'node:net';
import { RojeError } from '../errors.js';
import { expandIPv6 } from './address.js';

/**
 * CIDR parsing (config time) and matching (per query). Matching parses the client address by hand
 * into integers held in preallocated scratch space: no allocation, no regex, no throw.
 */

export interface Cidr {
  version: 4 | 6;
  /** The network address as eight 16-bit words (IPv4: the last two words, the rest zero). */
  words: Uint16Array;
  prefix: number;
  /** Canonical text, e.g. "10.0.0.0/8", "fc00::/7". */
  text: string;
}

/**
 * Why `text` is not a CIDR, or null when it is one. A bare address means one host (/32, /128).
 * Host bits set ("10.0.0.1/8") are an error, not silently masked: in an ACL that is usually a typo
 * for a single host or a different network, and guessing wrong would open or close the resolver.
 */
export function cidrProblem(text: string): string | null {
  return typeof text === 'string' ? analyse(text).problem : 'it is not a string';
}

/** Parses "10.0.0.0/8", "fc00::/7", "192.0.2.1" (one host). Throws ROJE_ERR_NET_CIDR with the reason. */
export function parseCidr(text: string): Cidr {
  const { cidr, problem } = analyse(text);
  if (cidr === null)
    throw new RojeError('ROJE_ERR_NET_CIDR', `CIDR ${JSON.stringify(text)} is not valid: ${problem}`);
  return cidr;
}

function analyse(input: string): { cidr: Cidr | null; problem: string | null } {
  const fail = (problem: string) => ({ cidr: null, problem });
  const text = input.trim();
  const slash = text.indexOf('/');
  const addr = slash === -1 ? text : text.slice(0, slash);
  if (addr.includes('%')) return fail('a network cannot carry a zone id ("%…")');
  const version = isIP(addr);
  if (version === 0) return fail(`"${addr}" is not an IPv4 or IPv6 address`);
  const bits = version === 4 ? 32 : 128;
  let prefix = bits;
  if (slash !== -1) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return fail(`prefix length "${p}" is not a number`);
    prefix = Number(p);
    if (prefix > bits) return fail(`prefix length ${prefix} is out of range 0-${bits} for IPv${version}`);
  }
  const words = new Uint16Array(8);
  if (version === 4) {
    const o = addr.split('.').map(Number);
    words[6] = (o[0] << 8) | o[1];
    words[7] = (o[2] << 8) | o[3];
  } else {
    words.set(expandIPv6(addr)!);
  }
  const offset = version === 4 ? 96 : 0;
  const masked = new Uint16Array(words);
  applyMask(masked, offset + prefix);
  const canonical = (w: Uint16Array) =>
    `${version === 4 ? `${w[6] >> 8}.${w[6] & 255}.${w[7] >> 8}.${w[7] & 255}` : compressIPv6(w)}/${prefix}`;
  if (!masked.every((w, i) => w === words[i])) {
    return fail(`host bits are set after /${prefix}; the network is "${canonical(masked)}"`);
  }
  return { cidr: { version: version as 4 | 6, words, prefix, text: canonical(words) }, problem: null };
}

function applyMask(words: Uint16Array, prefix: number): void {
  for (let i = 0; i < 8; i++) {
    const keep = Math.min(16, Math.max(0, prefix - i * 16));
    words[i] &= keep === 0 ? 0 : (0xffff << (16 - keep)) & 0xffff;
  }
}

function compressIPv6(w: Uint16Array): string {
  // RFC 5952: the longest run (>1) of zero words becomes "::".
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = Array.from(w, (x) => x.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/**
 * Builds the per-query ACL test. IPv4 clients, including IPv4-mapped IPv6 ("::ffff:10.1.2.3", as a
 * dual-stack socket reports them), are matched against the IPv4 rules as 32-bit integers; IPv6
 * clients against the IPv6 rules word by word. Anything unparsable is not allowed.
 * Throws ROJE_ERR_NET_CIDR for a bad rule (config validation catches those first).
 */
export function createCidrMatcher(cidrs: readonly string[]): (address: string) => boolean {
  const v4Net: number[] = [];
  const v4Mask: number[] = [];
  const v6: { words: Uint16Array; prefix: number }[] = [];
  for (const text of cidrs) {
    const c = parseCidr(text);
    if (c.version === 4) {
      v4Net.push(((c.words[6] << 16) | c.words[7]) >>> 0);
      v4Mask.push(c.prefix === 0 ? 0 : (0xffffffff << (32 - c.prefix)) >>> 0);
    } else if (c.prefix >= 96 && isMappedPrefix(c.words)) {
      // A rule written as ::ffff:a.b.c.d/n is an IPv4 rule in disguise; mapped clients arrive as IPv4.
      v4Net.push(((c.words[6] << 16) | c.words[7]) >>> 0);
      const p = c.prefix - 96;
      v4Mask.push(p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0);
    } else {
      v6.push({ words: c.words, prefix: c.prefix });
    }
  }
  const nets = Uint32Array.from(v4Net);
  const masks = Uint32Array.from(v4Mask);
  const n4 = nets.length;
  const scratch = new Uint16Array(8);

  const matchV4 = (ip: number): boolean => {
    for (let i = 0; i < n4; i++) if ((ip & masks[i]) >>> 0 === nets[i]) return true;
    return false;
  };

  return (address: string): boolean => {
    if (typeof address !== 'string') return false;
    const ip = parseIPv4(address, 0, address.length);
    if (ip >= 0) return matchV4(ip);
    if (!parseIPv6Into(address, scratch)) return false;
    if (isMappedPrefix(scratch)) return matchV4(((scratch[6] << 16) | scratch[7]) >>> 0);
    for (let r = 0; r < v6.length; r++) if (prefixMatch(scratch, v6[r].words, v6[r].prefix)) return true;
    return false;
  };
}

function isMappedPrefix(w: Uint16Array): boolean {
  return w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0xffff;
}

function prefixMatch(a: Uint16Array, net: Uint16Array, prefix: number): boolean {
  let i = 0;
  let left = prefix;
  while (left >= 16) {
    if (a[i] !== net[i]) return false;
    i++;
    left -= 16;
  }
  if (left === 0) return true;
  const mask = (0xffff << (16 - left)) & 0xffff;
  return (a[i] & mask) === net[i];
}

/** The dotted quad in s[start, end): uint32, or -1. */
function parseIPv4(s: string, start: number, end: number): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      if (digits === 3) return -1;
      octet = octet * 10 + (c - 0x30);
      digits++;
      if (octet > 255) return -1;
    } else if (c === 0x2e) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else {
      return -1;
    }
  }
  if (digits === 0 || dots !== 3) return -1;
  return value * 256 + octet;
}

/**
 * Parses an IPv6 address (compressed, embedded IPv4, optional %zone) into `out`; false if invalid.
 * Allocates nothing: the query path keys clients with it (client-key.ts).
 */
export function parseIPv6Into(s: string, out: Uint16Array): boolean {
  let end = s.indexOf('%');
  if (end === -1) end = s.length;
  if (end < 2) return false;
  out.fill(0);
  let n = 0; // words written
  let gap = -1; // index in out where "::" stands
  let i = 0;
  if (s.charCodeAt(0) === 0x3a) {
    if (s.charCodeAt(1) !== 0x3a) return false;
    gap = 0;
    i = 2;
    if (i === end) return true;
  }
  while (i < end) {
    if (n === 8) return false;
    let word = 0;
    let digits = 0;
    const groupStart = i;
    while (i < end) {
      const c = s.charCodeAt(i);
      let v: number;
      if (c >= 0x30 && c <= 0x39) v = c - 0x30;
      else if (c >= 0x61 && c <= 0x66) v = c - 0x57;
      else if (c >= 0x41 && c <= 0x46) v = c - 0x37;
      else break;
      if (digits === 4) return false;
      word = (word << 4) | v;
      digits++;
      i++;
    }
    if (i < end && s.charCodeAt(i) === 0x2e) {
      // Embedded IPv4 in the last 32 bits.
      if (n > 6) return false;
      const v4 = parseIPv4(s, groupStart, end);
      if (v4 < 0) return false;
      out[n++] = v4 >>> 16;
      out[n++] = v4 & 0xffff;
      i = end;
      break;
    }
    if (digits === 0) return false;
    out[n++] = word;
    if (i === end) break;
    if (s.charCodeAt(i) !== 0x3a) return false;
    i++;
    if (i < end && s.charCodeAt(i) === 0x3a) {
      if (gap !== -1) return false;
      gap = n;
      i++;
      if (i === end) break;
    } else if (i === end) {
      return false;
    }
  }
  if (gap === -1) return n === 8;
  if (n === 8) return false;
  // Slide the words after the gap to the end.
  const tail = n - gap;
  for (let k = tail - 1; k >= 0; k--) {
    out[8 - tail + k] = out[gap + k];
    out[gap + k] = 0;
  }
  return true;
}
