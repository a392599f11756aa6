/**
 * The primary side of `workers`: starts one query loop per worker (threads with SO_REUSEPORT, or cluster
 * processes sharing the listening sockets through the primary), hands each the config and the lists,
 * collects their statistics and metrics, and replaces one that dies while the others go on answering.
 */
import cluster, { type Worker as ClusterWorker } from 'node:cluster';
import { createSocket } from 'node:dgram';
import { createServer, isIPv6 } from 'node:net';
import { Worker as ThreadWorker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { DnsCacheStats } from '../cache/dns-cache.js';
import type { RojeConfig } from '../config/schema.js';
import { mergeUpstreamHealth } from '../dataplane/upstream-health.js';
import { RojeError } from '../errors.js';
import type { WorkerMetrics } from '../metrics/metrics.js';
import type { ClientInfo } from '../pipeline/types.js';
import type { HourCounts } from '../stats/recorder.js';
import type { BoundAddress, ListenAddress } from '../transport/types.js';
import type { UpstreamHealth } from '../upstream/types.js';
import { redactUpstreamUrl } from '../upstream/url.js';
import type {
  FromWorker,
  ListsMessage,
  StateMessage,
  ToWorker,
  WorkerInit,
  WorkerReport,
} from './protocol.js';

export interface WorkerPoolOptions {
  count: number;
  mode: 'threads' | 'processes';
  logger: Logger;
  /** The lists to hand a (new) worker: the current ones. */
  lists: () => ListsMessage;
  /** The latest facts for the CH TXT strings. */
  state: () => StateMessage;
  /** The statistics salt, once the store is open. */
  salt: () => Uint8Array | null;
  /** Statistics deltas from a worker, to be merged into the store. */
  onCounts: (counts: HourCounts[]) => void;
}

export interface WorkerPoolStatus {
  mode: 'threads' | 'processes';
  configured: number;
  running: number;
  restarts: number;
  /** id: the thread id, or the process id in process mode; queries: messages the loop has received. */
  workers: Array<{
    index: number;
    id: number;
    state: 'starting' | 'running' | 'stopping';
    queries: number;
    cacheEntries: number;
  }>;
}

export interface WorkerPool {
  /** Starts every worker on `config.listen`; resolves with the bound addresses once all answer. */
  start(config: RojeConfig): Promise<BoundAddress[]>;
  addresses(): BoundAddress[];
  broadcast(message: ToWorker): void;
  /** New config for every loop (listen addresses and worker count stay until a restart). */
  reload(config: RojeConfig): void;
  /** Every running loop's metrics; a loop that does not answer in time is left out of this scrape. */
  metrics(): Promise<WorkerMetrics[]>;
  /**
   * One message answered by a running loop's chain as if `client` had sent it (the self-test); null when
   * no loop runs, none answers within `timeoutMs`, or the answer is dropped.
   */
  exchange(query: Buffer, client: ClientInfo, timeoutMs: number): Promise<Buffer | null>;
  /** The loops' caches summed, from their last reports. */
  cacheStats(): DnsCacheStats;
  /** The upstreams as the loops see them, from their last reports (mergeUpstreamHealth). */
  upstreamHealth(): UpstreamHealth[];
  status(): WorkerPoolStatus;
  stop(): Promise<void>;
}

/** A worker, thread or process, behind one small interface. */
interface Handle {
  id: number;
  send(message: ToWorker): void;
  onMessage(f: (message: FromWorker) => void): void;
  onExit(f: (how: string) => void): void;
  kill(): void;
}

interface Slot {
  index: number;
  handle: Handle;
  state: 'starting' | 'running' | 'stopping';
  startedAt: number;
  last: WorkerReport | null;
}

const METRICS_TIMEOUT_MS = 2000;
/** A loop that dies sooner than this after starting is restarted after a growing delay (crash loop). */
const STABLE_MS = 10_000;
const MAX_BACKOFF_MS = 30_000;

// The entry beside this module, with its extension: worker-main.js from dist/, worker-main.ts under a
// TypeScript loader (tests), which threads and cluster processes inherit through execArgv.
const ENTRY = new URL(
  `./worker-main${import.meta.url.slice(import.meta.url.lastIndexOf('.'))}`,
  import.meta.url,
);

export function createWorkerPool(options: WorkerPoolOptions): WorkerPool {
  const { count, mode, logger } = options;
  const log = logger.child({ module: 'workers' });
  const slots: Array<Slot | undefined> = new Array(count);
  let config: RojeConfig;
  let bound: BoundAddress[] = [];
  let restarts = 0;
  let stopping = false;
  let nextMetricsId = 1;
  const backoff = new Array<number>(count).fill(0);
  const pendingMetrics = new Map<number, (m: WorkerMetrics) => void>();
  const exchanges = loopExchanges(() => running());

  /** Starts the loop of `index`; resolves with its addresses once it listens, rejects if it dies first. */
  function startLoop(index: number, listen: ListenAddress[]): Promise<BoundAddress[]> {
    const init: WorkerInit = {
      type: 'init',
      index,
      shares: count,
      config,
      listen,
      reusePort: mode === 'threads',
      processMetrics: mode === 'processes',
    };
    const handle = spawn(mode, init, log);
    const slot: Slot = { index, handle, state: 'starting', startedAt: Date.now(), last: null };
    slots[index] = slot;
    return new Promise<BoundAddress[]>((resolve, reject) => {
      let settled = false;
      handle.onMessage((message) =>
        onLoopMessage(slot, message, {
          log,
          onCounts: options.onCounts,
          pendingMetrics,
          pendingExchanges: exchanges.pending,
          listening(addresses) {
            slot.state = 'running';
            settled = true;
            resolve(addresses);
          },
          fatal(err) {
            if (settled) return;
            settled = true;
            reject(err);
          },
        }),
      );
      handle.onExit((how) => {
        if (slots[index] === slot) slots[index] = undefined;
        if (!settled) {
          settled = true;
          reject(
            new RojeError('ROJE_ERR_WORKER_FAILED', `query loop ${index} ended before answering (${how})`),
          );
          return;
        }
        if (stopping || slot.state === 'stopping') return;
        replace(index, slot, how);
      });
      // The lists first: a loop binds only once it can filter.
      handle.send(options.lists());
      handle.send(options.state());
      const salt = options.salt();
      if (salt !== null) handle.send({ type: 'salt', salt });
    });
  }

  /** A loop died: the others go on answering; a new one takes its place on the same addresses. */
  function replace(index: number, dead: Slot, how: string): void {
    restarts++;
    const lived = Date.now() - dead.startedAt;
    backoff[index] =
      lived >= STABLE_MS ? 0 : Math.min(MAX_BACKOFF_MS, Math.max(500, (backoff[index] ?? 0) * 2));
    log.error(
      { worker: index, id: dead.handle.id, how, restartInMs: backoff[index] },
      'query loop died: replacing it',
    );
    const timer = setTimeout(() => {
      if (stopping) return;
      startLoop(index, concrete()).then(
        () => log.info({ worker: index, id: slots[index]?.handle.id }, 'query loop replaced'),
        (err: unknown) =>
          log.error({ worker: index, err: (err as Error).message }, 'query loop replacement failed'),
      );
    }, backoff[index]);
    timer.unref();
  }

  /** The listen addresses for loops after the first: port 0 becomes the port worker 0 got. */
  function concrete(): ListenAddress[] {
    return config.listen.map((a, i) => ({ ...a, port: bound[i]?.port ?? a.port }));
  }

  function running(): Slot[] {
    return slots.filter((s): s is Slot => s !== undefined && s.state === 'running');
  }

  return {
    async start(initial) {
      config = initial;
      try {
        // Cluster processes share the socket the primary holds for an address as written; with port 0
        // a loop started after every other one died would get a new port. Pick the port first.
        const first =
          mode === 'processes' ? await Promise.all(config.listen.map(withFreePort)) : config.listen;
        bound = await startLoop(0, first);
        await Promise.all(Array.from({ length: count - 1 }, (_, i) => startLoop(i + 1, concrete())));
      } catch (err) {
        await this.stop();
        throw err;
      }
      log.info({ mode, workers: count, ids: running().map((s) => s.handle.id) }, 'query loops started');
      return bound;
    },

    addresses: () => bound,

    broadcast(message) {
      for (const s of slots) if (s !== undefined && s.state !== 'stopping') s.handle.send(message);
    },

    reload(next) {
      config = next;
      this.broadcast({ type: 'config', config: next });
    },

    metrics: () => Promise.all(running().map((s) => askMetrics(s, () => nextMetricsId++, pendingMetrics))),
    exchange: exchanges.ask,

    cacheStats: () => sumCacheStats(running().map((s) => s.last?.cache)),

    upstreamHealth() {
      const urls = config.upstreams.map((u) => redactUpstreamUrl(u.url));
      return mergeUpstreamHealth(
        urls,
        running().map((s) => s.last?.upstreams ?? []),
      );
    },

    status: () => poolStatus(mode, count, restarts, slots),

    async stop() {
      stopping = true;
      // Each loop drains its in-flight answers and sends its last statistics, then is ended.
      const grace = (config?.shutdown.drainTimeoutMs ?? 5000) + 2000;
      await Promise.all(slots.filter((s): s is Slot => s !== undefined).map((s) => stopLoop(s, grace)));
      slots.fill(undefined);
    },
  };
}

/** Port 0 replaced by a port free for both UDP and TCP on that host (bound and released here). */
async function withFreePort(address: ListenAddress): Promise<ListenAddress> {
  if (address.port !== 0) return address;
  for (let attempt = 0; attempt < 10; attempt++) {
    const udp = createSocket(isIPv6(address.host) ? 'udp6' : 'udp4');
    const port = await new Promise<number>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(0, address.host, () => resolve(udp.address().port));
    });
    const tcp = createServer();
    const free = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => resolve(false));
      tcp.listen(port, address.host, () => resolve(true));
    });
    await new Promise<void>((resolve) => udp.close(() => resolve()));
    if (free) await new Promise<void>((resolve) => tcp.close(() => resolve()));
    if (free) return { ...address, port };
  }
  throw new RojeError('ROJE_ERR_WORKER_FAILED', `no free port on ${address.host} for both UDP and TCP`);
}

