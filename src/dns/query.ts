/**
 * Reading a client's query and answering the ones we refuse to read. The query is never decoded
 * whole: the header, the question and (only when ARCOUNT > 0) a walk to the OPT record.
 */

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
  RCODE_MASK,
} from './constants.js';
import { optLength, writeOpt } from './edns.js';
import { readName, skipName, skipPlainName } from './name.js';
import type { EdnsInfo, ParsedQuery } from './types.js';

/** Why a query was not read; stable strings, fit for a metric label. */
export type RejectReason =
  | 'short'
  | 'response'
  | 'opcode'
  | 'qdcount'
  | 'qname'
  | 'truncated'
  | 'records'
  | 'trailing'
  | 'opt-section'
  | 'opt-owner'
  | 'opt-multiple'
  | 'badvers';

/**
 * A query that is not served normally. `rcode` is the RCODE to answer with (via errorResponse), or
 * null to send nothing at all. The instances are shared singletons: rejecting allocates nothing.
 */
export interface QueryRejection {
  readonly rcode: number | null;
  readonly reason: RejectReason;
}

function reject(rcode: number | null, reason: RejectReason): QueryRejection {
  return Object.freeze({ rcode, reason });
}

const DROP_SHORT = reject(null, 'short');
const DROP_RESPONSE = reject(null, 'response');
const NOTIMP_OPCODE = reject(RCODE.NOTIMP, 'opcode');
const FORMERR_QDCOUNT = reject(RCODE.FORMERR, 'qdcount');
const FORMERR_QNAME = reject(RCODE.FORMERR, 'qname');
const FORMERR_TRUNCATED = reject(RCODE.FORMERR, 'truncated');
const FORMERR_RECORDS = reject(RCODE.FORMERR, 'records');
const FORMERR_TRAILING = reject(RCODE.FORMERR, 'trailing');
const FORMERR_OPT_SECTION = reject(RCODE.FORMERR, 'opt-section');
const FORMERR_OPT_OWNER = reject(RCODE.FORMERR, 'opt-owner');
const FORMERR_OPT_MULTIPLE = reject(RCODE.FORMERR, 'opt-multiple');
const BADVERS = reject(RCODE.BADVERS, 'badvers');

/** Narrows readQuery()'s result. */
export function isRejection(r: ParsedQuery | QueryRejection): r is QueryRejection {
  return (r as Partial<ParsedQuery>).msg === undefined;
}

const NO_MESSAGE = Buffer.alloc(0);

/**
 * A query as read off the wire, and refilled by readQueryInto() for the next message: a query loop
 * reuses one for every query it answers synchronously (src/pipeline/responder.ts), so reading a query
 * allocates nothing. The name is decoded on first use: the lists, the bypass names, the block answers
 * and the special-use zones all match on the wire, so a blocked or bypass answer never builds it.
 */
export class WireQuery implements ParsedQuery {
  msg: Buffer = NO_MESSAGE;
  id = 0;
  flags = 0;
  nameEnd = 0;
  questionEnd = 0;
  qtype = 0;
  qclass = 0;
  edns: EdnsInfo | null = null;
  /** What `edns` points at when the query has an OPT record: this object's own, refilled too. */
  readonly ednsInfo: EdnsInfo = { udpSize: 0, do: false, version: 0 };
  /** The decoded name of the message in `msg`, or null until `name` is read. */
  private decodedName: string | null = null;

  /** Lowercase presentation name without the trailing dot ('' for the root), decoded once per query. */
  get name(): string {
    if (this.decodedName === null) {
      // readQueryInto() checked the name: it decodes.
      this.decodedName = readName(this.msg, HEADER_SIZE, null, false) ?? '';
    }
    return this.decodedName;
  }

  /** For readQueryInto(): a new message, its name not decoded yet. */
  reset(msg: Buffer): void {
    this.msg = msg;
    this.decodedName = null;
  }
}

/** readQueryInto() with a query of its own: for callers that keep the query (tests, tools). */
export function readQuery(msg: Buffer): WireQuery | QueryRejection {
  return readQueryInto(msg, new WireQuery());
}

