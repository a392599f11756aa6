/**
 * One query loop in a worker: the chain (pipeline/chain.ts), the responder and the DNS listeners, fed
 * by its primary over a small message link (protocol.ts). It holds no list of its own making, no feed,
 * no admin API and no statistics store: the primary sends the lists (one shared copy in thread mode),
 * and the loop sends back its statistics deltas, counters and metrics.
 */
import type { Logger } from 'pino';
import type { RojeConfig } from '../config/schema.js';
import { createMetrics, type RojeMetrics } from '../metrics/metrics.js';
import { buildChain, type Chain } from '../pipeline/chain.js';
import { policyStrings } from '../pipeline/policy-strings.js';
import { createQueryLog } from '../pipeline/query-log.js';
import { createResponder } from '../pipeline/responder.js';
import { abuseKey } from '../policy/abuse/key.js';
import { abuseStatus } from '../policy/abuse/status.js';
import { type LoadedLists, loadArtifact } from '../policy/compiled/artifact.js';
import { createStatsRecorder, type StatsRecorder } from '../stats/recorder.js';
import { type Listeners, listen, listenerSettings, sumListenerStats } from '../transport/listen.js';
import { type FromWorker, REPORT_INTERVAL_MS, type ToWorker, type WorkerInit } from './protocol.js';

export interface DataPlaneLink {
  send(message: FromWorker): void;
}

export interface DataPlane {
  /** Binds the listen addresses (reporting them) once the first lists have arrived. */
  handle(message: ToWorker): Promise<void>;
}

/** Builds the loop for `init`; it answers once the first `lists` message has arrived and it has bound. */
export function createDataPlane(init: WorkerInit, link: DataPlaneLink, logger: Logger): DataPlane {
  let config: RojeConfig = init.config;
  let lists: LoadedLists | null = null;
  let missing: string[] = [];
  let keyId: string | null = null;
  let checkedAt = new Map<string, string | undefined>();
  let listeners: Listeners[] = [];
  let reportTimer: NodeJS.Timeout | null = null;
  const currentLists = () => lists;
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
      cache: () => chain.cache.stats(),
      upstreams: () => chain.pool.health(),
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
  const recorder: StatsRecorder | null = config.stats.enabled
    ? createStatsRecorder({
        venues: () => config.venues.map((v) => v.name),
        categories: () => lists?.categories ?? [],
      })
    : null;

  const chainFor = (next: RojeConfig, previous: Chain | undefined) =>
    buildChain(next, previous, {
      logger,
      lists: currentLists,
      isReady,
      chaosStrings: (name) =>
        policyStrings(name, () => ({ lists, missing, checkedAt, abuse: abuseNow(), now: Date.now() })),
      onUpstreamAttempt: metrics.onUpstreamAttempt,
      onUpstreamQueueFull: metrics.onUpstreamQueueFull,
      rateShares: init.shares,
    });
  let chain = chainFor(config, undefined);
  const logQuery = createQueryLog({ logger, enabled: () => config.log.queries, lists: currentLists });
  const responder = createResponder({
    current: () => chain,
    logger: logger.child({ module: 'responder' }),
    onAnswer(query, answer) {
      metrics.onAnswer(query, answer);
      recorder?.onAnswer(query, answer);
      logQuery(query, answer);
    },
  });

  function report(): void {
    link.send({
      type: 'report',
      counts: recorder?.drain() ?? [],
      cache: chain.cache.stats(),
      listeners: sumListenerStats(listeners.map((l) => l.stats())),
    });
  }

  async function bind(): Promise<void> {
    for (const address of init.listen) {
      listeners.push(
        await listen(address, responder, {
          logger: logger.child({ module: 'transport' }),
          ...listenerSettings(config),
          reusePort: init.reusePort,
        }),
      );
    }
    reportTimer = setInterval(report, REPORT_INTERVAL_MS);
    reportTimer.unref();
    link.send({ type: 'listening', addresses: listeners.map((l) => l.address) });
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
    chain.policy.prepare();
    metrics.setBlockLabels({ categories: next.categories, venues: config.venues.map((v) => v.name) });
    link.send({ type: 'lists-loaded', version: next.version });
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
          return;
        case 'config': {
          report();
          const previous = chain;
          config = message.config;
          chain = chainFor(config, previous);
          chain.policy.prepare();
          metrics.setBlockLabels({
            categories: lists?.categories ?? [],
            venues: config.venues.map((v) => v.name),
          });
          for (const l of listeners) l.configure(listenerSettings(config));
          await previous.pool.close();
          return;
        }
        case 'salt':
          recorder?.useSalt(message.salt);
          return;
        case 'flush-cache':
          chain.cache.clear();
          return;
        case 'metrics':
          link.send({ type: 'metrics', id: message.id, metrics: await metrics.registry.getMetricsAsJSON() });
          return;
        case 'stop': {
          if (reportTimer !== null) clearInterval(reportTimer);
          await Promise.all(listeners.map((l) => l.close()));
          listeners = [];
          await chain.pool.close();
          report();
          recorder?.close();
          link.send({ type: 'stopped' });
          return;
        }
        case 'init':
          return;
      }
    },
  };
}
