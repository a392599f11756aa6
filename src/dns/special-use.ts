/**
 * The special-use names a resolver answers itself and never sends upstream (RFC 6761 §6.3-6.4,
 * RFC 6762 §22.1, RFC 7686 §2, RFC 8375 §4, RFC 6303 §3-4): a table of local zones shaped like
 * unbound's default `local-zone`s (unbound.conf(5), "default zones"), matched on the question's wire
 * name, and the answers built from records encoded once at load. No I/O.
 *
 * Ordinary names pay one label walk and one length comparison: only a last label as long as one of
 * the five special top-level labels (arpa, local, onion, invalid, localhost) is compared byte by byte,
 * and only a special one is looked up further, label by label, in a small tree.
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
import { ASCII_LOWER, encodeName } from './name.js';
import type { ParsedQuery } from './types.js';

/** unbound's TTL for its default local data (10800 s, 3 h), for answers and the SOA alike. */
export const LOCAL_ZONE_TTL = 10800;

/** How a zone answers the names under its apex (unbound's local-zone types). */
type ZoneKind =
  /** Every name at or under the apex gets the apex's records, owned by the name asked (localhost). */
  | 'redirect'
  /** Names with records get them; other names under the apex: NXDOMAIN, with the SOA. */
  | 'static';

/** One RRset served locally: its records' section bytes, each owned by a pointer to the question. */
interface LocalRrset {
  readonly count: number;
  readonly bytes: Buffer;
}

/** A name in the local zones' tree. */
export interface LocalNode {
  readonly children: Map<string, LocalNode>;
  /** Set on a zone's apex. */
  zone: LocalZone | null;
  /** The records at this name, by type. */
  readonly rrsets: Map<number, LocalRrset>;
}

export interface LocalZone {
  /** Lowercase, without the trailing dot: for tests and docs. */
  readonly apex: string;
  readonly kind: ZoneKind;
  /** The SOA record of the apex, owner written out (lowercase): the authority section of a negative answer. */
  readonly soa: Buffer;
}

/** What a special-use name gets. */
export interface LocalAnswer {
  wire: Buffer;
  rcode: number;
}

// unbound's default content, for every zone: NS localhost. and this SOA at the apex.
const SOA_RDATA = soaRdata('localhost', 'nobody.invalid', [1, 3600, 1200, 604800, 10800]);
const LOCALHOST_WIRE = encodeName('localhost');

const root: LocalNode = newNode();

function newNode(): LocalNode {
  return { children: new Map(), zone: null, rrsets: new Map() };
}

function soaRdata(mname: string, rname: string, numbers: readonly number[]): Buffer {
  const m = encodeName(mname);
  const r = encodeName(rname);
  const out = Buffer.alloc(m.length + r.length + 20);
  m.copy(out, 0);
  r.copy(out, m.length);
  for (let i = 0; i < 5; i++) setU32(out, m.length + r.length + 4 * i, numbers[i]);
  return out;
}

/** One RR with `owner` bytes (a 2-byte pointer or a whole name), class IN, LOCAL_ZONE_TTL. */
function record(owner: Buffer, type: number, rdata: Buffer): Buffer {
  const out = Buffer.alloc(owner.length + 10 + rdata.length);
  owner.copy(out, 0);
  const p = owner.length;
  setU16(out, p, type);
  setU16(out, p + 2, QCLASS.IN);
  setU32(out, p + 4, LOCAL_ZONE_TTL);
  setU16(out, p + 8, rdata.length);
  rdata.copy(out, p + 10);
  return out;
}

const POINTER_TO_QNAME = Buffer.from([0xc0, HEADER_SIZE]);

function nodeFor(name: string): LocalNode {
  const labels = name.split('.');
  let node = root;
  for (let i = labels.length - 1; i >= 0; i--) {
    let next = node.children.get(labels[i]);
    if (next === undefined) {
      next = newNode();
      node.children.set(labels[i], next);
    }
    node = next;
  }
  return node;
}

