/**
 * The composition root: roje's services in start order, with the reason for each position (lifecycle.ts
 * starts them in order, stops them in reverse, reloads them as prepare -> commit/abort). No state here.
 */
import type { Logger } from 'pino';
import { createAdminApi, describeDns } from './admin/api.js';
import { createAppAuditLog } from './admin/audit.js';
import { auditReload, type ReloadCause } from './admin/reload-audit.js';
import type { AdminApi } from './admin/server.js';
import { categoryDisplayName } from './blockpage/i18n.js';
import type { DnsCacheStats } from './cache/dns-cache.js';
import type { RojeConfig } from './config/schema.js';
import { createInProcessPlane } from './dataplane/in-process.js';
import type { DataPlane } from './dataplane/types.js';
import { createWorkersPlane, type WorkersPlane } from './dataplane/workers.js';
import { createLookup } from './lookup/lookup.js';
import { appMetrics } from './metrics/app-metrics.js';
import { FIRST_ANSWERS_MS } from './metrics/metrics.js';
import { matchOverride } from './overrides/overlay.js';
import { createOverridesService } from './overrides/service.js';
import type { ListsLoaderDeps, ListsStatus } from './policy/lists-loader.js';
import type { CompiledLists } from './policy/types.js';
import { createBlockPageService } from './services/block-page.js';
import { createLifecycle, type Service } from './services/lifecycle.js';
import { createListsService, type ListsService } from './services/lists.js';
import { createOpsService } from './services/ops.js';
import { createSelfTestService } from './services/self-test.js';
import { createStatsService } from './services/stats.js';
import type { BoundAddress } from './transport/types.js';
import type { UpstreamHealth } from './upstream/types.js';
import { redactUpstreamUrl } from './upstream/url.js';

export type { BoundAddress };

export interface App {
  /** Starts every service in order; a failure stops those already started and rejects. */
  start(): Promise<void>;
  /**
   * Applies a new, already validated config without dropping a query; on failure nothing changed.
   * With `who` (what set it off), the outcome is written to the audit log, taken or refused.
   */
  reload(config: RojeConfig, who?: ReloadCause): Promise<void>;
  /** A reload whose config could not be read or is not valid: audited; nothing changed. */
  reloadRefused(err: unknown, who: ReloadCause): void;
  /** Stops every service in reverse order; in-flight queries finish (bounded by shutdown.drainTimeout). */
  stop(): Promise<void>;
  addresses(): BoundAddress[];
  /** The bound addresses for logs: "udp+tcp 127.0.0.1:5353", "udp+tcp [::1]:5353". */
  describeListeners(): string[];
  upstreamHealth(): UpstreamHealth[];
  cacheStats(): DnsCacheStats;
  /** The lists in force (swapped whole on reload); null only before start() loaded them. */
  lists(): CompiledLists | null;
  /** Version, entries, sources, categories of the lists in force, and the last reload failure. */
  listsStatus(): ListsStatus | null;
  /** What the admin API shows and does (also for in-process tests). */
  admin: AdminApi;
  /** Where the admin API and the metrics listener are bound (null: off). */
  opsAddresses(): { admin: string | null; metrics: string | null };
  /** The lists service (tests: compile counts, recompiles). */
  listsService: ListsService;
}

/**
 * On one core, the control plane's start (prom-client, then the admin API) takes ~0.5 s of CPU in one
 * block: queries that reach the listeners as they open are answered first, then the rest starts (a
 * start that fails later still fails). `then` runs after the beat.
 */
function firstAnswers(then: () => void): Service {
  return {
    name: 'first answers',
    start: () =>
      new Promise((resolve) =>
        setTimeout(() => {
          then();
          resolve();
        }, FIRST_ANSWERS_MS),
      ),
    stop: async () => {},
  };
}

export interface AppDeps {
  logger: Logger;
  /** Replaces how lists are compiled or read (tests). */
  listsLoader?: ListsLoaderDeps;
}