/** A query loop as a thread or a cluster process, behind one small interface. */
function spawn(mode: 'threads' | 'processes', init: WorkerInit, log: Logger): Handle {
  if (mode === 'threads') {
    const w = new ThreadWorker(ENTRY, { workerData: init });
    return {
      id: w.threadId,
      send: (m) => w.postMessage(m),
      onMessage: (f) => w.on('message', f),
      onExit: (f) => {
        w.on('error', (err) => log.error({ err, worker: init.index }, 'query loop crashed'));
        w.on('exit', (code) => f(`exit code ${code}`));
      },
      kill: () => void w.terminate(),
    };
  }
  cluster.setupPrimary({ exec: ENTRY.pathname, args: [], serialization: 'advanced' });
  const w: ClusterWorker = cluster.fork();
  // Messages wait for the worker's hello: IPC sent before it listens would be lost.
  const queued: ToWorker[] = [init];
  let ready = false;
  w.on('message', (m: FromWorker) => {
    if (m.type !== 'hello' || ready) return;
    ready = true;
    for (const q of queued.splice(0)) w.send(q);
  });
  return {
    id: w.process.pid ?? -1,
    send: (m) => {
      if (!ready) queued.push(m);
      else if (w.isConnected()) w.send(m);
    },
    onMessage: (f) => w.on('message', f),
    onExit: (f) =>
      w.on('exit', (code, signal) => f(signal !== null ? `signal ${signal}` : `exit code ${code}`)),
    kill: () => w.process.kill('SIGKILL'),
  };
}

