/**
 * Domain names on the wire (RFC 1035 §3.1, §4.1.4): read, skip and compare, straight on the Buffer.
 * Every reader here is on the per-query path: no closures, no per-label strings, one string per
 * name read. Malformed input yields -1 / null, never an exception. encodeName, the one writer, runs
 * off the hot path (templates and tables built at load) and throws on what is not a name.
 */

/** Longest name on the wire, length octets and the root octet included (RFC 1035 §2.3.4). */
export const MAX_NAME_WIRE = 255;
export const MAX_LABEL = 63;
/** More hops than a 255-octet name could ever need; a backstop for the strictly-backwards rule. */
export const MAX_POINTER_HOPS = 127;

/**
 * ASCII case folding for one byte: 'A'..'Z' -> 'a'..'z', every other byte unchanged. Bytes >= 0x80
 * are left alone on purpose: DNS compares names ASCII-case-insensitively only (RFC 4343).
 */
export const ASCII_LOWER: Uint8Array = new Uint8Array(256);
for (let b = 0; b < 256; b++) ASCII_LOWER[b] = b >= 0x41 && b <= 0x5a ? b | 0x20 : b;

/**
 * Presentation byte for each label byte, already lowercased, or 0 when the byte must be escaped:
 * '.' and '\' as `\.` `\\`, bytes outside 0x21..0x7e as `\DDD` (RFC 1035 §5.1). One table lookup
 * per byte keeps the common case (letters, digits, '-', '_') a load and a store.
 */
const PRESENT = new Uint8Array(256);
for (let b = 0x21; b <= 0x7e; b++) PRESENT[b] = b === 0x2e || b === 0x5c ? 0 : ASCII_LOWER[b];

/**
 * Buffer#latin1Slice is public on Buffer.prototype in Node 20-24 but missing from @types/node; it is
 * about twice as fast as toString('latin1', ...), which re-checks its arguments and encoding name.
 */
interface Latin1Slice {
  latin1Slice(start: number, end: number): string;
}
const HAS_LATIN1_SLICE =
  typeof (Buffer.prototype as unknown as Partial<Latin1Slice>).latin1Slice === 'function';

// 255 wire octets can hold at most 253 label bytes, each at most 4 presentation bytes (\DDD).
const scratch = Buffer.allocUnsafeSlow(1024);
/** Where presentName() writes: read it before the next call. */
export const PRESENTED_NAME: Uint8Array = scratch;

/** Receives the offset just past the name in the message (past the first pointer, if any). */
export interface NameEnd {
  end: number;
}

/**
 * Reads the name at `offset` as lowercase presentation text without the trailing dot ('' for the
 * root). Compression pointers are followed when `allowPointers`; each must point strictly before
 * the lowest offset read so far, so chains cannot loop. Returns null when the name is malformed:
 * runs past the buffer, label > 63, reserved label type, bad pointer, or longer than 255 octets.
 * On success `out.end` (if given) is set to the offset just past the name where it started.
 */
export function readName(
  buf: Buffer,
  offset: number,
  out: NameEnd | null = null,
  allowPointers = true,
): string | null {
  const n = presentName(buf, offset, out, allowPointers);
  if (n <= 0) return n === 0 ? '' : null;
  return HAS_LATIN1_SLICE
    ? (scratch as unknown as Latin1Slice).latin1Slice(0, n)
    : scratch.toString('latin1', 0, n);
}

/**
 * readName() without the string: writes the name's presentation bytes into PRESENTED_NAME (valid until
 * the next call) and returns their count, or -1 when the name is malformed.
 */
export function presentName(
  buf: Buffer,
  offset: number,
  out: NameEnd | null = null,
  allowPointers = true,
): number {
  const len = buf.length;
  let p = offset;
  let floor = offset;
  let end = -1;
  let wire = 0;
  let hops = 0;
  let n = 0;
  for (;;) {
    if (p >= len) return -1;
    const l = buf[p];
    if (l === 0) {
      if (end < 0) end = p + 1;
      break;
    }
    if (l <= MAX_LABEL) {
      const labelEnd = p + 1 + l;
      wire += l + 1;
      // +1: the root octet still has to fit.
      if (labelEnd > len || wire + 1 > MAX_NAME_WIRE) return -1;
      if (n !== 0) scratch[n++] = 0x2e;
      for (let i = p + 1; i < labelEnd; i++) {
        const b = buf[i];
        const c = PRESENT[b];
        if (c !== 0) {
          scratch[n++] = c;
        } else if (b === 0x2e || b === 0x5c) {
          scratch[n++] = 0x5c;
          scratch[n++] = b;
        } else {
          scratch[n++] = 0x5c;
          scratch[n++] = 0x30 + ((b / 100) | 0);
          scratch[n++] = 0x30 + (((b / 10) | 0) % 10);
          scratch[n++] = 0x30 + (b % 10);
        }
      }
      p = labelEnd;
      continue;
    }
    if ((l & 0xc0) !== 0xc0 || !allowPointers || p + 1 >= len) return -1;
    const target = ((l & 0x3f) << 8) | buf[p + 1];
    if (target >= floor || ++hops > MAX_POINTER_HOPS) return -1;
    if (end < 0) end = p + 2;
    floor = target;
    p = target;
  }
  if (out !== null) out.end = end;
  return n;
}

