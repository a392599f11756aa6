/**
 * The statistics store: hourly aggregates in SQLite (better-sqlite3, WAL), written once a minute from
 * the recorder's counters, kept for `retentionDays`. Writing never throws into the resolver: when the
 * disk is full or the file read-only, the error is logged once and the counts wait in memory (bounded)
 * for the next flush, which writes them in one transaction (all or nothing, so nothing counts twice).
 *
 * For the transparency report it also keeps: the seconds it was open per hour (uptime: each flush adds
 * the time since the last one), distinct blocked names per (day, venue, category) as HyperLogLog
 * sketches (merged register-wise, so a partial day's sketch can be written every minute), and the list
 * swaps and self-test results the app records.
 */
import type { Logger } from 'pino';
import { openStatsDatabase, readHllSalt, recordFirstStart, type StatsDatabase } from './db.js';
import { HLL_REGISTERS, hllMerge } from './hll.js';
import { createPeriodQueries, type PeriodQueries } from './period.js';
import { createStatsQueries, type StatsQueries } from './queries.js';
import { type HourCounts, hourKey } from './recorder.js';
import { createReports, type Reports } from './reports.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** List changes and self-test results held in memory while the database cannot be written. */
const MAX_PENDING_EVENTS = 1000;
const MAX_TEXT = 200;

/** A swap of the lists in force (recorded by the app at each swap). */
export interface ListChange {
  /** UTC ISO instant of the swap. */
  at: string;
  /** The compiled lists' version (a hash; reports show its first 12 hex digits). */
  version: string;
  entries: number;
  sources: number;
  /** Why: "lists loaded", "lists reloaded", "lists recompiled (feeds: ...)". Never an entry. */
  reason: string;
}

/** One run of the self-test suite. */
export interface SelfTestResult {
  at: string;
  suite: string;
  /** The venue the suite asked as a client of; null: as a client of no venue. */
  venue?: string | null | undefined;
  passed: number;
  failed: number;
  /** SHA-256 (hex) of the run's signed report document, to match it with a kept report. */
  sha256: string;
}

/** A self-test result as stored: venue null for clients of no venue (and for runs before venues). */
type StoredSelfTest = Omit<SelfTestResult, 'venue'> & { venue: string | null };

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

export interface StatsStore extends StatsQueries, Reports, PeriodQueries {
  /** The salt the distinct-name sketches are keyed with: hand it to the recorder (useSalt). */
  readonly salt: Uint8Array;
  /** Keeps a list swap for the report. Never throws: false (kept in memory, retried) when it cannot be written. */
  recordListChange(change: ListChange): boolean;
  /** Keeps a self-test result for the report. Never throws, as recordListChange. */
  recordSelfTest(result: SelfTestResult): boolean;
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
  venues: Map<string, { queries: number; blocked: number }>;
  /** key: venue \0 category \0 action */
  rows: Map<string, number>;
}

type PendingEvent = { kind: 'list'; change: ListChange } | { kind: 'selftest'; result: StoredSelfTest };

/** Text from the app for a report: bounded, no control characters. */
function text(value: unknown): string {
  return String(value ?? '')
    .replace(/[\u0000-\u001f\u007f]/g, '')
    .slice(0, MAX_TEXT);
}

function count(value: unknown): number {
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? Math.floor(n) : 0;
}

function instant(value: unknown, fallback: number): string {
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  return new Date(Number.isNaN(ms) ? fallback : ms).toISOString();
}

