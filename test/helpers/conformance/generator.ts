/**
 * The queries of a conformance run, deterministic from a seed: every zone name with every common type,
 * special-use names, meta-types, EDNS profiles, 0x20 case, header bits, UDP and TCP (some pipelined on
 * one connection), malformed messages and repeats for the cache. Each query carries tags (its axes) for
 * the accepted list to match, and a dig command line that asks the same (or a description when dig
 * cannot build it).
 */
import { rng } from '../rng.js';
import {
  encodeHeader,
  encodeName,
  encodeOpt,
  encodeQuery,
  encodeQuestion,
  type FlagName,
  headerFlags,
  type QuerySpec,
  TYPES,
} from './wire.js';
import { nameTags, ZONE_NAMES } from './zones.js';

export interface ConformanceQuery {
  index: number;
  /** The main axis ('zone', 'special', 'meta', 'malformed', 'opcode', 'random', 'repeat'). */
  category: string;
  /** Every axis of the query: 'rd0', 'do', 'edns:none', 'qtype:MX', 'special:onion', 'tcp', ... */
  tags: string[];
  transport: 'udp' | 'tcp';
  /** Queries with the same pipeline number go together on one TCP connection. */
  pipeline?: number;
  wire: Buffer;
  /** `dig ...` that sends the same query, or what was sent when dig cannot. */
  text: string;
}

export const COMMON_TYPES = [
  'A',
  'AAAA',
  'CNAME',
  'MX',
  'TXT',
  'SRV',
  'PTR',
  'NS',
  'SOA',
  'CAA',
  'NAPTR',
  'SSHFP',
  'TLSA',
  'HTTPS',
  'SVCB',
  'DS',
  'DNAME',
  'DNSKEY',
  'RRSIG',
  'NSEC',
];

/** Special-use names (RFC 6761, 6762, 7686, 8375), with the tag naming each. */
export const SPECIAL_NAMES: ReadonlyArray<[name: string, tag: string]> = [
  ['localhost', 'special:localhost'],
  ['www.localhost', 'special:localhost'],
  ['x.invalid', 'special:invalid'],
  ['hidden.onion', 'special:onion'],
  ['1.0.0.127.in-addr.arpa', 'special:loopback-reverse'],
  ['home.arpa', 'special:home-arpa'],
  ['printer.home.arpa', 'special:home-arpa'],
  ['test', 'special:test'],
  ['x.test', 'special:test'],
];

/** Meta-types that only make sense in a transfer or transaction (RFC 6895 3.1), not as a question to a resolver. */
export const TRANSACTION_TYPES = ['MAILA', 'MAILB', 'TSIG', 'TKEY', 'OPT', 'IXFR', 'AXFR'];

export const META_TYPES = ['MAILA', 'MAILB', 'TSIG', 'TKEY', 'OPT', 'IXFR', 'AXFR', 'ANY', 'TYPE65000'];

interface Profile {
  tag: string;
  edns?: QuerySpec['edns'];
  dig: string[];
}

const COOKIE = Buffer.from('0123456789abcdef', 'hex');

export const EDNS_PROFILES: readonly Profile[] = [
  { tag: 'edns:none', dig: ['+noedns'] },
  { tag: 'edns:512', edns: { udp: 512 }, dig: ['+bufsize=512'] },
  { tag: 'edns:1232', edns: { udp: 1232 }, dig: ['+bufsize=1232'] },
  { tag: 'edns:4096', edns: { udp: 4096 }, dig: ['+bufsize=4096'] },
  { tag: 'do', edns: { udp: 1232, do: true }, dig: ['+bufsize=1232', '+dnssec'] },
  {
    tag: 'edns:unknown-option',
    edns: { udp: 1232, options: [{ code: 65001, data: Buffer.from('abc') }] },
    dig: ['+bufsize=1232', '+ednsopt=65001:616263'],
  },
  { tag: 'edns:version1', edns: { udp: 1232, version: 1 }, dig: ['+bufsize=1232', '+edns=1', '+noednsneg'] },
  {
    tag: 'cookie',
    edns: { udp: 1232, options: [{ code: 10, data: COOKIE }] },
    dig: ['+bufsize=1232', `+cookie=${COOKIE.toString('hex')}`],
  },
];

