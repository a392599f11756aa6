/**
 * Answering a name as an alias chosen by roje (SafeSearch): the client's question, a CNAME from its
 * name to a target, then the records of the chain's own answer for that target. The inner answer's
 * bytes are copied whole and only its compression pointers are moved: a pointer into the inner
 * question (the target's name) now points into the CNAME's RDATA, which holds the same octets, and a
 * pointer into the inner records moves with them. One walk over the inner answer, one over the copy,
 * one exact-size allocation.
 */
import { RojeError } from '../errors.js';
import { copyBytes, setU16, setU32 } from './bytes.js';
import {
  type ExtendedError,
  FLAG_CD,
  FLAG_QR,
  FLAG_RA,
  FLAG_RD,
  HEADER_SIZE,
  OPCODE_MASK,
  QTYPE,
  RCODE,
} from './constants.js';
import { NO_EDE, optLength, readEde, writeOpt } from './edns.js';
import { equalIgnoreCase, skipName } from './name.js';
import { answerError } from './query.js';
import { namesIn, rdataNames } from './rdata-names.js';
import type { ParsedQuery } from './types.js';

export interface SpliceOptions {
  /** The UDP payload size roje advertises in its own OPT record. */
  udpSize: number;
  /** Extended DNS Errors added to a spliced answer (sent only when the client used EDNS). */
  ede?: readonly ExtendedError[];
  /**
   * TTL of the CNAME when the inner answer has no answer record: its SOA's (already the negative TTL)
   * capped at this, or this when there is no SOA either.
   */
  emptyTtl: number;
}

/** Owner (pointer to the question) + TYPE, CLASS, TTL, RDLENGTH. */
const CNAME_FIXED = 12;
const POINTER_TO_QNAME = 0xc00c;
const MAX_POINTER = 0x3fff;

function fail(why: string): never {
  throw new RojeError('ROJE_ERR_DNS_MALFORMED', `answer for the alias target cannot be spliced: ${why}`);
}

// Where the current splice maps inner offsets to; module state keeps repoint() free of closures.
let qStart = 0;
let qEnd = 0;
let qTo = 0;
let recStart = 0;
let recEnd = 0;
let recShift = 0;

/** Steps over the name at out[p], moving its pointer (if any) to the copy's layout. */
function repoint(out: Buffer, p: number, limit: number): number {
  for (;;) {
    if (p >= limit) fail('a name runs past its record');
    const l = out[p];
    if (l === 0) return p + 1;
    if (l <= 63) {
      p += l + 1;
      continue;
    }
    if ((l & 0xc0) !== 0xc0 || p + 2 > limit) fail('bad label type');
    const t = ((l & 0x3f) << 8) | out[p + 1];
    let to: number;
    if (t >= qStart && t < qEnd) to = qTo + (t - qStart);
    else if (t >= recStart && t < recEnd) to = t + recShift;
    else fail('a name points outside the question and the records');
    if (to > MAX_POINTER) fail('a moved pointer does not fit in 14 bits');
    out[p] = 0xc0 | (to >> 8);
    out[p + 1] = to & 0xff;
    return p + 2;
  }
}

/**
 * The answer to `q` saying its name is an alias of `target` (uncompressed wire name, lowercase):
 * header (the client's ID, OPCODE, RD and CD; QR; RA as the inner answer; AA and AD clear; the inner
 * RCODE), the client's question as sent, CNAME(qname -> target) and then every record of `inner` but
 * its OPT, and roje's OPT (client's DO, `opts.ede` then the inner EDEs) when the client sent EDNS.
 * The CNAME's TTL is the smallest of the inner answer records', so it never outlives them.
 *
 * `inner` is the chain's response to a query for `target`: its question must be `target` (compared
 * case-insensitively) and an OPT record, if any, must be its last record, as roje's renderers write
 * it. null answers the CNAME alone (a query of type CNAME). An inner answer that failed (an RCODE
 * other than NOERROR and NXDOMAIN) is passed on as that RCODE with its EDEs and no records. Throws
 * RojeError('ROJE_ERR_DNS_MALFORMED') when `inner` cannot be walked.
 */
