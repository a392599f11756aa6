/**
 * The query path, wired once for every query loop (in-process, or each worker's): the chain
 * (pipeline/chain.ts), the responder, and what listens to each answer (metrics, statistics, the opt-in
 * query log). The in-process data plane and src/workers both build it here, so there is one wiring.
 */
import type { Logger } from 'pino';
import type { RojeConfig } from '../config/schema.js';
import type { RojeMetrics } from '../metrics/metrics.js';
import { createOverlayReceiver } from '../overrides/overlay.js';
import type { Override, OverrideOverlay } from '../overrides/types.js';
import { buildChain, type Chain } from '../pipeline/chain.js';
import { type PolicyFacts, policyStrings } from '../pipeline/policy-strings.js';
import { createQueryLog } from '../pipeline/query-log.js';
import { createResponder } from '../pipeline/responder.js';
import { complianceInForce } from '../policy/compliance.js';
import type { CompiledLists } from '../policy/types.js';
import { createStatsRecorder, type StatsRecorder } from '../stats/recorder.js';
import type { Responder } from '../transport/types.js';

/** What a query loop knows of the lists in force. */
export interface ListsFacts {
  lists(): CompiledLists | null;
  /** Fail closed: false while no good list is loaded. */
  ready(): boolean;
  /** For the CH TXT policy strings. */
  facts(): PolicyFacts;
}

export interface QueryPathOptions {
  config: RojeConfig;
  logger: Logger;
  metrics: RojeMetrics;
  lists: ListsFacts;
  /** Query loops sharing the rate limits (src/workers); default 1. */
  rateShares?: number;
  /** The run-time overrides in force (src/overrides), read per query; absent: none. */
  overrides?: () => OverrideOverlay;
}

export interface QueryPath {
  readonly responder: Responder;
  /**
   * The same chain for roje's own questions (the self-test as a client of a venue): answered like any
   * client's, but counted nowhere (metrics, statistics, query log), since they are not client traffic.
   */
  readonly internal: Responder;
  /** Counts per hour, venue and category, when statistics are on. */
  readonly recorder: StatsRecorder | null;
  chain(): Chain;
  /** Builds the chain for `config` aside, keeping the cache when its bounds are unchanged. */
  build(config: RojeConfig): Chain;
  /** Puts `next` in force; returns the previous chain, whose pool the caller closes. */
  use(next: Chain): Chain;
  /** The lists or venues changed: policy names resolved again, metric labels folded. */
  refresh(): void;
  /**
   * A query loop's overrides, sent whole by its primary: put in force when they differ. Unused when
   * `overrides` was given (in-process: the chain reads the store's overlay).
   */
  useOverrides(entries: readonly Override[]): void;
}

function withCompliance(config: RojeConfig, facts: PolicyFacts): PolicyFacts {
  return { ...facts, compliance: complianceInForce(config, facts.lists, facts.abuse) };
}

export function createQueryPath(options: QueryPathOptions): QueryPath {
  const { logger, metrics, lists } = options;
  const received = createOverlayReceiver();
  const overrides = options.overrides ?? received.current;
  const build = (config: RojeConfig, previous: Chain | undefined): Chain =>
    buildChain(config, previous, {
      logger,
      lists: lists.lists,
      isReady: lists.ready,
      // The compliance gaps of the config this chain was built for (a reload builds a new chain).
      chaosStrings: (name) => policyStrings(name, () => withCompliance(config, lists.facts())),
      onUpstreamAttempt: metrics.onUpstreamAttempt,
      onUpstreamQueueFull: metrics.onUpstreamQueueFull,
      ...(options.rateShares !== undefined ? { rateShares: options.rateShares } : {}),
      overrides,
    });
  let chain = build(options.config, undefined);
  // Statistics count per (hour, venue index, category bit); names are resolved when they are drained.
  const recorder = options.config.stats.enabled
    ? createStatsRecorder({
        venues: () => chain.config.venues.map((v) => v.name),
        categories: () => lists.lists()?.categories ?? [],
      })
    : null;
  // Per-query logs are off by default (privacy); the switch is read per answer so a reload can flip it.
  const logQuery = createQueryLog({ logger, enabled: () => chain.config.log.queries, lists: lists.lists });
  const responder = createResponder({
    current: () => chain,
    logger: logger.child({ module: 'responder' }),
    onAnswer(query, answer) {
      metrics.onAnswer(query, answer);
      recorder?.onAnswer(query, answer);
      logQuery(query, answer);
    },
  });

  const internal = createResponder({
    current: () => chain,
    logger: logger.child({ module: 'responder' }),
  });

  function refresh(): void {
    chain.policy.prepare();
    metrics.setBlockLabels({
      categories: lists.lists()?.categories ?? [],
      venues: chain.config.venues.map((v) => v.name),
    });
  }

  return {
    responder,
    internal,
    recorder,
    chain: () => chain,
    build: (config) => build(config, chain),
    use(next) {
      const previous = chain;
      chain = next;
      refresh();
      return previous;
    },
    refresh,
    useOverrides: received.receive,
  };
}