export function createApp(initial: RojeConfig, deps: AppDeps): App {
  const { logger } = deps;
  let config = initial;
  const workers = initial.workers.count > 1;
  const audit = createAppAuditLog(initial.stateDir, logger, () => stats.store());
  const lists = createListsService({
    config: initial,
    logger,
    audit,
    ...(deps.listsLoader !== undefined ? { loader: deps.listsLoader } : {}),
    // Query loop threads read the one copy of the lists in a SharedArrayBuffer.
    shareArtifact: workers && initial.workers.mode === 'threads',
  });
  const overrides = createOverridesService({ config: () => config, lists: lists.lists, logger });
  // Declared before the metrics, which read it at scrape time only.
  let plane: DataPlane | WorkersPlane;
  const metrics = appMetrics(
    initial,
    lists,
    () => plane,
    () => selfTest.runner()?.last() ?? null,
    () => config,
    () => stats.storeMetrics(),
  );
  plane = workers
    ? createWorkersPlane({ config: initial, logger, lists, overrides })
    : createInProcessPlane({ config: initial, logger, metrics, lists, overrides });
  const stats = createStatsService({
    config: initial,
    logger,
    drain: () => plane.drainCounts(),
    onOpen: (salt) => plane.useSalt(salt),
  });
  const selfTest = createSelfTestService({
    config: initial,
    logger,
    addresses: () => plane.addresses(),
    venues: () => config.venues,
    exchange: (query, client) => plane.exchange(query, client),
    stats,
  });
  const blockPage = createBlockPageService({ config: initial, logger, plane, stats });
  const admin = createAdminApi({
    startedAt: Date.now(),
    config: () => config,
    lists,
    plane,
    stats,
    selfTest,
    blockPage,
    overrides,
    opsAddresses: () => ops.addresses(),
    metrics: async () => ({ contentType: metrics.contentType, body: await metrics.render() }),
    lookup: createLookup({
      lists: () => lists.current(),
      config: () => config,
      overrides: { match: (name, venue) => matchOverride(overrides.overlay(), name, venue) },
      displayName: (c) => categoryDisplayName(c, config.categoryNames),
    }),
  });
  const ops = createOpsService({
    config: initial,
    tokens: () => config.admin.tokens,
    api: admin,
    audit,
    logger,
  });
  const schedules: Service = {
    name: 'refresh schedules',
    start: async () => lists.startSchedules(),
    stop: () => lists.stopSchedules(),
  };
  // Told of each list swap in this order: statistics write the counts made under the old lists first.
  lists.onSwap(stats);
  lists.onSwap(plane);
  lists.onSwap(selfTest);

  const lifecycle = createLifecycle(
    [
      // 1. Lists first: a resolver that cannot load its lists never answers (fail closed).
      lists,
      overrides, // 1b. Run-time overrides before the data plane: the first query sees them.
      // 2. The data plane: this thread's listeners, or one query loop per worker.
      plane,
      firstAnswers(metrics.prepare), // 2b. A beat for the queries on their way; then the metrics.
      // 3. Statistics once DNS answers (opening a new database syncs it to disk): the counts made
      //    before are drained at the first flush, and the first load goes into the list history then.
      stats,
      // 4. The admin API and /metrics, once there is something to report on.
      ops,
      // 5. The block page: blocked names point at it from here on.
      blockPage,
      // 6. Refresh schedules (feeds, fleet pulls) once everything a swap reaches is running.
      schedules,
      // 7. The self-test last: it asks the listeners, and its first run follows the first list load.
      selfTest,
    ],
    logger,
  );

  return {
    start: lifecycle.start,
    async reload(next, who) {
      const before = config;
      const listsBefore = lists.status()?.version ?? null;
      const audited = (error?: unknown) =>
        who !== undefined &&
        auditReload(audit, {
          who,
          before,
          next,
          listsBefore,
          listsAfter: lists.status()?.version ?? null,
          error,
        });
      try {
        await lifecycle.reload(next);
      } catch (err) {
        audited(err);
        throw err;
      }
      config = next;
      audited();
      logger.info(
        {
          listen: describeDns(plane.addresses()),
          upstreams: next.upstreams.map((u) => redactUpstreamUrl(u.url)),
        },
        'config reloaded',
      );
    },
    reloadRefused(error, who) {
      const version = lists.status()?.version ?? null;
      const nothingChanged = { before: config, next: null, listsBefore: version, listsAfter: version };
      auditReload(audit, { who, ...nothingChanged, error });
    },
    stop: lifecycle.stop,
    addresses: () => plane.addresses(),
    describeListeners: () => describeDns(plane.addresses()),
    upstreamHealth: () => plane.upstreamHealth(),
    cacheStats: () => plane.cacheStats(),
    lists: lists.lists,
    listsStatus: lists.status,
    admin,
    opsAddresses: () => ops.addresses(),
    listsService: lists,
  };
}
