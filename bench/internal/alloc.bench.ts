/**
 * Bytes allocated and time per query on the hot paths (issue #21): the query path built as the server
 * builds it (createQueryPath: the whole chain, the responder, metrics and statistics listening to each
 * answer), called with real query wire for
 *   - cache hit: a name answered once by a loopback fake upstream, then from the cache;
 *   - blocked:   a name of a compiled list, answered from the block mode's template (EDE, SOA, OPT);
 *   - bypass:    Firefox's canary use-application-dns.net, answered NXDOMAIN by the bypass stage;
 * and the UDP transport: the listener's message handler (udp.ts onMessage and its reply, with a
 * responder that returns a constant answer) against a trivial dgram server's (on message -> send), both
 * with send() short-circuited: what udp.ts adds per datagram over what Node's dgram costs anyway.
 *
 * How bytes are counted (Node 20's v8.getHeapStatistics() has no total_allocated_bytes): V8 allocates
 * linearly in the young generation, so between two collections used_heap_size grows by exactly what was
 * allocated. The process is re-run with a young generation large enough for a whole window
 * (--min/--max-semi-space-size); each window starts after a forced full GC, runs N queries, and reads
 * used_heap_size again; a v8.GCProfiler around the window proves that no collection ran in it (a window
 * that saw one is run again with N halved). The same empty window (the loop without a call) is
 * subtracted. Buffer memory outside the heap (the 8 KiB pool Buffer.allocUnsafe slices from) is counted
 * from process.memoryUsage().arrayBuffers the same way. Time: separate rounds with the collector on,
 * median of rounds, so the time a query's garbage costs the collector is in it.
 *
 * Run: node --expose-gc --import @tapjs/typescript/import bench/internal/alloc.bench.ts
 * Traffic: loopback only (a fake upstream on 127.0.0.1). Bounded: fixed counts, ~20 s in all.
 */
import { spawnSync } from 'node:child_process';
import { createSocket, type RemoteInfo, Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import dnsPacket from 'dns-packet';
import pino from 'pino';
import { validateConfig } from '../../src/config/load.js';
import { createQueryPath } from '../../src/dataplane/query-path.js';
import type { RojeMetrics } from '../../src/metrics/metrics.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import type { ClientInfo } from '../../src/pipeline/types.js';
import { createListBuilder, loadArtifact } from '../../src/policy/compiled/index.js';
import type { CompiledLists } from '../../src/policy/types.js';
import { createUdpListener } from '../../src/transport/udp.js';
import { startFakeUpstream } from '../../test/helpers/fake-upstream.js';

const SEMI_SPACE_MB = 256;
const WINDOW = 100_000;
const WINDOWS = 3;
const TIME_ROUND = 200_000;
const TIME_ROUNDS = 5;
const WARMUP = 100_000;

// Re-run with the young generation this method needs, unless this is that run.
if (!process.execArgv.some((a) => a.startsWith('--max-semi-space-size'))) {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(
    process.execPath,
    [
      '--expose-gc',
      `--max-semi-space-size=${SEMI_SPACE_MB}`,
      `--min-semi-space-size=${SEMI_SPACE_MB}`,
      '--import',
      '@tapjs/typescript/import',
      self,
      ...process.argv.slice(2),
    ],
    { stdio: 'inherit' },
  );
  process.exit(r.status ?? 1);
}

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');

function queryWire(name: string, id = 0x4242): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'A', class: 'IN', name }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0 } as unknown as dnsPacket.Answer],
  });
}

interface Window {
  heap: number;
  buffers: number;
  n: number;
}

