/**
 * Answers for blocked names, built from templates prepared once per configuration: the answer and
 * authority records as finished bytes (owner = a pointer to the question, TTL = blockTtl), and one OPT
 * record per EDE text. Per query: one exact-size buffer (a reused one when the answer is synchronous),
 * the header, the client's question copied (its case kept), the template bytes, and roje's UDP size
 * and the client's DO bit patched into the OPT.
 */

import { isIP } from 'node:net';
import { copyBytes, replyBuffer, setU16, setU32 } from '../dns/bytes.js';
import {
  EDE,
  FLAG_CD,
  FLAG_QR,
  FLAG_RA,
  FLAG_RD,
  HEADER_SIZE,
  OPCODE_MASK,
  QCLASS,
  QTYPE,
  RCODE,
} from '../dns/constants.js';
import { optLength, writeOpt } from '../dns/edns.js';
import { encodeName } from '../dns/name.js';
import type { ParsedQuery } from '../dns/types.js';
import { RojeError } from '../errors.js';
import { expandIPv6 } from '../net/address.js';
import { ACTION, type LocalRecord } from './types.js';

/** What a blocked name gets (README "Policies and block modes"). */
export type BlockMode = 'blockpage' | 'nxdomain' | 'null' | 'refused';
export const BLOCK_MODES: readonly BlockMode[] = ['blockpage', 'nxdomain', 'null', 'refused'];

export interface BlockAnswerOptions {
  /** TTL of every record in a block answer, and the SOA MINIMUM (negative caching downstream). */
  blockTtl: number;
  /** Block page server addresses for mode `blockpage`; a family left out answers NODATA. */
  blockPage: { ipv4?: string; ipv6?: string };
}

/** One prepared answer shape: RCODE plus the records after the question. */
export interface Template {
  readonly rcode: number;
  readonly ancount: number;
  readonly nscount: number;
  /** Answer then authority records; owners point at the question name (offset 12) or are the root. */
  readonly records: Buffer;
}

/** The three templates of one block mode: for A, for AAAA, and for every other type. */
export interface ModeTemplates {
  readonly mode: BlockMode;
  readonly a: Template;
  readonly aaaa: Template;
  readonly other: Template;
  /** HTTPS and SVCB: NODATA, except where the mode itself says NXDOMAIN or REFUSED. */
  readonly svcb: Template;
}

/** A prebuilt OPT record carrying one EDE; the UDP size and DO are patched per query (renderBlock). */
export interface EdeOpt {
  readonly code: number;
  readonly text: string;
  readonly bytes: Buffer;
}

const POINTER_TO_QNAME = 0xc00c;
const SOA_MNAME = 'roje.invalid';
const SOA_RNAME = 'hostmaster.roje.invalid';

/** One RR owned by the question name (a compression pointer to offset 12). */
function rrAtQname(type: number, ttl: number, rdata: Buffer): Buffer {
  const rr = Buffer.alloc(12 + rdata.length);
  setU16(rr, 0, POINTER_TO_QNAME);
  setU16(rr, 2, type);
  setU16(rr, 4, QCLASS.IN);
  setU32(rr, 6, ttl);
  setU16(rr, 10, rdata.length);
  rdata.copy(rr, 12);
  return rr;
}

/**
 * The synthetic SOA of negative block answers, owned by the root so that it is an ancestor of every
 * blocked name: TTL and MINIMUM are blockTtl, so caches downstream keep the negative answer that long
 * (RFC 2308 §5).
 */
function soaRecord(ttl: number): Buffer {
  const mname = encodeName(SOA_MNAME);
  const rname = encodeName(SOA_RNAME);
  const rdata = Buffer.alloc(mname.length + rname.length + 20);
  mname.copy(rdata, 0);
  rname.copy(rdata, mname.length);
  const p = mname.length + rname.length;
  setU32(rdata, p, 1); // serial
  setU32(rdata, p + 4, 3600); // refresh
  setU32(rdata, p + 8, 600); // retry
  setU32(rdata, p + 12, 86400); // expire
  setU32(rdata, p + 16, ttl); // minimum
  const rr = Buffer.alloc(11 + rdata.length);
  rr[0] = 0;
  setU16(rr, 1, QTYPE.SOA);
  setU16(rr, 3, QCLASS.IN);
  setU32(rr, 5, ttl);
  setU16(rr, 9, rdata.length);
  rdata.copy(rr, 11);
  return rr;
}

