/**
 * A stub DNS client for `roje verify`: one question to one server over UDP or TCP, answered as a
 * plain record of what came back (rcode, records, EDE, time). It talks to any resolver, so it asks
 * with EDNS (to receive Extended DNS Errors) and decodes with dns-packet: this is a slow path, once
 * per case. A timeout or a network failure is a result (`error`), not an exception: the report
 * must show it.
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect, isIPv6 } from 'node:net';
import type * as DnsPacket from 'dns-packet';
import {
  DEFAULT_EDNS_UDP_SIZE,
  EDNS_OPTION,
  FLAG_RD,
  FLAG_TC,
  QCLASS,
  QTYPE,
  RCODE_MNEMONICS,
} from '../dns/constants.js';
import { lazyRequire } from '../lazy.js';

/** The slow path only: a verify run decodes whole answers; the resolver never loads it. */
const dnsPacket = lazyRequire<typeof DnsPacket>('dns-packet');

export type VerifyTransport = 'udp' | 'tcp';
export const VERIFY_TRANSPORTS: readonly VerifyTransport[] = ['udp', 'tcp'];

export interface DnsServerAddress {
  host: string;
  port: number;
}

export interface SeenRecord {
  name: string;
  type: string;
  ttl: number;
  /** Presentation form: an address, a target name, TXT strings joined by a space, or hex. */
  data: string;
}

export interface SeenEde {
  code: number;
  text: string;
}

export interface Exchange {
  /** 'NOERROR', 'NXDOMAIN', 'REFUSED', ... or null when no answer came (see `error`). */
  rcode: string | null;
  answers: SeenRecord[];
  ede: SeenEde[];
  /** The UDP answer was truncated and the question was asked again over TCP. */
  retriedTcp: boolean;
  /** Milliseconds from sending to the answer (one decimal). */
  ms: number;
  /** 'timeout after 2000 ms', 'ECONNREFUSED', 'malformed answer: ...' when there is no rcode. */
  error?: string;
}

export interface ExchangeOptions {
  qname: string;
  /** A QTYPE name ('A', 'SVCB', ...) or 'TYPE<n>'. */
  qtype: string;
  qclass?: 'IN' | 'CH';
  transport: VerifyTransport;
  timeoutMs: number;
  /** Local address to send from (a venue's network, for a resolver with per-venue policies). */
  sourceAddress?: string;
  /** Asks instead of a socket (roje's self-test as a client of a venue, src/services/self-test.ts). */
  via?: RawExchange;
}

/** One query's wire bytes in, the answer's out, over `transport`; rejects when no answer comes. */
export type RawExchange = (query: Buffer, transport: VerifyTransport, timeoutMs: number) => Promise<Buffer>;

const TYPE_NAMES = new Map<number, string>(Object.entries(QTYPE).map(([name, n]) => [n, name]));

/** The numeric QTYPE of a name ('A', 'https', 'TYPE64'), or null if unknown. */
export function qtypeNumber(name: string): number | null {
  const upper = name.toUpperCase();
  const known = (QTYPE as Record<string, number>)[upper];
  if (known !== undefined) return known;
  const m = /^TYPE(\d{1,5})$/.exec(upper);
  return m !== null && Number(m[1]) <= 65535 ? Number(m[1]) : null;
}

function typeName(n: number): string {
  return TYPE_NAMES.get(n) ?? `TYPE${n}`;
}