/** The loops' caches, summed from their last reports. */
function sumCacheStats(loops: ReadonlyArray<DnsCacheStats | undefined>): DnsCacheStats {
  const sum: DnsCacheStats = {
    entries: 0,
    bytes: 0,
    hits: 0,
    misses: 0,
    staleHits: 0,
    inserts: 0,
    evictions: 0,
  };
  for (const c of loops) {
    if (c === undefined) continue;
    for (const k of Object.keys(sum) as Array<keyof DnsCacheStats>) sum[k] += c[k];
  }
  return sum;
}

/** One loop's metrics; a loop that does not answer in time gives none for this scrape. */
function askMetrics(
  slot: Slot,
  nextId: () => number,
  pending: Map<number, (m: WorkerMetrics) => void>,
): Promise<WorkerMetrics> {
  return new Promise<WorkerMetrics>((resolve) => {
    const id = nextId();
    const timer = setTimeout(() => {
      pending.delete(id);
      resolve([]);
    }, METRICS_TIMEOUT_MS);
    pending.set(id, (m) => {
      clearTimeout(timer);
      pending.delete(id);
      resolve(m);
    });
    slot.handle.send({ type: 'metrics', id });
  });
}

/** The self-test's messages to the loops, turn by turn (each loop's chain is exercised in time). */
function loopExchanges(running: () => Slot[]) {
  const pending = new Map<number, (answer: Uint8Array | null) => void>();
  let nextId = 1;
  let nextLoop = 0;
  return {
    pending,
    ask(query: Buffer, client: ClientInfo, timeoutMs: number): Promise<Buffer | null> {
      const loops = running();
      if (loops.length === 0) return Promise.resolve(null);
      const slot = loops[nextLoop++ % loops.length] as Slot;
      return askExchange(slot, nextId++, pending, { query, client, timeoutMs });
    },
  };
}

