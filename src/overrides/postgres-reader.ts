/**
 * How an instance learns the city's overrides from PostgreSQL: one LISTEN connection of its own
 * (made again with a growing wait when it drops), a re-read of the whole set (at most MAX_OVERRIDES
 * rows) on each notification and right after the connection is (re)made, and a re-read at least every
 * pollIntervalMs in case a notification was lost. A set is delivered only when it differs from the last
 * one, and a failed read delivers nothing: the set in force stays. The last set read is kept in a local
 * file, in force at a start while the database is down (deny entries above all: fail closed).
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { redactUrl } from '../config/redact.js';
import { OVERRIDES_CHANNEL } from '../store/postgres-schema.js';
import { pgModule } from '../store/sql-postgres.js';
import { checkedOverride, readOverridesFile, writeOverridesFile } from './file.js';
import type { Override, OverridesBackendState } from './types.js';

export interface OverridesReaderOptions {
  pool: pg.Pool;
  /** The LISTEN connection is a client of its own, outside the pool. */
  url: string;
  pollIntervalMs: number;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** The local copy of the last set read (stateDir/overrides-cache.json); null: none kept. */
  cachePath: string | null;
  /**
   * The box's own overrides from before it joined the city (stateDir/overrides.json): imported into
   * the table after the first read (postgres.ts), and in force at a start during an outage when there
   * is no local copy yet.
   */
  importPath?: string | null;
  /** Once, after the first read that reached the database; true: it changed the table (read again). */
  afterFirstRead?: () => Promise<boolean>;
  /** The first wait before the LISTEN connection is made again, doubled up to 30 s (tests shorten it). */
  reconnectMinMs?: number;
}

export interface OverridesReader {
  /** Reads the set (the local copy when the database is down), then listens and polls. */
  open(): Promise<void>;
  /** Reads the set now and puts it in force; throws when the database cannot be read. */
  refresh(): Promise<void>;
  /** A re-read soon (coalesced); a failure is logged, never thrown. */
  scheduleRead(): void;
  /** Puts a set known without a read in force (our own change, when the read after it failed). */
  assume(entries: readonly Override[]): void;
  markDown(err: unknown): void;
  state(): OverridesBackendState;
  close(): Promise<void>;
}

const RECONNECT_MAX_MS = 30_000;
export const OVERRIDE_COLUMNS = 'id, name, action, venue, note, who, at';

/** A database error as logs and answers show it: no credentials, even if a driver message held a URL. */
export function storeMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/postgres(?:ql)?:\/\/\S+/gi, (url) => redactUrl(url)) || 'unknown error';
}

