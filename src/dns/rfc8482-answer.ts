/**
 * The RFC 8482 answer to QTYPE ANY: one synthesized HINFO record, CPU "RFC8482" and OS "", owned by
 * the question name (a pointer to it), class IN, and roje's OPT when the client sent EDNS. A minimal
 * answer instead of "everything at this name": no amplification, no upstream query, nothing cached.
 */
import { copyBytes, setU16, setU32 } from './bytes.js';
import { FLAG_CD, FLAG_QR, FLAG_RA, FLAG_RD, HEADER_SIZE, OPCODE_MASK, QCLASS, RCODE } from './constants.js';
import { optLength, writeOpt } from './edns.js';
import type { ParsedQuery } from './types.js';

const QTYPE_HINFO = 13;
/** HINFO RDATA: <character-string "RFC8482"> <character-string "">. */
const RDATA = Buffer.from([7, ...Buffer.from('RFC8482', 'ascii'), 0]);
/** Owner pointer, type, class, TTL, RDLENGTH. */
const RR_FIXED = 2 + 2 + 2 + 4 + 2;

/** The HINFO answer for `q` (an ANY query of class IN), with `ttl` seconds. */
export function rfc8482Answer(q: ParsedQuery, ttl: number, udpSize: number): Buffer {
  const qEnd = q.questionEnd;
  const out = Buffer.alloc(qEnd + RR_FIXED + RDATA.length + (q.edns !== null ? optLength() : 0));
  copyBytes(q.msg, 0, out, 0, 2);
  const qflags = (q.msg[2] << 8) | q.msg[3];
  setU16(out, 2, FLAG_QR | FLAG_RA | (qflags & (OPCODE_MASK | FLAG_RD | FLAG_CD)) | RCODE.NOERROR);
  setU16(out, 4, 1);
  setU16(out, 6, 1);
  setU16(out, 8, 0);
  setU16(out, 10, q.edns !== null ? 1 : 0);
  copyBytes(q.msg, HEADER_SIZE, out, HEADER_SIZE, qEnd - HEADER_SIZE);
  let p = qEnd;
  setU16(out, p, 0xc000 | HEADER_SIZE);
  setU16(out, p + 2, QTYPE_HINFO);
  setU16(out, p + 4, QCLASS.IN);
  setU32(out, p + 6, ttl);
  setU16(out, p + 10, RDATA.length);
  RDATA.copy(out, p + RR_FIXED);
  p += RR_FIXED + RDATA.length;
  if (q.edns !== null) writeOpt(out, p, udpSize, RCODE.NOERROR, q.edns.do);
  return out;
}