const DEFAULT_PROFILE = EDNS_PROFILES[2];

const typeCode = (t: string) => (t.startsWith('TYPE') ? Number(t.slice(4)) : TYPES[t]);

export interface GeneratorOptions {
  seed: number;
  /** Random queries on top of the systematic ones. */
  random: number;
  /** Zone names x common types in full (true) or a sample of `random`'s size (false: the short run). */
  fullMatrix: boolean;
  repeats: number;
}

/** The full run: ~2,700 queries. */
export const FULL_RUN: GeneratorOptions = { seed: 20, random: 1500, fullMatrix: true, repeats: 300 };
/** The CI run: a few hundred queries, every axis represented. */
export const SHORT_RUN: GeneratorOptions = { seed: 20, random: 150, fullMatrix: false, repeats: 40 };

export function generateQueries(options: GeneratorOptions): ConformanceQuery[] {
  const next = rng(options.seed);
  const pick = <T>(items: readonly T[]): T => items[next() % items.length];
  const out: ConformanceQuery[] = [];
  let pipelines = 0;
  const add = (q: Omit<ConformanceQuery, 'index'>) => out.push({ ...q, index: out.length });
  const id = () => next() & 0xffff;

  const zoneTypes = ZONE_NAMES.flatMap((name) => COMMON_TYPES.map((type) => [name, type] as const));
  const matrix = options.fullMatrix ? zoneTypes : Array.from({ length: 60 }, () => pick(zoneTypes));
  for (const [name, type] of matrix) {
    add(wellFormed('zone', { name, type, profile: DEFAULT_PROFILE, bits: { rd: true }, id: id() }));
  }
  for (const [name, tag] of SPECIAL_NAMES) {
    for (const type of ['A', 'AAAA', 'SOA', 'NS', 'PTR', 'TXT']) {
      const profile = options.fullMatrix ? pick(EDNS_PROFILES.slice(0, 5)) : DEFAULT_PROFILE;
      add(wellFormed('special', { name, type, profile, bits: { rd: true }, id: id(), tags: [tag] }));
      if (!options.fullMatrix) break;
    }
  }
  for (const type of META_TYPES) {
    for (const name of ['conf.example', 'www.conf.example']) {
      for (const tcp of [false, true]) {
        const q = wellFormed('meta', {
          name,
          type,
          profile: DEFAULT_PROFILE,
          bits: { rd: true },
          id: id(),
          tcp,
        });
        add(q);
      }
    }
  }
  for (const m of malformedQueries(id)) add(m);
  for (const opcode of [1, 2, 4, 5]) {
    for (const name of ['conf.example', 'www.conf.example']) add(opcodeQuery(opcode, name, id()));
  }
  for (let i = 0; i < options.random; i++) {
    const special = next() % 10 === 0 ? pick(SPECIAL_NAMES) : null;
    const name = special?.[0] ?? randomZoneName(next, pick);
    const type =
      next() % 12 === 0 ? pick(META_TYPES.filter((t) => t !== 'AXFR' && t !== 'IXFR')) : pick(COMMON_TYPES);
    const bits: Partial<Record<FlagName, boolean>> = {
      rd: next() % 6 !== 0,
      cd: next() % 8 === 0,
      ad: next() % 6 === 0,
    };
    const transportRoll = next() % 10;
    const q = wellFormed('random', {
      name: next() % 3 === 0 ? randomCase(name, next) : name,
      type,
      profile: pick(EDNS_PROFILES),
      bits,
      id: id(),
      tcp: transportRoll >= 7,
      tags: special ? [special[1]] : [],
    });
    if (transportRoll >= 9) {
      // Pipelined: this and the next few random queries on one connection.
      const group = ++pipelines;
      const size = 3 + (next() % 4);
      add({ ...q, pipeline: group, tags: [...q.tags, 'pipelined'] });
      for (let j = 1; j < size; j++, i++) {
        const more = wellFormed('random', {
          name: randomZoneName(next, pick),
          type: pick(COMMON_TYPES),
          profile: pick(EDNS_PROFILES.slice(0, 5)),
          bits: { rd: true },
          id: id(),
          tcp: true,
        });
        add({ ...more, pipeline: group, tags: [...more.tags, 'pipelined'] });
      }
    } else {
      add(q);
    }
  }
  // The same queries again, new IDs: now answered from the caches.
  const firsts = out.filter(
    (q) => q.category === 'zone' || q.category === 'random' || q.category === 'special',
  );
  for (let i = 0; i < options.repeats && firsts.length > 0; i++) {
    const q = pick(firsts);
    const wire = Buffer.from(q.wire);
    wire.writeUInt16BE(id(), 0);
    add({ ...q, category: 'repeat', tags: [...q.tags, 'repeat'], wire, pipeline: undefined });
  }
  return out;
}

