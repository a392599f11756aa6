/**
 * For unit tests of one pipeline stage: a real Query (bytes built with dns-packet, read with roje's
 * readQuery) as the responder and the context stage hand it to the stages, a `next` handler double
 * that records what reached it, and a reader for what a stage answered.
 */
import dnsPacket from 'dns-packet';
import { isRejection, readQuery } from '../../src/dns/query.js';
import type { Answer, Handler, Query, TransportName } from '../../src/pipeline/types.js';

/** roje's advertised UDP size in these tests; clients advertise CLIENT_UDP_SIZE, so the two differ. */
export const ROJE_UDP_SIZE = 1232;
export const CLIENT_UDP_SIZE = 4096;

export interface StageQueryOptions {
  /** Default 0x1234. */
  id?: number;
  class?: 'IN' | 'CH';
  /** Send an OPT record (default true), advertising CLIENT_UDP_SIZE. */
  edns?: boolean;
  do?: boolean;
  cd?: boolean;
  /** Client address, default 192.0.2.10. */
  address?: string;
  transport?: TransportName;
  /** What the context stage would have resolved; default -1 (no venue). */
  venue?: number;
  /** roje's UDP size, as the context stage sets it; default ROJE_UDP_SIZE. */
  udpSize?: number;
  receivedAt?: number;
}

/**
 * dns-packet's RecordType leaves out ANY (which it encodes) and HTTPS and SVCB (which it would encode
 * as type 0: they are sent as UNKNOWN_65 and UNKNOWN_64).
 */
export type QueryType = dnsPacket.RecordType | 'ANY' | 'HTTPS' | 'SVCB';
const UNKNOWN: Record<string, string> = { HTTPS: 'UNKNOWN_65', SVCB: 'UNKNOWN_64' };

export function stageQuery(name: string, type: QueryType = 'A', opts: StageQueryOptions = {}): Query {
  const msg = dnsPacket.encode({
    type: 'query',
    id: opts.id ?? 0x1234,
    flags: dnsPacket.RECURSION_DESIRED | (opts.cd ? dnsPacket.CHECKING_DISABLED : 0),
    questions: [{ name, type: (UNKNOWN[type] ?? type) as dnsPacket.RecordType, class: opts.class ?? 'IN' }],
    additionals:
      opts.edns === false
        ? []
        : [
            {
              type: 'OPT',
              name: '.',
              udpPayloadSize: CLIENT_UDP_SIZE,
              flags: opts.do ? dnsPacket.DNSSEC_OK : 0,
            } as unknown as dnsPacket.Answer,
          ],
  });
  const q = readQuery(msg);
  if (isRejection(q)) throw new Error(`test query rejected: ${q.reason}`);
  const transport = opts.transport ?? 'udp';
  return Object.assign(q, {
    client: { address: opts.address ?? '192.0.2.10', port: 5300, transport },
    maxSize: transport === 'udp' ? ROJE_UDP_SIZE : 65535,
    receivedAt: opts.receivedAt ?? 0,
    venue: opts.venue ?? -1,
    udpSize: opts.udpSize ?? ROJE_UDP_SIZE,
  });
}

/** What a `next` double answers unless told otherwise: recognisable by identity. */
export const PASSED: Answer = Object.freeze({ wire: Buffer.from('passed'), source: 'upstream', rcode: 0 });

export interface NextDouble {
  handler: Handler;
  /** Every query that reached it, in order. */
  calls: Query[];
}

/** A `next` handler that records its queries and answers with `answer` (default PASSED). */
export function nextDouble(answer: Handler = () => PASSED): NextDouble {
  const calls: Query[] = [];
  return {
    calls,
    handler: (q) => {
      calls.push(q);
      return answer(q);
    },
  };
}

export interface ReadAnswer {
  packet: dnsPacket.DecodedPacket;
  /** The header's RCODE (low 4 bits). */
  rcode: number;
  flags: number;
  /** The TTL of each answer record. */
  ttls: number[];
  /** The Extended DNS Errors in the OPT record. */
  ede: { code: number; text: string }[];
  /** The OPT record's UDP size, or null without an OPT record. */
  udpSize: number | null;
  do: boolean;
}

/** Decodes a stage's answer (header, records, OPT and EDEs). */
export function readAnswer(wire: Buffer): ReadAnswer {
  const packet = dnsPacket.decode(wire);
  const flags = wire.readUInt16BE(2);
  const opt = (packet.additionals ?? []).find((a) => a.type === 'OPT') as unknown as
    | { udpPayloadSize: number; flags?: number; options?: { code: number; data: Buffer }[] }
    | undefined;
  const ede = (opt?.options ?? [])
    .filter((o) => o.code === 15)
    .map((o) => ({ code: o.data.readUInt16BE(0), text: o.data.subarray(2).toString('utf8') }));
  return {
    packet,
    rcode: flags & 0x0f,
    flags,
    ttls: (packet.answers ?? []).map((r) => (r as { ttl?: number }).ttl ?? -1),
    ede,
    udpSize: opt === undefined ? null : opt.udpPayloadSize,
    do: ((opt?.flags ?? 0) & dnsPacket.DNSSEC_OK) !== 0,
  };
}
