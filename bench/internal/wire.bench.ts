/**
 * Wire fast path micro-benchmarks: readQuery, prepareResponse, renderResponse + fitResponse for a
 * typical A answer, against the floor (a Buffer copy, the "trivial server" copy-and-append) and a
 * peer (dns-packet decode + encode of the same message). About 1 s per case; no network.
 *
 *   node --import @tapjs/typescript/import bench/internal/wire.bench.ts
 */
import dnsPacket from 'dns-packet';
import { prepareResponse } from '../../src/dns/prepare.js';
import { isRejection, readQuery } from '../../src/dns/query.js';
import { fitResponse, renderResponse, udpLimit } from '../../src/dns/render.js';
import type { ParsedQuery } from '../../src/dns/types.js';
import { timedRound } from './timed-round.js';

const CASE_MS = Number(process.env.BENCH_CASE_MS ?? 1000);
const BATCH = 10_000;

// A client query for www.example.com A, with and without EDNS (DO, 1232).
const qname = Buffer.from('\x03www\x07example\x03com\x00', 'latin1');
const header = (ar: number) => Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, ar]);
const optRr = Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0]);
const plainQuery = Buffer.concat([header(0), qname, Buffer.from([0, 1, 0, 1])]);
const ednsQuery = Buffer.concat([header(1), qname, Buffer.from([0, 1, 0, 1]), optRr]);

// A typical upstream answer: two A records compressed against the question, then the OPT.
const answerRr = (ip: number) =>
  Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 93, 184, 215, ip]);
const upstream = Buffer.concat([
  Buffer.from([0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 1]),
  qname,
  Buffer.from([0, 1, 0, 1]),
  answerRr(14),
  answerRr(15),
  optRr,
]);
const bounds = { minTtl: 0, maxTtl: 86400, negativeMaxTtl: 3600 };
const prepared = prepareResponse(upstream, bounds);

function parsed(msg: Buffer): ParsedQuery {
  const q = readQuery(msg);
  if (isRejection(q)) throw new Error(q.reason);
  return q;
}
const qPlain = parsed(plainQuery);
const qEdns = parsed(ednsQuery);
const render = { age: 17, udpSize: 1232 };
const fixedAnswer = answerRr(14);

let sink = 0;

const cases: [string, () => void][] = [
  [
    'Buffer.from(query) copy',
    () => {
      sink += Buffer.from(ednsQuery).length;
    },
  ],
  [
    'trivial server: copy query + append answer',
    () => {
      const out = Buffer.allocUnsafe(ednsQuery.length + fixedAnswer.length);
      ednsQuery.copy(out, 0);
      fixedAnswer.copy(out, ednsQuery.length);
      out[2] |= 0x80;
      sink += out.length;
    },
  ],
  [
    'readQuery (no EDNS)',
    () => {
      sink += (readQuery(plainQuery) as ParsedQuery).qtype;
    },
  ],
  [
    'readQuery (EDNS)',
    () => {
      sink += (readQuery(ednsQuery) as ParsedQuery).qtype;
    },
  ],
  [
    'prepareResponse (2×A + OPT)',
    () => {
      sink += prepareResponse(upstream, bounds).ttl;
    },
  ],
  [
    'renderResponse + fitResponse (no EDNS)',
    () => {
      sink += fitResponse(renderResponse(prepared, qPlain, render), qPlain, 512).length;
    },
  ],
  [
    'renderResponse + fitResponse (EDNS)',
    () => {
      sink += fitResponse(renderResponse(prepared, qEdns, render), qEdns, udpLimit(qEdns, 1232)).length;
    },
  ],
  [
    'cache-hit wire work: read+render+fit (EDNS)',
    () => {
      const q = readQuery(ednsQuery) as ParsedQuery;
      sink += fitResponse(renderResponse(prepared, q, render), q, udpLimit(q, 1232)).length;
    },
  ],
  [
    'peer: dns-packet decode+encode query',
    () => {
      sink += dnsPacket.encode(dnsPacket.decode(ednsQuery)).length;
    },
  ],
  [
    'peer: dns-packet decode+encode response',
    () => {
      sink += dnsPacket.encode(dnsPacket.decode(upstream)).length;
    },
  ],
];

// Cases are interleaved over ROUNDS rounds and the best round is kept: on a shared machine the
// minimum is the figure least disturbed by other processes.
const ROUNDS = 5;
for (const [, fn] of cases) for (let i = 0; i < BATCH * 5; i++) fn(); // JIT warm-up
const best = cases.map(() => Number.POSITIVE_INFINITY);
for (let r = 0; r < ROUNDS; r++) {
  for (const [i, [, fn]] of cases.entries())
    best[i] = Math.min(best[i], timedRound(fn, CASE_MS / ROUNDS, BATCH));
}
const rows = cases.map(([name], i) => ({ name, ns: best[i], ops: 1e9 / best[i] }));
const copy = rows[0].ns;
const trivial = rows[1].ns;
console.log(`node ${process.version}, ${CASE_MS} ms per case, best of ${ROUNDS} rounds`);
console.log(`${'case'.padEnd(46)} ${'ops/s'.padStart(12)} ${'ns/op'.padStart(8)} ${'x copy'.padStart(7)}`);
for (const r of rows) {
  console.log(
    `${r.name.padEnd(46)} ${Math.round(r.ops).toLocaleString('en-US').padStart(12)} ${r.ns.toFixed(1).padStart(8)} ${(r.ns / copy).toFixed(2).padStart(7)}`,
  );
}
const hit = rows.find((r) => r.name.startsWith('cache-hit'))!;
console.log(`cache-hit wire work / trivial server: ${(hit.ns / trivial).toFixed(2)}x the time`);
if (sink === 42) console.log('');
