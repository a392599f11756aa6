/**
 * An authoritative TXT answer of roje's own, for the CHAOS-class status names (version.roje.,
 * policy.roje.): the client's header and question, one TXT record per string (owner: a pointer to the
 * question, class CH, TTL 0), and roje's OPT when the client sent EDNS. Rare queries: built per query.
 */
import { copyBytes, setU16, setU32 } from './bytes.js';
import {
  FLAG_AA,
  FLAG_CD,
  FLAG_QR,
  FLAG_RA,
  FLAG_RD,
  HEADER_SIZE,
  OPCODE_MASK,
  QCLASS,
  QTYPE,
  RCODE,
} from './constants.js';
import { optLength, writeOpt } from './edns.js';
import type { ParsedQuery } from './types.js';

/** One TXT character-string holds at most 255 bytes; longer strings are cut. */
const MAX_STRING = 255;

export function txtAnswer(q: ParsedQuery, strings: readonly string[], udpSize: number): Buffer {
  const data = strings.map((s) => {
    const bytes = Buffer.from(s, 'utf8');
    return bytes.length > MAX_STRING ? bytes.subarray(0, MAX_STRING) : bytes;
  });
  const records = data.reduce((n, d) => n + 12 + 1 + d.length, 0);
  const qEnd = q.questionEnd;
  const size = qEnd + records + (q.edns !== null ? optLength() : 0);
  const out = Buffer.alloc(size);
  copyBytes(q.msg, 0, out, 0, 2);
  const qflags = (q.msg[2] << 8) | q.msg[3];
  // AA: roje is the authority for its own CHAOS names; RA: roje offers recursion (RFC 1035 §4.1.1).
  setU16(out, 2, FLAG_QR | FLAG_AA | FLAG_RA | (qflags & (OPCODE_MASK | FLAG_RD | FLAG_CD)) | RCODE.NOERROR);
  setU16(out, 4, 1);
  setU16(out, 6, data.length);
  setU16(out, 8, 0);
  setU16(out, 10, q.edns !== null ? 1 : 0);
  copyBytes(q.msg, HEADER_SIZE, out, HEADER_SIZE, qEnd - HEADER_SIZE);
  let p = qEnd;
  for (const d of data) {
    setU16(out, p, 0xc00c);
    setU16(out, p + 2, QTYPE.TXT);
    setU16(out, p + 4, QCLASS.CH);
    setU32(out, p + 6, 0);
    setU16(out, p + 10, 1 + d.length);
    out[p + 12] = d.length;
    d.copy(out, p + 13);
    p += 13 + d.length;
  }
  if (q.edns !== null) writeOpt(out, p, udpSize, RCODE.NOERROR, q.edns.do);
  return out;
}
