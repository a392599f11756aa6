/**
 * Turns an upstream response into a PreparedResponse: one walk over every RR records where each
 * TTL lives, clamps it, computes how long the whole answer may be cached, and takes the upstream's
 * OPT record out (each client later gets roje's own). Runs once per upstream answer, not per hit.
 */
import { RojeError } from '../errors.js';
import { type ExtendedError, FLAG_TC, HEADER_SIZE, QTYPE, RCODE } from './constants.js';
import { NO_EDE, readEde } from './edns.js';
import { skipName } from './name.js';
import { namesIn, rdataNames } from './rdata-names.js';
import type { PreparedResponse, TtlBounds } from './types.js';

/** Smallest RR: root owner (1) + TYPE, CLASS, TTL, RDLENGTH (10). */
const MIN_RR = 11;
const MAX_RRS = Math.ceil((65535 - HEADER_SIZE) / MIN_RR);
/** RFC 2181 §8: a TTL with the top bit set is treated as zero. */
const TTL_MAX_VALID = 0x7fffffff;

// The walk's results. Module state rather than a result object: prepare allocates only what it keeps.
const scratchOffsets = new Uint32Array(MAX_RRS);
const scratchTtls = new Uint32Array(MAX_RRS);
let count = 0;
let walkEnd = 0;
let optStart = -1;
let optEnd = -1;
let optRdata = -1;
let optExt = 0;
let minTtlSeen = 0;
/** min(SOA TTL, SOA MINIMUM) of the first SOA in the authority section, or -1. */
let soaNegative = -1;

function malformed(why: string): never {
  throw new RojeError('ROJE_ERR_DNS_MALFORMED', `DNS response cannot be walked: ${why}`);
}

/** Walks the whole message, filling the module state above; throws on anything it cannot walk. */
function walk(buf: Buffer, minTtl: number, maxTtl: number, negativeMaxTtl: number): void {
  const len = buf.length;
  if (len < HEADER_SIZE) malformed('shorter than a header');
  const qd = (buf[4] << 8) | buf[5];
  const an = (buf[6] << 8) | buf[7];
  const ns = (buf[8] << 8) | buf[9];
  const total = an + ns + ((buf[10] << 8) | buf[11]);
  let p = HEADER_SIZE;
  for (let i = 0; i < qd; i++) {
    p = skipName(buf, p, len);
    if (p < 0 || p + 4 > len) malformed('question runs past the end');
    p += 4;
  }
  // Counts that cannot fit are refused before any per-RR work.
  if (total * MIN_RR > len - p) malformed('record counts exceed the message');
  count = 0;
  optStart = -1;
  optEnd = -1;
  optRdata = -1;
  optExt = 0;
  soaNegative = -1;
  let min = TTL_MAX_VALID;
  for (let i = 0; i < total; i++) {
    const owner = p;
    p = skipName(buf, p, len);
    if (p < 0 || p + 10 > len) malformed(`record ${i} runs past the end`);
    const type = (buf[p] << 8) | buf[p + 1];
    const rdata = p + 10;
    const rdEnd = rdata + ((buf[p + 8] << 8) | buf[p + 9]);
    if (rdEnd > len) malformed(`record ${i} data runs past the end`);
    if (type === QTYPE.OPT) {
      if (i < an + ns) malformed('OPT record outside the additional section');
      if (optStart >= 0) malformed('more than one OPT record');
      if (p !== owner + 1) malformed('OPT record not owned by the root');
      optStart = owner;
      optEnd = rdEnd;
      optRdata = rdata;
      optExt = buf[p + 4];
    } else {
      let raw = buf.readUInt32BE(p + 4);
      if (raw > TTL_MAX_VALID) raw = 0;
      let ttl = raw < minTtl ? minTtl : raw > maxTtl ? maxTtl : raw;
      if (type === QTYPE.SOA && i >= an && i < an + ns) {
        let e = skipName(buf, rdata, rdEnd);
        if (e > 0) e = skipName(buf, e, rdEnd);
        if (e < 0 || e + 20 > rdEnd) malformed('SOA record data is malformed');
        const minimum = Math.min(buf.readUInt32BE(e + 16), TTL_MAX_VALID);
        const negative = raw < minimum ? raw : minimum;
        if (soaNegative < 0) soaNegative = negative;
        // RFC 2308 §3, as unbound does: the SOA of a negative answer is served with the negative TTL,
        // so that a downstream cache keeps the answer no longer than we do.
        const cap = Math.min(negativeMaxTtl, Math.max(minTtl, negative));
        if (ttl > cap) ttl = cap;
      }
      scratchOffsets[count] = p + 4;
      scratchTtls[count++] = ttl;
      if (ttl < min) min = ttl;
    }
    p = rdEnd;
  }
  // Bytes after the last record are not part of the message; they are dropped.
  walkEnd = p;
  minTtlSeen = count === 0 ? 0 : min;
}

/** Steps over a name, moving a pointer that targets bytes after the removed OPT back by `gap`. */
function shiftName(buf: Buffer, p: number, limit: number, cut: number, gap: number): number {
  for (;;) {
    if (p >= limit) return -1;
    const l = buf[p];
    if (l === 0) return p + 1;
    if (l <= 63) {
      p += l + 1;
      continue;
    }
    if ((l & 0xc0) !== 0xc0 || p + 2 > limit) return -1;
    let target = ((l & 0x3f) << 8) | buf[p + 1];
    if (target >= cut) {
      if (target < cut + gap) return -1;
      target -= gap;
      buf[p] = 0xc0 | (target >> 8);
      buf[p + 1] = target & 0xff;
    }
    return p + 2;
  }
}