/** The query: RD set, one question, an OPT record (so EDE can come back). */
export function encodeQuery(id: number, qname: string, qtype: number, qclass: number): Buffer {
  const labels = qname.replace(/\.$/, '').split('.').filter(Boolean);
  const name = Buffer.concat([
    ...labels.map((l) => {
      const b = Buffer.from(l, 'ascii');
      return Buffer.concat([Buffer.from([b.length]), b]);
    }),
    Buffer.from([0]),
  ]);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(FLAG_RD, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(1, 10);
  const q = Buffer.alloc(4);
  q.writeUInt16BE(qtype, 0);
  q.writeUInt16BE(qclass, 2);
  // OPT: root owner, type 41, class = UDP size, TTL 0, no options.
  const opt = Buffer.from([
    0,
    0,
    41,
    DEFAULT_EDNS_UDP_SIZE >> 8,
    DEFAULT_EDNS_UDP_SIZE & 0xff,
    0,
    0,
    0,
    0,
    0,
    0,
  ]);
  return Buffer.concat([header, name, q, opt]);
}

function present(answer: DnsPacket.Answer, raw: number): string {
  const data = (answer as { data?: unknown }).data;
  if (typeof data === 'string') return data;
  if (Buffer.isBuffer(data)) return raw === QTYPE.TXT ? data.toString('utf8') : data.toString('hex');
  if (Array.isArray(data)) {
    return data.map((d) => (Buffer.isBuffer(d) ? d.toString('utf8') : String(d))).join(' ');
  }
  return JSON.stringify(data) ?? '';
}

/** Reads the answer section and the EDE options of a response; throws on a malformed message. */
export function decodeAnswer(
  message: Buffer,
): Pick<Exchange, 'rcode' | 'answers' | 'ede'> & { id: number; tc: boolean } {
  const decoded = dnsPacket().decode(message);
  const flags = message.readUInt16BE(2);
  const answers: SeenRecord[] = [];
  // dns-packet names unknown types "UNKNOWN_64"; read the numeric type from the wire-decoded record.
  for (const a of decoded.answers ?? []) {
    const raw = typeof a.type === 'string' && a.type.startsWith('UNKNOWN_') ? Number(a.type.slice(8)) : null;
    const type = raw !== null ? typeName(raw) : String(a.type);
    answers.push({
      name: a.name,
      type,
      ttl: (a as { ttl?: number }).ttl ?? 0,
      data: present(a, qtypeNumber(type) ?? 0),
    });
  }
  const ede: SeenEde[] = [];
  let extended = 0;
  for (const extra of decoded.additionals ?? []) {
    if (extra.type !== 'OPT') continue;
    extended = (extra as { extendedRcode?: number }).extendedRcode ?? 0;
    for (const o of (extra as { options?: Array<{ code: number; data?: Buffer }> }).options ?? []) {
      if (o.code !== EDNS_OPTION.EDE || o.data === undefined || o.data.length < 2) continue;
      ede.push({ code: o.data.readUInt16BE(0), text: o.data.subarray(2).toString('utf8') });
    }
  }
  const rcodeNumber = (extended << 4) | (flags & 0x000f);
  return {
    id: message.readUInt16BE(0),
    tc: (flags & FLAG_TC) !== 0,
    rcode: RCODE_MNEMONICS[rcodeNumber] ?? `RCODE${rcodeNumber}`,
    answers,
    ede,
  };
}

function elapsed(start: bigint): number {
  return Math.round(Number(process.hrtime.bigint() - start) / 1e5) / 10;
}

/** Asks one question; never rejects. Over UDP, a truncated answer is asked again over TCP. */
export async function exchange(server: DnsServerAddress, options: ExchangeOptions): Promise<Exchange> {
  const qtype = qtypeNumber(options.qtype);
  if (qtype === null) {
    return {
      rcode: null,
      answers: [],
      ede: [],
      retriedTcp: false,
      ms: 0,
      error: `unknown qtype ${options.qtype}`,
    };
  }
  const id = randomBytes(2).readUInt16BE(0);
  const query = encodeQuery(id, options.qname, qtype, options.qclass === 'CH' ? QCLASS.CH : QCLASS.IN);
  const start = process.hrtime.bigint();
  const ask: RawExchange =
    options.via ??
    ((q, transport, timeoutMs) =>
      transport === 'udp'
        ? askUdp(server, q, timeoutMs, options.sourceAddress)
        : askTcp(server, q, timeoutMs, options.sourceAddress));
  try {
    let message = await ask(query, options.transport, options.timeoutMs);
    let decoded = decodeAnswer(message);
    let retriedTcp = false;
    if (decoded.tc && options.transport === 'udp') {
      message = await ask(query, 'tcp', options.timeoutMs);
      decoded = decodeAnswer(message);
      retriedTcp = true;
    }
    if (decoded.id !== id) throw new Error('the answer has another ID than the query');
    return {
      rcode: decoded.rcode,
      answers: decoded.answers,
      ede: decoded.ede,
      retriedTcp,
      ms: elapsed(start),
    };
  } catch (err) {
    return {
      rcode: null,
      answers: [],
      ede: [],
      retriedTcp: false,
      ms: elapsed(start),
      error: errorText(err),
    };
  }
}

function errorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code !== undefined ? `${e.code}: ${e.message}` : String(e.message ?? err);
}

/**
 * One exchange's end, whichever comes first (an answer, an error, the timeout): settles the promise
 * once, clears the timer and releases the socket.
 */
function settleOnce(
  timeoutMs: number,
  release: () => void,
  resolve: (msg: Buffer) => void,
  reject: (err: Error) => void,
): (err: Error | null, msg?: Buffer) => void {
  let finished = false;
  const done = (err: Error | null, msg?: Buffer): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    release();
    if (err !== null) reject(err);
    else resolve(msg as Buffer);
  };
  const timer = setTimeout(() => done(new Error(`timeout after ${timeoutMs} ms`)), timeoutMs);
  return done;
}

function askUdp(
  server: DnsServerAddress,
  query: Buffer,
  timeoutMs: number,
  sourceAddress?: string,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIPv6(server.host) ? 'udp6' : 'udp4');
    const id = query.readUInt16BE(0);
    const done = settleOnce(timeoutMs, () => socket.close(), resolve, reject);
    socket.on('error', (err) => done(err));
    // A stray datagram (another ID, from elsewhere) is ignored; the timer bounds the wait.
    socket.on('message', (msg, rinfo) => {
      if (rinfo.port !== server.port || msg.length < 12 || msg.readUInt16BE(0) !== id) return;
      done(null, msg);
    });
    const send = () => socket.send(query, server.port, server.host, (err) => err && done(err));
    if (sourceAddress !== undefined) socket.bind({ address: sourceAddress, port: 0 }, send);
    else send();
  });
}

function askTcp(
  server: DnsServerAddress,
  query: Buffer,
  timeoutMs: number,
  sourceAddress?: string,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: server.host,
      port: server.port,
      ...(sourceAddress !== undefined ? { localAddress: sourceAddress } : {}),
    });
    let buffered = Buffer.alloc(0);
    const done = settleOnce(timeoutMs, () => socket.destroy(), resolve, reject);
    socket.on('error', (err) => done(err));
    socket.on('close', () => done(new Error('the server closed the connection without an answer')));
    socket.on('connect', () => {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(query.length, 0);
      socket.write(Buffer.concat([length, query]));
    });
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 2) return;
      const size = buffered.readUInt16BE(0);
      if (buffered.length >= 2 + size) done(null, buffered.subarray(2, 2 + size));
    });
  });
}
