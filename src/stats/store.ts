/**
 * The statistics store: one async interface over two backends, chosen once at open: the embedded
 * SQLite file (one box) or a shared PostgreSQL (a city of instances). Queries, reports and period
 * reads are written once, over the SQL executor (src/store/sql.ts).
 *
 * Writes never reach the query path: the recorder's counts are drained every flushInterval into one
 * batch with a random id (src/store/batch.ts), applied in one transaction that records the id, so a
 * batch replayed after a lost acknowledgement counts once. A batch that cannot be written waits in the
 * spool (src/store/spool.ts: on disk, ordered, bounded); each flush first replays the spool in order.
 * Reads are the whole city's, or one instance's on request. Interactive writes (a wrong-block report,
 * a review) need the database: they fail with ROJE_ERR_STORE_UNAVAILABLE rather than vanish.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { Logger } from 'pino';
import { RojeError } from '../errors.js';
import { applyBatch, createBatchBuilder } from '../store/batch.js';
import { migratePostgres } from '../store/postgres-schema.js';
import { openSpool, type Spool } from '../store/spool.js';
import type { SqlExecutor } from '../store/sql.js';
import { createPostgresPool, isUnavailable, postgresExecutor } from '../store/sql-postgres.js';
import { sqliteExecutor } from '../store/sql-sqlite.js';
import { VERSION } from '../version.js';
import { nameUnnamedRows, openStatsDatabase } from './db.js';
import { createPeriodQueries, type PeriodQueries } from './period.js';
import { createStatsQueries, type StatsQueries } from './queries.js';
import { type HourCounts, hourKey } from './recorder.js';
import { createReports, type Reports } from './reports.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Batch ids are kept this long: a spooled batch older than this replayed after a lost ack could count twice. */
const APPLIED_BATCHES_DAYS = 35;
const MAX_TEXT = 200;
/** How often a writing instance refreshes its roje_instances.last_seen. */
const SEEN_EVERY_MS = 5 * 60_000;
/** Write durations kept for /metrics between scrapes. */
const MAX_WRITE_SAMPLES = 10_000;

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

export interface StatsStoreOptions {
  /** SQLite file, created with its schema if missing; used when `postgres` is absent. */
  path?: string;
  /** The shared store; absent or null: SQLite at `path`. */
  postgres?: { url: string; poolSize?: number } | null;
  /** This instance's name in shared rows. Default "local". */
  instance?: string;
  /** Where batches wait while the store cannot be written. Default: memory, 256 MiB. */
  spool?: { path: string | null; maxBytes: number };
  /** Hours older than this many days are deleted (on open, then daily). Default 400. */
  retentionDays?: number;
  /** Default 60 000 ms; 0 disables the timer (flush() by hand). */
  flushIntervalMs?: number;
  /** Open wrong-block reports (the city's) beyond which new ones are refused. Default 10 000. */
  maxOpenReports?: number;
}

export interface StatsStoreDeps {
  logger: Pick<Logger, 'error' | 'warn' | 'info'>;
  /** Where counts come from at each flush: the recorder's drain. */
  drain?: () => HourCounts[];
  /** Wall clock in epoch ms. */
  now?: () => number;
}

/** The store's health, for status and metrics. lastError never holds a credential. */
export interface StoreState {
  kind: 'sqlite' | 'postgres';
  instance: string;
  /** The last write (or the open) succeeded. */
  up: boolean;
  /** UTC ISO instant `up` last changed. */
  since: string;
  spooledBatches: number;
  spooledBytes: number;
  /** Batches dropped since start: the spool was full, or a spooled file was unreadable. */
  dropped: number;
  lastError: string | null;
}

export interface InstanceRow {
  instance: string;
  /** UTC ISO instants: its first open, and its last successful write (at most SEEN_EVERY_MS old). */
  firstStart: string;
  lastSeen: string;
  version: string;
}