/**
 * The rare case of an OPT record followed by other records: cut it out, then fix every compression
 * pointer that targeted bytes after it. Names are found in owners and in the RDATA of the types
 * that may compress; newer types must not compress (RFC 3597 §4), so nothing else can point.
 */
function cutMiddleOpt(wire: Buffer, cut: number, cutEnd: number, end: number): Buffer {
  const gap = cutEnd - cut;
  const out = Buffer.allocUnsafeSlow(end - gap);
  wire.copy(out, 0, 0, cut);
  wire.copy(out, cut, cutEnd, end);
  out.writeUInt16BE(out.readUInt16BE(10) - 1, 10);
  const len = out.length;
  const qd = out.readUInt16BE(4);
  const total = out.readUInt16BE(6) + out.readUInt16BE(8) + out.readUInt16BE(10);
  let p = HEADER_SIZE;
  for (let i = 0; i < qd; i++) {
    p = shiftName(out, p, len, cut, gap);
    if (p < 0) malformed('a name points into the OPT record');
    p += 4;
  }
  for (let i = 0; i < total; i++) {
    p = shiftName(out, p, len, cut, gap);
    if (p < 0) malformed('a name points into the OPT record');
    const type = out.readUInt16BE(p);
    const rdata = p + 10;
    const rdEnd = rdata + out.readUInt16BE(p + 8);
    let n = rdataNames(out, type, rdata, rdEnd);
    if (n >= 0) {
      for (let k = namesIn(type); k > 0; k--) {
        n = shiftName(out, n, rdEnd, cut, gap);
        if (n < 0) malformed('a name points into the OPT record');
      }
    }
    p = rdEnd;
  }
  return out;
}

/**
 * Prepares an upstream response for caching and serving. The returned wire is a standalone copy
 * (Buffer.allocUnsafeSlow: a long-lived cache entry must not pin a shared 8 KiB pool slab) without
 * the OPT record and without trailing bytes. Throws RojeError('ROJE_ERR_DNS_MALFORMED') when the
 * message cannot be walked.
 *
 * Cacheable TTL (`ttl`, 0 = do not cache), with every RR TTL first clamped to [minTtl, maxTtl]:
 * - TC set, or an RCODE other than NOERROR/NXDOMAIN: 0.
 * - NOERROR with answers: the smallest TTL of all RRs, answer, authority and additional alike (as
 *   unbound does), so that no RR is ever served with a TTL that ran out before the entry did.
 * - NXDOMAIN, or NOERROR without answers (NODATA): RFC 2308 §5, min(SOA TTL, SOA MINIMUM) of the
 *   SOA in the authority section, raised to minTtl, capped at negativeMaxTtl, and never above the
 *   smallest RR TTL; 0 when there is no SOA. The same cap applies to a NOERROR answer whose
 *   authority section holds a SOA (a CNAME chain ending in NODATA, RFC 2308 §2.2).
 * The TTL served for a SOA in the authority section is itself cut to that negative TTL (RFC 2308 §3),
 * so clients and downstream caches see how long the negative answer lasts.
 */
export function prepareResponse(wire: Buffer, bounds: TtlBounds): PreparedResponse {
  const { minTtl, maxTtl, negativeMaxTtl } = bounds;
  walk(wire, minTtl, maxTtl, negativeMaxTtl);
  const flags = (wire[2] << 8) | wire[3];
  const an = (wire[6] << 8) | wire[7];
  const rcode = (flags & 0x000f) | (optExt << 4);
  let ede: readonly ExtendedError[] = NO_EDE;
  let out: Buffer;
  if (optStart < 0) {
    out = Buffer.allocUnsafeSlow(walkEnd);
    wire.copy(out, 0, 0, walkEnd);
  } else {
    ede = readEde(wire, optRdata, optEnd);
    if (optEnd === walkEnd) {
      out = Buffer.allocUnsafeSlow(optStart);
      wire.copy(out, 0, 0, optStart);
      out.writeUInt16BE(out.readUInt16BE(10) - 1, 10);
    } else {
      out = cutMiddleOpt(wire, optStart, optEnd, walkEnd);
      walk(out, minTtl, maxTtl, negativeMaxTtl);
    }
  }
  let ttl = 0;
  if ((flags & FLAG_TC) === 0) {
    const negative = soaNegative < 0 ? -1 : Math.min(negativeMaxTtl, Math.max(minTtl, soaNegative));
    if (rcode === RCODE.NOERROR && an > 0) {
      ttl = negative < 0 ? minTtlSeen : Math.min(minTtlSeen, negative);
    } else if ((rcode === RCODE.NXDOMAIN || rcode === RCODE.NOERROR) && negative >= 0) {
      ttl = Math.min(minTtlSeen, negative);
    }
  }
  return {
    wire: out,
    rcode,
    ttlOffsets: scratchOffsets.slice(0, count),
    ttls: scratchTtls.slice(0, count),
    ttl,
    ede,
  };
}
