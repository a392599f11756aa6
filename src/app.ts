import type { Logger } from 'pino';
import { createDnsCache, type DnsCache } from './cache/dns-cache.js';
import type { RojeConfig } from './config/schema.js';
import { createCidrMatcher } from './net/cidr.js';
import { compose } from './pipeline/compose.js';
import { createResponder } from './pipeline/responder.js';
import { createAclStage } from './pipeline/stages/acl.js';
import { createCacheStage } from './pipeline/stages/cache.js';
import { createForwardHandler } from './pipeline/stages/forward.js';
import { createPolicyStage, type PolicyStage } from './pipeline/stages/policy.js';
import { createRateLimitStage } from './pipeline/stages/rate-limit.js';
import type { Answer, Handler, Query } from './pipeline/types.js';
import {
  type ListsLoaderDeps,
  type ListsStatus,
  type LoadedListSet,
  listsStatus,
  loadLists,
} from './policy/lists-loader.js';
import type { CompiledLists } from './policy/types.js';
import { CONFIDENTIAL_CATEGORIES } from './policy/types.js';
import { listen } from './transport/listen.js';
import type { ListenerSettings } from './transport/types.js';
import { createUpstreamPool, type UpstreamPool } from './upstream/pool.js';

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
}

export interface AppDeps {
  logger: Logger;
  /** Replaces how lists are compiled or read (tests). */
  listsLoader?: ListsLoaderDeps;
}

type Listener = Awaited<ReturnType<typeof listen>>;