function template(rcode: number, answers: Buffer[], authority: Buffer[]): Template {
  return {
    rcode,
    ancount: answers.length,
    nscount: authority.length,
    records: Buffer.concat([...answers, ...authority]),
  };
}

function ipv4Bytes(text: string): Buffer {
  return Buffer.from(text.split('.').map(Number));
}

function ipv6Bytes(text: string): Buffer {
  const words = expandIPv6(text);
  if (words === null) throw new RojeError('ROJE_ERR_CONFIG_INVALID', `not an IPv6 address: ${text}`);
  const out = Buffer.alloc(16);
  for (let i = 0; i < 8; i++) setU16(out, i * 2, words[i]);
  return out;
}

/**
 * The templates of one block mode. Config validation checks the block page addresses; an address of
 * the wrong family here is a caller bug and throws.
 */
export function buildModeTemplates(mode: BlockMode, options: BlockAnswerOptions): ModeTemplates {
  const ttl = options.blockTtl;
  const soa = soaRecord(ttl);
  const nodata = template(RCODE.NOERROR, [], [soa]);
  const nxdomain = template(RCODE.NXDOMAIN, [], [soa]);
  const refused = template(RCODE.REFUSED, [], []);
  switch (mode) {
    case 'nxdomain':
      return { mode, a: nxdomain, aaaa: nxdomain, other: nxdomain, svcb: nxdomain };
    case 'refused':
      return { mode, a: refused, aaaa: refused, other: refused, svcb: refused };
    case 'null':
      return {
        mode,
        a: template(RCODE.NOERROR, [rrAtQname(QTYPE.A, ttl, Buffer.alloc(4))], []),
        aaaa: template(RCODE.NOERROR, [rrAtQname(QTYPE.AAAA, ttl, Buffer.alloc(16))], []),
        other: nodata,
        svcb: nodata,
      };
    case 'blockpage': {
      const { ipv4, ipv6 } = options.blockPage;
      if (ipv4 !== undefined && isIP(ipv4) !== 4)
        throw new RojeError(
          'ROJE_ERR_CONFIG_INVALID',
          `blockPage.ipv4 ${JSON.stringify(ipv4)} is not an IPv4 address such as 192.0.2.1`,
        );
      if (ipv6 !== undefined && isIP(ipv6) !== 6)
        throw new RojeError(
          'ROJE_ERR_CONFIG_INVALID',
          `blockPage.ipv6 ${JSON.stringify(ipv6)} is not an IPv6 address such as 2001:db8::1`,
        );
      return {
        mode,
        a:
          ipv4 === undefined
            ? nodata
            : template(RCODE.NOERROR, [rrAtQname(QTYPE.A, ttl, ipv4Bytes(ipv4))], []),
        aaaa:
          ipv6 === undefined
            ? nodata
            : template(RCODE.NOERROR, [rrAtQname(QTYPE.AAAA, ttl, ipv6Bytes(ipv6))], []),
        other: nodata,
        svcb: nodata,
      };
    }
  }
}

/** The template of `mode` for a query type. */
export function pickTemplate(t: ModeTemplates, qtype: number): Template {
  if (qtype === QTYPE.A) return t.a;
  if (qtype === QTYPE.AAAA) return t.aaaa;
  if (qtype === QTYPE.HTTPS || qtype === QTYPE.SVCB) return t.svcb;
  return t.other;
}

/** Templates for the RPZ actions that override the block mode (ACTION.NXDOMAIN, ACTION.NODATA). */
export interface ActionTemplates {
  readonly nxdomain: Template;
  readonly nodata: Template;
}

export function buildActionTemplates(blockTtl: number): ActionTemplates {
  const soa = soaRecord(blockTtl);
  return { nxdomain: template(RCODE.NXDOMAIN, [], [soa]), nodata: template(RCODE.NOERROR, [], [soa]) };
}

/** The template an RPZ action code asks for, or null for ACTION.POLICY / ACTION.LOCAL. */
export function actionTemplate(t: ActionTemplates, action: number): Template | null {
  if (action === ACTION.NXDOMAIN) return t.nxdomain;
  if (action === ACTION.NODATA) return t.nodata;
  return null;
}

/**
 * The template for RPZ local data at a name, for one query type: the records of that type, else a
 * CNAME (answered as is: roje does not chase it), else NODATA. Built on first use per (index, type).
 */
