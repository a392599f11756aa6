/**
 * The audit log: one JSON line per change made through the admin API or by a config reload (who,
 * what, when, with what result), appended to a file when the deployment has a state directory, and kept in memory for
 * `GET /api/v1/audit`. Reads are not audited: they change nothing.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
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
}

export interface AuditLog {
  record(entry: Omit<AuditEntry, 'at'>): AuditEntry;
  recent(limit: number): AuditEntry[];
}

/** Entries kept in memory for the API; the file keeps them all. */
const RECENT_MAX = 1000;

export function createAuditLog(options: { path: string | null; logger: Logger }): AuditLog {
  const { path, logger } = options;
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
      return entry;
    },
    recent(limit) {
      return recent.slice(-limit).reverse();
    },
  };
}
