/**
 * DNS wire format for the conformance suite, written out by hand rather than with dns-packet: the suite
 * builds malformed queries on purpose (two questions, two OPTs, QR=1 ...) and must read every answer
 * without a decoder's opinions (an unknown type, a compression pointer inside RDATA).
 */
import { RCODE_MNEMONICS } from '../../../src/dns/constants.js';

export const TYPES: Readonly<Record<string, number>> = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  MB: 7,
  MG: 8,
  MR: 9,
  NULL: 10,
  PTR: 12,
  HINFO: 13,
  MINFO: 14,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  NAPTR: 35,
  DNAME: 39,
  OPT: 41,
  DS: 43,
  SSHFP: 44,
  RRSIG: 46,
  NSEC: 47,
  DNSKEY: 48,
  NSEC3: 50,
  NSEC3PARAM: 51,
  TLSA: 52,
  SVCB: 64,
  HTTPS: 65,
  CAA: 257,
  TKEY: 249,
  TSIG: 250,
  IXFR: 251,
  AXFR: 252,
  MAILB: 253,
  MAILA: 254,
  ANY: 255,
};

const TYPE_NAMES = new Map(Object.entries(TYPES).map(([name, code]) => [code, name]));

export const typeName = (code: number) => TYPE_NAMES.get(code) ?? `TYPE${code}`;

export const RCODES = RCODE_MNEMONICS;
export const rcodeName = (code: number) => RCODES[code] ?? (code === 16 ? 'BADVERS' : `RCODE${code}`);

export const OPCODES = ['QUERY', 'IQUERY', 'STATUS', 'OPCODE3', 'NOTIFY', 'UPDATE'];

/** Header flag bits, in the order dig prints them. */
export const FLAG_BITS = {
  qr: 0x8000,
  aa: 0x0400,
  tc: 0x0200,
  rd: 0x0100,
  ra: 0x0080,
  ad: 0x0020,
  cd: 0x0010,
};
export type FlagName = keyof typeof FLAG_BITS;

export interface EdnsSpec {
  udp: number;
  version?: number;
  do?: boolean;
  options?: Array<{ code: number; data: Buffer }>;
}

export interface QuerySpec {
  id: number;
  name: string;
  type: number;
  qclass?: number;
  opcode?: number;
  flags: Partial<Record<FlagName, boolean>>;
  edns?: EdnsSpec;
}