/**
 * Reads a client's query into `out` and returns it, or a rejection (and `out` is then meaningless).
 * Drops (rcode null) messages without a header and responses; NOTIMP for opcodes other than QUERY;
 * FORMERR when QDCOUNT != 1, the question is malformed, truncated or compressed, the records the
 * counts announce are not there or are followed by extra bytes, or the OPT record is misplaced, not
 * owned by the root or repeated; BADVERS for EDNS versions above 0. Answer and authority records in a
 * query are tolerated (walked over), not used.
 */
export function readQueryInto<Q extends WireQuery>(msg: Buffer, out: Q): Q | QueryRejection {
  const len = msg.length;
  if (len < HEADER_SIZE) return DROP_SHORT;
  const flags = (msg[2] << 8) | msg[3];
  if ((flags & FLAG_QR) !== 0) return DROP_RESPONSE;
  if ((flags & OPCODE_MASK) !== 0) return NOTIMP_OPCODE;
  if (msg[4] !== 0 || msg[5] !== 1) return FORMERR_QDCOUNT;
  // The same checks readName makes (labels <= 63, no pointer, <= 255 octets), without the string.
  const qEnd = skipPlainName(msg, HEADER_SIZE, len);
  if (qEnd < 0) return FORMERR_QNAME;
  const questionEnd = qEnd + 4;
  if (questionEnd > len) return FORMERR_TRUNCATED;
  const anns = ((msg[6] << 8) | msg[7]) + ((msg[8] << 8) | msg[9]);
  const total = anns + ((msg[10] << 8) | msg[11]);
  let edns: EdnsInfo | null = null;
  if (total === 0) {
    if (len !== questionEnd) return FORMERR_TRAILING;
  } else {
    let p = questionEnd;
    for (let i = 0; i < total; i++) {
      const owner = p;
      p = skipName(msg, p, len);
      if (p < 0 || p + 10 > len) return FORMERR_RECORDS;
      const type = (msg[p] << 8) | msg[p + 1];
      const rdEnd = p + 10 + ((msg[p + 8] << 8) | msg[p + 9]);
      if (rdEnd > len) return FORMERR_RECORDS;
      if (type === QTYPE.OPT) {
        if (i < anns) return FORMERR_OPT_SECTION;
        if (edns !== null) return FORMERR_OPT_MULTIPLE;
        if (p !== owner + 1) return FORMERR_OPT_OWNER;
        edns = out.ednsInfo;
        edns.udpSize = (msg[p + 2] << 8) | msg[p + 3];
        edns.do = (msg[p + 6] & 0x80) !== 0;
        edns.version = msg[p + 5];
      }
      p = rdEnd;
    }
    if (p !== len) return FORMERR_TRAILING;
    if (edns !== null && edns.version !== 0) return BADVERS;
  }
  out.reset(msg);
  out.id = (msg[0] << 8) | msg[1];
  out.flags = flags;
  out.nameEnd = qEnd;
  out.questionEnd = questionEnd;
  out.qtype = (msg[qEnd] << 8) | msg[qEnd + 1];
  out.qclass = (msg[qEnd + 2] << 8) | msg[qEnd + 3];
  out.edns = edns;
  return out;
}

/** Options for error responses. */
export interface ErrorOptions {
  /** Extended DNS Errors, sent only when the query had an OPT record. */
  ede?: readonly ExtendedError[];
  /** The UDP payload size roje advertises in its OPT record. */
  udpSize: number;
}

// Where errorResponse found things in a message it could only partly read.
let foundQuestionEnd = -1;
let foundDo = -1;

/**
 * Locates the question (only when QDCOUNT = 1 and the name is uncompressed) and the query's OPT
 * record: the first record of type OPT met while walking the records, wherever it is. A broken OPT
 * (repeated, owned by another name than the root, in the answer or authority section) is the
 * client's EDNS all the same, so the FORMERR it earns carries roje's OPT: RFC 6891 §7 ("If there is a
 * problem with processing the OPT record itself ... a FORMERR MUST be returned ... the response MUST
 * include an OPT record"), and §6.1.1 for two OPT records. The walk stops at the first record that
 * does not fit; an OPT met before it still counts.
 */