/** One window without a collection: bytes allocated on the heap and in ArrayBuffers by n calls. */
function window(call: () => unknown, n: number): Window {
  for (;;) {
    gc?.();
    gc?.();
    const profiler = new v8.GCProfiler();
    const buffers0 = process.memoryUsage().arrayBuffers;
    profiler.start();
    const heap0 = v8.getHeapStatistics().used_heap_size;
    for (let i = 0; i < n; i++) call();
    const heap1 = v8.getHeapStatistics().used_heap_size;
    const gcs = profiler.stop().statistics.length;
    const buffers1 = process.memoryUsage().arrayBuffers;
    if (gcs === 0) return { heap: heap1 - heap0, buffers: buffers1 - buffers0, n };
    if (n <= 1000) throw new Error('a collection ran in every window; raise SEMI_SPACE_MB');
    n = n >> 1;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

const empty = (): void => {};
let emptyHeap = 0;
let emptyBuffers = 0;

function bytesPerCall(call: () => unknown): { heap: number; buffers: number } {
  const heaps: number[] = [];
  const buffers: number[] = [];
  for (let w = 0; w < WINDOWS; w++) {
    const r = window(call, WINDOW);
    heaps.push(r.heap / r.n);
    buffers.push(r.buffers / r.n);
  }
  return { heap: median(heaps) - emptyHeap, buffers: median(buffers) - emptyBuffers };
}

function nsPerCall(call: () => unknown): number {
  const rounds: number[] = [];
  for (let r = 0; r < TIME_ROUNDS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < TIME_ROUND; i++) call();
    rounds.push(((performance.now() - t0) * 1e6) / TIME_ROUND);
  }
  return median(rounds);
}

const NOERROR = 0;
const NXDOMAIN = 3;

/** Throws unless `out` is a synchronous answer with `rcode` and no TC bit (not a rate-limited slip). */
function expectAnswer(out: unknown, rcode: number, label: string): void {
  if (!(out instanceof Uint8Array) || (out[3] & 0x0f) !== rcode || (out[2] & 0x02) !== 0)
    throw new Error(`${label}: not answered synchronously with RCODE ${rcode}`);
}

const rows: string[][] = [];
function row(label: string, call: () => unknown, rcode?: number): void {
  const { heap, buffers } = bytesPerCall(call);
  const ns = nsPerCall(call);
  // Still the answer measured, after every round: not a rate-limited one, not an error.
  if (rcode !== undefined) expectAnswer(call(), rcode, label);
  rows.push([label, heap.toFixed(1), buffers.toFixed(1), ns.toFixed(0)]);
  console.log(
    `${label.padEnd(44)} ${heap.toFixed(1).padStart(8)} B heap ` +
      `${buffers.toFixed(1).padStart(7)} B buffers ${ns.toFixed(0).padStart(6)} ns`,
  );
}

// --- the query path, as the server wires it ----------------------------------------------------------

const upstream = await startFakeUpstream({ apexes: ['example.test'] });
upstream.zone.set('cached.example.test', 'A', [{ data: '192.0.2.1', ttl: 86400 }]);

const builder = createListBuilder();
const adult = builder.category('adult');
builder.add({ name: 'blocked.example.test', scope: 'subtree', action: 'block', line: 1 }, adult);
const lists: CompiledLists = loadArtifact(builder.finish(), 'bench');

/** The server's defaults (statistics on, per-query logs off), a loopback upstream and the list above. */
async function buildPath() {
  const config = await validateConfig(
    {
      upstreams: [`udp://${upstream.host}:${upstream.port}`],
    },
    'bench/internal/alloc.bench.ts',
    {},
  );
  const metrics: RojeMetrics = createMetrics(
    {
      cache: () => path.chain().cache.stats(),
      upstreams: () => path.chain().pool.health(),
      listSources: () => [],
      listRefreshes: () => [],
      serving: () => true,
      abuse: () => ({}) as never,
      selfTest: () => null,
    },
    { categories: lists.categories, venues: [] },
  );
  const path = createQueryPath({
    config,
    logger: pino({ level: 'silent' }),
    metrics,
    lists: { lists: () => lists, ready: () => true, facts: () => ({}) as never },
  });
  path.refresh();
  // The statistics store hands its salt over once it is open: from then on blocked names are sketched.
  path.recorder?.useSalt(new Uint8Array(16).fill(7));
  return path;
}

// 1024 clients in turn, each well under the rate limit (1,000/s by default), as the UDP listener passes
// them: it sends a synchronous answer before it reads the next datagram (sendsAtOnce).
const CLIENTS: ClientInfo[] = Array.from({ length: 1024 }, (_, i) => ({
  address: `127.0.${i >> 8}.${i & 255}`,
  port: 40000,
  transport: 'udp',
  sendsAtOnce: true,
}));
let turn = 0;
const next = (): ClientInfo => CLIENTS[turn++ & 1023];
const client = CLIENTS[0];
const cachedQ = queryWire('cached.example.test');
const blockedQ = queryWire('www.blocked.example.test');
const bypassQ = queryWire('use-application-dns.net');

{
  const path = await buildPath();
  const responder = path.responder;
  const primed = await responder(cachedQ, client);
  const again = responder(cachedQ, client);
  if (primed === null || again === null || again instanceof Promise)
    throw new Error('the cache was not primed: the second query did not answer synchronously');
  expectAnswer(responder(blockedQ, client), NXDOMAIN, 'blocked');
  expectAnswer(responder(bypassQ, client), NXDOMAIN, 'bypass');
  // Every path warmed before any is measured, so that no row pays for another's optimisation.
  for (let i = 0; i < WARMUP; i++) {
    responder(cachedQ, next());
    responder(blockedQ, next());
    responder(bypassQ, next());
    empty();
  }
  const e = bytesPerCall(empty);
  emptyHeap = e.heap;
  emptyBuffers = e.buffers;
  row('responder: cache hit', () => responder(cachedQ, next()), NOERROR);
  row('responder: blocked', () => responder(blockedQ, next()), NXDOMAIN);
  row('responder: bypass', () => responder(bypassQ, next()), NXDOMAIN);
  await path.chain().pool.close();
  path.recorder?.close();
}

// --- the UDP transport: its message handler against a trivial one, sends short-circuited ------------

const REPLY = Buffer.from(queryWire('reply.example.test'));
REPLY[2] |= 0x80;
type OnMessage = (msg: Buffer, rinfo: RemoteInfo) => void;

/**
 * The 'message' listener `listen` puts on its socket, with the socket's send() made a no-op: calling it
 * directly measures the listener's own work per datagram, without what Node's receive and send cost
 * (the Buffer and rinfo of each datagram, dgram's send request: the same for every server).
 */
async function messageHandler(listen: () => Promise<() => Promise<void>>) {
  let socket: Socket | null = null;
  let handler: OnMessage | null = null;
  const on = Socket.prototype.on;
  Socket.prototype.on = function (this: Socket, event: string, fn: OnMessage) {
    if (event === 'message') {
      socket = this;
      handler = fn;
    }
    return on.call(this, event as 'message', fn);
  } as typeof on;
  const close = await listen();
  Socket.prototype.on = on;
  if (socket === null || handler === null) throw new Error('no message listener seen');
  (socket as Socket).send = (() => {}) as Socket['send'];
  return { handler: handler as OnMessage, close };
}

const trivial = await messageHandler(async () => {
  const s = createSocket({ type: 'udp4', lookup: (host, _o, cb) => cb(null, host, 4) });
  s.on('message', (_msg, rinfo) => s.send(REPLY, rinfo.port, rinfo.address));
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  return () => new Promise((resolve) => s.close(() => resolve()));
});
const rojeUdp = await messageHandler(async () => {
  // Keeps the client for the call, as the real responder does (on the query): else V8 would see that
  // the listener's ClientInfo never escapes and drop its allocation, which the real chain cannot.
  const l = await createUdpListener({ host: '127.0.0.1', port: 0 }, (_msg, client) => keep(client), {
    logger: pino({ level: 'silent' }),
  });
  return () => l.close();
});
let kept: unknown = null;
function keep(client: ClientInfo): Buffer {
  kept = client;
  return REPLY;
}
const rinfo: RemoteInfo = { address: '127.0.0.1', family: 'IPv4', port: 40000, size: cachedQ.length };
for (let i = 0; i < WARMUP; i++) {
  trivial.handler(cachedQ, rinfo);
  rojeUdp.handler(cachedQ, rinfo);
}
row('udp: trivial dgram message handler', () => trivial.handler(cachedQ, rinfo));
row('udp: roje listener message handler', () => rojeUdp.handler(cachedQ, rinfo));
await trivial.close();
await rojeUdp.close();
if (kept === null) throw new Error('the listener never called its responder');

await upstream.close();
console.log('\n| path | heap B/query | buffer B/query | ns/query |\n|---|--:|--:|--:|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
