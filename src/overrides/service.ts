/**
 * The overrides as a service: the store (store.ts) loaded at start, before the data plane, so that the
 * first query already sees them. One box keeps them in stateDir/overrides.json; with the shared store
 * (PostgreSQL, opened by the statistics service, which starts first) they are the city's, and the last
 * set read is kept in stateDir/overrides-cache.json for a start while the database is down. The data
 * plane reads the overlay (and, with workers, subscribes to changes to send it to the query loops).
 */
import { join } from 'node:path';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { RojeConfig } from '../config/schema.js';
import type { CompiledLists } from '../policy/types.js';
import type { Service } from '../services/lifecycle.js';
import { createPostgresPool } from '../store/sql-postgres.js';
import { abuseBlocks } from './abuse-check.js';
import { createFileBackend } from './file.js';
import { createPostgresOverridesBackend } from './postgres.js';
import { createOverridesStore, type OverridesStore } from './store.js';
import { EMPTY_OVERLAY, type OverrideOverlay, type OverridesBackendFactory } from './types.js';

export interface OverridesService extends Service, OverridesStore {}

/** The shared store's PostgreSQL as the overrides need it. */
export interface SharedOverridesStore {
  pool: pg.Pool;
  /** For the LISTEN connection of its own (never logged). */
  url: string;
  instance: string;
  /** store.pollInterval in milliseconds. */
  pollIntervalMs: number;
}

/**
 * The city's PostgreSQL for the overrides when store.url is set: a small pool of their own, so that they
 * are shared whether or not statistics are on or their store has opened yet (an operator's allow must
 * never reach one replica only). Null on one box.
 */
export function ownSharedStore(
  store: RojeConfig['store'],
  logger: Pick<Logger, 'warn'>,
): (SharedOverridesStore & { end(): Promise<void> }) | null {
  if (store.url === null) return null;
  const pool = createPostgresPool({
    url: store.url,
    poolSize: 2,
    onIdleError: (err) => logger.warn({ err: err.message }, 'a store connection of the overrides closed'),
  });
  return {
    pool,
    url: store.url,
    instance: store.instance,
    pollIntervalMs: store.pollIntervalMs,
    end: () => pool.end(),
  };
}

export function createOverridesService(options: {
  /**
   * The config in force: its venues are what an override may name; stateDir and store are read once
   * (with store.url, the overrides get a pool of their own: ownSharedStore).
   */
  config: () => Pick<RojeConfig, 'stateDir' | 'venues'> & Partial<Pick<RojeConfig, 'store'>>;
  lists: () => CompiledLists | null;
  /** Read at start: a shared store given as it is (tests); else the config's, or null (the JSON file). */
  shared?: () => SharedOverridesStore | null;
  logger?: Logger;
}): OverridesService {
  const { stateDir, store: storeConfig } = options.config();
  const logger = options.logger?.child({ module: 'overrides' });
  const own = storeConfig === undefined || logger === undefined ? null : ownSharedStore(storeConfig, logger);
  const sharedStore = options.shared ?? (() => own);
  let store: OverridesStore | null = null;
  const listeners: Array<(overlay: OverrideOverlay) => void> = [];

  function backend(): OverridesBackendFactory {
    const shared = sharedStore();
    if (shared === null) {
      const path = stateDir === null ? null : join(stateDir, 'overrides.json');
      return (deliver) => createFileBackend(path, deliver);
    }
    const cachePath = stateDir === null ? null : join(stateDir, 'overrides-cache.json');
    const log = logger ?? { info() {}, warn() {}, error() {} };
    const importPath = stateDir === null ? null : join(stateDir, 'overrides.json');
    return (deliver) =>
      createPostgresOverridesBackend({ ...shared, logger: log, cachePath, importPath }, deliver);
  }

  /** Made at start, when the shared store is open; until then reads see no overrides, changes wait. */
  function required(): OverridesStore {
    if (store !== null) return store;
    store = createOverridesStore({
      backend: backend(),
      venues: () => options.config().venues.map((v) => v.name),
      abuseBlocks: (name) => abuseBlocks(options.lists(), name),
    });
    for (const l of listeners) store.onChange(l);
    return store;
  }

  return {
    name: 'overrides',
    async start() {
      await required().load();
    },
    async stop() {
      await store?.close();
      // The pool made for the overrides alone ends with them.
      await own?.end().catch(() => {});
    },
    load: () => required().load(),
    list: () => store?.list() ?? EMPTY_OVERLAY.entries,
    overlay: () => store?.overlay() ?? EMPTY_OVERLAY,
    add: (entry) => required().add(entry),
    remove: (id) => required().remove(id),
    onChange(listener) {
      listeners.push(listener);
      store?.onChange(listener);
    },
    state: () => required().state(),
    close: async () => store?.close(),
  };
}
