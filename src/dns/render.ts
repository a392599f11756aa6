/**
 * Serving a PreparedResponse to one client: one exact-size allocation, one copy, then patches to the
 * ID, flags, question case, TTLs, and the client's own OPT record. This is the cache-hit path.
 */
import { RojeError } from '../errors.js';
import { copyBytes, replyBuffer, setU16, setU32 } from './bytes.js';
import {
  type ExtendedError,
  FLAG_AD,
  FLAG_CD,
  FLAG_QR,
  FLAG_RA,
  FLAG_RD,
  FLAG_TC,
  HEADER_SIZE,
  MAX_UDP_PLAIN,
  OPCODE_MASK,
  QTYPE,
  RCODE,
  RCODE_MASK,
} from './constants.js';
import { OPT_FIXED_SIZE, optLength, writeOpt } from './edns.js';
import { ASCII_LOWER, skipName } from './name.js';
import type { ParsedQuery, PreparedResponse, RenderOptions } from './types.js';

/**
 * Header bits the upstream decides; RD and CD come from the client, TC is ours to set. AA and RA are
 * not among them: they describe the server that answers the client, which is roje (RFC 1035 §4.1.1),
 * so RA is always set and AA never is: an answer from an upstream or from the cache is not
 * authoritative data (RFC 1034 §4.3.2), whatever the upstream's AA said.
 */
const KEEP_FROM_RESPONSE = OPCODE_MASK | FLAG_AD | RCODE_MASK;
const KEEP_FROM_QUERY = FLAG_RD | FLAG_CD;
/** Up to this many bytes a loop copies a sub-range faster than a view plus memcpy (Node 20). */
const LOOP_COPY_MAX = 512;

function mismatch(): never {
  throw new RojeError(
    'ROJE_ERR_DNS_MALFORMED',
    "response question does not match the client's question; the caller paired a response with the wrong query",
  );
}

/**
 * The response for one client. Flags: QR and RA set and AA clear (roje is a recursive resolver, not
 * the zone's authority: RFC 1035 §4.1.1, RFC 1034 §4.3.2), OPCODE and RCODE from the response, RD and
 * CD from the query, TC cleared (fitResponse sets it), AD kept only when the upstream set it and the
 * client set DO or AD (RFC 6840 §5.7-5.8). Patching the flags word is all it costs: nothing is
 * decoded. The client's question bytes replace the response's, so the answer echoes the client's case;
 * they must be the same name, or RojeError('ROJE_ERR_DNS_MALFORMED') is thrown.
 * TTLs become opts.ttlOverride, else ttl - age floored at 0. An OPT record is added only when the
 * client sent one. Without one, an extended RCODE cannot be expressed and becomes SERVFAIL.
 */
export function renderResponse(p: PreparedResponse, q: ParsedQuery, opts: RenderOptions): Buffer {
  const { wire, ttlOffsets } = p;
  return renderWire(
    wire,
    0,
    wire.length,
    ttlOffsets,
    0,
    p.ttls,
    0,
    ttlOffsets.length,
    p.rcode,
    p.ede,
    q,
    opts.age,
    opts.ttlOverride,
    opts.ede,
    opts.udpSize,
  );
}

/**
 * renderResponse over a prepared response held elsewhere (the answer cache's slab), with positional
 * arguments, so that a cache hit builds no view and no options object: the wire is src[start, start + len);
 * TTL field i is at offsets[offsetsAt + i] in it and holds ttls[ttlsAt + i] as stored. `upstreamEde`
 * is the response's own EDE, the last four arguments RenderOptions' fields.
 */
