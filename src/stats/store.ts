/**
 * The statistics store: hourly aggregates in SQLite (better-sqlite3, WAL), written once a minute from
 * the recorder's counters, kept for `retentionDays`. Writing never throws into the resolver: when the
 * disk is full or the file read-only, the error is logged once and the counts wait in memory (bounded)
 * for the next flush, which writes them in one transaction (all or nothing, so nothing counts twice).
 */
import type { Logger } from 'pino';
import { openStatsDatabase, type StatsDatabase } from './db.js';
import { createStatsQueries, type StatsQueries } from './queries.js';
import { type HourCounts, hourKey } from './recorder.js';
import { createReports, type Reports } from './reports.js';

const DAY_MS = 24 * 3_600_000;

export interface StatsStoreOptions {
  /** SQLite file; created with its schema if missing. */
  path: string;
  /** Hours older than this many days are deleted (on open, then daily). Default 400. */
  retentionDays?: number;
  /** Default 60 000 ms; 0 disables the timer (flush() by hand). */
  flushIntervalMs?: number;
  /** Open wrong-block reports beyond which new ones are refused. Default 10 000. */
  maxOpenReports?: number;
  /** (venue, category, action) rows held in memory while the database cannot be written. Default 100 000. */
  maxPendingRows?: number;
}

export interface StatsStoreDeps {
  logger: Pick<Logger, 'error' | 'warn' | 'info'>;
  /** Where counts come from at each flush: the recorder's drain. */
  drain?: () => HourCounts[];
  /** Wall clock in epoch ms. */
  now?: () => number;
}

export interface StatsStore extends StatsQueries, Reports {
  /** Drains the recorder and writes everything pending. Returns false (and keeps the counts) on failure. */
  flush(): boolean;
  /** Deletes what is older than the retention; returns the number of rows deleted. */
  prune(): number;
  /** Counts waiting in memory for a successful write (for status and tests). */
  pending(): { hours: number; rows: number; dropped: number };
  /** Stops the timer, flushes, closes the database. Never throws. */
  close(): void;
}

interface PendingHour {
  queries: number;
  blocked: number;
  cacheHits: number;
  venues: Map<string, number>;
  /** key: venue \0 category \0 action */
  rows: Map<string, number>;
}

