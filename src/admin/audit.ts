/**
 * The audit log: one JSON line per change made through the admin API or by a config reload (who,
 * what, when, with what result), appended to a file when the deployment has a state directory, and kept in memory for
 * `GET /api/v1/audit`. With the shared store (PostgreSQL) each entry also goes to the city's log, which
 * `GET /api/v1/audit` then reads (the memory when the database cannot be read). Reads are not audited:
 * they change nothing.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';

export interface AuditEntry {
  at: string;
  who: string;
  role: string;
  action: string;
  target?: string;
  result: 'ok' | 'failed' | 'denied';
  detail?: string;
  /** A config reload: the keys that changed (dotted paths, never values). */
  changes?: string[];
  /** A config reload: the lists version (16 hex digits) before and after. */
  lists?: { before: string | null; after: string | null };
  /** A failed change: its ROJE_ERR_* code. */
  code?: string;
  /** Read from the city's log (shared store): the instance that recorded it. */
  instance?: string;
}

export interface AuditLog {
  record(entry: Omit<AuditEntry, 'at'>): AuditEntry;
  /** Newest first: the city's entries with a shared store, else this instance's. */
  recent(limit: number): Promise<AuditEntry[]>;
}

/**
 * The city's audit log in the shared store: append() queues an entry (written in the store's batches,
 * spooled while the database is down, so it never waits for it); recent() is null when the store keeps
 * none (SQLite) and rejects when the database cannot be read.
 */
export interface SharedAuditSink {
  append(entry: AuditEntry): void;
  recent(limit: number): Promise<AuditEntry[] | null>;
}

/** Entries kept in memory for the API; the file keeps them all. */
const RECENT_MAX = 1000;

export function createAuditLog(options: {
  path: string | null;
  logger: Logger;
  shared?: SharedAuditSink | null;
}): AuditLog {
  const { path, logger } = options;
  const shared = options.shared ?? null;
  let sharedFailed = false;
  const recent: AuditEntry[] = [];
  let fileFailed = false;
  return {
    record(partial) {
      const entry: AuditEntry = { at: new Date().toISOString(), ...partial };
      recent.push(entry);
      if (recent.length > RECENT_MAX) recent.shift();
      logger.info({ audit: entry }, entry.role === 'system' ? 'audited change' : 'admin action');
      if (path !== null) {
        try {
          // Synchronous on purpose: an audited change must not be acknowledged before it is recorded.
          mkdirSync(dirname(path), { recursive: true });
          appendFileSync(path, `${JSON.stringify(entry)}\n`, { mode: 0o640 });
          fileFailed = false;
        } catch (err) {
          if (!fileFailed) logger.error({ err, path }, 'audit log cannot be written; entries kept in memory');
          fileFailed = true;
        }
      }
      if (shared !== null) {
        try {
          shared.append(entry);
        } catch (err) {
          logger.error({ err }, 'audit entry cannot be queued for the shared store; kept in the local log');
        }
      }
      return entry;
    },
    async recent(limit) {
      const local = () => recent.slice(-limit).reverse();
      if (shared === null) return local();
      try {
        const city = await shared.recent(limit);
        sharedFailed = false;
        return city ?? local();
      } catch (err) {
        if (!sharedFailed) {
          logger.warn(
            { error: (err as Error).message },
            "the city's audit log cannot be read; this instance's shown",
          );
        }
        sharedFailed = true;
        return local();
      }
    },
  };
}

/** The shared store as the audit log uses it (src/stats/store.ts); null until it opens, or on one box. */
export interface AuditStore {
  recordAudit(entry: object): void;
  recentAudit(limit: number): Promise<object[] | null>;
}

/**
 * The app's audit log: `<stateDir>/audit.log` (memory only without a stateDir) and, with a shared store,
 * the city's log too: every entry goes there in the store's batches (spooled while it is down), and
 * recent() reads the city's.
 */
export function createAppAuditLog(
  stateDir: string | null,
  logger: Logger,
  store: () => AuditStore | null,
): AuditLog {
  return createAuditLog({
    path: stateDir === null ? null : join(stateDir, 'audit.log'),
    logger: logger.child({ module: 'audit' }),
    shared: {
      append: (entry) => store()?.recordAudit(entry),
      recent: async (limit) => ((await store()?.recentAudit(limit)) ?? null) as AuditEntry[] | null,
    },
  });
}