export function spliceCname(
  q: ParsedQuery,
  target: Buffer,
  inner: Buffer | null,
  opts: SpliceOptions,
): Buffer {
  const msg = q.msg;
  const questionEnd = q.questionEnd;
  const edns = q.edns;
  const tLen = target.length;
  const cnameAt = questionEnd;
  const cnameRdata = cnameAt + CNAME_FIXED;
  const outRec = cnameRdata + tLen;

  let an = 0;
  let ns = 0;
  let ar = 0;
  let rcode: number = RCODE.NOERROR;
  let ttl = opts.emptyTtl;
  let copyStart = 0;
  let copyEnd = 0;
  let innerEde: readonly ExtendedError[] = NO_EDE;

  if (inner !== null) {
    const len = inner.length;
    if (len < HEADER_SIZE || inner[4] !== 0 || inner[5] !== 1) fail('it does not hold one question');
    const innerQEnd = HEADER_SIZE + tLen;
    if (innerQEnd + 4 > len || !equalIgnoreCase(inner, HEADER_SIZE, target, 0, tLen)) {
      fail('its question is not the alias target');
    }
    an = (inner[6] << 8) | inner[7];
    ns = (inner[8] << 8) | inner[9];
    ar = (inner[10] << 8) | inner[11];
    const total = an + ns + ar;
    copyStart = innerQEnd + 4;
    let p = copyStart;
    let minTtl = -1;
    let soaTtl = -1;
    let optStart = -1;
    let optRdata = -1;
    let optExt = 0;
    for (let i = 0; i < total; i++) {
      const owner = p;
      p = skipName(inner, p, len);
      if (p < 0 || p + 10 > len) fail(`record ${i} runs past the end`);
      const type = (inner[p] << 8) | inner[p + 1];
      const rdEnd = p + 10 + ((inner[p + 8] << 8) | inner[p + 9]);
      if (rdEnd > len) fail(`record ${i} data runs past the end`);
      if (type === QTYPE.OPT) {
        if (i < an + ns || optStart >= 0) fail('misplaced OPT record');
        optStart = owner;
        optRdata = p + 10;
        optExt = inner[p + 4];
      } else if (optStart >= 0) {
        fail('a record follows the OPT record');
      } else {
        const t = inner.readUInt32BE(p + 4);
        if (i < an) {
          if (minTtl < 0 || t < minTtl) minTtl = t;
        } else if (i < an + ns && type === QTYPE.SOA && soaTtl < 0) {
          soaTtl = t;
        }
      }
      p = rdEnd;
    }
    copyEnd = optStart >= 0 ? optStart : p;
    if (optStart >= 0) {
      ar--;
      innerEde = readEde(inner, optRdata, p);
    }
    rcode = (inner[3] & 0x0f) | (optExt << 4);
    if (rcode !== RCODE.NOERROR && rcode !== RCODE.NXDOMAIN) {
      return answerError(q, rcode, { udpSize: opts.udpSize, ede: innerEde });
    }
    ttl = minTtl >= 0 ? minTtl : soaTtl >= 0 ? Math.min(soaTtl, opts.emptyTtl) : opts.emptyTtl;
  }

  const records = copyEnd - copyStart;
  const optAt = outRec + records;
  const size = optAt + (edns !== null ? optLength(opts.ede, innerEde) : 0);
  const out = Buffer.allocUnsafe(size);
  out[0] = msg[0];
  out[1] = msg[1];
  // RA always (roje recurses), AA never (roje chose the alias): RFC 1035 §4.1.1.
  setU16(out, 2, FLAG_QR | FLAG_RA | (q.flags & (OPCODE_MASK | FLAG_RD | FLAG_CD)) | rcode);
  setU16(out, 4, 1);
  setU16(out, 6, an + 1);
  setU16(out, 8, ns);
  setU16(out, 10, ar + (edns !== null ? 1 : 0));
  copyBytes(msg, HEADER_SIZE, out, HEADER_SIZE, questionEnd - HEADER_SIZE);
  setU16(out, cnameAt, POINTER_TO_QNAME);
  setU16(out, cnameAt + 2, QTYPE.CNAME);
  setU16(out, cnameAt + 4, q.qclass);
  setU32(out, cnameAt + 6, ttl);
  setU16(out, cnameAt + 10, tLen);
  out.set(target, cnameRdata);

  if (inner !== null && records > 0) {
    out.set(inner.subarray(copyStart, copyEnd), outRec);
    qStart = HEADER_SIZE;
    qEnd = HEADER_SIZE + tLen;
    qTo = cnameRdata;
    recStart = copyStart;
    recEnd = copyEnd;
    recShift = outRec - copyStart;
    let p = outRec;
    const count = an + ns + ar;
    for (let i = 0; i < count; i++) {
      p = repoint(out, p, optAt);
      const type = (out[p] << 8) | out[p + 1];
      const rdata = p + 10;
      const rdEnd = rdata + ((out[p + 8] << 8) | out[p + 9]);
      let n = rdataNames(out, type, rdata, rdEnd);
      if (n >= 0) for (let k = namesIn(type); k > 0; k--) n = repoint(out, n, rdEnd);
      p = rdEnd;
    }
  }
  if (edns !== null) writeOpt(out, optAt, opts.udpSize, rcode, edns.do, opts.ede, innerEde);
  return out;
}
