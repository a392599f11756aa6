/**
 * Seeded fuzz inputs for a DNS server: random bytes, and well-formed queries broken in the ways a parser
 * meets in the wild (bit flips, inserted and deleted bytes, truncation, lying header counts, compression
 * pointer loops, label lengths past 63, bad OPT records and EDNS options). Pure functions of the RNG: the
 * same seed gives the same packets, so a failure can be replayed. No I/O.
 */
import { rng } from '../../test/helpers/rng.js';

export interface Rand {
  /** A uint32. */
  u32(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  bytes(n: number): Buffer;
}

export function createRand(seed: number): Rand {
  const next = rng(seed);
  const rand: Rand = {
    u32: next,
    int: (n) => (n <= 0 ? 0 : next() % n),
    chance: (p) => next() / 0x1_0000_0000 < p,
    pick: (items) => items[next() % items.length],
    bytes(n) {
      const b = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) b[i] = next() & 0xff;
      return b;
    },
  };
  return rand;
}

/** Names the server knows: answered by the fake upstream, listed in the sample lists, or neither. */
const NAMES = [
  'www.example.test',
  'a.example.test',
  'nope.example.test',
  'adult.roje.test',
  'www.adult.roje.test',
  'example.com',
  'version.bind',
  '',
];
/** A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, SRV, OPT (as a question), DS, HTTPS, AXFR, ANY, 0, 65535. */
const QTYPES = [1, 2, 5, 6, 12, 15, 16, 28, 33, 41, 43, 65, 252, 255, 0, 65535];
/** IN, CH, HS, NONE, ANY, and nonsense. */
const QCLASSES = [1, 1, 1, 1, 3, 4, 254, 255, 0, 4242];
/** EDNS option codes: NSID, ECS, COOKIE, keepalive, padding, EDE, and unassigned ones. */
const OPTION_CODES = [3, 8, 10, 11, 12, 15, 0, 65001, 65535];