export interface StatsStore extends StatsQueries, Reports, PeriodQueries {
  readonly kind: 'sqlite' | 'postgres';
  readonly instance: string;
  /** The salt the distinct-name sketches are keyed with: hand it to the recorder (useSalt). */
  readonly salt: Uint8Array;
  /** The shared store's pool (for the overrides backend), or null with SQLite. */
  readonly postgres: { pool: pg.Pool; url: string; instance: string } | null;
  /** Queues a list swap for the next batch. */
  recordListChange(change: ListChange): void;
  /** Queues a self-test result for the next batch. */
  recordSelfTest(result: SelfTestResult): void;
  /** Queues an audit entry for the shared audit_log (PostgreSQL); a no-op with SQLite. */
  recordAudit(entry: object): void;
  /** The instances that ever opened this store (the console's chooser), by name. */
  instances(): Promise<InstanceRow[]>;
  /** The city's newest audit entries, newest first; null with SQLite or while the store is down. */
  recentAudit(limit: number): Promise<object[] | null>;
  /**
   * Drains the recorder into a batch; replays the spool in order, then writes the batch. Resolves false
   * (the batch spooled) when the store cannot be written. Never rejects.
   */
  flush(): Promise<boolean>;
  /** Deletes what is older than the retention; returns the number of rows deleted. */
  prune(): Promise<number>;
  state(): StoreState;
  /** Durations (seconds) of the batch writes since the last call, for the write histogram. */
  takeWriteSeconds(): number[];
  /** Stops the timer, flushes, closes. Never throws. */
  close(): Promise<void>;
}

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

interface Backend {
  kind: 'sqlite' | 'postgres';
  exec: SqlExecutor;
  pool: pg.Pool | null;
  /** What a message about the store names: the file, or the URL without credentials. */
  where: string;
  /** Removes credentials from a driver's message. */
  scrub(message: string): string;
}

function urlSecrets(url: string): string[] {
  try {
    const u = new URL(url);
    return [u.password, decodeURIComponent(u.password)].filter((s) => s.length >= 1);
  } catch {
    return [];
  }
}

async function openBackend(options: StatsStoreOptions, instance: string, logger: StatsStoreDeps['logger']) {
  if (options.postgres) {
    const url = options.postgres.url;
    const secrets = urlSecrets(url);
    const scrub = (m: string) => secrets.reduce((out, s) => out.split(s).join('***'), m);
    const pool = createPostgresPool({
      url,
      ...(options.postgres.poolSize !== undefined ? { poolSize: options.postgres.poolSize } : {}),
      onIdleError: (err) =>
        logger.warn({ module: 'store', err: scrub(err.message) }, 'a shared store connection was closed'),
    });
    try {
      await migratePostgres(pool);
    } catch (err) {
      await pool.end().catch(() => undefined);
      if (err instanceof RojeError) throw new RojeError(err.code, scrub(err.message), { cause: err });
      throw err;
    }
    const u = new URL(url);
    const where = `postgres://${u.host}${u.pathname}`;
    return { kind: 'postgres', exec: postgresExecutor(pool), pool, where, scrub } satisfies Backend;
  }
  const path = options.path ?? ':memory:';
  const db = openStatsDatabase(path);
  try {
    nameUnnamedRows(db, instance);
  } catch {
    // read-only: the rows stay unnamed; the city-wide reads do not mind
  }
  return {
    kind: 'sqlite',
    exec: sqliteExecutor(db),
    pool: null,
    where: path,
    scrub: (m) => m,
  } satisfies Backend;
}

/** The salt of the distinct-name sketches: made once per database, never changed (sketches merge only under one). */
async function readSalt(exec: SqlExecutor): Promise<Uint8Array> {
  try {
    await exec.run("INSERT INTO roje_meta (key, value) VALUES ('hll_salt', ?) ON CONFLICT (key) DO NOTHING", [
      randomBytes(16),
    ]);
  } catch {
    // read-only SQLite: the salt made by its schema is there
  }
  const row = await exec.get<{ value: Buffer }>("SELECT value FROM roje_meta WHERE key = 'hll_salt'");
  if (row === undefined || row.value.length < 16) {
    throw new RojeError(
      'ROJE_ERR_STATS_OPEN',
      'the statistics database has no sketch salt (roje_meta.hll_salt)',
    );
  }
  return new Uint8Array(row.value);
}

const PRUNE = [
  'DELETE FROM hourly_totals WHERE hour < ?',
  'DELETE FROM hourly_venues WHERE hour < ?',
  'DELETE FROM hourly_blocks WHERE hour < ?',
  'DELETE FROM daily_distinct WHERE day < substr(?, 1, 10)',
  'DELETE FROM list_changes WHERE at < ?',
  'DELETE FROM self_tests WHERE at < ?',
];