function randomZoneName(next: () => number, pick: <T>(items: readonly T[]) => T): string {
  const roll = next() % 8;
  if (roll === 0) return `n${next() % 100000}.conf.example`;
  if (roll === 1) return `n${next() % 100000}.nope.conf.example`;
  return pick(ZONE_NAMES);
}

/** 0x20: every letter of the name in a random case (draft-vixie-dnsext-dns0x20). */
function randomCase(name: string, next: () => number): string {
  return [...name].map((c) => (next() % 2 === 0 ? c.toUpperCase() : c.toLowerCase())).join('');
}

interface WellFormed {
  name: string;
  type: string;
  profile: Profile;
  bits: Partial<Record<FlagName, boolean>>;
  id: number;
  tcp?: boolean;
  tags?: string[];
}

function wellFormed(category: string, q: WellFormed): Omit<ConformanceQuery, 'index'> {
  const spec: QuerySpec = {
    id: q.id,
    name: q.name,
    type: typeCode(q.type),
    flags: q.bits,
    edns: q.profile.edns,
  };
  const tags = [
    `qtype:${q.type}`,
    q.profile.tag,
    ...(q.profile.tag !== 'edns:none' ? ['edns'] : []),
    q.bits.rd ? 'rd' : 'rd0',
    ...(q.bits.cd ? ['cd'] : []),
    ...(q.bits.ad ? ['ad'] : []),
    ...(q.name !== q.name.toLowerCase() && q.name.toLowerCase() !== 'mixedcase.conf.example'
      ? ['case0x20']
      : []),
    ...(TRANSACTION_TYPES.includes(q.type) ? ['meta'] : []),
    ...(q.type === 'TYPE65000' ? ['unknown-type'] : []),
    ...nameTags(q.name),
    ...(q.tags ?? []),
    q.tcp ? 'tcp' : 'udp',
  ];
  const dig = [
    'dig',
    q.name,
    q.type,
    q.bits.rd ? '+rec' : '+norec',
    ...(q.bits.cd ? ['+cdflag'] : []),
    q.bits.ad ? '+adflag' : '+noadflag',
    ...q.profile.dig,
    ...(q.tcp ? ['+tcp'] : []),
  ];
  return { category, tags, transport: q.tcp ? 'tcp' : 'udp', wire: encodeQuery(spec), text: dig.join(' ') };
}

function opcodeQuery(opcode: number, name: string, id: number): Omit<ConformanceQuery, 'index'> {
  const spec: QuerySpec = { id, name, type: TYPES.SOA, opcode, flags: { rd: true }, edns: { udp: 1232 } };
  const names = ['QUERY', 'IQUERY', 'STATUS', '', 'NOTIFY', 'UPDATE'];
  return {
    category: 'opcode',
    tags: [`opcode:${names[opcode]}`, 'udp'],
    transport: 'udp',
    wire: encodeQuery(spec),
    text: `dig ${name} SOA +opcode=${opcode} +bufsize=1232`,
  };
}