export function encodeName(name: string): Buffer {
  const labels = name === '.' || name === '' ? [] : name.replace(/\.$/, '').split('.');
  const parts: Buffer[] = [];
  for (const label of labels) {
    const bytes = Buffer.from(label, 'latin1');
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

export function encodeQuestion(name: string, type: number, qclass = 1): Buffer {
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(qclass, 2);
  return Buffer.concat([encodeName(name), tail]);
}

export function encodeOpt(edns: EdnsSpec, ownerName = '.'): Buffer {
  const options = (edns.options ?? []).map((o) => {
    const head = Buffer.alloc(4);
    head.writeUInt16BE(o.code, 0);
    head.writeUInt16BE(o.data.length, 2);
    return Buffer.concat([head, o.data]);
  });
  const rdata = Buffer.concat(options);
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(TYPES.OPT, 0);
  fixed.writeUInt16BE(edns.udp, 2);
  fixed.writeUInt8(0, 4); // extended RCODE
  fixed.writeUInt8(edns.version ?? 0, 5);
  fixed.writeUInt16BE(edns.do ? 0x8000 : 0, 6);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([encodeName(ownerName), fixed, rdata]);
}

export function encodeHeader(
  id: number,
  flags: number,
  counts: [qd: number, an: number, ns: number, ar: number],
): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(flags, 2);
  counts.forEach((c, i) => {
    h.writeUInt16BE(c, 4 + 2 * i);
  });
  return h;
}

export function headerFlags(spec: Pick<QuerySpec, 'flags' | 'opcode'>): number {
  let flags = (spec.opcode ?? 0) << 11;
  for (const [name, bit] of Object.entries(FLAG_BITS)) if (spec.flags[name as FlagName]) flags |= bit;
  return flags;
}

/** A well-formed query. */
export function encodeQuery(spec: QuerySpec): Buffer {
  const header = encodeHeader(spec.id, headerFlags(spec), [1, 0, 0, spec.edns ? 1 : 0]);
  const parts = [header, encodeQuestion(spec.name, spec.type, spec.qclass)];
  if (spec.edns) parts.push(encodeOpt(spec.edns));
  return Buffer.concat(parts);
}

export interface WireRecord {
  name: string;
  type: number;
  klass: number;
  ttl: number;
  /** RDATA in a comparable text form: names decompressed, other bytes as hex. */
  rdata: string;
}

export interface WireOpt {
  udp: number;
  extendedRcode: number;
  version: number;
  do: boolean;
  ownerName: string;
  options: Array<{ code: number; data: Buffer }>;
}

export interface WireMessage {
  id: number;
  opcode: number;
  rcode: number;
  flags: Record<FlagName, boolean>;
  counts: [number, number, number, number];
  question: Array<{ name: string; type: number; klass: number }>;
  answer: WireRecord[];
  authority: WireRecord[];
  /** Additional records other than OPT. */
  additional: WireRecord[];
  /** Every OPT record of the additional section (a valid message has at most one). */
  opts: WireOpt[];
  size: number;
}

export class WireError extends Error {}

/** Reads a name at `offset`, following compression pointers; returns it and the offset after it. */
export function readName(buf: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let pos = offset;
  let next = -1;
  for (let hops = 0; ; hops++) {
    if (hops > 128) throw new WireError('name: compression loop');
    if (pos >= buf.length) throw new WireError('name: past the end');
    const len = buf[pos];
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) throw new WireError('name: pointer past the end');
      if (next < 0) next = pos + 2;
      pos = ((len & 0x3f) << 8) | buf[pos + 1];
      continue;
    }
    if (len > 63) throw new WireError(`name: label type ${len >> 6}`);
    if (len === 0) {
      if (next < 0) next = pos + 1;
      break;
    }
    if (pos + 1 + len > buf.length) throw new WireError('name: label past the end');
    labels.push(buf.toString('latin1', pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  return { name: labels.length === 0 ? '.' : `${labels.join('.')}.`, next };
}

/** Offsets of the embedded names in RDATA, by type: the types whose RDATA may carry compressed names. */
function rdataText(buf: Buffer, type: number, start: number, end: number): string {
  const name = (at: number) => readName(buf, at);
  const hex = (from: number, to: number) => buf.toString('hex', from, to);
  switch (type) {
    case TYPES.NS:
    case TYPES.CNAME:
    case TYPES.PTR:
    case TYPES.DNAME:
    case TYPES.MB:
    case TYPES.MG:
    case TYPES.MR:
      return name(start).name.toLowerCase();
    case TYPES.MX:
      return `${buf.readUInt16BE(start)} ${name(start + 2).name.toLowerCase()}`;
    case TYPES.SRV:
      return `${hex(start, start + 6)} ${name(start + 6).name.toLowerCase()}`;
    case TYPES.SOA: {
      const m = name(start);
      const r = name(m.next);
      return `${m.name.toLowerCase()} ${r.name.toLowerCase()} ${hex(r.next, end)}`;
    }
    case TYPES.RRSIG: {
      const signer = name(start + 18);
      return `${hex(start, start + 18)} ${signer.name.toLowerCase()} ${hex(signer.next, end)}`;
    }
    default:
      return hex(start, end);
  }
}

function readRecords(buf: Buffer, offset: number, count: number) {
  const records: Array<WireRecord & { raw: { start: number; end: number } }> = [];
  let pos = offset;
  for (let i = 0; i < count; i++) {
    const { name, next } = readName(buf, pos);
    if (next + 10 > buf.length) throw new WireError('record: header past the end');
    const type = buf.readUInt16BE(next);
    const klass = buf.readUInt16BE(next + 2);
    const ttl = buf.readUInt32BE(next + 4);
    const len = buf.readUInt16BE(next + 8);
    const start = next + 10;
    const end = start + len;
    if (end > buf.length) throw new WireError('record: RDATA past the end');
    const rdata = type === TYPES.OPT ? '' : rdataText(buf, type, start, end);
    records.push({ name, type, klass, ttl, rdata, raw: { start, end } });
    pos = end;
  }
  return { records, next: pos };
}

/** Decodes a whole message; throws WireError on anything malformed. */
export function decodeMessage(buf: Buffer): WireMessage {
  if (buf.length < 12) throw new WireError(`message of ${buf.length} bytes: shorter than a header`);
  const bits = buf.readUInt16BE(2);
  const counts: [number, number, number, number] = [
    buf.readUInt16BE(4),
    buf.readUInt16BE(6),
    buf.readUInt16BE(8),
    buf.readUInt16BE(10),
  ];
  const flags = Object.fromEntries(
    Object.entries(FLAG_BITS).map(([name, bit]) => [name, (bits & bit) !== 0]),
  ) as Record<FlagName, boolean>;
  let pos = 12;
  const question: WireMessage['question'] = [];
  for (let i = 0; i < counts[0]; i++) {
    const { name, next } = readName(buf, pos);
    if (next + 4 > buf.length) throw new WireError('question past the end');
    question.push({ name, type: buf.readUInt16BE(next), klass: buf.readUInt16BE(next + 2) });
    pos = next + 4;
  }
  const an = readRecords(buf, pos, counts[1]);
  const ns = readRecords(buf, an.next, counts[2]);
  const ar = readRecords(buf, ns.next, counts[3]);
  const opts: WireOpt[] = [];
  const additional: WireRecord[] = [];
  for (const r of ar.records) {
    if (r.type !== TYPES.OPT) {
      additional.push(strip(r));
      continue;
    }
    const options: WireOpt['options'] = [];
    for (let p = r.raw.start; p + 4 <= r.raw.end; ) {
      const code = buf.readUInt16BE(p);
      const len = buf.readUInt16BE(p + 2);
      options.push({ code, data: buf.subarray(p + 4, Math.min(p + 4 + len, r.raw.end)) });
      p += 4 + len;
    }
    opts.push({
      udp: r.klass,
      extendedRcode: r.ttl >>> 24,
      version: (r.ttl >>> 16) & 0xff,
      do: (r.ttl & 0x8000) !== 0,
      ownerName: r.name,
      options,
    });
  }
  const rcode = (bits & 0xf) | (opts.length > 0 ? opts[0].extendedRcode << 4 : 0);
  return {
    id: buf.readUInt16BE(0),
    opcode: (bits >> 11) & 0xf,
    rcode,
    flags,
    counts,
    question,
    answer: an.records.map(strip),
    authority: ns.records.map(strip),
    additional,
    opts,
    size: buf.length,
  };
}

function strip(r: WireRecord & { raw?: unknown }): WireRecord {
  return { name: r.name, type: r.type, klass: r.klass, ttl: r.ttl, rdata: r.rdata };
}
