/**
 * The statistics service: the store that counts are flushed to (SQLite on one box, or the shared
 * PostgreSQL of a city: store.url), the list history and the wrong-block reports. Started before the
 * lists so that the first load is in the history. Statistics are not worth refusing to filter for: a
 * store that cannot open leaves roje running, and says so; a shared store unreachable at start is
 * tried again until it answers (the recorder keeps counting meanwhile).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { RojeConfig } from '../config/schema.js';
import { RojeError } from '../errors.js';
import type { StoreMetricsSource } from '../metrics/metrics.js';
import type { HourCounts } from '../stats/recorder.js';
import { type ListChange, openStatsStore, type StatsStore, type StoreState } from '../stats/store.js';
import type { Service } from './lifecycle.js';
import type { SwapListener } from './lists.js';

/** How long to wait before trying a shared store that was unreachable at start again. */
const REOPEN_MS = 10_000;

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
  flushed(): Promise<StatsStore>;
  /** The open store; ROJE_ERR_STATS_DISABLED without one. */
  required(): StatsStore;
  /** The store's health for status and metrics; null when statistics are off or not open. */
  storeState(): StoreState | null;
  /** The store's health and (taken by the histogram) its write durations, for /metrics. */
  storeMetrics(): StoreMetricsSource | null;
}

export function createStatsService(options: StatsServiceOptions): StatsService {
  const c = options.config.stats;
  const s = options.config.store;
  const logger = options.logger.child({ module: 'stats' });
  let store: StatsStore | null = null;
  let reopen: NodeJS.Timeout | undefined;
  let stopped = false;
  /** A shared store not open yet because it was unreachable: said as down, so that its alert fires. */
  let unreachable: StoreState | null = null;
  /** The first list load, made before the store opened (it opens after the first answers): kept for it. */
  let firstLoad: ListChange | null = null;

  function required(): StatsStore {
    if (store === null) throw new RojeError('ROJE_ERR_STATS_DISABLED');
    return store;
  }

  async function open(): Promise<void> {
    try {
      if (s.url === null && c.path !== ':memory:')
        mkdirSync(dirname(c.path), { recursive: true, mode: 0o750 });
      const opened = await openStatsStore(
        {
          path: c.path,
          postgres: s.url === null ? null : { url: s.url, poolSize: s.poolSize },
          instance: s.instance,
          spool: s.spool,
          retentionDays: c.retentionDays,
          flushIntervalMs: c.flushIntervalMs,
          maxOpenReports: c.maxOpenReports,
        },
        { logger, drain: options.drain },
      );
      if (stopped) {
        await opened.close();
        return;
      }
      store = opened;
      unreachable = null;
      options.onOpen(opened.salt);
      if (firstLoad !== null) opened.recordListChange(firstLoad);
      firstLoad = null;
      logger.info({ kind: opened.kind, instance: opened.instance }, 'statistics store open');
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ROJE_ERR_STORE_UNAVAILABLE' && !stopped) {
        logger.error({ err: (err as Error).message, code }, 'the shared store is unreachable; trying again');
        unreachable ??= {
          kind: 'postgres',
          instance: s.instance,
          up: false,
          since: new Date().toISOString(),
          spooledBatches: 0,
          spooledBytes: 0,
          dropped: 0,
          lastError: null,
        };
        unreachable.lastError = (err as Error).message;
        reopen = setTimeout(() => void open(), REOPEN_MS);
        reopen.unref();
        return;
      }
      logger.error({ err: (err as Error).message, code }, 'statistics disabled');
    }
  }

  return {
    name: 'statistics',
    async start() {
      if (!c.enabled) return;
      stopped = false;
      await open();
    },
    async prepare() {
      // Counts are named when written: write them before venues change meaning. (The store's own
      // settings are read at start only.)
      return { commit: () => void store?.flush(), abort() {} };
    },
    async stop() {
      stopped = true;
      unreachable = null;
      if (reopen !== undefined) clearTimeout(reopen);
      await store?.close();
      store = null;
    },
    beforeSwap: () => void store?.flush(),
    afterSwap(set, reason) {
      const l = set.lists;
      const change = {
        at: new Date().toISOString(),
        version: l.version,
        entries: l.entries,
        sources: l.sources.length,
        reason,
      };
      if (store === null && unreachable === null && c.enabled) firstLoad ??= change;
      store?.recordListChange(change);
      // Written now rather than at the next timer: a swap is rare, and its record should not wait.
      void store?.flush();
    },
    store: () => store,
    required,
    async flushed() {
      const open = required();
      await open.flush();
      return open;
    },
    storeState: () => store?.state() ?? unreachable,
    storeMetrics() {
      const open = store;
      if (open === null) return unreachable === null ? null : { ...unreachable, takeWriteSeconds: () => [] };
      return { ...open.state(), takeWriteSeconds: () => open.takeWriteSeconds() };
    },
  };
}
