import type { KeyObject } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { createAuditLog } from './admin/audit.js';
import { createOpsListeners, type OpsListeners } from './admin/listeners.js';
import type { AdminApi } from './admin/server.js';
import { type BlockPageServer, type BlockReport, createBlockPageServer } from './blockpage/server.js';
import type { DnsCache, DnsCacheStats } from './cache/dns-cache.js';
import type { RojeConfig } from './config/schema.js';
import { isRojeError, RojeError } from './errors.js';
import { createFeeds, type Feeds } from './feeds/feeds.js';
import { isFeedSource } from './feeds/types.js';
import { createFleet } from './fleet/fleet.js';
import { createMetrics } from './metrics/metrics.js';
import { buildChain as buildChainFor, type Chain } from './pipeline/chain.js';
import { policyStrings } from './pipeline/policy-strings.js';
import { createQueryLog } from './pipeline/query-log.js';
import { createResponder } from './pipeline/responder.js';
import type { ChaosName } from './pipeline/stages/chaos.js';
import type { AbuseKey } from './policy/abuse/format.js';
import { ephemeralAbuseKey, keyBytes, loadAbuseKey } from './policy/abuse/key.js';
import { type AbuseStatus, abuseStatus } from './policy/abuse/status.js';
import type { AbuseCompileOptions } from './policy/compile.js';
import { loadArtifact } from './policy/compiled/artifact.js';
import {
  type ListsLoaderDeps,
  type ListsStatus,
  type LoadedListSet,
  listsStatus,
  loadLists,
} from './policy/lists-loader.js';
import type { CompiledLists } from './policy/types.js';
import { CONFIDENTIAL_CATEGORIES } from './policy/types.js';
import { buildTransparencyReport } from './report/transparency.js';
import { createSelfTest, type SelfTest } from './selftest/selftest.js';
import { dashboardCsp, dashboardHtml } from './stats/dashboard.js';
import { createStatsRecorder, type HourCounts, NO_VENUE } from './stats/recorder.js';
import { openStatsStore, type StatsStore } from './stats/store.js';
import { listen, listenerSettings } from './transport/listen.js';
import type { ListenAddress } from './transport/types.js';
import type { UpstreamPool } from './upstream/pool.js';
import { redactUpstreamUrl } from './upstream/url.js';
import { renderReportHtml } from './verify/html.js';
import { runSuite } from './verify/runner.js';
import { loadOrCreateSigningKey, signReport } from './verify/sign.js';
import { loadSuite } from './verify/suite.js';
import { VERSION } from './version.js';
import type { ListsMessage } from './workers/protocol.js';
import { createWorkerPool, type WorkerPool } from './workers/supervisor.js';

export interface BoundAddress {
  host: string;
  port: number;
  family: string;
}

export interface App {
  /** Binds every listen address; rejects with ROJE_ERR_LISTEN_FAILED naming the one that failed. */
  start(): Promise<void>;
  /** Applies a new, already validated config without dropping a query. */
  reload(config: RojeConfig): Promise<void>;
  /** Stops listening, lets in-flight queries finish (bounded by shutdown.drainTimeout), closes upstreams. */
  stop(): Promise<void>;
  addresses(): BoundAddress[];
  /** The bound addresses for logs: "udp+tcp 127.0.0.1:5353", "udp+tcp [::1]:5353". */
  describeListeners(): string[];
  upstreamHealth(): ReturnType<UpstreamPool['health']>;
  cacheStats(): ReturnType<DnsCache['stats']>;
  /** The lists in force (swapped whole on reload); null only before start() loaded them. */
  lists(): CompiledLists | null;
  /** Version, entries, sources, categories of the lists in force, and the last reload failure. */
  listsStatus(): ListsStatus | null;
  /** What the admin API shows and does (also for in-process tests). */
  admin: AdminApi;
  /** Where the admin API and the metrics listener are bound (null: off). */
  opsAddresses(): { admin: string | null; metrics: string | null };
}

export interface AppDeps {
  logger: Logger;
  /** Replaces how lists are compiled or read (tests). */
  listsLoader?: ListsLoaderDeps;
}

type Listener = Awaited<ReturnType<typeof listen>>;

/** How often the query loops get fresh feed times for their CH TXT strings. */
const WORKER_STATE_INTERVAL_MS = 10_000;

/** A self-test follows a list swap after this long (a burst of swaps shares one run). */
const SELF_TEST_SWAP_DELAY_MS = 60_000;