function addRrset(name: string, type: number, rdatas: readonly Buffer[]): void {
  const bytes = Buffer.concat(rdatas.map((rd) => record(POINTER_TO_QNAME, type, rd)));
  nodeFor(name).rrsets.set(type, { count: rdatas.length, bytes });
}

function addZone(apex: string, kind: ZoneKind): void {
  const node = nodeFor(apex);
  node.zone = { apex, kind, soa: record(encodeName(apex), QTYPE.SOA, SOA_RDATA) };
  addRrset(apex, QTYPE.NS, [LOCALHOST_WIRE]);
  addRrset(apex, QTYPE.SOA, [SOA_RDATA]);
}

const IP6_LOOPBACK = `1${'.0'.repeat(31)}.ip6.arpa`;

// RFC 6761 §6.3: localhost and every name under it is the loopback address.
addZone('localhost', 'redirect');
addRrset('localhost', QTYPE.A, [Buffer.from([127, 0, 0, 1])]);
addRrset('localhost', QTYPE.AAAA, [Buffer.from([...new Array(15).fill(0), 1])]);
// RFC 6761 §6.3 and RFC 6303 §4.2-4.3: the loopback addresses' reverse names.
addZone('127.in-addr.arpa', 'static');
addRrset('1.0.0.127.in-addr.arpa', QTYPE.PTR, [LOCALHOST_WIRE]);
addZone(IP6_LOOPBACK, 'static');
addRrset(IP6_LOOPBACK, QTYPE.PTR, [LOCALHOST_WIRE]);
// RFC 6761 §6.4 (invalid), RFC 7686 §2 (onion), RFC 8375 §4 (home.arpa): names that must never be
// looked up on the Internet. Not `test` (RFC 6761 §6.2 only SHOULD): labs and staging networks serve
// it through their own upstream, roje's tests among them.
addZone('invalid', 'static');
addZone('onion', 'static');
addZone('home.arpa', 'static');
// RFC 6762 §22.1: caching servers SHOULD answer `.local` (Multicast DNS) NXDOMAIN at once. unbound
// forwards it; roje does not, so that a device's mDNS names never leave the venue.
addZone('local', 'static');
// RFC 6303 §4 (and unbound's AS112 defaults): reverse zones of private, link-local, shared and
// documentation addresses, which no server on the Internet can answer usefully.
for (const zone of [
  '10.in-addr.arpa',
  '168.192.in-addr.arpa',
  '0.in-addr.arpa',
  '254.169.in-addr.arpa',
  '2.0.192.in-addr.arpa',
  '100.51.198.in-addr.arpa',
  '113.0.203.in-addr.arpa',
  '255.255.255.255.in-addr.arpa',
  `0${'.0'.repeat(31)}.ip6.arpa`,
  'd.f.ip6.arpa',
  '8.e.f.ip6.arpa',
  '9.e.f.ip6.arpa',
  'a.e.f.ip6.arpa',
  'b.e.f.ip6.arpa',
  '8.b.d.0.1.0.0.2.ip6.arpa',
]) {
  addZone(zone, 'static');
}
for (let i = 16; i <= 31; i++) addZone(`${i}.172.in-addr.arpa`, 'static');
for (let i = 64; i <= 127; i++) addZone(`${i}.100.in-addr.arpa`, 'static');

/** The special top-level labels, lowercase: only these start a lookup. */
const TOP_LABELS = [...root.children.keys()].map((l) => Buffer.from(l, 'latin1'));
/** Bit n set: some special top-level label is n octets long. */
const TOP_LENGTHS = TOP_LABELS.reduce((mask, l) => mask | (1 << l.length), 0);

/** Label starts of the name being matched; a 255-octet name has at most 127 labels. */
const labelAt = new Int32Array(128);

/** What findLocalName() found: the zone, and the node of the name asked or null when none exists. */
export interface LocalMatch {
  zone: LocalZone;
  /** The name's own node when it exists in the zone (it has records or names below it), else null. */
  node: LocalNode | null;
}

/**
 * The local zone holding the question name of `q`, or null for every name that is not special-use:
 * the common case, decided on the last label's length alone for nearly every name.
 */