export function renderWire(
  src: Uint8Array,
  start: number,
  len: number,
  offsets: Uint32Array,
  offsetsAt: number,
  ttls: Uint32Array,
  ttlsAt: number,
  n: number,
  rcode: number,
  upstreamEde: readonly ExtendedError[],
  q: ParsedQuery,
  age: number,
  ttlOverride: number | undefined,
  ede: readonly ExtendedError[] | undefined,
  udpSize: number,
  lend = false,
): Buffer {
  const msg = q.msg;
  const qEnd = q.nameEnd;
  if (len < qEnd + 4 || src[start + 4] !== 0 || src[start + 5] !== 1) mismatch();
  const edns = q.edns;
  const size = edns !== null ? len + optLength(upstreamEde, ede) : len;
  // `lend`: a synchronous answer, written into the reply buffer the next query reuses (dns/bytes.ts).
  const out = lend ? replyBuffer(size) : Buffer.allocUnsafe(size);
  // TypedArray#set of a whole array is a memcpy; a sub-range (Buffer#copy, subarray) builds a view per
  // call in Node 20, which costs more than a byte loop over an answer of typical size.
  if (start === 0 && len === src.length) out.set(src, 0);
  else if (len > LOOP_COPY_MAX) out.set(src.subarray(start, start + len), 0);
  else copyBytes(src, start, out, 0, len);
  // The client's question name over the response's, checked equal under ASCII case folding as we go.
  for (let i = HEADER_SIZE; i < qEnd; i++) {
    const x = msg[i];
    const y = src[start + i];
    if (x !== y) {
      if (ASCII_LOWER[x] !== ASCII_LOWER[y]) mismatch();
      out[i] = x;
    }
  }
  out[0] = msg[0];
  out[1] = msg[1];
  const qflags = q.flags;
  let flags =
    FLAG_QR | FLAG_RA | (((out[2] << 8) | out[3]) & KEEP_FROM_RESPONSE) | (qflags & KEEP_FROM_QUERY);
  if ((qflags & FLAG_AD) === 0 && (edns === null || !edns.do)) flags &= ~FLAG_AD;
  if (edns === null && rcode > RCODE_MASK) flags = (flags & ~RCODE_MASK) | RCODE.SERVFAIL;
  out[2] = flags >> 8;
  out[3] = flags & 0xff;
  if (ttlOverride !== undefined) {
    for (let i = 0; i < n; i++) setU32(out, offsets[offsetsAt + i], ttlOverride);
  } else {
    for (let i = 0; i < n; i++) {
      const t = ttls[ttlsAt + i] - age;
      setU32(out, offsets[offsetsAt + i], t > 0 ? t : 0);
    }
  }
  if (edns !== null) {
    const ar = ((out[10] << 8) | out[11]) + 1;
    out[10] = ar >> 8;
    out[11] = ar & 0xff;
    writeOpt(out, len, udpSize, rcode, edns.do, upstreamEde, ede);
  }
  return out;
}

/**
 * `wire` itself when it fits in maxSize, else a truncated response (RFC 1035 §4.2.1, RFC 2181 §9):
 * its header with TC set and no answer or authority records, the question, and the OPT record of
 * `wire` when it has one (its EDE options dropped if even they do not fit). The client retries over
 * TCP. Throws RojeError('ROJE_ERR_DNS_MALFORMED') when `wire` cannot be walked.
 */
export function fitResponse(wire: Buffer, q: ParsedQuery, maxSize: number): Buffer {
  const len = wire.length;
  if (len <= maxSize) return wire;
  if (len < HEADER_SIZE) truncFail();
  const qd = (wire[4] << 8) | wire[5];
  let p = HEADER_SIZE;
  for (let i = 0; i < qd; i++) {
    p = skipName(wire, p, len);
    if (p < 0 || p + 4 > len) truncFail();
    p += 4;
  }
  const questionEnd = p;
  const anns = ((wire[6] << 8) | wire[7]) + ((wire[8] << 8) | wire[9]);
  const total = anns + ((wire[10] << 8) | wire[11]);
  let opt = -1;
  let optEnd = -1;
  for (let i = 0; i < total; i++) {
    const owner = p;
    p = skipName(wire, p, len);
    if (p < 0 || p + 10 > len) truncFail();
    const rdEnd = p + 10 + ((wire[p + 8] << 8) | wire[p + 9]);
    if (rdEnd > len) truncFail();
    if (i >= anns && opt < 0 && p === owner + 1 && ((wire[p] << 8) | wire[p + 1]) === QTYPE.OPT) {
      opt = owner;
      optEnd = rdEnd;
    }
    p = rdEnd;
  }
  // A client without EDNS gets no OPT, whatever `wire` holds.
  if (q.edns === null) opt = -1;
  let optLen = opt >= 0 ? optEnd - opt : 0;
  // Without its options the OPT is one byte of owner plus 10 fixed bytes (root-owned: owner is 1).
  const bareOpt = opt >= 0 && optLen !== OPT_FIXED_SIZE && questionEnd + optLen > maxSize;
  if (bareOpt) optLen = OPT_FIXED_SIZE;
  const out = Buffer.allocUnsafe(questionEnd + optLen);
  copyBytes(wire, 0, out, 0, questionEnd);
  out[2] |= FLAG_TC >> 8;
  setU32(out, 6, 0);
  setU16(out, 10, opt >= 0 ? 1 : 0);
  if (opt >= 0) {
    copyBytes(wire, opt, out, questionEnd, optLen);
    if (bareOpt) setU16(out, questionEnd + 9, 0);
  }
  return out;
}

function truncFail(): never {
  throw new RojeError('ROJE_ERR_DNS_MALFORMED', 'response to truncate cannot be walked');
}

/** The largest UDP response for this client: its EDNS size within [512, serverUdpSize], else 512. */
export function udpLimit(q: ParsedQuery, serverUdpSize: number): number {
  const edns = q.edns;
  if (edns === null) return MAX_UDP_PLAIN;
  const size = edns.udpSize;
  return size < MAX_UDP_PLAIN ? MAX_UDP_PLAIN : size > serverUdpSize ? serverUdpSize : size;
}