function nameWire(name: string): Buffer {
  const parts: Buffer[] = [];
  for (const label of name.split('.')) {
    if (label === '') continue;
    parts.push(Buffer.from([label.length]), Buffer.from(label, 'latin1'));
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

function randomName(rand: Rand): Buffer {
  const labels = 1 + rand.int(5);
  const parts: Buffer[] = [];
  for (let i = 0; i < labels; i++) {
    const len = 1 + rand.int(rand.chance(0.1) ? 63 : 12);
    parts.push(Buffer.from([len]), rand.bytes(len));
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n & 0xffff, 0);
  return b;
}

/** An OPT record, well-formed or not: the options may be garbage with lengths that lie. */
function optRecord(rand: Rand, broken: boolean): Buffer {
  const options: Buffer[] = [];
  const count = rand.int(broken ? 4 : 2);
  for (let i = 0; i < count; i++) {
    const code = rand.pick(OPTION_CODES);
    const data = rand.bytes(rand.int(code === 12 ? 200 : 24));
    const claimed = broken && rand.chance(0.5) ? rand.int(0x10000) : data.length;
    options.push(u16(code), u16(claimed), data);
  }
  const rdata = Buffer.concat(options);
  const rdlen = broken && rand.chance(0.4) ? rand.int(0x10000) : rdata.length;
  return Buffer.concat([
    broken && rand.chance(0.2) ? nameWire('x.example.test') : Buffer.from([0]),
    u16(41),
    u16(broken && rand.chance(0.3) ? rand.int(0x10000) : rand.pick([512, 1232, 4096])),
    // extended rcode, version (non-zero means BADVERS), DO bit and the rest of the flags
    Buffer.from([broken ? rand.int(256) : 0, broken && rand.chance(0.3) ? rand.int(256) : 0]),
    u16(broken ? rand.u32() : rand.chance(0.3) ? 0x8000 : 0),
    u16(rdlen),
    rdata,
  ]);
}

/** A query as a stub resolver sends it (RD, one question, sometimes an OPT record). */
export function validQuery(rand: Rand): Buffer {
  const name = rand.chance(0.6) ? nameWire(rand.pick(NAMES)) : randomName(rand);
  const opt = rand.chance(0.6);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(rand.int(0x10000), 0);
  header.writeUInt16BE(0x0100 | (rand.chance(0.1) ? 0x0010 : 0), 2); // RD, sometimes CD
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(opt ? 1 : 0, 10);
  const question = Buffer.concat([name, u16(rand.pick(QTYPES)), u16(rand.pick(QCLASSES))]);
  return Buffer.concat(opt ? [header, question, optRecord(rand, false)] : [header, question]);
}

type Mutation = (p: Buffer, rand: Rand) => Buffer;

const MUTATIONS: Record<string, Mutation> = {
  bitFlips(p, rand) {
    const out = Buffer.from(p);
    const flips = 1 + rand.int(8);
    for (let i = 0; i < flips && out.length > 0; i++) out[rand.int(out.length)] ^= 1 << rand.int(8);
    return out;
  },
  insertBytes(p, rand) {
    const at = rand.int(p.length + 1);
    return Buffer.concat([p.subarray(0, at), rand.bytes(1 + rand.int(16)), p.subarray(at)]);
  },
  deleteBytes(p, rand) {
    const at = rand.int(p.length + 1);
    return Buffer.concat([p.subarray(0, at), p.subarray(at + 1 + rand.int(16))]);
  },
  truncate(p, rand) {
    return Buffer.from(p.subarray(0, rand.int(p.length + 1)));
  },
  headerCounts(p, rand) {
    const out = Buffer.from(p);
    if (out.length < 12) return out;
    const field = 4 + 2 * rand.int(4);
    out.writeUInt16BE(rand.chance(0.5) ? rand.int(4) : rand.int(0x10000), field);
    return out;
  },
  headerFlags(p, rand) {
    const out = Buffer.from(p);
    if (out.length < 4) return out;
    // Random flags, or a chosen opcode (QUERY, IQUERY, STATUS, NOTIFY, UPDATE, unassigned) with QR sometimes set.
    const flags = rand.chance(0.5)
      ? rand.int(0x10000)
      : (rand.pick([0, 1, 2, 4, 5, 9, 15]) << 11) | (rand.chance(0.2) ? 0x8000 : 0) | 0x0100;
    out.writeUInt16BE(flags, 2);
    return out;
  },
  pointerLoop(p, rand) {
    // The question name replaced by a pointer to itself, two pointers to each other, or a pointer past the end.
    const tail = p.length > 12 ? p.subarray(12 + rand.int(Math.min(p.length - 12, 20))) : Buffer.alloc(4);
    const kind = rand.int(3);
    const name =
      kind === 0
        ? Buffer.from([0xc0, 12])
        : kind === 1
          ? Buffer.from([1, 0x61, 0xc0, 14, 0xc0, 12])
          : Buffer.from([0xc0 | rand.int(64), rand.int(256)]);
    return Buffer.concat([p.subarray(0, Math.min(12, p.length)), name, tail]);
  },
  hugeLabel(p, rand) {
    // Label lengths 64..255: reserved label types (0x40, 0x80) and overlong labels.
    const out = Buffer.from(p);
    if (out.length <= 12) return Buffer.concat([out, Buffer.from([64 + rand.int(192)])]);
    out[12 + rand.int(Math.min(out.length - 12, 30))] = 64 + rand.int(192);
    return out;
  },
  badOpt(p, rand) {
    const out = Buffer.concat([
      p,
      optRecord(rand, true),
      ...(rand.chance(0.2) ? [optRecord(rand, true)] : []),
    ]);
    if (out.length >= 12)
      out.writeUInt16BE(rand.chance(0.8) ? (out.readUInt16BE(10) + 1) & 0xffff : rand.int(4), 10);
    return out;
  },
  longName(p, rand) {
    // Names past 255 octets: many labels of 63.
    const labels: Buffer[] = [];
    const n = 4 + rand.int(6);
    for (let i = 0; i < n; i++) labels.push(Buffer.from([63]), Buffer.alloc(63, 0x61 + rand.int(26)));
    return Buffer.concat([p.subarray(0, Math.min(12, p.length)), ...labels, Buffer.from([0, 0, 1, 0, 1])]);
  },
};
const MUTATION_NAMES = Object.keys(MUTATIONS);

/** A valid query broken by one to three mutations. */
export function mutatedQuery(rand: Rand): Buffer {
  let p = validQuery(rand);
  const rounds = 1 + rand.int(3);
  for (let i = 0; i < rounds; i++) p = MUTATIONS[rand.pick(MUTATION_NAMES)](p, rand);
  return p;
}

/** 0..600 random bytes. */
export function randomPacket(rand: Rand): Buffer {
  return rand.bytes(rand.int(601));
}

/** One fuzz message: 20 % random bytes, 70 % mutated queries, 10 % valid queries (they keep the cache busy). */
export function fuzzMessage(rand: Rand): Buffer {
  const r = rand.int(10);
  if (r < 2) return randomPacket(rand);
  if (r < 9) return mutatedQuery(rand);
  return validQuery(rand);
}

export function frame(msg: Buffer): Buffer {
  return Buffer.concat([u16(msg.length), msg]);
}

/** How a fuzz TCP connection misbehaves. */
export type TcpPlan =
  | { kind: 'pipelined'; frames: Buffer[] }
  | { kind: 'lyingLength'; bytes: Buffer }
  | { kind: 'partial'; bytes: Buffer }
  | { kind: 'trickle'; bytes: Buffer }
  | { kind: 'abrupt'; bytes: Buffer; reset: boolean };

/** A TCP connection's worth of input; `frames` counts the DNS messages in it. */
export function tcpPlan(rand: Rand): { plan: TcpPlan; frames: number; bytes: Buffer } {
  const r = rand.int(5);
  if (r === 0 || r === 1) {
    const frames = Array.from({ length: 1 + rand.int(r === 0 ? 120 : 10) }, () => frame(fuzzMessage(rand)));
    return { plan: { kind: 'pipelined', frames }, frames: frames.length, bytes: Buffer.concat(frames) };
  }
  if (r === 2) {
    // A length prefix that lies: longer than what follows (the server waits), or shorter (it loses sync).
    const msg = fuzzMessage(rand);
    const claimed = rand.chance(0.5) ? msg.length + 1 + rand.int(2000) : rand.int(Math.max(msg.length, 1));
    const bytes = Buffer.concat([u16(claimed), msg, ...(rand.chance(0.5) ? [frame(validQuery(rand))] : [])]);
    return { plan: { kind: 'lyingLength', bytes }, frames: 1, bytes };
  }
  if (r === 3) {
    // Half a frame, or a single byte of the length, then silence and a close.
    const f = frame(fuzzMessage(rand));
    const bytes = f.subarray(0, rand.chance(0.3) ? 1 : rand.int(f.length));
    return { plan: { kind: 'partial', bytes }, frames: 1, bytes };
  }
  const frames = Array.from({ length: 1 + rand.int(4) }, () => frame(fuzzMessage(rand)));
  const bytes = Buffer.concat(frames);
  return rand.chance(0.5)
    ? { plan: { kind: 'trickle', bytes }, frames: frames.length, bytes }
    : { plan: { kind: 'abrupt', bytes, reset: rand.chance(0.5) }, frames: frames.length, bytes };
}
