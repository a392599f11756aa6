/**
 * Opens the statistics database and brings its schema to the current version (PRAGMA user_version).
 * One SQLite file holds the hourly aggregates and the wrong-block reports; no table has a client
 * address or a per-query row.
 */

import { RojeError } from '../errors.js';
import { Database } from './sqlite.js';

export type StatsDatabase = Database;

/** Each entry moves the schema from version i to i + 1; append only, never edit a shipped step. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE hourly_totals (
     hour TEXT PRIMARY KEY,
     queries INTEGER NOT NULL DEFAULT 0,
     blocked INTEGER NOT NULL DEFAULT 0,
     cache_hits INTEGER NOT NULL DEFAULT 0
   ) WITHOUT ROWID;
   CREATE TABLE hourly_venues (
     hour TEXT NOT NULL,
     venue TEXT NOT NULL,
     blocked INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (hour, venue)
   ) WITHOUT ROWID;
   CREATE TABLE hourly_blocks (
     hour TEXT NOT NULL,
     venue TEXT NOT NULL,
     category TEXT NOT NULL,
     action TEXT NOT NULL,
     count INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (hour, venue, category, action)
   ) WITHOUT ROWID;
   CREATE TABLE reports (
     id INTEGER PRIMARY KEY,
     at TEXT NOT NULL,
     venue TEXT NOT NULL,
     category TEXT NOT NULL,
     name TEXT,
     message TEXT NOT NULL,
     status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'accepted', 'rejected')),
     reviewed_by TEXT,
     reviewed_at TEXT
   );
   CREATE INDEX reports_status ON reports (status, id);`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Opens (creating if needed) and migrates. Throws ROJE_ERR_STATS_OPEN when the file cannot be opened,
 * is not a database, or was written by a newer roje. A database whose schema is current but that
 * cannot be written (read-only file, full disk) opens: the store then keeps counts in memory.
 */
export function openStatsDatabase(path: string): StatsDatabase {
  let db: StatsDatabase;
  try {
    db = new Database(path, { timeout: 1000 });
  } catch (err) {
    throw new RojeError(
      'ROJE_ERR_STATS_OPEN',
      `cannot open the statistics database ${path}: ${(err as Error).message}; check stats.path and its directory`,
      { cause: err },
    );
  }
  try {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new Error(`its schema version ${version} is newer than this roje's ${SCHEMA_VERSION}`);
    }
    if (version < SCHEMA_VERSION) {
      db.pragma('journal_mode = WAL');
      db.transaction(() => {
        for (let v = version; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v] as string);
        db.pragma(`user_version = ${SCHEMA_VERSION}`);
      })();
    } else {
      // Already current: WAL was set when it was created (the mode is persistent); setting it again
      // would need write access, which a read-only file does not give.
      try {
        db.pragma('journal_mode = WAL');
      } catch {
        // read-only: reads still work
      }
    }
    db.pragma('synchronous = NORMAL');
    return db;
  } catch (err) {
    db.close();
    throw new RojeError(
      'ROJE_ERR_STATS_OPEN',
      `cannot use the statistics database ${path}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}