/** One message answered by a loop's chain; null when it does not answer within `timeoutMs`. */
function askExchange(
  slot: Slot,
  id: number,
  pending: Map<number, (answer: Uint8Array | null) => void>,
  ask: { query: Buffer; client: ClientInfo; timeoutMs: number },
): Promise<Buffer | null> {
  return new Promise<Buffer | null>((resolve) => {
    const timer = setTimeout(() => {
      pending.delete(id);
      resolve(null);
    }, ask.timeoutMs);
    pending.set(id, (answer) => {
      clearTimeout(timer);
      pending.delete(id);
      resolve(answer === null ? null : Buffer.from(answer.buffer, answer.byteOffset, answer.byteLength));
    });
    slot.handle.send({ type: 'exchange', id, query: ask.query, client: ask.client });
  });
}

/** Asks a loop to stop (it drains and reports), and ends it if it has not after `graceMs`. */
function stopLoop(slot: Slot, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    slot.state = 'stopping';
    const timer = setTimeout(() => {
      slot.handle.kill();
      resolve();
    }, graceMs);
    slot.handle.onExit(() => {
      clearTimeout(timer);
      resolve();
    });
    slot.handle.send({ type: 'stop' });
  });
}

interface LoopEvents {
  log: Logger;
  onCounts: (counts: HourCounts[]) => void;
  pendingMetrics: Map<number, (m: WorkerMetrics) => void>;
  pendingExchanges: Map<number, (answer: Uint8Array | null) => void>;
  listening(addresses: BoundAddress[]): void;
  /** The loop failed; rejects its start if it had not started yet. */
  fatal(err: RojeError): void;
}

/** What a loop says: it listens, reports, answers a metrics request, failed, or stopped. */
function onLoopMessage(slot: Slot, message: FromWorker, on: LoopEvents): void {
  switch (message.type) {
    case 'listening':
      on.listening(message.addresses);
      return;
    case 'report':
      slot.last = message;
      if (message.counts.length > 0) on.onCounts(message.counts);
      return;
    case 'metrics':
      on.pendingMetrics.get(message.id)?.(message.metrics);
      return;
    case 'exchanged':
      on.pendingExchanges.get(message.id)?.(message.answer);
      return;
    case 'fatal':
      on.log.error({ worker: slot.index, err: message.message, code: message.code }, 'query loop failed');
      on.fatal(new RojeError('ROJE_ERR_WORKER_FAILED', `query loop ${slot.index}: ${message.message}`));
      slot.handle.kill();
      return;
    case 'stopped':
      slot.handle.kill();
      return;
    case 'lists-loaded':
    case 'hello':
      return;
  }
}

function poolStatus(
  mode: WorkerPoolStatus['mode'],
  configured: number,
  restarts: number,
  slots: ReadonlyArray<Slot | undefined>,
): WorkerPoolStatus {
  const live = slots.filter((s): s is Slot => s !== undefined);
  return {
    mode,
    configured,
    running: live.filter((s) => s.state === 'running').length,
    restarts,
    workers: live.map((s) => ({
      index: s.index,
      id: s.handle.id,
      state: s.state,
      queries: s.last?.listeners.messages ?? 0,
      cacheEntries: s.last?.cache.entries ?? 0,
    })),
  };
}
