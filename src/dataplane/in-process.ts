/**
 * The in-process data plane: this thread's UDP and TCP listeners answering through one query path.
 * A reload opens the new addresses before closing the old ones (no gap), and before the chain is
 * switched, so a reload that cannot bind leaves the running config whole.
 */
import type { Logger } from 'pino';
import type { RojeConfig } from '../config/schema.js';
import type { RojeMetrics } from '../metrics/metrics.js';
import type { OverridesStore } from '../overrides/store.js';
import { listen, listenerOptions, listenerSettings } from '../transport/listen.js';
import type { ListenAddress } from '../transport/types.js';
import { createQueryPath, type ListsFacts, type QueryPath } from './query-path.js';
import type { DataPlane } from './types.js';

type Listener = Awaited<ReturnType<typeof listen>>;

export interface InProcessPlaneOptions {
  config: RojeConfig;
  logger: Logger;
  metrics: RojeMetrics;
  lists: ListsFacts;
  /** The run-time overrides (src/overrides): the chain reads the overlay in force per query. */
  overrides?: Pick<OverridesStore, 'overlay'>;
}

const NO_CACHE = { entries: 0, bytes: 0, hits: 0, misses: 0, staleHits: 0, inserts: 0, evictions: 0 };

export function createInProcessPlane(options: InProcessPlaneOptions): DataPlane {
  const { logger } = options;
  const transportLogger = logger.child({ module: 'transport' });
  const listeners = new Map<string, Listener>();
  // Built at start, not before: a start that fails earlier leaves no upstream pool behind.
  let path: QueryPath | null = null;
  let salt: Uint8Array | null = null;

  /** Opens the addresses of `config` not open yet; on a failure closes those it opened and rethrows. */
  async function openMissing(
    config: RojeConfig,
    responder: QueryPath['responder'],
  ): Promise<Map<string, Listener>> {
    const opened = new Map<string, Listener>();
    try {
      for (const [key, address] of wanted(config)) {
        if (listeners.has(key)) continue;
        opened.set(
          key,
          await listen(address, responder, { logger: transportLogger, ...listenerOptions(config) }),
        );
      }
    } catch (err) {
      await Promise.all([...opened.values()].map((l) => l.close()));
      throw err;
    }
    return opened;
  }

  return {
    name: 'data plane',
    async start() {
      const { overrides, ...rest } = options;
      const p = createQueryPath({
        ...rest,
        ...(overrides !== undefined ? { overrides: overrides.overlay } : {}),
      });
      if (salt !== null) p.recorder?.useSalt(salt);
      p.refresh();
      try {
        for (const [key, listener] of await openMissing(options.config, p.responder))
          listeners.set(key, listener);
      } catch (err) {
        p.recorder?.close();
        await p.chain().pool.close();
        throw err;
      }
      path = p;
    },

    async prepare(config) {
      const p = path as QueryPath;
      const next = p.build(config);
      let opened: Map<string, Listener>;
      try {
        opened = await openMissing(config, p.responder);
      } catch (err) {
        if (next.pool !== p.chain().pool) await next.pool.close();
        throw err;
      }
      return {
        async commit() {
          for (const [key, listener] of opened) listeners.set(key, listener);
          const keep = wanted(config);
          const stale = [...listeners].filter(([key]) => !keep.has(key));
          for (const [key] of stale) listeners.delete(key);
          const previous = p.use(next);
          // Listeners kept across the reload take the new tcp and shutdown settings too.
          const settings = listenerSettings(config);
          for (const listener of listeners.values()) listener.configure(settings);
          await Promise.all(stale.map(([, l]) => l.close()));
          // Queries already handed to the old pool finish there; close() lets them.
          if (previous.pool !== next.pool) await previous.pool.close();
        },
        async abort() {
          await Promise.all([...opened.values()].map((l) => l.close()));
          await next.pool.close();
        },
      };
    },

    async stop() {
      const all = [...listeners.values()];
      listeners.clear();
      await Promise.all(all.map((l) => l.close()));
      await path?.chain().pool.close();
      path?.recorder?.close();
    },

    afterSwap: () => path?.refresh(),
    addresses: () => [...listeners.values()].map((l) => l.address),
    listening: () => listeners.size > 0,
    cacheStats: () => path?.chain().cache.stats() ?? { ...NO_CACHE },
    flushCache() {
      const removed = path?.chain().cache.stats().entries ?? 0;
      path?.chain().cache.clear();
      return { removed };
    },
    upstreamHealth: () => path?.chain().pool.health() ?? [],
    workers: () => null,
    drainCounts: () => path?.recorder?.drain() ?? [],
    useSalt(s) {
      salt = s;
      path?.recorder?.useSalt(s);
    },
    explain: (host, clientAddress) => path?.chain().policy.explain(host, clientAddress) ?? null,
    exchange: async (query, client) => (path === null ? null : await path.internal(query, client)),
  };
}

/** The listen addresses by key. Port 0 asks for a fresh port each time it is listed: its position tells them apart. */
function wanted(config: RojeConfig): Map<string, ListenAddress> {
  return new Map(
    config.listen.map((a, i) => [a.port === 0 ? `${a.host}|0|${i}` : `${a.host}|${a.port}`, a] as const),
  );
}
