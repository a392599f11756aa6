/**
 * The statistics service: the store (SQLite) that counts are flushed to, the list history and the
 * wrong-block reports. Started before the lists so that the first load is in the history. Statistics
 * are not worth refusing to filter for: a store that cannot open leaves roje running, and says so.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { RojeConfig } from '../config/schema.js';
import { RojeError } from '../errors.js';
import type { HourCounts } from '../stats/recorder.js';
import { openStatsStore, type StatsStore } from '../stats/store.js';
import type { Service } from './lifecycle.js';
import type { SwapListener } from './lists.js';

export interface StatsServiceOptions {
  config: RojeConfig;
  logger: Logger;
  /** Where counts come from at each flush (the data plane). */
  drain: () => HourCounts[];
  /** The store is open: its salt keys the distinct-name sketches. */
  onOpen: (salt: Uint8Array) => void;
}

export interface StatsService extends Service, SwapListener {
  /** The open store, or null (disabled, or it could not be opened). */
  store(): StatsStore | null;
  /** The open store, flushed first so that it shows the counts up to now; ROJE_ERR_STATS_DISABLED without one. */
  flushed(): StatsStore;
  /** The open store; ROJE_ERR_STATS_DISABLED without one. */
  required(): StatsStore;
}

export function createStatsService(options: StatsServiceOptions): StatsService {
  const c = options.config.stats;
  let store: StatsStore | null = null;

  function required(): StatsStore {
    if (store === null) throw new RojeError('ROJE_ERR_STATS_DISABLED');
    return store;
  }

  return {
    name: 'statistics',
    async start() {
      if (!c.enabled) return;
      try {
        if (c.path !== ':memory:') mkdirSync(dirname(c.path), { recursive: true, mode: 0o750 });
        store = openStatsStore(
          {
            path: c.path,
            retentionDays: c.retentionDays,
            flushIntervalMs: c.flushIntervalMs,
            maxOpenReports: c.maxOpenReports,
          },
          { logger: options.logger.child({ module: 'stats' }), drain: options.drain },
        );
        options.onOpen(store.salt);
      } catch (err) {
        options.logger.error(
          { err: (err as Error).message, code: (err as { code?: string }).code },
          'statistics disabled',
        );
      }
    },
    async prepare() {
      // Counts are named when written: write them before venues change meaning. (The store's own
      // settings are read at start only.)
      return { commit: () => void store?.flush(), abort() {} };
    },
    async stop() {
      store?.close();
      store = null;
    },
    beforeSwap: () => void store?.flush(),
    afterSwap(set, reason) {
      const l = set.lists;
      store?.recordListChange({
        at: new Date().toISOString(),
        version: l.version,
        entries: l.entries,
        sources: l.sources.length,
        reason,
      });
    },
    store: () => store,
    required,
    flushed() {
      const s = required();
      s.flush();
      return s;
    },
  };
}