export function openStatsStore(options: StatsStoreOptions, deps: StatsStoreDeps): StatsStore {
  const retentionDays = options.retentionDays ?? 400;
  const flushIntervalMs = options.flushIntervalMs ?? 60_000;
  const maxPendingRows = options.maxPendingRows ?? 100_000;
  const now = deps.now ?? Date.now;
  const logger = deps.logger;
  const db: StatsDatabase = openStatsDatabase(options.path);
  const queries = createStatsQueries(db);
  const reports = createReports(db, { maxOpen: options.maxOpenReports ?? 10_000 }, now);

  const addTotals = db.prepare<[string, number, number, number]>(
    `INSERT INTO hourly_totals (hour, queries, blocked, cache_hits) VALUES (?, ?, ?, ?)
     ON CONFLICT (hour) DO UPDATE SET queries = queries + excluded.queries, blocked = blocked + excluded.blocked,
       cache_hits = cache_hits + excluded.cache_hits`,
  );
  const addVenue = db.prepare<[string, string, number]>(
    `INSERT INTO hourly_venues (hour, venue, blocked) VALUES (?, ?, ?)
     ON CONFLICT (hour, venue) DO UPDATE SET blocked = blocked + excluded.blocked`,
  );
  const addBlock = db.prepare<[string, string, string, string, number]>(
    `INSERT INTO hourly_blocks (hour, venue, category, action, count) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (hour, venue, category, action) DO UPDATE SET count = count + excluded.count`,
  );
  const pruneStatements = [
    db.prepare<[string]>('DELETE FROM hourly_totals WHERE hour < ?'),
    db.prepare<[string]>('DELETE FROM hourly_venues WHERE hour < ?'),
    db.prepare<[string]>('DELETE FROM hourly_blocks WHERE hour < ?'),
  ];
  // Reviewed reports go with the retention too; open ones wait for a reviewer whatever their age.
  const pruneReports = db.prepare<[string]>("DELETE FROM reports WHERE status <> 'open' AND reviewed_at < ?");

  const pendingHours = new Map<string, PendingHour>();
  let pendingRows = 0;
  let dropped = 0;
  let failing = false;
  let closed = false;
  let lastPrune = 0;

  function merge(counts: HourCounts): void {
    let p = pendingHours.get(counts.hour);
    if (p === undefined) {
      p = { queries: 0, blocked: 0, cacheHits: 0, venues: new Map(), rows: new Map() };
      pendingHours.set(counts.hour, p);
    }
    p.queries += counts.queries;
    p.blocked += counts.blocked;
    p.cacheHits += counts.cacheHits;
    for (const v of counts.venues) p.venues.set(v.venue, (p.venues.get(v.venue) ?? 0) + v.blocked);
    for (const r of counts.rows) {
      const key = `${r.venue}\0${r.category}\0${r.action}`;
      const before = p.rows.get(key);
      if (before === undefined) pendingRows++;
      p.rows.set(key, (before ?? 0) + r.count);
    }
  }

  /** While writes fail, the oldest hours go first once the bound is passed (the newest matter most). */
  function bound(): void {
    for (const [hour, p] of pendingHours) {
      if (pendingRows <= maxPendingRows) break;
      pendingHours.delete(hour);
      pendingRows -= p.rows.size;
      dropped += p.rows.size;
    }
  }

  const writeAll = db.transaction(() => {
    for (const [hour, p] of pendingHours) {
      addTotals.run(hour, p.queries, p.blocked, p.cacheHits);
      for (const [venue, blocked] of p.venues) addVenue.run(hour, venue, blocked);
      for (const [key, count] of p.rows) {
        const [venue, category, action] = key.split('\0') as [string, string, string];
        addBlock.run(hour, venue, category, action, count);
      }
    }
  });

  function prune(): number {
    const cutoff = now() - retentionDays * DAY_MS;
    const hour = hourKey(cutoff);
    let deleted = 0;
    db.transaction(() => {
      for (const s of pruneStatements) deleted += s.run(hour).changes;
      deleted += pruneReports.run(new Date(cutoff).toISOString()).changes;
    })();
    lastPrune = now();
    return deleted;
  }

  function flush(): boolean {
    if (closed) return false;
    if (deps.drain !== undefined) for (const counts of deps.drain()) merge(counts);
    try {
      if (pendingHours.size > 0) writeAll();
      pendingHours.clear();
      pendingRows = 0;
      if (now() - lastPrune >= DAY_MS) prune();
      if (failing) {
        failing = false;
        logger.info(
          { module: 'stats', path: options.path },
          'statistics database writable again; pending counts written',
        );
      }
      return true;
    } catch (err) {
      if (!failing) {
        failing = true;
        logger.error(
          { module: 'stats', code: 'ROJE_ERR_STATS_WRITE', path: options.path, err: (err as Error).message },
          'cannot write the statistics database (disk full or read-only?); counts are kept in memory until it can',
        );
      }
      bound();
      return false;
    }
  }

  // Retention at open; a read-only or full database still opens and serves reads.
  try {
    prune();
  } catch (err) {
    failing = true;
    lastPrune = now();
    logger.error(
      { module: 'stats', code: 'ROJE_ERR_STATS_WRITE', path: options.path, err: (err as Error).message },
      'cannot write the statistics database (disk full or read-only?); counts are kept in memory until it can',
    );
  }

  const timer = flushIntervalMs > 0 ? setInterval(flush, flushIntervalMs) : undefined;
  timer?.unref();

  return {
    ...queries,
    ...reports,
    flush,
    prune,
    pending: () => ({ hours: pendingHours.size, rows: pendingRows, dropped }),
    close() {
      if (closed) return;
      if (timer !== undefined) clearInterval(timer);
      flush();
      closed = true;
      try {
        db.close();
      } catch (err) {
        logger.warn(
          { module: 'stats', err: (err as Error).message },
          'closing the statistics database failed',
        );
      }
    },
  };
}