interface Chain {
  config: RojeConfig;
  handler: Handler;
  udpSize: number;
  pool: UpstreamPool;
  cache: DnsCache;
  policy: PolicyStage;
}

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
  let chain = buildChain(initial, undefined);
  const listeners = new Map<string, Listener>();

  const responder = createResponder({
    current: () => chain,
    logger: logger.child({ module: 'responder' }),
    onAnswer: logQuery,
  });

  function buildChain(config: RojeConfig, previous: Chain | undefined): Chain {
    const udpSize = config.edns.udpSize;
    // Keep the cache (and its contents) across reloads unless its bounds changed.
    const cache =
      previous !== undefined && sameJson(previous.config.cache, config.cache)
        ? previous.cache
        : createDnsCache({
            maxEntries: config.cache.maxEntries,
            maxBytes: config.cache.maxBytes,
            serveStale: {
              enabled: config.cache.serveStale.enabled,
              maxStale: config.cache.serveStale.maxStale,
            },
          });
    const pool = createUpstreamPool(
      { upstreams: config.upstreams, timeoutMs: config.upstream.timeoutMs, udpSize },
      { logger: logger.child({ module: 'upstream' }) },
    );
    const rateLimit = config.rateLimit;
    const policy = createPolicyStage({
      lists: () => currentLists(),
      venues: config.venues,
      policies: config.policies,
      blockTtl: config.blockTtl,
      blockPage: config.blockPage,
      udpSize,
      logger: logger.child({ module: 'policy' }),
    });
    const handler = compose(
      [
        // 1. Rate limit first: every answer, REFUSED included, can be reflected at a forged UDP source.
        ...(rateLimit.enabled
          ? [
              createRateLimitStage({
                responsesPerSecond: rateLimit.responsesPerSecond,
                burst: rateLimit.burst,
                slip: rateLimit.slip,
                isExempt: createCidrMatcher(rateLimit.exempt),
                udpSize,
              }),
            ]
          : []),
        // 2. ACL: a client outside the served networks gets REFUSED before any work (no open resolver).
        createAclStage({ isAllowed: createCidrMatcher(config.acl.allow), udpSize }),
        // 3. Policy before the cache: decisions differ per venue while the cache is shared by all, so a
        //    blocked name never reaches the cache or the upstream, and cache hits pass back through here
        //    to have their CNAME chains inspected like fresh upstream answers.
        policy,
        // 4. Cache before forwarding; serve-stale lives here because only the cache holds expired answers.
        createCacheStage({ cache, udpSize, serveStale: config.cache.serveStale }),
      ],
      // 5. Forward: coalesced, failed over across upstreams, prepared once for the cache.
      createForwardHandler({
        pool,
        udpSize,
        ttl: {
          minTtl: config.cache.minTtl,
          maxTtl: config.cache.maxTtl,
          negativeMaxTtl: config.cache.negativeMaxTtl,
        },
      }),
    );
    return { config, handler, udpSize, pool, cache, policy };
  }

  // Per-query logs are off by default (privacy); the switch is read per answer so SIGHUP can flip it.
  function logQuery(query: Query, answer: Answer): void {
    if (!chain.config.log.queries) return;
    logger.info(
      {
        qname: isConfidentialBlock(answer) ? '[confidential]' : query.name,
        qtype: query.qtype,
        rcode: answer.rcode,
        source: answer.source,
        client: query.client.address,
        transport: query.client.transport,
        ms: Math.round((performance.now() - query.receivedAt) * 1000) / 1000,
      },
      'query',
    );
  }

  /** A name blocked by a confidential category (the abuse feed) is itself an entry of that feed. */
  function isConfidentialBlock(answer: Answer): boolean {
    const mask = answer.block?.categories ?? 0;
    if (mask === 0) return false;
    const categories = currentLists()?.categories ?? [];
    return categories.some((c, bit) => (mask & (1 << bit)) !== 0 && CONFIDENTIAL_CATEGORIES.has(c));
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
      // Lists first: a resolver that cannot load its lists must not start answering (fail closed).
      const loaded = await loadLists(chain.config, deps.listsLoader);
      useLists(loaded, 'lists loaded');
      try {
        await openListeners(chain.config);
      } catch (err) {
        await Promise.all([...listeners.values()].map(closeListener));
        listeners.clear();
        throw err;
      }
    },

    async reload(config) {
      // Lists are reloaded (recompiled: the files may have changed even if the config did not) before
      // anything else changes; failing that, the running lists stay and the config reload goes on.
      let loaded: LoadedListSet | null = null;
      try {
        loaded = await loadLists(config, deps.listsLoader);
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
      let stale: Listener[];
      try {
        stale = await openListeners(config);
      } catch (err) {
        await next.pool.close();
        throw err;
      }
      chain = next;
      if (loaded !== null) useLists(loaded, 'lists reloaded');
      else chain.policy.prepare();
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
      const all = [...listeners.values()];
      listeners.clear();
      await Promise.all(all.map(closeListener));
      await chain.pool.close();
    },

    addresses: describeListenersRaw,
    describeListeners,
    upstreamHealth: () => chain.pool.health(),
    cacheStats: () => chain.cache.stats(),
    lists: currentLists,
    listsStatus: () => (listSet === null ? null : listsStatus(listSet, listsLoadedAt, listsError)),
  };

  function useLists(loaded: LoadedListSet, message: string): void {
    listSet = loaded;
    listsLoadedAt = new Date().toISOString();
    listsError = null;
    const l = loaded.lists;
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
    chain.policy.prepare();
  }

  function describeListenersRaw(): BoundAddress[] {
    return [...listeners.values()].map((listener) => listener.address);
  }

  function describeListeners(): string[] {
    return describeListenersRaw().map((a) => `udp+tcp ${formatAddress(a)}`);
  }
}

async function closeListener(listener: Listener): Promise<void> {
  await listener.close();
}

function listenerSettings(config: RojeConfig): ListenerSettings {
  return {
    drainTimeoutMs: config.shutdown.drainTimeoutMs,
    idleTimeoutMs: config.tcp.idleTimeoutMs,
    maxConnections: config.tcp.maxConnections,
    maxInFlightPerConnection: config.tcp.maxPipelined,
  };
}

/** Port 0 asks for a fresh ephemeral port each time it is listed, so its position tells them apart. */
function addressKey(address: { host: string; port: number }, index: number): string {
  return address.port === 0 ? `${address.host}|0|${index}` : `${address.host}|${address.port}`;
}

export function formatAddress(address: { host: string; port: number }): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