/** The composition root: the only place that constructs and wires roje's parts. */
export function createApp(initial: RojeConfig, deps: AppDeps): App {
  const logger = deps.logger;
  const listsLogger = logger.child({ module: 'lists' });
  // The lists in force. Loaded before any listener opens (start) and swapped whole on reload; a failed
  // reload keeps them: roje never falls back to answering unfiltered. (Declared before the first chain
  // is built: its policy stage reads them through currentLists.)
  let listSet: LoadedListSet | null = null;
  let listsLoadedAt = '';
  let listsError: { message: string; at: string } | null = null;
  const currentLists = () => listSet?.lists ?? null;
  // Feeds (URL sources): the manager downloads them and keeps the last good copies; every loadLists
  // call is handed it, so that URL sources compile from those copies.
  let feeds: Feeds | null = null;
  const feedsLogger = logger.child({ module: 'feeds' });
  // Fleet (src/fleet): an edge's lists come from the artifact it pulls; a central publishes its own.
  const fleet = createFleet({
    logger: logger.child({ module: 'fleet' }),
    abuseKey: () => abuse?.key ?? null,
    onUpdate: () => reloadLists(),
  });
  // The abuse key (loaded at start and on reload when the config needs one) and the page setting.
  let abuse: AbuseCompileOptions | undefined;
  let selfTest: SelfTest | null = null;
  let ephemeralKey: AbuseKey | undefined;
  let lastPageChoice: RojeConfig['abuse']['pageEntries'] = 'count';
  const listsDeps = (f: Feeds | null = feeds, a: AbuseCompileOptions | undefined = abuse) => ({
    ...deps.listsLoader,
    ...(f !== null ? { feeds: f } : {}),
    ...(a !== undefined ? { abuse: a } : {}),
    fleet,
  });
  /** Fail closed: not ready while no lists are loaded or a feed has no good copy yet. */
  const notReady = () => listSet === null || listSet.missing.length > 0;
  const startedAt = Date.now();
  // With `workers` above 1, query loops in worker threads or processes answer DNS (src/workers) and this
  // thread keeps the control plane: lists, feeds, admin API, statistics store, block page. Fixed at start.
  const workerPool: WorkerPool | null =
    initial.workers.count > 1
      ? createWorkerPool({
          count: initial.workers.count,
          mode: initial.workers.mode,
          logger,
          lists: () => listsMessage(),
          state: () => ({ type: 'state', checkedAt: [...feedCheckedAt()] }),
          salt: () => stats?.salt ?? null,
          onCounts: (counts) => workerCounts.push(...counts),
        })
      : null;
  // Statistics deltas from the query loops, merged into the store at its next flush.
  const workerCounts: HourCounts[] = [];
  let stateTimer: NodeJS.Timeout | null = null;
  const metrics = createMetrics(
    {
      cache: () => cacheStats(),
      upstreams: () => chain.pool.health(),
      listSources: () => {
        const lists = currentLists();
        if (lists === null) return [];
        const now = Date.now();
        // A feed's age runs from its download; a file's from when it was read.
        const fetched = new Map((feeds?.status() ?? []).map((f) => [f.name, f.good?.fetchedAt]));
        return lists.sources.map((s) => ({
          name: s.name,
          category: s.category,
          entries: s.entries,
          ageSeconds: Math.max(0, (now - Date.parse(fetched.get(s.name) ?? s.readAt)) / 1000),
        }));
      },
      listRefreshes: () =>
        (feeds?.status() ?? []).map((f) => ({
          name: f.name,
          ok:
            f.held === null && (f.lastAttempt === null ? f.good !== null : f.lastAttempt.result !== 'failed'),
          at: f.lastAttempt === null ? null : Date.parse(f.lastAttempt.at),
        })),
      serving: () => !notReady(),
      abuse: () => currentAbuseStatus(),
      selfTest: () => selfTest?.last() ?? null,
      fleet: () => fleet.metrics(),
    },
    { categories: [], venues: initial.venues.map((v) => v.name) },
    workerPool === null
      ? {}
      : {
          workers: {
            metrics: () => workerPool.metrics(),
            processMetrics: initial.workers.mode === 'processes',
            status: () => workerPool.status(),
          },
        },
  );
  let chain = buildChain(initial, undefined);
  const listeners = new Map<string, Listener>();

  // Statistics count per (hour, venue index, category bit); names are resolved when they are written,
  // so the store is flushed before venues or lists change.
  const statsRecorder = initial.stats.enabled
    ? createStatsRecorder({
        venues: () => chain.config.venues.map((v) => v.name),
        categories: () => currentLists()?.categories ?? [],
      })
    : null;
  let stats: StatsStore | null = null;
  let blockPage: BlockPageServer | null = null;

  // Per-query logs are off by default (privacy); the switch is read per answer so SIGHUP can flip it.
  const logQuery = createQueryLog({
    logger,
    enabled: () => chain.config.log.queries,
    lists: currentLists,
  });
  const responder = createResponder({
    current: () => chain,
    logger: logger.child({ module: 'responder' }),
    onAnswer(query, answer) {
      metrics.onAnswer(query, answer);
      statsRecorder?.onAnswer(query, answer);
      logQuery(query, answer);
    },
  });
  const audit = createAuditLog({
    path: initial.stateDir === null ? null : join(initial.stateDir, 'audit.log'),
    logger: logger.child({ module: 'audit' }),
  });
  const admin = adminApi();
  const ops: OpsListeners = createOpsListeners({
    admin: initial.admin.listen,
    metrics: initial.metrics.listen,
    tokens: () => chain.config.admin.tokens,
    api: admin,
    audit,
    logger,
  });

  function buildChain(config: RojeConfig, previous: Chain | undefined): Chain {
    return buildChainFor(config, previous, {
      logger,
      lists: currentLists,
      isReady: () => !notReady(),
      chaosStrings,
      onUpstreamAttempt: metrics.onUpstreamAttempt,
      onUpstreamQueueFull: metrics.onUpstreamQueueFull,
    });
  }

  /**
   * Opens the listen addresses of `config` that are not open yet. If one cannot be bound, closes the
   * ones it opened and rethrows, leaving the listeners as they were. Returns the listeners `config`
   * no longer wants, taken out of the map but still open: the caller closes them once it commits.
   */
  async function openListeners(config: RojeConfig): Promise<Listener[]> {
    const wanted = new Map(config.listen.map((address, i) => [addressKey(address, i), address]));
    const opened: string[] = [];
    try {
      for (const [key, address] of wanted) {
        if (listeners.has(key)) continue;
        const listener = await listen(address, responder, {
          logger: logger.child({ module: 'transport' }),
          ...listenerSettings(config),
        });
        listeners.set(key, listener);
        opened.push(key);
      }
    } catch (err) {
      const undo = opened.map((key) => listeners.get(key)!);
      for (const key of opened) listeners.delete(key);
      await Promise.all(undo.map(closeListener));
      throw err;
    }
    const stale = [...listeners].filter(([key]) => !wanted.has(key));
    for (const [key] of stale) listeners.delete(key);
    return stale.map(([, listener]) => listener);
  }

  return {
    async start() {
      // Lists first: a resolver that cannot load its lists must not start answering (fail closed). Feeds
      // compile from their copies on disk; one that has none yet keeps roje answering SERVFAIL.
      abuse = await loadAbuse(chain.config, undefined);
      feeds = await openFeeds(chain.config, abuse);
      await fleet.configure(chain.config);
      const loaded = await loadLists(chain.config, listsDeps());
      noteAbuseChoice(chain.config);
      // Statistics first, so that the first list load is in the list history too.
      openStats();
      useLists(loaded, 'lists loaded');
      try {
        if (workerPool !== null) await startWorkers();
        else await openListeners(chain.config);
        await ops.start();
        blockPage = createBlockPage();
        await blockPage?.start();
        // Fetches the feeds without a copy at once; each change recompiles and swaps the lists.
        feeds?.start();
        fleet.start();
        // The first self-test follows the first list load, like any swap.
        selfTest = await createSelfTestRunner();
        await selfTest?.start();
        selfTest?.listsSwapped();
      } catch (err) {
        await feeds?.stop();
        await fleet.stop();
        await workerPool?.stop();
        await Promise.all([...listeners.values()].map(closeListener));
        listeners.clear();
        await ops.close();
        await blockPage?.close();
        closeStats();
        throw err;
      }
    },

    async reload(config) {
      // Lists are reloaded (recompiled: the files may have changed even if the config did not) before
      // anything else changes; failing that, the running lists stay and the config reload goes on.
      let loaded: LoadedListSet | null = null;
      const nextAbuse = await loadAbuse(config, abuse);
      await fleet.configure(config);
      const nextFeeds = await openFeeds(config, nextAbuse);
      try {
        loaded = await loadLists(config, listsDeps(nextFeeds, nextAbuse));
      } catch (err) {
        listsError = { message: (err as Error).message, at: new Date().toISOString() };
        listsLogger.error(
          {
            err: listsError.message,
            code: (err as { code?: string }).code,
            version: listSet?.lists.version.slice(0, 16),
          },
          'lists reload failed; keeping the last good lists',
        );
      }
      const previous = chain;
      const next = buildChain(config, previous);
      // Open new addresses before closing old ones, so a reload never leaves a gap; and before
      // switching the chain, so a reload that cannot bind leaves the running config whole.
      let stale: Listener[] = [];
      try {
        if (workerPool === null) stale = await openListeners(config);
        else keepWorkerLayout(config);
      } catch (err) {
        await next.pool.close();
        await nextFeeds?.stop();
        throw err;
      }
      stats?.flush();
      chain = next;
      abuse = nextAbuse;
      noteAbuseChoice(config);
      await feeds?.stop();
      feeds = nextFeeds;
      feeds?.start();
      workerPool?.reload(config);
      if (loaded !== null) useLists(loaded, 'lists reloaded');
      else {
        chain.policy.prepare();
        metrics.setBlockLabels({
          categories: currentLists()?.categories ?? [],
          venues: config.venues.map((v) => v.name),
        });
      }
      // Listeners kept across the reload take the new tcp and shutdown settings too.
      const settings = listenerSettings(config);
      for (const listener of listeners.values()) listener.configure(settings);
      await Promise.all(stale.map(closeListener));
      // Queries already handed to the old pool finish there; close() lets them.
      await previous.pool.close();
      logger.info(
        { listen: describeListeners(), upstreams: config.upstreams.map((u) => u.url) },
        'config reloaded',
      );
    },

    async stop() {
      await selfTest?.stop();
      await feeds?.stop();
      await fleet.stop();
      if (stateTimer !== null) clearInterval(stateTimer);
      await workerPool?.stop();
      const all = [...listeners.values()];
      listeners.clear();
      await Promise.all([...all.map(closeListener), ops.close(), blockPage?.close()]);
      await chain.pool.close();
      closeStats();
    },

    addresses: describeListenersRaw,
    describeListeners,
    upstreamHealth: () => chain.pool.health(),
    cacheStats,
    lists: currentLists,
    listsStatus: currentListsStatus,
    admin,
    opsAddresses: () => ops.addresses(),
  };

  /**
   * The abuse key and page setting when `config` has abuse sources or a precompiled artifact (which
   * may hold hashes); undefined otherwise. A key file is created on first use; without one, a key
   * lives in this process only (kept across reloads).
   */
  async function loadAbuse(
    config: RojeConfig,
    previous: AbuseCompileOptions | undefined,
  ): Promise<AbuseCompileOptions | undefined> {
    const needed =
      config.compiled !== null ||
      config.fleet.pull !== null ||
      config.lists.some((s) => CONFIDENTIAL_CATEGORIES.has(s.category));
    if (!needed) return undefined;
    const c = config.abuse;
    let key: AbuseKey;
    if (c.keyFile !== null) key = await loadAbuseKey(c.keyFile, { create: true });
    else {
      ephemeralKey ??= ephemeralAbuseKey();
      key = ephemeralKey;
    }
    if (previous !== undefined && previous.key.id !== key.id) {
      logger.warn({ keyId: key.id, previousKeyId: previous.key.id }, 'abuse key changed');
    }
    return { key, pageEntries: c.pageEntries };
  }

  /** Blocking whole hosts for page-level entries is the operator's explicit choice: say so, once per config. */
  function noteAbuseChoice(config: RojeConfig): void {
    const choice = config.abuse.pageEntries;
    if (choice === lastPageChoice) return;
    lastPageChoice = choice;
    if (choice !== 'block-host') return;
    audit.record({
      who: 'config',
      role: 'admin',
      action: 'abuse.pageEntries=block-host',
      target: config.source ?? '(embedded default)',
      result: 'ok',
    });
    logger.warn(
      'abuse.pageEntries is block-host: the whole host of every page-level abuse entry is blocked (operator choice)',
    );
  }

  /**
   * The scheduled self-test against the first DNS listener, from the config at start (like the admin
   * listeners, its settings are not reloaded). A signing key that cannot be read or created leaves the
   * reports unsigned, with an error logged: filtering does not depend on it.
   */
  async function createSelfTestRunner(): Promise<SelfTest | null> {
    const c = chain.config.selfTest;
    if (!c.enabled) return null;
    const log = logger.child({ module: 'selftest' });
    let signingKey: KeyObject | null = null;
    if (c.signingKeyFile !== null) {
      try {
        signingKey = await loadOrCreateSigningKey(c.signingKeyFile);
      } catch (err) {
        log.error({ err: (err as Error).message }, 'self-test signing key unusable: reports are unsigned');
      }
    }
    return createSelfTest({
      target: () => {
        const a = describeListenersRaw()[0];
        if (a === undefined) return null;
        const host = a.host === '0.0.0.0' ? '127.0.0.1' : a.host === '::' ? '::1' : a.host;
        return { host, port: a.port };
      },
      run: async (target) => {
        const b = chain.config.blockPage;
        const report = await runSuite({
          server: target,
          suite: await loadSuite(c.suite),
          blockAddresses: [b.ipv4, b.ipv6].filter((x): x is string => x !== null),
        });
        return signingKey === null ? report : signReport(report, signingKey);
      },
      intervalMs: c.intervalMs,
      afterSwap: c.afterSwap,
      afterSwapDelayMs: SELF_TEST_SWAP_DELAY_MS,
      keep: c.keep,
      dir: chain.config.stateDir === null ? null : join(chain.config.stateDir, 'selftest'),
      logger: log,
      onResult: (summary) => {
        stats?.recordSelfTest({
          at: summary.at,
          suite: summary.suite,
          passed: summary.passed,
          failed: summary.failed,
          sha256: summary.id,
        });
      },
    });
  }

  /** The CH TXT strings (pipeline/policy-strings.ts), from the facts this process holds. */
  function chaosStrings(name: ChaosName): string[] {
    return policyStrings(name, () => ({
      lists: currentLists(),
      missing: listSet?.missing ?? [],
      checkedAt: feedCheckedAt(),
      abuse: currentAbuseStatus(),
      now: Date.now(),
    }));
  }

  /** When each feed's copy was last confirmed (downloaded or 304): the age the CH TXT and abuse status show. */
  function feedCheckedAt(): Map<string, string | undefined> {
    return new Map((feeds?.status() ?? []).map((f) => [f.name, f.good?.checkedAt]));
  }

  function currentAbuseStatus(): AbuseStatus {
    const c = chain.config.abuse;
    return abuseStatus({
      lists: currentLists(),
      confirmedAt: feedCheckedAt(),
      pageEntries: c.pageEntries,
      maxAgeMs: c.maxAgeMs,
      keyId: abuse?.key.id ?? null,
      now: Date.now(),
    });
  }

  function currentListsStatus(): ListsStatus | null {
    return listSet === null ? null : listsStatus(listSet, listsLoadedAt, listsError);
  }

  /** Recompiles the lists now (the SIGHUP path for lists alone); the running ones stay on failure. */
  async function reloadLists(): Promise<ListsStatus | null> {
    try {
      useLists(await loadLists(chain.config, listsDeps()), 'lists reloaded');
    } catch (err) {
      listsError = { message: (err as Error).message, at: new Date().toISOString() };
      listsLogger.error({ err: listsError.message }, 'lists reload failed; keeping the last good lists');
      throw err;
    }
    return currentListsStatus();
  }

  async function openFeeds(
    config: RojeConfig,
    abuseFor: AbuseCompileOptions | undefined,
  ): Promise<Feeds | null> {
    const sources = config.compiled === null ? config.lists.filter(isFeedSource) : [];
    if (sources.length === 0) return null;
    return createFeeds({
      sources,
      stateDir: config.stateDir as string, // the config requires one when a feed is configured
      logger: feedsLogger,
      ...(abuseFor !== undefined ? { abuseKey: abuseFor.key } : {}),
      onChange: async (names) => {
        try {
          useLists(
            await loadLists(chain.config, listsDeps()),
            `lists recompiled (feeds: ${names.join(', ')})`,
          );
        } catch (err) {
          listsError = { message: (err as Error).message, at: new Date().toISOString() };
          listsLogger.error(
            { err: listsError.message },
            'lists recompile failed; keeping the last good lists',
          );
        }
      },
    });
  }

  /** Accept or reject a held feed copy: false when there is no such feed or nothing is held. */
  async function heldAction(run: () => Promise<void> | undefined): Promise<boolean> {
    try {
      const pending = run();
      if (pending === undefined) return false;
      await pending;
      return true;
    } catch (err) {
      if (isRojeError(err, 'ROJE_ERR_FEED_NOT_HELD') || isRojeError(err, 'ROJE_ERR_FEED_UNKNOWN'))
        return false;
      throw err;
    }
  }

  function openStats(): void {
    if (statsRecorder === null) return;
    const c = chain.config.stats;
    try {
      if (c.path !== ':memory:') mkdirSync(dirname(c.path), { recursive: true, mode: 0o750 });
      stats = openStatsStore(
        {
          path: c.path,
          retentionDays: c.retentionDays,
          flushIntervalMs: c.flushIntervalMs,
          maxOpenReports: c.maxOpenReports,
        },
        {
          logger: logger.child({ module: 'stats' }),
          drain: () => [...statsRecorder.drain(), ...workerCounts.splice(0)],
        },
      );
      // Distinct blocked names are hashed with the database's own salt, so sketches merge across restarts.
      statsRecorder.useSalt(stats.salt);
      workerPool?.broadcast({ type: 'salt', salt: stats.salt });
    } catch (err) {
      // Statistics are not worth refusing to filter for: roje runs on and says so.
      logger.error(
        { err: (err as Error).message, code: (err as { code?: string }).code },
        'statistics disabled',
      );
    }
  }

  function closeStats(): void {
    stats?.close();
    stats = null;
    statsRecorder?.close();
  }

  function createBlockPage(): BlockPageServer | null {
    const b = chain.config.blockPage;
    if (b.listen.length === 0) return null;
    return createBlockPageServer(
      {
        listen: b.listen,
        refuseTls: b.refuseTls,
        operatorName: b.operatorName,
        help: b.help,
        defaultLang: b.defaultLang,
        maxMessageLength: b.maxMessageLength,
        reportsPerMinute: b.reportsPerMinute,
      },
      {
        explain: (host, client) => chain.policy.explain(host, client),
        // Without a statistics store there is nowhere to keep reports: no form.
        ...(stats !== null
          ? {
              onReport: (r: BlockReport) => {
                stats?.addReport({
                  venue: r.venue ?? NO_VENUE,
                  category: r.categories.join(','),
                  ...(r.host !== undefined ? { name: r.host } : {}),
                  message: r.message,
                });
              },
            }
          : {}),
        logger: logger.child({ module: 'blockpage' }),
      },
    );
  }

  function requireStats(): StatsStore {
    if (stats === null) {
      throw Object.assign(
        new Error('statistics are disabled (stats.enabled, or the database could not be opened)'),
        {
          statusCode: 503,
        },
      );
    }
    return stats;
  }

  function flushed(): StatsStore {
    const store = requireStats();
    store.flush();
    return store;
  }

  function adminApi(): AdminApi {
    return {
      status: () => {
        const abuseNow = currentAbuseStatus();
        return {
          version: VERSION,
          startedAt: new Date(startedAt).toISOString(),
          uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
          serving: admin.ready(),
          listeners: { dns: describeListeners(), ...ops.addresses() },
          upstreams: chain.pool.health().map((u) => ({ ...u, url: redactUpstreamUrl(u.url) })),
          lists: listsView(),
          abuse: abuseNow,
          feeds: feeds?.status() ?? [],
          fleet: fleet.status(),
          cache: cacheStats(),
          workers: workerPool?.status() ?? null,
          stats: stats === null ? null : { path: chain.config.stats.path, pending: stats.pending() },
          blockPage: blockPage === null ? null : { listen: blockPage.addresses() },
          // Conditions an operator or certifier must act on (a stale or missing abuse feed).
          warnings: [...abuseNow.warnings],
        };
      },
      ready: () =>
        listSet === null
          ? { ready: false, reason: 'no good list loaded yet' }
          : listSet.missing.length > 0
            ? { ready: false, reason: `waiting for the first good copy of: ${listSet.missing.join(', ')}` }
            : listeners.size === 0 && (workerPool?.status().running ?? 0) === 0
              ? { ready: false, reason: 'not listening' }
              : { ready: true, reason: null },
      config: () => redactedConfig(chain.config),
      refreshLists: async (sources) => {
        const known = new Set(chain.config.lists.map((s) => s.name));
        const feedNames = new Set(chain.config.lists.filter(isFeedSource).map((s) => s.name));
        const unknown = (sources ?? []).filter((n) => !known.has(n));
        if (unknown.length > 0) {
          throw Object.assign(new Error(`no list source named ${unknown.join(', ')}`), { statusCode: 404 });
        }
        const wanted = (sources ?? [...feedNames]).filter((n) => feedNames.has(n));
        const results = feeds === null || wanted.length === 0 ? [] : await feeds.refresh(wanted);
        // An edge pulls now; a new artifact swaps the lists itself (onUpdate).
        const pulled = await fleet.pullNow();
        // A changed feed already recompiled the lists (onChange); otherwise recompile for the files.
        if (!results.some((r) => r.result === 'updated') && pulled?.result !== 'updated') await reloadLists();
        return { feeds: results, ...(pulled !== null ? { fleet: pulled } : {}), lists: currentListsStatus() };
      },
      listsArtifact: () => fleet.publication(listSet),
      acceptList: (name) => heldAction(() => feeds?.accept(name)),
      rejectList: (name) => heldAction(() => feeds?.reject(name)),
      flushCache: () => {
        const removed = cacheStats().entries;
        chain.cache.clear();
        workerPool?.broadcast({ type: 'flush-cache' });
        return { removed };
      },
      // Written first, so that the API shows the counts up to this moment.
      // The abuse feed's page-level entries DNS cannot enforce are reported with the counts (numbers only).
      statsSummary: (q) => {
        const a = currentAbuseStatus();
        return {
          ...flushed().summary(q),
          abuse: {
            entries: a.entries,
            pages: a.pages,
            pageEntries: a.pageEntries,
            pagesNotEnforced: a.pagesNotEnforced,
          },
        };
      },
      statsSeries: (q) => flushed().series(q),
      reports: (q) => requireStats().listReports(q),
      reviewReport: (id, status, by) => requireStats().reviewReport(id, status, by),
      selfTests: () => ({ enabled: selfTest !== null, reports: selfTest?.list() ?? [] }),
      selfTestReport: (id, format) => {
        const report = selfTest?.get(id) ?? null;
        if (report === null) return null;
        return format === 'html'
          ? { contentType: 'text/html; charset=utf-8', body: renderReportHtml(report) }
          : { contentType: 'application/json; charset=utf-8', body: `${JSON.stringify(report, null, 2)}\n` };
      },
      runSelfTest: async () => {
        if (selfTest === null) {
          throw Object.assign(new Error('the self-test is disabled (selfTest.enabled)'), { statusCode: 409 });
        }
        return selfTest.runNow('operator');
      },
      metrics: async () => ({ contentType: metrics.contentType, body: await metrics.render() }),
      dashboard: () => ({ html: dashboardHtml(), csp: dashboardCsp() }),
      transparencyReport: (q) =>
        buildTransparencyReport(flushed(), { ...q, operator: chain.config.blockPage.operatorName }),
    };
  }

  /** The lists in force for the status page: counts, versions and ages, never entries. */
  function listsView() {
    const status = currentListsStatus();
    const lists = currentLists();
    if (status === null || lists === null) return null;
    return {
      ...status,
      missing: listSet?.missing ?? [],
      sources: lists.sources.map((s) => ({
        name: s.name,
        category: s.category,
        format: s.format,
        entries: s.entries,
        skipped: s.skipped,
        sha256: s.sha256,
        readAt: s.readAt,
      })),
    };
  }

  function useLists(loaded: LoadedListSet, message: string): void {
    stats?.flush();
    listSet = workerPool !== null && chain.config.workers.mode === 'threads' ? shared(loaded) : loaded;
    listsLoadedAt = new Date().toISOString();
    listsError = null;
    const l = loaded.lists;
    stats?.recordListChange({
      at: listsLoadedAt,
      version: l.version,
      entries: l.entries,
      sources: l.sources.length,
      reason: message,
    });
    listsLogger.info(
      {
        from: loaded.from,
        sources: l.sources.map(
          (s) => `${s.name} (${s.category}, ${s.format}, ${s.entries} rules, ${s.skipped} skipped)`,
        ),
        categories: l.categories,
        entries: l.entries,
        version: l.version.slice(0, 16),
        ms: Math.round(loaded.ms),
      },
      message,
    );
    if (loaded.from === 'none') listsLogger.warn('no lists: not filtering');
    if (loaded.missing.length > 0) {
      listsLogger.error(
        { missing: loaded.missing },
        'feeds without a good copy yet: answering SERVFAIL (EDE 14 Not Ready) until they are fetched',
      );
    }
    chain.policy.prepare();
    metrics.setBlockLabels({ categories: l.categories, venues: chain.config.venues.map((v) => v.name) });
    if (workerPool !== null && workerPool.status().running > 0) workerPool.broadcast(listsMessage());
    selfTest?.listsSwapped();
  }

  function describeListenersRaw(): BoundAddress[] {
    if (workerPool !== null) return workerPool.addresses();
    return [...listeners.values()].map((listener) => listener.address);
  }

  /** The cache as clients see it: the query loops' caches summed when they answer, else this one's. */
  function cacheStats(): DnsCacheStats {
    return workerPool === null ? chain.cache.stats() : workerPool.cacheStats();
  }

  /** Starts the query loops on the listen addresses, and keeps their CH TXT facts fresh. */
  async function startWorkers(): Promise<void> {
    if (workerPool === null) return;
    await workerPool.start(chain.config);
    stateTimer = setInterval(() => {
      workerPool.broadcast({ type: 'state', checkedAt: [...feedCheckedAt()] });
    }, WORKER_STATE_INTERVAL_MS);
    stateTimer.unref();
  }

  /** Listen addresses and the worker layout are bound at start: a reload that changes them says so. */
  function keepWorkerLayout(config: RojeConfig): void {
    if (
      !sameListen(config.listen, chain.config.listen) ||
      config.workers.count !== chain.config.workers.count ||
      config.workers.mode !== chain.config.workers.mode
    ) {
      logger.warn(
        { listen: describeListeners(), workers: chain.config.workers },
        'listen and workers are kept until a restart when workers run the query loops',
      );
    }
  }

  /**
   * The lists for the query loops. In thread mode the artifact lives in a SharedArrayBuffer (shared())
   * and every thread views the same bytes; processes get a copy each.
   */
  function listsMessage(): ListsMessage {
    const lists = currentLists();
    const bytes = lists?.artifact;
    if (lists === null || bytes === undefined) {
      throw new RojeError('ROJE_ERR_WORKER_FAILED', 'query loops need loaded lists first');
    }
    return {
      type: 'lists',
      bytes,
      missing: listSet?.missing ?? [],
      abuseKey: abuse === undefined ? null : keyBytes(abuse.key),
    };
  }

  /** The same lists over a SharedArrayBuffer, so that this thread and every query loop hold one copy. */
  function shared(loaded: LoadedListSet): LoadedListSet {
    const bytes = loaded.lists.artifact;
    if (bytes === undefined || bytes.buffer instanceof SharedArrayBuffer) return loaded;
    const sab = new SharedArrayBuffer(bytes.byteLength);
    new Uint8Array(sab).set(bytes);
    const lists = loadArtifact(Buffer.from(sab), 'shared lists', {
      trusted: true,
      abuseKey: abuse?.key ?? null,
    });
    return { ...loaded, lists };
  }

  function describeListeners(): string[] {
    return describeListenersRaw().map((a) => `udp+tcp ${formatAddress(a)}`);
  }
}

async function closeListener(listener: Listener): Promise<void> {
  await listener.close();
}

/** Port 0 asks for a fresh ephemeral port each time it is listed, so its position tells them apart. */
function addressKey(address: { host: string; port: number }, index: number): string {
  return address.port === 0 ? `${address.host}|0|${index}` : `${address.host}|${address.port}`;
}

export function formatAddress(address: { host: string; port: number }): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** The config for the admin API's view: token hashes and upstream credentials left out. */
function redactedConfig(config: RojeConfig): unknown {
  return {
    ...config,
    upstreams: config.upstreams.map(({ ca, ...u }) => ({
      ...u,
      url: redactUpstreamUrl(u.url),
      ...(ca !== undefined ? { ca: '(PEM, not shown)' } : {}),
    })),
    admin: { ...config.admin, tokens: config.admin.tokens.map((t) => ({ name: t.name, role: t.role })) },
  };
}

function sameListen(a: readonly ListenAddress[], b: readonly ListenAddress[]): boolean {
  return a.length === b.length && a.every((x, i) => x.host === b[i]?.host && x.port === b[i]?.port);
}