// long-function: one open database, its prepared statements and its write queue are the store's state,
// shared by its inner functions (merge, record, flush, prune), none over 30 lines.
export function openStatsStore(options: StatsStoreOptions, deps: StatsStoreDeps): StatsStore {
  const retentionDays = options.retentionDays ?? 400;
  const flushIntervalMs = options.flushIntervalMs ?? 60_000;
  const maxPendingRows = options.maxPendingRows ?? 100_000;
  const now = deps.now ?? Date.now;
  const logger = deps.logger;
  const db: StatsDatabase = openStatsDatabase(options.path);
  const queries = createStatsQueries(db);
  const reports = createReports(db, { maxOpen: options.maxOpenReports ?? 10_000 }, now);
  const period = createPeriodQueries(db);
  let salt: Uint8Array;
  try {
    salt = readHllSalt(db);
  } catch (err) {
    db.close();
    throw err;
  }

  const addTotals = db.prepare<[string, number, number, number, number]>(
    `INSERT INTO hourly_totals (hour, queries, blocked, cache_hits, served_seconds) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (hour) DO UPDATE SET queries = queries + excluded.queries, blocked = blocked + excluded.blocked,
       cache_hits = cache_hits + excluded.cache_hits, served_seconds = served_seconds + excluded.served_seconds`,
  );
  const addVenue = db.prepare<[string, string, number, number]>(
    `INSERT INTO hourly_venues (hour, venue, queries, blocked) VALUES (?, ?, ?, ?)
     ON CONFLICT (hour, venue) DO UPDATE SET queries = queries + excluded.queries, blocked = blocked + excluded.blocked`,
  );
  const addBlock = db.prepare<[string, string, string, string, number]>(
    `INSERT INTO hourly_blocks (hour, venue, category, action, count) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (hour, venue, category, action) DO UPDATE SET count = count + excluded.count`,
  );
  const getSketch = db.prepare<[string, string, string], { registers: Buffer }>(
    'SELECT registers FROM daily_distinct WHERE day = ? AND venue = ? AND category = ?',
  );
  const putSketch = db.prepare<[string, string, string, Buffer]>(
    `INSERT INTO daily_distinct (day, venue, category, registers) VALUES (?, ?, ?, ?)
     ON CONFLICT (day, venue, category) DO UPDATE SET registers = excluded.registers`,
  );
  const addListChange = db.prepare<[string, string, number, number, string]>(
    'INSERT INTO list_changes (at, version, entries, sources, reason) VALUES (?, ?, ?, ?, ?)',
  );
  const addSelfTest = db.prepare<[string, string | null, string, number, number, string]>(
    'INSERT INTO self_tests (at, venue, suite, passed, failed, sha256) VALUES (?, ?, ?, ?, ?, ?)',
  );
  // Hour keys and ISO instants both sort as text; days ("2026-11-23") too.
  const pruneStatements = [
    db.prepare<[string]>('DELETE FROM hourly_totals WHERE hour < ?'),
    db.prepare<[string]>('DELETE FROM hourly_venues WHERE hour < ?'),
    db.prepare<[string]>('DELETE FROM hourly_blocks WHERE hour < ?'),
    db.prepare<[string]>('DELETE FROM daily_distinct WHERE day < substr(?, 1, 10)'),
    db.prepare<[string]>('DELETE FROM list_changes WHERE at < ?'),
    db.prepare<[string]>('DELETE FROM self_tests WHERE at < ?'),
  ];
  // Reviewed reports go with the retention too; open ones wait for a reviewer whatever their age.
  const pruneReports = db.prepare<[string]>("DELETE FROM reports WHERE status <> 'open' AND reviewed_at < ?");

  const pendingHours = new Map<string, PendingHour>();
  /** key: day \0 venue \0 category; registers merged across the hours of that day. */
  const pendingSketches = new Map<string, Uint8Array>();
  const pendingEvents: PendingEvent[] = [];
  // Uptime: the store is open while the resolver runs; each flush counts the time since the last.
  let servedSince = now();
  /** Seconds served per hour, not yet written (bounded: a day of hours at most is kept while failing). */
  const pendingServed = new Map<string, number>();
  let pendingRows = 0;
  let dropped = 0;
  let failing = false;
  let closed = false;
  let lastPrune = 0;

  /** Adds the seconds from the last mark to `to`, split at hour boundaries. */
  function served(to: number): void {
    let t = servedSince;
    // A clock stepped back: count nothing rather than a negative span.
    if (to <= t) {
      servedSince = to;
      return;
    }
    for (let i = 0; t < to && i < 100_000; i++) {
      const end = Math.min(to, (Math.floor(t / HOUR_MS) + 1) * HOUR_MS);
      const hour = hourKey(t);
      pendingServed.set(hour, (pendingServed.get(hour) ?? 0) + (end - t) / 1000);
      t = end;
    }
    servedSince = to;
  }

  function merge(counts: HourCounts): void {
    let p = pendingHours.get(counts.hour);
    if (p === undefined) {
      p = { queries: 0, blocked: 0, cacheHits: 0, venues: new Map(), rows: new Map() };
      pendingHours.set(counts.hour, p);
    }
    for (const s of counts.sketches ?? []) {
      if (s.registers.length !== HLL_REGISTERS) continue;
      const key = `${counts.hour.slice(0, 10)}\0${s.venue}\0${s.category}`;
      const before = pendingSketches.get(key);
      if (before === undefined) pendingSketches.set(key, s.registers);
      else hllMerge(before, s.registers);
    }
    p.queries += counts.queries;
    p.blocked += counts.blocked;
    p.cacheHits += counts.cacheHits;
    for (const v of counts.venues) {
      const before = p.venues.get(v.venue);
      const queries = count(v.queries);
      const blocked = count(v.blocked);
      if (before === undefined) p.venues.set(v.venue, { queries, blocked });
      else {
        before.queries += queries;
        before.blocked += blocked;
      }
    }
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
    // Uptime of hours long past is lost rather than memory grown without bound.
    for (const hour of pendingServed.keys()) {
      if (pendingServed.size <= 24 * 31) break;
      pendingServed.delete(hour);
    }
    // Sketches are a day's worth each (1 KiB): the oldest go first too.
    for (const key of pendingSketches.keys()) {
      if (pendingSketches.size <= maxPendingRows / 10) break;
      pendingSketches.delete(key);
    }
  }

  const writeAll = db.transaction(() => {
    for (const [hour, p] of pendingHours) {
      addTotals.run(hour, p.queries, p.blocked, p.cacheHits, 0);
      for (const [venue, v] of p.venues) addVenue.run(hour, venue, v.queries, v.blocked);
      for (const [key, count] of p.rows) {
        const [venue, category, action] = key.split('\0') as [string, string, string];
        addBlock.run(hour, venue, category, action, count);
      }
    }
    for (const [hour, seconds] of pendingServed) addTotals.run(hour, 0, 0, 0, seconds);
    for (const [key, registers] of pendingSketches) {
      const [day, venue, category] = key.split('\0') as [string, string, string];
      const stored = getSketch.get(day, venue, category)?.registers;
      const merged = new Uint8Array(registers);
      if (stored !== undefined && stored.length === HLL_REGISTERS) hllMerge(merged, stored);
      putSketch.run(day, venue, category, Buffer.from(merged.buffer, merged.byteOffset, merged.length));
    }
    writeEvents();
  });

  function writeEvents(): void {
    for (const e of pendingEvents) {
      if (e.kind === 'list') {
        const c = e.change;
        addListChange.run(c.at, c.version, c.entries, c.sources, c.reason);
      } else {
        const r = e.result;
        addSelfTest.run(r.at, r.venue, r.suite, r.passed, r.failed, r.sha256);
      }
    }
  }
  const writeEventsNow = db.transaction(writeEvents);

  function failed(err: unknown): void {
    if (!failing) {
      failing = true;
      logger.error(
        { module: 'stats', code: 'ROJE_ERR_STATS_WRITE', path: options.path, err: (err as Error).message },
        'cannot write the statistics database (disk full or read-only?); counts are kept in memory until it can',
      );
    }
  }

  /** Queues an event and writes the queue at once; on failure it waits for the next flush. */
  function record(event: PendingEvent): boolean {
    if (closed) return false;
    if (pendingEvents.length >= MAX_PENDING_EVENTS) {
      pendingEvents.shift();
      dropped++;
    }
    pendingEvents.push(event);
    try {
      writeEventsNow();
      pendingEvents.length = 0;
      return true;
    } catch (err) {
      failed(err);
      return false;
    }
  }

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
    served(now());
    try {
      if (pendingHours.size + pendingSketches.size + pendingEvents.length + pendingServed.size > 0)
        writeAll();
      pendingHours.clear();
      pendingServed.clear();
      pendingSketches.clear();
      pendingEvents.length = 0;
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
      failed(err);
      bound();
      return false;
    }
  }

  // Retention at open, and the first start (kept once: the report's uptime counts from it); a
  // read-only or full database still opens and serves reads.
  try {
    recordFirstStart(db, new Date(now()).toISOString());
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
    ...period,
    salt,
    flush,
    prune,
    recordListChange(change) {
      return record({
        kind: 'list',
        change: {
          at: instant(change.at, now()),
          version: text(change.version),
          entries: count(change.entries),
          sources: count(change.sources),
          reason: text(change.reason),
        },
      });
    },
    recordSelfTest(result) {
      return record({
        kind: 'selftest',
        result: {
          at: instant(result.at, now()),
          venue: result.venue === null || result.venue === undefined ? null : text(result.venue),
          suite: text(result.suite),
          passed: count(result.passed),
          failed: count(result.failed),
          sha256: text(result.sha256),
        },
      });
    },
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