export function localTemplate(records: readonly LocalRecord[], qtype: number, blockTtl: number): Template {
  const answers: Buffer[] = [];
  for (const r of records) {
    if (r.type === 'A' && qtype === QTYPE.A && isIP(r.data) === 4) {
      answers.push(rrAtQname(QTYPE.A, blockTtl, ipv4Bytes(r.data)));
    } else if (r.type === 'AAAA' && qtype === QTYPE.AAAA && isIP(r.data) === 6) {
      answers.push(rrAtQname(QTYPE.AAAA, blockTtl, ipv6Bytes(r.data)));
    } else if (r.type === 'TXT' && qtype === QTYPE.TXT) {
      answers.push(rrAtQname(QTYPE.TXT, blockTtl, txtRdata(r.data)));
    }
  }
  if (answers.length === 0) {
    const cname = records.find((r) => r.type === 'CNAME');
    if (cname !== undefined) answers.push(rrAtQname(QTYPE.CNAME, blockTtl, encodeName(cname.data)));
  }
  if (answers.length > 0) return template(RCODE.NOERROR, answers, []);
  return template(RCODE.NOERROR, [], [soaRecord(blockTtl)]);
}

function txtRdata(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length || i === 0; i += 255) {
    const chunk = bytes.subarray(i, i + 255);
    parts.push(Buffer.from([chunk.length]), chunk);
    if (bytes.length === 0) break;
  }
  return Buffer.concat(parts);
}

/** The EDE text for a block: names the category and nothing else (abuse list entries are confidential). */
export function edeText(category: string): string {
  return `blocked: ${category}`;
}

/** A prebuilt OPT carrying EDE `code` with `text`; its UDP size is written per answer. */
export function buildEdeOpt(code: number, text: string): EdeOpt {
  const ede = [{ code, text }];
  const bytes = Buffer.alloc(optLength(ede));
  writeOpt(bytes, 0, 0, 0, false, ede);
  return { code, text, bytes };
}

/** EDE 15 (Blocked) for a list category, 17 (Filtered) for a venue's own deny additions. */
export function categoryOpt(category: string): EdeOpt {
  return buildEdeOpt(EDE.BLOCKED, edeText(category));
}

export function venueDenyOpt(): EdeOpt {
  return buildEdeOpt(EDE.FILTERED, edeText('venue-deny'));
}

/** Offset of the UDP payload size (the CLASS field) within an OPT record: owner (1) + TYPE (2). */
const OPT_UDP_SIZE = 3;
/** Offset of the DO byte within an OPT record: owner (1) + TYPE (2) + CLASS (2) + ext-RCODE, VERSION (2). */
const OPT_DO_BYTE = 7;

/**
 * The block answer for one query: header (ID, OPCODE, RD and CD from the query; QR and RA set; AA
 * clear), the client's question as sent, the template's records, and `opt` (advertising `udpSize`,
 * with the client's DO) only when the client sent EDNS. `lend`: written into a reply buffer reused by
 * the next query (dns/bytes.ts replyBuffer), for an answer given synchronously; else a buffer of its own.
 */
export function renderBlock(q: ParsedQuery, t: Template, opt: EdeOpt, udpSize: number, lend = false): Buffer {
  const msg = q.msg;
  const qEnd = q.questionEnd;
  const records = t.records;
  const edns = q.edns;
  const optBytes = opt.bytes;
  const size = qEnd + records.length + (edns !== null ? optBytes.length : 0);
  const out = lend ? replyBuffer(size) : Buffer.allocUnsafe(size);
  out[0] = msg[0];
  out[1] = msg[1];
  setU16(out, 2, FLAG_QR | FLAG_RA | (q.flags & (OPCODE_MASK | FLAG_RD | FLAG_CD)) | t.rcode);
  setU16(out, 4, 1);
  setU16(out, 6, t.ancount);
  setU16(out, 8, t.nscount);
  setU16(out, 10, edns !== null ? 1 : 0);
  copyBytes(msg, HEADER_SIZE, out, HEADER_SIZE, qEnd - HEADER_SIZE);
  out.set(records, qEnd);
  if (edns !== null) {
    const o = qEnd + records.length;
    out.set(optBytes, o);
    setU16(out, o + OPT_UDP_SIZE, udpSize);
    if (edns.do) out[o + OPT_DO_BYTE] |= 0x80;
  }
  return out;
}