/** Queries no conforming client sends; a resolver must answer FORMERR (or drop) and never crash. */
function malformedQueries(id: () => number): Array<Omit<ConformanceQuery, 'index'>> {
  const q = (name: string) => encodeQuestion(name, TYPES.A);
  const opt = encodeOpt({ udp: 1232 });
  const rd = headerFlags({ flags: { rd: true } });
  const cases: Array<[tag: string, text: string, wire: () => Buffer]> = [
    [
      'qdcount0',
      'QDCOUNT=0, no question, EDNS',
      () => Buffer.concat([encodeHeader(id(), rd, [0, 0, 0, 1]), opt]),
    ],
    ['qdcount0-noedns', 'QDCOUNT=0, no question, no EDNS', () => encodeHeader(id(), rd, [0, 0, 0, 0])],
    [
      'qdcount2',
      'QDCOUNT=2: www.conf.example A and mail.conf.example A, EDNS',
      () =>
        Buffer.concat([
          encodeHeader(id(), rd, [2, 0, 0, 1]),
          q('www.conf.example'),
          q('mail.conf.example'),
          opt,
        ]),
    ],
    [
      'truncated-question',
      'question cut in the middle of its name',
      () => Buffer.concat([encodeHeader(id(), rd, [1, 0, 0, 0]), q('www.conf.example').subarray(0, 8)]),
    ],
    [
      'question-no-type',
      'question without QTYPE/QCLASS',
      () => Buffer.concat([encodeHeader(id(), rd, [1, 0, 0, 0]), encodeName('www.conf.example')]),
    ],
    [
      'two-opts',
      'two OPT records',
      () => Buffer.concat([encodeHeader(id(), rd, [1, 0, 0, 2]), q('www.conf.example'), opt, opt]),
    ],
    [
      'opt-non-root',
      'OPT owned by www.conf.example., not the root',
      () =>
        Buffer.concat([
          encodeHeader(id(), rd, [1, 0, 0, 1]),
          q('www.conf.example'),
          encodeOpt({ udp: 1232 }, 'www.conf.example'),
        ]),
    ],
    [
      'opt-in-answer',
      'an OPT record in the answer section',
      () => Buffer.concat([encodeHeader(id(), rd, [1, 1, 0, 0]), q('www.conf.example'), opt]),
    ],
    [
      'ancount1',
      'ANCOUNT=1 in a query (an A record)',
      () => {
        const rr = Buffer.concat([
          encodeName('www.conf.example'),
          Buffer.from([0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 9]),
        ]);
        return Buffer.concat([encodeHeader(id(), rd, [1, 1, 0, 1]), q('www.conf.example'), rr, opt]);
      },
    ],
    [
      'qr1',
      'QR=1 (a response sent as a query)',
      () => encodeQuery({ id: id(), name: 'www.conf.example', type: TYPES.A, flags: { rd: true, qr: true } }),
    ],
    [
      'opt-truncated',
      'OPT RDLENGTH past the end of the message',
      () => {
        const bad = Buffer.from(opt);
        bad.writeUInt16BE(20, bad.length - 2);
        return Buffer.concat([encodeHeader(id(), rd, [1, 0, 0, 1]), q('www.conf.example'), bad]);
      },
    ],
    [
      'trailing-garbage',
      '4 bytes of garbage after the question',
      () =>
        Buffer.concat([
          encodeHeader(id(), rd, [1, 0, 0, 0]),
          q('www.conf.example'),
          Buffer.from([1, 2, 3, 4]),
        ]),
    ],
    [
      'header-only-short',
      '11 bytes: shorter than a header',
      () => encodeHeader(id(), rd, [1, 0, 0, 0]).subarray(0, 11),
    ],
    [
      'class-chaos',
      'www.conf.example CH A (class CHAOS)',
      () =>
        Buffer.concat([
          encodeHeader(id(), rd, [1, 0, 0, 1]),
          encodeQuestion('www.conf.example', TYPES.A, 3),
          opt,
        ]),
    ],
    [
      'class-any',
      'www.conf.example ANY-class A (QCLASS 255)',
      () =>
        Buffer.concat([
          encodeHeader(id(), rd, [1, 0, 0, 1]),
          encodeQuestion('www.conf.example', TYPES.A, 255),
          opt,
        ]),
    ],
  ];
  return cases.flatMap(([tag, text, wire]) =>
    (['udp', 'tcp'] as const).map((transport) => ({
      category: 'malformed',
      tags: [`malformed:${tag}`, transport],
      transport,
      wire: wire(),
      text: `(raw) ${text}${transport === 'tcp' ? ' over TCP' : ''}`,
    })),
  );
}
