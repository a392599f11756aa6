/**
 * One query loop in a worker: the query path (dataplane/query-path.ts, the same wiring as in-process)
 * and the DNS listeners, fed by its primary over a small message link (protocol.ts). It holds no list
 * of its own making, no feed, no admin API and no statistics store: the primary sends the lists (one
 * shared copy in thread mode), and the loop sends back its statistics deltas, counters and metrics.
 */
import type { Logger } from 'pino';
import type { RojeConfig } from '../config/schema.js';
import { createQueryPath } from '../dataplane/query-path.js';
import { createMetrics, FIRST_ANSWERS_MS, type RojeMetrics } from '../metrics/metrics.js';
import { abuseKey } from '../policy/abuse/key.js';
import { abuseStatus } from '../policy/abuse/status.js';
import { type LoadedLists, loadArtifact } from '../policy/compiled/artifact.js';
import {
  type Listeners,
  listen,
  listenerOptions,
  listenerSettings,
  sumListenerStats,
} from '../transport/listen.js';
import { type FromWorker, REPORT_INTERVAL_MS, type ToWorker, type WorkerInit } from './protocol.js';

export interface QueryLoopLink {
  send(message: FromWorker): void;
}

export interface QueryLoop {
  /** Binds the listen addresses (reporting them) once the first lists have arrived. */
  handle(message: ToWorker): Promise<void>;
}

/** Builds the loop for `init`; it answers once the first `lists` message has arrived and it has bound. */
export function createQueryLoop(init: WorkerInit, link: QueryLoopLink, logger: Logger): QueryLoop {
  let config: RojeConfig = init.config;
  let lists: LoadedLists | null = null;
  let missing: string[] = [];
  let keyId: string | null = null;
  let checkedAt = new Map<string, string | undefined>();
  let listeners: Listeners[] = [];
  let reportTimer: NodeJS.Timeout | null = null;
  const isReady = () => lists !== null && missing.length === 0;
  const abuseNow = () =>
    abuseStatus({
      lists,
      confirmedAt: checkedAt,
      pageEntries: config.abuse.pageEntries,
      maxAgeMs: config.abuse.maxAgeMs,
      keyId,
      now: Date.now(),
    });
  const metrics: RojeMetrics = createMetrics(
    {
      cache: () => path.chain().cache.stats(),
      upstreams: () => path.chain().pool.health(),
      // The primary reports the lists, feeds, abuse feed and self-test: it owns them.
      listSources: () => [],
      listRefreshes: () => [],
      serving: isReady,
      abuse: abuseNow,
      selfTest: () => null,
    },
    { categories: [], venues: config.venues.map((v) => v.name) },
    { processMetrics: init.processMetrics },
  );
  const path = createQueryPath({
    config,
    logger,
    metrics,
    lists: {
      lists: () => lists,
      ready: isReady,
      facts: () => ({ lists, missing, checkedAt, abuse: abuseNow(), now: Date.now() }),
    },
    rateShares: init.shares,
  });

  function report(): void {
    const chain = path.chain();
    link.send({
      type: 'report',
      counts: path.recorder?.drain() ?? [],
      cache: chain.cache.stats(),
      listeners: sumListenerStats(listeners.map((l) => l.stats())),
      upstreams: chain.pool.health(),
    });
  }

  async function bind(): Promise<void> {
    for (const address of init.listen) {
      listeners.push(
        await listen(address, path.responder, {
          logger: logger.child({ module: 'transport' }),
          ...listenerOptions(config),
          reusePort: init.reusePort,
        }),
      );
    }
    reportTimer = setInterval(report, REPORT_INTERVAL_MS).unref();
    link.send({ type: 'listening', addresses: listeners.map((l) => l.address) });
    setTimeout(metrics.prepare, FIRST_ANSWERS_MS).unref(); // prom-client once the first answers are out
  }

  function useLists(message: Extract<ToWorker, { type: 'lists' }>): void {
    const bytes = message.bytes;
    const key = message.abuseKey === null ? null : abuseKey(message.abuseKey);
    const next = loadArtifact(
      Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      'lists from the primary',
      // The primary verified these bytes before sending them.
      { trusted: true, abuseKey: key },
    );
    keyId = key?.id ?? null;
    // Counts so far are named by the lists they were made under.
    if (lists !== null) report();
    lists = next;
    missing = message.missing;
    path.refresh();
    link.send({ type: 'lists-loaded', version: next.version });
  }

  async function reconfigure(next: RojeConfig): Promise<void> {
    report();
    config = next;
    const previous = path.use(path.build(next));
    for (const l of listeners) l.configure(listenerSettings(next));
    await previous.pool.close();
  }

  function exchange(message: Extract<ToWorker, { type: 'exchange' }>): void {
    const q = message.query;
    const send = (answer: Buffer | null) => link.send({ type: 'exchanged', id: message.id, answer });
    Promise.resolve()
      .then(() => path.internal(Buffer.from(q.buffer, q.byteOffset, q.byteLength), message.client))
      .then(send, () => send(null));
  }

  async function stop(): Promise<void> {
    if (reportTimer !== null) clearInterval(reportTimer);
    await Promise.all(listeners.map((l) => l.close()));
    listeners = [];
    await path.chain().pool.close();
    report();
    path.recorder?.close();
    link.send({ type: 'stopped' });
  }

  return {
    async handle(message) {
      switch (message.type) {
        case 'lists': {
          const first = lists === null;
          useLists(message);
          if (first) await bind();
          return;
        }
        case 'state':
          checkedAt = new Map(message.checkedAt);
          path.useOverrides(message.overrides);
          return;
        case 'config':
          return reconfigure(message.config);
        case 'salt':
          path.recorder?.useSalt(message.salt);
          return;
        case 'flush-cache':
          path.chain().cache.clear();
          return;
        case 'metrics':
          link.send({ type: 'metrics', id: message.id, metrics: await metrics.registry.getMetricsAsJSON() });
          return;
        case 'exchange':
          // Not awaited: an answer waiting on an upstream must not hold up the messages behind it.
          exchange(message);
          return;
        case 'stop':
          return stop();
        case 'init':
          return;
      }
    },
  };
}
