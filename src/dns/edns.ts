/**
 * roje's own OPT record (RFC 6891) and Extended DNS Errors (RFC 8914). Each client gets an OPT
 * written for it; the upstream's OPT never reaches a client, only its extended RCODE and EDEs.
 */
import { setU16 } from './bytes.js';
import { EDNS_FLAG_DO, EDNS_OPTION, type ExtendedError, QTYPE } from './constants.js';

/** Root owner (1) + TYPE, CLASS (4) + TTL (4) + RDLENGTH (2). */
export const OPT_FIXED_SIZE = 11;
/** Upstream EXTRA-TEXT is cut to this many bytes: it is passed on to clients, who gain nothing from more. */
export const MAX_EDE_TEXT = 256;
/** At most this many upstream EDEs are passed on. */
export const MAX_EDE_OPTIONS = 8;

export const NO_EDE: readonly ExtendedError[] = Object.freeze([]);

function edeLength(list: readonly ExtendedError[]): number {
  let n = 0;
  for (let i = 0; i < list.length; i++) {
    const text = list[i].text;
    // option code + length + INFO-CODE, then the text.
    n += 6 + (text ? Buffer.byteLength(text, 'utf8') : 0);
  }
  return n;
}

/** Size of the OPT record writeOpt() writes for these EDE lists. */
export function optLength(a?: readonly ExtendedError[] | null, b?: readonly ExtendedError[] | null): number {
  return OPT_FIXED_SIZE + (a ? edeLength(a) : 0) + (b ? edeLength(b) : 0);
}

function writeEde(buf: Buffer, off: number, list: readonly ExtendedError[]): number {
  let p = off;
  for (let i = 0; i < list.length; i++) {
    const e = list[i];
    const textLen = e.text ? buf.write(e.text, p + 6, 'utf8') : 0;
    setU16(buf, p, EDNS_OPTION.EDE);
    setU16(buf, p + 2, 2 + textLen);
    setU16(buf, p + 4, e.code & 0xffff);
    p += 6 + textLen;
  }
  return p;
}

/**
 * Writes an OPT RR at `off` and returns the offset after it. `rcode` is the full RCODE: its upper 8
 * bits go into the TTL (the header carries the low 4). The buffer must have optLength(a, b) bytes.
 */
export function writeOpt(
  buf: Buffer,
  off: number,
  udpSize: number,
  rcode: number,
  dnssecOk: boolean,
  a?: readonly ExtendedError[] | null,
  b?: readonly ExtendedError[] | null,
): number {
  buf[off] = 0;
  setU16(buf, off + 1, QTYPE.OPT);
  setU16(buf, off + 3, udpSize & 0xffff);
  // TTL: extended RCODE (8 bits) | VERSION 0 | DO | Z.
  buf[off + 5] = (rcode >>> 4) & 0xff;
  buf[off + 6] = 0;
  setU16(buf, off + 7, dnssecOk ? EDNS_FLAG_DO : 0);
  let p = off + OPT_FIXED_SIZE;
  if (a) p = writeEde(buf, p, a);
  if (b) p = writeEde(buf, p, b);
  setU16(buf, off + 9, p - off - OPT_FIXED_SIZE);
  return p;
}

/**
 * Extended DNS Errors among the options in an OPT RDATA (buf[start..end]). Malformed option lists
 * stop the scan; what was read so far is kept. Texts are cut to MAX_EDE_TEXT bytes.
 */
export function readEde(buf: Buffer, start: number, end: number): readonly ExtendedError[] {
  let out: ExtendedError[] | null = null;
  let p = start;
  while (p + 4 <= end) {
    const code = buf.readUInt16BE(p);
    const len = buf.readUInt16BE(p + 2);
    const data = p + 4;
    if (data + len > end) break;
    if (code === EDNS_OPTION.EDE && len >= 2) {
      const info = buf.readUInt16BE(data);
      const textLen = Math.min(len - 2, MAX_EDE_TEXT);
      const e: ExtendedError =
        textLen > 0
          ? { code: info, text: buf.toString('utf8', data + 2, data + 2 + textLen) }
          : { code: info };
      if (out === null) out = [];
      out.push(e);
      if (out.length >= MAX_EDE_OPTIONS) break;
    }
    p = data + len;
  }
  return out === null ? NO_EDE : out;
}
