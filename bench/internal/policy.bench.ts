/**
 * Per-query cost of the policy stage, with the hagezi NSFW list (93k names, real) compiled in one
 * category and the Tranco top 50k as the query mix:
 *   - baseline: the next handler called directly (what the chain costs without the stage);
 *   - lookupWire + next: the compiled lists' lookup alone, the floor of any filtering stage;
 *   - pass: a name no list blocks, the next stage's answer has no CNAME (a cache hit's shape);
 *   - pass + CNAME: same, the answer holds a CNAME whose target is looked up too;
 *   - block: a listed name, answered from the NXDOMAIN template (EDE, SOA, the client's OPT).
 * Each row also runs with a venue policy (client address in a venue network, deny/allow additions).
 * The stage rows run behind the context stage, which resolves the client's venue the stage reads.
 *
 * Run: node --import @tapjs/typescript/import bench/internal/policy.bench.ts
 * Skips (exit 0, with a message) when /work/shared/data is absent. Bounded: ~1 s per row.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import dnsPacket from 'dns-packet';
import { isRejection, readQuery } from '../../src/dns/query.js';
import { createContextStage } from '../../src/pipeline/stages/context.js';
import { createPolicyStage } from '../../src/pipeline/stages/policy.js';
import type { Answer, Handler, Query } from '../../src/pipeline/types.js';
import { createListBuilder, loadArtifact } from '../../src/policy/compiled/index.js';
import { emptyResult } from '../../src/policy/types.js';
import { createVenueResolver } from '../../src/policy/venues.js';

const DATA = fileURLToPath(new URL('../../../shared/data/', import.meta.url));
const CHUNK = 200_000;
const WARMUP = 200_000;
const ROUNDS = 7;
const ROW_BUDGET_MS = 1000;

if (!existsSync(DATA)) {
  console.log(`skipped: ${DATA} is absent`);
  process.exit(0);
}

function xzLines(path: string): string[] {
  const r = spawnSync('xz', ['-dc', path], { maxBuffer: 512 * 1024 * 1024, encoding: 'latin1' });
  if (r.status !== 0) throw new Error(`xz -dc ${path} failed: ${r.stderr}`);
  return r.stdout.split('\n');
}

// The list: `||name^` lines of the hagezi adblock NSFW list, subtree blocks in category "adult".
const builder = createListBuilder();
const adult = builder.category('adult');
const listed: string[] = [];
let line = 0;
for (const text of xzLines(`${DATA}adult/hagezi-nsfw.adblock.txt.xz`)) {
  line++;
  const m = /^\|\|([a-z0-9._-]+)\^$/.exec(text.trim());
  if (m === null) continue;
  builder.add({ name: m[1], scope: 'subtree', action: 'block', line }, adult);
  listed.push(m[1]);
}
const lists = loadArtifact(builder.finish(), 'bench');
const popular = xzLines(`${DATA}workload/tranco-top50k.2025-02.csv.xz`)
  .map((l) => l.split(',')[1]?.trim())
  .filter((n): n is string => n !== undefined && n !== '' && lists.lookup(n).blocked === 0);

function query(name: string, address: string): Query {
  const msg = dnsPacket.encode({
    type: 'query',
    id: 1,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'A', class: 'IN', name }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0 } as unknown as dnsPacket.Answer],
  });
  const q = readQuery(msg);
  if (isRejection(q)) throw new Error(q.reason);
  return Object.assign(q, {
    client: { address, port: 1, transport: 'udp' as const },
    maxSize: 1232,
    receivedAt: 0,
    // Set by the context stage in front of the policy stage.
    venue: -1,
    udpSize: 0,
  });
}

function answerFor(name: string, cname: boolean): Answer {
  const answers: dnsPacket.Answer[] = cname
    ? [
        { type: 'CNAME', name, ttl: 300, data: `edge.${popular[7]}` },
        { type: 'A', name: `edge.${popular[7]}`, ttl: 300, data: '192.0.2.1' },
      ]
    : [{ type: 'A', name, ttl: 300, data: '192.0.2.1' }];
  const wire = dnsPacket.encode({
    type: 'response',
    id: 1,
    questions: [{ type: 'A', class: 'IN', name }],
    answers,
  });
  return { wire, source: 'cache', rcode: 0 };
}

const N = 4096;
const VENUE_ADDRESS = '10.1.2.3';
const OTHER_ADDRESS = '192.168.7.7';

function queries(names: string[], address: string): Query[] {
  return Array.from({ length: N }, (_, i) => query(names[(i * 7919) % names.length], address));
}

const stageOptions = {
  lists: () => lists,
  venues: [{ name: 'cafe', networks: ['10.1.0.0/16'], policy: 'cafe' }],
  policies: {
    default: { block: 'all' as const, blockMode: 'nxdomain' as const },
    cafe: {
      block: ['adult'],
      blockMode: 'nxdomain' as const,
      allow: ['school.example', 'library.example'],
      deny: ['social.example', 'games.example'],
    },
  },
  blockTtl: 60,
  blockPage: {},
  logger: { warn: () => {} },
};

function measure(handler: Handler, qs: Query[]): number {
  let sink = 0;
  const op = (i: number) => {
    const a = handler(qs[i & (N - 1)]) as Answer;
    sink += a.rcode + a.wire.length;
  };
  for (let i = 0; i < WARMUP; i++) op(i);
  const samples: number[] = [];
  const deadline = performance.now() + ROW_BUDGET_MS;
  for (let r = 0; r < ROUNDS && (r === 0 || performance.now() < deadline); r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < CHUNK; i++) op(i);
    samples.push(Number(process.hrtime.bigint() - t0) / CHUNK);
  }
  if (sink === 0) throw new Error('nothing answered');
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1];
}

interface Row {
  label: string;
  client: string;
  ns: number;
  source: string;
}
const rows: Row[] = [];

for (const [client, address] of [
  ['no venue', OTHER_ADDRESS],
  ['venue', VENUE_ADDRESS],
] as const) {
  const passQs = queries(popular, address);
  const blockQs = queries(listed, address);
  const plainAnswers = new Map(passQs.map((q) => [q.msg, answerFor(q.name, false)]));
  const cnameAnswers = new Map(passQs.map((q) => [q.msg, answerFor(q.name, true)]));
  const plainNext: Handler = (q) => plainAnswers.get(q.msg) as Answer;
  const cnameNext: Handler = (q) => cnameAnswers.get(q.msg) as Answer;
  const policy = createPolicyStage(stageOptions);
  const context = createContextStage({ venueOf: createVenueResolver(stageOptions.venues), udpSize: 1232 });
  const stage = (next: Handler) => context(policy(next));
  const sourceOf = (h: Handler, q: Query) => (h(q) as Answer).source;
  // The lists' own lookup, so that the stage's share of a row can be told from the structure's.
  const result = emptyResult();
  const lookupOnly: Handler = (q) => {
    lists.lookupWire(q.msg, 12, result);
    return plainNext(q);
  };
  const cases: [string, Handler, Query[]][] = [
    ['baseline (next only)', plainNext, passQs],
    ['lookupWire + next (no stage)', lookupOnly, passQs],
    ['pass', stage(plainNext), passQs],
    ['pass + CNAME lookup', stage(cnameNext), passQs],
    ['block (NXDOMAIN)', stage(plainNext), blockQs],
  ];
  for (const [label, handler, qs] of cases) {
    rows.push({ label, client, ns: measure(handler, qs), source: sourceOf(handler, qs[0]) });
  }
}

console.log(`lists: ${lists.entries} names (hagezi nsfw), queries: ${N} distinct, node ${process.version}\n`);
console.log('| case | client | ns/query | answer source |');
console.log('|---|---|---:|---|');
for (const r of rows) console.log(`| ${r.label} | ${r.client} | ${r.ns.toFixed(0)} | ${r.source} |`);
