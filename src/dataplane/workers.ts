/**
 * The workers data plane: one query loop per worker thread or process (src/workers), this thread
 * keeping the control plane. The loops get the lists at each swap and the config at each reload, and
 * report their counts, caches and upstream health, which this plane sums for the rest of roje.
 */
import type { Logger } from 'pino';
import type { RojeConfig } from '../config/schema.js';
import { RojeError } from '../errors.js';
import type { WorkerMetrics } from '../metrics/metrics.js';
import type { OverridesStore } from '../overrides/store.js';
import { EMPTY_OVERLAY } from '../overrides/types.js';
import { createPolicyStage, type PolicyStage } from '../pipeline/stages/policy.js';
import { keyBytes } from '../policy/abuse/key.js';
import type { ListsService } from '../services/lists.js';
import type { HourCounts } from '../stats/recorder.js';
import type { ListenAddress } from '../transport/types.js';
import type { ListsMessage, StateMessage } from '../workers/protocol.js';
import { createWorkerPool } from '../workers/supervisor.js';
import type { DataPlane } from './types.js';

/** How often the query loops get fresh feed times for their CH TXT strings. */
const STATE_INTERVAL_MS = 10_000;
/** Bounds one in-process exchange through a loop (the self-test's own timeout is shorter). */
const EXCHANGE_TIMEOUT_MS = 10_000;

export interface WorkersPlaneOptions {
  config: RojeConfig;
  logger: Logger;
  lists: Pick<ListsService, 'current' | 'lists' | 'abuseKey' | 'checkedAt'>;
  /** The run-time overrides (src/overrides): sent to every loop at start and on each change. */
  overrides?: Pick<OverridesStore, 'overlay' | 'onChange'>;
}

export interface WorkersPlane extends DataPlane {
  /** Every running loop's metrics, for the primary's /metrics (metrics.ts merges them). */
  loopMetrics(): Promise<WorkerMetrics[]>;
}

export function createWorkersPlane(options: WorkersPlaneOptions): WorkersPlane {
  const { logger, lists } = options;
  const overridesOf = options.overrides?.overlay ?? (() => EMPTY_OVERLAY);
  options.overrides?.onChange(() => {
    if (pool.status().running > 0) pool.broadcast(stateMessage());
  });
  let config = options.config;
  let salt: Uint8Array | null = null;
  let stateTimer: NodeJS.Timeout | null = null;
  // Statistics deltas from the loops, merged into the store at its next flush.
  const counts: HourCounts[] = [];
  const pool = createWorkerPool({
    count: config.workers.count,
    mode: config.workers.mode,
    logger,
    lists: listsMessage,
    state: stateMessage,
    salt: () => salt,
    onCounts: (c) => counts.push(...c),
  });
  // The block page asks this thread why a name is blocked: a policy stage of its own answers.
  let explainer = policyFor(config);

  function policyFor(c: RojeConfig): PolicyStage {
    return createPolicyStage({
      lists: lists.lists,
      venues: c.venues,
      policies: c.policies,
      overrides: overridesOf,
      blockTtl: c.blockTtl,
      blockPage: c.blockPage,
      logger: logger.child({ module: 'policy' }),
    });
  }

  function stateMessage(): StateMessage {
    return { type: 'state', checkedAt: [...lists.checkedAt()], overrides: [...overridesOf().entries] };
  }

  /** The lists for a loop. In thread mode the artifact is a SharedArrayBuffer every thread views. */
  function listsMessage(): ListsMessage {
    const set = lists.current();
    const bytes = set?.lists.artifact;
    if (set === null || bytes === undefined) {
      throw new RojeError('ROJE_ERR_WORKER_FAILED', 'query loops need loaded lists first');
    }
    const key = lists.abuseKey();
    return { type: 'lists', bytes, missing: [...set.missing], abuseKey: key === null ? null : keyBytes(key) };
  }

  return {
    name: 'data plane (workers)',
    async start() {
      await pool.start(config);
      stateTimer = setInterval(() => {
        pool.broadcast(stateMessage());
      }, STATE_INTERVAL_MS);
      stateTimer.unref();
    },

    async prepare(next) {
      // Listen addresses and the worker layout are bound at start: a reload that changes them says so.
      if (
        !sameListen(next.listen, config.listen) ||
        next.workers.count !== config.workers.count ||
        next.workers.mode !== config.workers.mode
      ) {
        logger.warn(
          { workers: config.workers },
          'listen and workers are kept until a restart when workers run the query loops',
        );
      }
      const nextExplainer = policyFor(next);
      return {
        commit() {
          config = next;
          explainer = nextExplainer;
          explainer.prepare();
          pool.reload(next);
        },
        abort() {},
      };
    },

    async stop() {
      if (stateTimer !== null) clearInterval(stateTimer);
      stateTimer = null;
      await pool.stop();
    },

    afterSwap() {
      explainer.prepare();
      if (pool.status().running > 0) pool.broadcast(listsMessage());
    },
    addresses: () => pool.addresses(),
    listening: () => pool.status().running > 0,
    cacheStats: () => pool.cacheStats(),
    flushCache() {
      const removed = pool.cacheStats().entries;
      pool.broadcast({ type: 'flush-cache' });
      return { removed };
    },
    upstreamHealth: () => pool.upstreamHealth(),
    workers: () => pool.status(),
    drainCounts: () => counts.splice(0),
    useSalt(s) {
      salt = s;
      pool.broadcast({ type: 'salt', salt: s });
    },
    explain: (host, clientAddress) => explainer.explain(host, clientAddress),
    exchange: (query, client) => pool.exchange(query, client, EXCHANGE_TIMEOUT_MS),
    loopMetrics: () => pool.metrics(),
  };
}

function sameListen(a: readonly ListenAddress[], b: readonly ListenAddress[]): boolean {
  return a.length === b.length && a.every((x, i) => x.host === b[i]?.host && x.port === b[i]?.port);
}