export function createOverridesReader(
  options: OverridesReaderOptions,
  deliverSet: (entries: readonly Override[]) => void,
): OverridesReader {
  const { pool, logger, cachePath } = options;
  let closed = false;
  const health = { up: true, lastError: null as string | null, lastRead: null as string | null };
  let delivered: string | null = null;
  // Reads are numbered when they start: a slow read never puts back a set older than one in force.
  let readsStarted = 0;
  let newestApplied = 0;
  let reading: Promise<void> | null = null;
  let readAgain = false;
  let pollTimer: NodeJS.Timeout | null = null;
  let firstRead = true;
  const listener = createListener(options, () => closed, scheduleRead);

  function markDown(err: unknown): void {
    health.lastError = storeMessage(err);
    if (!health.up) return;
    health.up = false;
    logger.warn(
      { error: health.lastError },
      'overrides: PostgreSQL cannot be used; the overrides in force stay, changes are refused until it answers',
    );
  }

  function apply(seq: number, entries: readonly Override[]): void {
    if (seq < newestApplied) return;
    newestApplied = seq;
    const text = JSON.stringify(entries);
    if (text === delivered) return;
    delivered = text;
    deliverSet(entries);
    if (cachePath === null) return;
    try {
      writeOverridesFile(cachePath, entries);
    } catch (err) {
      logger.warn({ error: (err as Error).message }, 'overrides: the local copy cannot be written');
    }
  }

  async function refresh(): Promise<void> {
    const seq = ++readsStarted;
    const { rows } = await pool.query(`SELECT ${OVERRIDE_COLUMNS} FROM overrides ORDER BY at, id`);
    health.lastError = null;
    health.lastRead = new Date().toISOString();
    if (!health.up) {
      health.up = true;
      logger.info('overrides: PostgreSQL answers again');
    }
    const entries: Override[] = [];
    for (const row of rows) {
      try {
        entries.push(checkedOverride(row));
      } catch (err) {
        // Only roje writes the table; a row it cannot read is skipped, not a reason to keep a stale set.
        logger.warn({ error: (err as Error).message }, 'overrides: a row of the table is not valid; skipped');
      }
    }
    apply(seq, entries);
    if (firstRead && options.afterFirstRead !== undefined) {
      firstRead = false;
      if (await options.afterFirstRead()) await refresh();
    }
  }

  function scheduleRead(): void {
    if (closed) return;
    if (reading !== null) {
      // Notifications during a read are answered by one more read, not one each.
      readAgain = true;
      return;
    }
    reading = (async () => {
      do {
        readAgain = false;
        try {
          await refresh();
        } catch (err) {
          markDown(err);
        }
      } while (readAgain && !closed);
    })().finally(() => {
      reading = null;
    });
  }

  /**
   * The database is down at start: the last set this instance read, if it kept one, else the box's own
   * overrides from before it joined the city.
   */
  function startFromCopy(): void {
    let entries: Override[] | null = null;
    for (const path of [cachePath, options.importPath ?? null]) {
      if (path === null || entries !== null) continue;
      try {
        entries = readOverridesFile(path);
      } catch (err) {
        logger.warn({ error: (err as Error).message }, 'overrides: a local copy is not valid; ignored');
      }
    }
    if (entries === null) {
      logger.error(
        'overrides: PostgreSQL cannot be read at start and there is no local copy: no overrides are in force until it answers',
      );
      return;
    }
    apply(++readsStarted, entries);
    logger.warn(
      { overrides: entries.length },
      'overrides: PostgreSQL cannot be read at start: the local copy of the last set read is in force until it answers',
    );
  }

  return {
    async open() {
      try {
        await refresh();
      } catch (err) {
        markDown(err);
        startFromCopy();
      }
      await listener.connect();
      pollTimer = setInterval(scheduleRead, options.pollIntervalMs);
      pollTimer.unref();
    },
    refresh,
    scheduleRead,
    assume: (entries) => apply(++readsStarted, entries),
    markDown,
    state: () => ({ backend: 'postgres', ...health, listening: listener.listening() }),
    async close() {
      closed = true;
      if (pollTimer !== null) clearInterval(pollTimer);
      await listener.close();
      await reading;
    },
  };
}

/** The LISTEN connection: `onNotify` on each notification and right after each (re)connect. */
function createListener(
  options: OverridesReaderOptions,
  closed: () => boolean,
  onNotify: () => void,
): { connect(): Promise<void>; listening(): boolean; close(): Promise<void> } {
  const { url, logger } = options;
  const reconnectMinMs = options.reconnectMinMs ?? 1000;
  let client: pg.Client | null = null;
  let waitMs = reconnectMinMs;
  let timer: NodeJS.Timeout | null = null;
  let failing = false;

  async function connect(): Promise<void> {
    timer = null;
    if (closed()) return;
    const c = new (pgModule().Client)({
      connectionString: url,
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    let dropped = false;
    const drop = (err?: unknown) => {
      if (dropped) return;
      dropped = true;
      if (client === c) client = null;
      c.end().catch(() => {});
      if (closed()) return;
      if (!failing) {
        failing = true;
        logger.warn(
          { error: err === undefined ? 'connection ended' : storeMessage(err), retryMs: waitMs },
          'overrides: the LISTEN connection to PostgreSQL is down; polling until it is back',
        );
      }
      timer = setTimeout(() => void connect(), waitMs);
      timer.unref();
      waitMs = Math.min(waitMs * 2, RECONNECT_MAX_MS);
    };
    // Kept after a drop too: a late error of an ended client must not become an uncaught one.
    c.on('error', drop);
    c.on('end', () => drop());
    c.on('notification', (msg) => {
      if (msg.channel === OVERRIDES_CHANNEL) onNotify();
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${OVERRIDES_CHANNEL}`);
    } catch (err) {
      drop(err);
      return;
    }
    if (dropped) return;
    if (closed()) {
      await c.end().catch(() => {});
      return;
    }
    client = c;
    waitMs = reconnectMinMs;
    if (failing) logger.info('overrides: the LISTEN connection to PostgreSQL is back');
    failing = false;
    // What changed while nobody listened.
    onNotify();
  }

  return {
    connect,
    listening: () => client !== null,
    async close() {
      if (timer !== null) clearTimeout(timer);
      const c = client;
      client = null;
      await c?.end().catch(() => {});
    },
  };
}
