/**
 * Wire helpers for the queries roje sends upstream and the checks on what comes back.
 * Buffer-level and allocation-light: they run once per upstream exchange. No I/O, no dns-packet.
 */
import {
  EDNS_FLAG_DO,
  FLAG_AD,
  FLAG_CD,
  FLAG_QR,
  FLAG_RD,
  FLAG_TC,
  HEADER_SIZE,
  OPCODE_MASK,
  QTYPE,
  RCODE_MASK,
} from './constants.js';

/** What an upstream query asks; the name is already in wire format and lowercase. */
export interface UpstreamQuestion {
  nameWire: Buffer | Uint8Array;
  qtype: number;
  qclass: number;
  do: boolean;
  cd: boolean;
}

const OPT_RR_SIZE = 11;

/**
 * A recursive query (RD=1) with one question and an OPT record advertising `udpSize` and the DO bit,
 * no options: roje adds its own EDNS per client, so nothing client-specific travels upstream.
 *
 * AD=1 always (RFC 6840 §5.7: AD in a query asks for the AD bit in the answer), whatever the client
 * set: the upstream's AD then reaches the cache, and renderResponse passes it on only to a client that
 * set AD or DO (§5.8). Asking with AD only for AD clients would split the cache and the coalescing in
 * two for one header bit (dig sets AD by default, most stubs never do), for answers that are otherwise
 * identical.
 */
export function buildUpstreamQuery(q: UpstreamQuestion, id: number, udpSize: number): Buffer {
  const nameLen = q.nameWire.length;
  const buf = Buffer.allocUnsafe(HEADER_SIZE + nameLen + 4 + OPT_RR_SIZE);
  buf.writeUInt16BE(id & 0xffff, 0);
  buf.writeUInt16BE(FLAG_RD | FLAG_AD | (q.cd ? FLAG_CD : 0), 2);
  buf.writeUInt16BE(1, 4); // QDCOUNT
  buf.writeUInt32BE(0, 6); // ANCOUNT, NSCOUNT
  buf.writeUInt16BE(1, 10); // ARCOUNT: the OPT record
  buf.set(q.nameWire, HEADER_SIZE);
  let o = HEADER_SIZE + nameLen;
  buf.writeUInt16BE(q.qtype & 0xffff, o);
  buf.writeUInt16BE(q.qclass & 0xffff, o + 2);
  o += 4;
  buf[o] = 0; // root owner name
  buf.writeUInt16BE(QTYPE.OPT, o + 1);
  buf.writeUInt16BE(udpSize & 0xffff, o + 3); // CLASS carries the UDP payload size
  buf.writeUInt16BE(0, o + 5); // extended RCODE, version 0
  buf.writeUInt16BE(q.do ? EDNS_FLAG_DO : 0, o + 7);
  buf.writeUInt16BE(0, o + 9); // RDLENGTH
  return buf;
}

export type ResponseCheck = 'ok' | 'mismatch' | 'malformed';

/**
 * The anti-spoofing check (RFC 5452 §9.1): a response counts only if it is a response (QR), to a
 * query of the same opcode, carries our ID and repeats our one question (name case-insensitively,
 * type and class). 'mismatch' is a well-formed message that answers something else; 'malformed'
 * cannot be read as a response at all. Never throws.
 */
export function checkUpstreamResponse(query: Buffer, response: Buffer): ResponseCheck {
  if (response.length < HEADER_SIZE || query.length < HEADER_SIZE) return 'malformed';
  const flags = response.readUInt16BE(2);
  if ((flags & FLAG_QR) === 0) return 'malformed';
  if (response.readUInt16BE(0) !== query.readUInt16BE(0)) return 'mismatch';
  if ((flags & OPCODE_MASK) !== (query.readUInt16BE(2) & OPCODE_MASK)) return 'mismatch';
  if (response.readUInt16BE(4) !== 1) return 'mismatch';
  // Walk both names label by label; the query's is ours and well formed, the response's is not trusted.
  let qo = HEADER_SIZE;
  let ro = HEADER_SIZE;
  for (;;) {
    if (ro >= response.length) return 'malformed';
    if (qo >= query.length) return 'mismatch';
    const rlen = response[ro];
    const qlen = query[qo];
    // A compression pointer (or reserved label type) in the question cannot point at anything valid.
    if (rlen > 63) return 'malformed';
    if (rlen !== qlen) return 'mismatch';
    ro++;
    qo++;
    if (rlen === 0) break;
    if (ro + rlen > response.length) return 'malformed';
    if (qo + qlen > query.length) return 'mismatch';
    for (let i = 0; i < rlen; i++) {
      let a = response[ro + i];
      let b = query[qo + i];
      if (a >= 0x41 && a <= 0x5a) a |= 0x20;
      if (b >= 0x41 && b <= 0x5a) b |= 0x20;
      if (a !== b) return 'mismatch';
    }
    ro += rlen;
    qo += qlen;
  }
  if (ro + 4 > response.length) return 'malformed';
  if (qo + 4 > query.length) return 'mismatch';
  if (response.readUInt32BE(ro) !== query.readUInt32BE(qo)) return 'mismatch'; // QTYPE and QCLASS
  return 'ok';
}

/** True when the TC bit is set: the answer did not fit and must be asked again over TCP. */
export function isTruncated(response: Buffer): boolean {
  return response.length >= 4 && (response.readUInt16BE(2) & FLAG_TC) !== 0;
}

/** The header RCODE (4 bits; extended bits from OPT are not included), or -1 if there is no header. */
export function responseRcode(response: Buffer): number {
  return response.length >= 4 ? response.readUInt16BE(2) & RCODE_MASK : -1;
}

/** Writes the message ID in place. */
export function setId(buf: Buffer, id: number): void {
  buf.writeUInt16BE(id & 0xffff, 0);
}