/**
 * Returns the offset just past the name at `offset` without following pointers, or -1 if the name
 * is malformed within `limit` (label > 63, reserved label type, truncated, over 255 octets).
 * Pointer targets are not checked: callers that only need to step over a name do not read them.
 */
export function skipName(buf: Buffer, offset: number, limit: number = buf.length): number {
  let p = offset;
  for (;;) {
    if (p >= limit) return -1;
    const l = buf[p];
    if (l === 0) return p + 1 - offset > MAX_NAME_WIRE ? -1 : p + 1;
    if (l <= MAX_LABEL) {
      p += l + 1;
      continue;
    }
    if ((l & 0xc0) !== 0xc0 || p + 2 > limit) return -1;
    return p + 2 - offset > MAX_NAME_WIRE ? -1 : p + 2;
  }
}

/**
 * Like skipName, but a compression pointer makes the name malformed (-1). Questions in queries are
 * never compressed: there is nothing before them to point to.
 */
export function skipPlainName(buf: Buffer, offset: number, limit: number = buf.length): number {
  let p = offset;
  for (;;) {
    if (p >= limit) return -1;
    const l = buf[p];
    if (l === 0) return p + 1 - offset > MAX_NAME_WIRE ? -1 : p + 1;
    if (l > MAX_LABEL) return -1;
    p += l + 1;
  }
}

/** True when `len` bytes at a[aOff] and b[bOff] are equal under ASCII case folding. */
export function equalIgnoreCase(a: Buffer, aOff: number, b: Buffer, bOff: number, len: number): boolean {
  for (let i = 0; i < len; i++) {
    const x = a[aOff + i];
    const y = b[bOff + i];
    if (x !== y && ASCII_LOWER[x] !== ASCII_LOWER[y]) return false;
  }
  return true;
}

const DOT = 0x2e;
const BACKSLASH = 0x5c;

/**
 * Wire form of a name given as text: length-prefixed labels and the root octet, in a Buffer of its
 * own. For the names roje builds answers and match tables from (safe hosts, venue additions, the
 * block answers' SOA and RPZ CNAME targets), never per query. Decided edge cases:
 * - case is kept as given: tables matched case-insensitively against queries want lowercase names,
 *   and their callers pass them so (normalizeListName, toLowerCase);
 * - one trailing dot is the root's and optional: `example.com.` encodes as `example.com`, and `''`
 *   and `.` are the root alone (one zero octet);
 * - an empty label (`a..b`, `.a`), a label over 63 octets, a name over 255 octets on the wire, a
 *   character outside ASCII (an IDN must be its A-label first) and a backslash (presentation escapes
 *   such as readName writes are not decoded here) throw a RangeError that names the problem.
 */
export function encodeName(name: string): Buffer {
  let len = name.length;
  if (len > 0 && name.charCodeAt(len - 1) === DOT) len--;
  // Each dot becomes a length octet, plus one for the first label and the root octet.
  const size = len === 0 ? 1 : len + 2;
  if (size > MAX_NAME_WIRE) throw notAName(name, `it is ${size} octets on the wire, over ${MAX_NAME_WIRE}`);
  const out = Buffer.alloc(size);
  if (len === 0) return out;
  let start = 0;
  for (let i = 0; i <= len; i++) {
    const c = i < len ? name.charCodeAt(i) : DOT;
    if (c === DOT) {
      const l = i - start;
      if (l === 0) throw notAName(name, 'it has an empty label');
      if (l > MAX_LABEL) throw notAName(name, `a label is ${l} octets, over ${MAX_LABEL}`);
      out[start] = l;
      start = i + 1;
    } else if (c > 0x7f || c === BACKSLASH) {
      throw notAName(name, c === BACKSLASH ? 'escapes are not decoded' : 'give an IDN as its A-label (xn--)');
    } else {
      out[i + 1] = c;
    }
  }
  return out;
}

function notAName(name: string, why: string): RangeError {
  return new RangeError(`${JSON.stringify(name)} cannot be encoded as a domain name: ${why}`);
}