function locate(msg: Buffer): void {
  const len = msg.length;
  const qd = (msg[4] << 8) | msg[5];
  foundQuestionEnd = -1;
  foundDo = -1;
  if (qd === 1) {
    const e = skipPlainName(msg, HEADER_SIZE, len);
    if (e > 0 && e + 4 <= len) foundQuestionEnd = e + 4;
  }
  let p = HEADER_SIZE;
  for (let i = 0; i < qd; i++) {
    p = skipName(msg, p, len);
    if (p < 0 || p + 4 > len) return;
    p += 4;
  }
  const total = ((msg[6] << 8) | msg[7]) + ((msg[8] << 8) | msg[9]) + ((msg[10] << 8) | msg[11]);
  for (let i = 0; i < total; i++) {
    p = skipName(msg, p, len);
    if (p < 0 || p + 10 > len) return;
    const rdEnd = p + 10 + ((msg[p + 8] << 8) | msg[p + 9]);
    if (rdEnd > len) return;
    if (((msg[p] << 8) | msg[p + 1]) === QTYPE.OPT) {
      foundDo = (msg[p + 6] & 0x80) !== 0 ? 1 : 0;
      return;
    }
    p = rdEnd;
  }
}

function writeHeader(out: Buffer, msg: Buffer, rcode: number, qd: number, ar: number): void {
  out[0] = msg[0];
  out[1] = msg[1];
  const qflags = (msg[2] << 8) | msg[3];
  setU16(out, 2, FLAG_QR | FLAG_RA | (qflags & (OPCODE_MASK | FLAG_RD | FLAG_CD)) | (rcode & RCODE_MASK));
  setU16(out, 4, qd);
  setU32(out, 6, 0);
  setU16(out, 10, ar);
}

/**
 * A response with `rcode` to a message that may be only partly readable: ID, OPCODE, RD and CD
 * copied, QR and RA set, the question echoed when it could be read, and roje's OPT (DO echoed, the
 * extended RCODE bits, `opts.ede`) when the message had an OPT record, a malformed one included
 * (RFC 6891 §7). null without a header.
 */
export function errorResponse(msg: Buffer, rcode: number, opts: ErrorOptions): Buffer | null {
  if (msg.length < HEADER_SIZE) return null;
  locate(msg);
  const qEnd = foundQuestionEnd;
  const dnssecOk = foundDo;
  const qLen = qEnd > 0 ? qEnd - HEADER_SIZE : 0;
  const size = HEADER_SIZE + qLen + (dnssecOk >= 0 ? optLength(opts.ede) : 0);
  const out = Buffer.allocUnsafe(size);
  writeHeader(out, msg, rcode, qEnd > 0 ? 1 : 0, dnssecOk >= 0 ? 1 : 0);
  if (qEnd > 0) copyBytes(msg, HEADER_SIZE, out, HEADER_SIZE, qLen);
  if (dnssecOk >= 0) writeOpt(out, HEADER_SIZE + qLen, opts.udpSize, rcode, dnssecOk === 1, opts.ede);
  return out;
}

/** errorResponse() for a query readQuery() accepted: no re-reading, one allocation. */
export function answerError(q: ParsedQuery, rcode: number, opts: ErrorOptions): Buffer {
  const qEnd = q.questionEnd;
  const edns = q.edns;
  const size = qEnd + (edns !== null ? optLength(opts.ede) : 0);
  const out = Buffer.allocUnsafe(size);
  writeHeader(out, q.msg, rcode, 1, edns !== null ? 1 : 0);
  copyBytes(q.msg, HEADER_SIZE, out, HEADER_SIZE, qEnd - HEADER_SIZE);
  if (edns !== null) writeOpt(out, qEnd, opts.udpSize, rcode, edns.do, opts.ede);
  return out;
}