// long-function: the backend, the batch builder, the spool and the health are the store's state,
// shared by its inner functions (served, write, flush, prune), none over 40 lines.
export async function openStatsStore(options: StatsStoreOptions, deps: StatsStoreDeps): Promise<StatsStore> {
  const retentionDays = options.retentionDays ?? 400;
  const flushIntervalMs = options.flushIntervalMs ?? 60_000;
  const instance = options.instance ?? 'local';
  const now = deps.now ?? Date.now;
  const logger = deps.logger;
  const backend: Backend = await openBackend(options, instance, logger);
  const { exec } = backend;
  let salt: Uint8Array;
  try {
    salt = await readSalt(exec);
  } catch (err) {
    await exec.close();
    throw err;
  }
  const spool: Spool = openSpool(options.spool ?? { path: null, maxBytes: 256 * 1024 * 1024 }, logger);
  const builder = createBatchBuilder();
  const queries = createStatsQueries(exec);
  const reports = createReports(exec, { maxOpen: options.maxOpenReports ?? 10_000, instance }, now);
  const period = createPeriodQueries(exec);

  let up = true;
  let since = new Date(now()).toISOString();
  let lastError: string | null = null;
  let closed = false;
  let lastPrune = 0;
  let lastSeen = 0;
  let writeSeconds: number[] = [];
  // Uptime: the store is open while the resolver runs; each flush counts the time since the last.
  let servedSince = now();

  /** Adds the seconds from the last mark to `to`, split at hour boundaries. */
  function served(to: number): void {
    let t = servedSince;
    // A clock stepped back: count nothing rather than a negative span.
    for (let i = 0; t < to && i < 100_000; i++) {
      const end = Math.min(to, (Math.floor(t / HOUR_MS) + 1) * HOUR_MS);
      builder.served(hourKey(t), (end - t) / 1000);
      t = end;
    }
    servedSince = to;
  }

  function failed(err: unknown): void {
    lastError = backend.scrub((err as Error).message);
    if (!up) return;
    up = false;
    since = new Date(now()).toISOString();
    const sqlite = backend.kind === 'sqlite';
    logger.error(
      {
        module: 'stats',
        code: sqlite ? 'ROJE_ERR_STATS_WRITE' : 'ROJE_ERR_STORE_UNAVAILABLE',
        [sqlite ? 'path' : 'store']: backend.where,
        err: lastError,
      },
      sqlite
        ? 'cannot write the statistics database (disk full or read-only?); counts wait in the spool until it can'
        : 'cannot write to the shared store; counts wait in the spool until it returns',
    );
  }

  function recovered(): void {
    if (up) return;
    up = true;
    since = new Date(now()).toISOString();
    logger.info(
      { module: 'stats', store: backend.where, spooled: spool.state().batches },
      'statistics store writable again; spooled counts written',
    );
  }

  async function write(batch: NonNullable<ReturnType<typeof builder.take>>): Promise<void> {
    const start = process.hrtime.bigint();
    await applyBatch(exec, batch);
    if (writeSeconds.length < MAX_WRITE_SAMPLES) {
      writeSeconds.push(Number(process.hrtime.bigint() - start) / 1e9);
    }
  }

  async function prune(): Promise<number> {
    const cutoff = now() - retentionDays * DAY_MS;
    const hour = hourKey(cutoff);
    const batchCutoff = new Date(
      now() - Math.min(retentionDays, APPLIED_BATCHES_DAYS) * DAY_MS,
    ).toISOString();
    const deleted = await exec.transaction(async (tx) => {
      let n = 0;
      for (const sql of PRUNE) n += (await tx.run(sql, [hour])).changes;
      // Reviewed reports go with the retention too; open ones wait for a reviewer whatever their age.
      n += (
        await tx.run("DELETE FROM reports WHERE status <> 'open' AND reviewed_at < ?", [
          new Date(cutoff).toISOString(),
        ])
      ).changes;
      await tx.run('DELETE FROM applied_batches WHERE at < ?', [batchCutoff]);
      return n;
    });
    lastPrune = now();
    return deleted;
  }

  type TakenBatch = ReturnType<typeof builder.take>;

  /** Replays the spool in order, then writes `batch`; a batch that cannot be written is spooled. */
  async function writeInOrder(batch: TakenBatch): Promise<boolean> {
    try {
      for (let head = spool.peek(); head !== undefined; head = spool.peek()) {
        await write(head);
        spool.shift();
      }
      if (batch !== null) await write(batch);
    } catch (err) {
      failed(err);
      if (batch !== null) spool.push(batch);
      return false;
    }
    recovered();
    if (now() - lastPrune >= DAY_MS) await prune().catch((err) => failed(err));
    if (now() - lastSeen >= SEEN_EVERY_MS) await seen().catch((err) => failed(err));
    return up;
  }

  let tail: Promise<boolean> = Promise.resolve(true);
  /**
   * The counts are drained now (a list swap relies on it: they are named by the venues in force), and
   * written after any flush before this one.
   */
  function flush(): Promise<boolean> {
    if (closed) return Promise.resolve(false);
    if (deps.drain !== undefined) for (const counts of deps.drain()) builder.merge(counts);
    served(now());
    const batch = builder.take(instance, now());
    const next = () => writeInOrder(batch);
    tail = tail.then(next, next);
    return tail;
  }

  /** The instance's row: its first start kept once (the report's uptime counts from it), last seen now. */
  async function seen(): Promise<void> {
    const at = new Date(now()).toISOString();
    await exec.run(
      `INSERT INTO roje_instances (instance, first_start, last_seen, version) VALUES (?, ?, ?, ?)
       ON CONFLICT (instance) DO UPDATE SET last_seen = excluded.last_seen, version = excluded.version`,
      [instance, at, at, VERSION],
    );
    lastSeen = now();
  }

  // Retention at open, and the instance's row; a read-only or full SQLite file still opens and serves
  // reads.
  try {
    await seen();
    await prune();
  } catch (err) {
    lastPrune = now();
    failed(err);
  }
  // A spool left by the last run is replayed before anything new.
  if (spool.state().batches > 0) await flush();

  const timer = flushIntervalMs > 0 ? setInterval(() => void flush(), flushIntervalMs) : undefined;
  timer?.unref();

  const postgres =
    backend.pool !== null && options.postgres
      ? { pool: backend.pool, url: options.postgres.url, instance }
      : null;

  return {
    ...queries,
    ...reports,
    ...period,
    kind: backend.kind,
    instance,
    salt,
    postgres,
    flush,
    prune,
    recordListChange(change) {
      builder.event({
        kind: 'list',
        at: instant(change.at, now()),
        version: text(change.version),
        entries: count(change.entries),
        sources: count(change.sources),
        reason: text(change.reason),
      });
    },
    recordSelfTest(result) {
      builder.event({
        kind: 'selftest',
        at: instant(result.at, now()),
        venue: result.venue === null || result.venue === undefined ? null : text(result.venue),
        suite: text(result.suite),
        passed: count(result.passed),
        failed: count(result.failed),
        sha256: text(result.sha256),
      });
    },
    recordAudit(entry) {
      if (backend.kind !== 'postgres') return;
      const at = instant((entry as { at?: unknown }).at, now());
      builder.event({ kind: 'audit', at, entry: JSON.stringify(entry) });
    },
    instances: () =>
      exec.all<InstanceRow>(
        `SELECT instance, first_start AS "firstStart", last_seen AS "lastSeen", version FROM roje_instances
         ORDER BY instance`,
      ),
    async recentAudit(limit) {
      if (backend.kind !== 'postgres') return null;
      try {
        const rows = await exec.all<{ instance: string; entry: string }>(
          'SELECT instance, entry FROM audit_log ORDER BY id DESC LIMIT ?',
          [Math.max(1, Math.min(10_000, Math.floor(limit)))],
        );
        // Each with the instance it was made through: the city's log says where a change came from.
        return rows.map((r) => ({ ...(JSON.parse(r.entry) as object), instance: r.instance }));
      } catch (err) {
        if (isUnavailable(err)) return null;
        throw err;
      }
    },
    state() {
      const s = spool.state();
      return {
        kind: backend.kind,
        instance,
        up,
        since,
        spooledBatches: s.batches,
        spooledBytes: s.bytes,
        dropped: s.dropped + builder.droppedEvents(),
        lastError,
      };
    },
    takeWriteSeconds() {
      const out = writeSeconds;
      writeSeconds = [];
      return out;
    },
    async close() {
      if (closed) return;
      if (timer !== undefined) clearInterval(timer);
      await flush();
      closed = true;
      await tail.catch(() => undefined);
      try {
        await exec.close();
      } catch (err) {
        logger.warn(
          { module: 'stats', err: backend.scrub((err as Error).message) },
          'closing the statistics store failed',
        );
      }
    },
  };
}