export function findLocalName(q: ParsedQuery): LocalMatch | null {
  const msg = q.msg;
  const end = q.nameEnd - 1;
  // The last label, found without storing anything: nearly every name stops at the next test.
  let last = -1;
  for (let p = HEADER_SIZE; p < end; p += msg[p] + 1) last = p;
  if (last < 0) return null;
  const lastLen = msg[last];
  if (lastLen > 30 || ((TOP_LENGTHS >>> lastLen) & 1) === 0) return null;
  if (!isTopLabel(msg, last, lastLen)) return null;
  let n = 0;
  for (let p = HEADER_SIZE; p < end; p += msg[p] + 1) labelAt[n++] = p;
  let node = root;
  let zone: LocalZone | null = null;
  for (let i = n - 1; i >= 0; i--) {
    const next = node.children.get(lowerLabel(msg, labelAt[i]));
    // Below the names the zone holds: no such name (NXDOMAIN), or outside every zone.
    if (next === undefined) return zone === null ? null : { zone, node: null };
    node = next;
    if (node.zone !== null) {
      zone = node.zone;
      // A redirect zone answers every name at or below its apex as the apex.
      if (zone.kind === 'redirect') return { zone, node };
    }
  }
  return zone === null ? null : { zone, node };
}

function isTopLabel(msg: Buffer, at: number, len: number): boolean {
  for (const l of TOP_LABELS) {
    if (l.length !== len) continue;
    let i = 0;
    while (i < len && ASCII_LOWER[msg[at + 1 + i]] === l[i]) i++;
    if (i === len) return true;
  }
  return false;
}

function lowerLabel(msg: Buffer, at: number): string {
  return msg.toString('latin1', at + 1, at + 1 + msg[at]).toLowerCase();
}

/**
 * The answer of a local zone, as unbound gives it: AA and RA set (roje serves these zones itself;
 * AD never), RD and CD echoed, the client's question, then the records of the question's type owned
 * by the question name; without them NOERROR (the name exists) or NXDOMAIN (it does not) with the
 * zone's SOA in the authority section (RFC 2308 §3); roje's OPT when the client sent EDNS. QTYPE ANY
 * gets NODATA, as unbound answers ANY for its local data.
 */
export function localAnswer(q: ParsedQuery, match: LocalMatch, udpSize: number): LocalAnswer {
  const { zone, node } = match;
  const rrset = node !== null && q.qtype !== QTYPE.ANY ? node.rrsets.get(q.qtype) : undefined;
  const rcode = node === null ? RCODE.NXDOMAIN : RCODE.NOERROR;
  const section = rrset !== undefined ? rrset.bytes : zone.soa;
  const qEnd = q.questionEnd;
  const edns = q.edns;
  const size = qEnd + section.length + (edns !== null ? optLength() : 0);
  const out = Buffer.allocUnsafe(size);
  const msg = q.msg;
  out[0] = msg[0];
  out[1] = msg[1];
  setU16(out, 2, FLAG_QR | FLAG_AA | FLAG_RA | (q.flags & (OPCODE_MASK | FLAG_RD | FLAG_CD)) | rcode);
  setU16(out, 4, 1);
  setU16(out, 6, rrset !== undefined ? rrset.count : 0);
  setU16(out, 8, rrset !== undefined ? 0 : 1);
  setU16(out, 10, edns !== null ? 1 : 0);
  copyBytes(msg, HEADER_SIZE, out, HEADER_SIZE, qEnd - HEADER_SIZE);
  out.set(section, qEnd);
  if (edns !== null) writeOpt(out, qEnd + section.length, udpSize, rcode, edns.do);
  return { wire: out, rcode };
}

/** Every local zone's apex, for tests and docs. */
export function localZoneApexes(): string[] {
  const out: string[] = [];
  const walk = (node: LocalNode): void => {
    if (node.zone !== null) out.push(node.zone.apex);
    for (const child of node.children.values()) walk(child);
  };
  walk(root);
  return out.sort();
}
