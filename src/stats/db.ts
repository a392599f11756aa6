/**
 * Opens the statistics database and brings its schema to the current version (PRAGMA user_version).
 * One SQLite file holds the hourly aggregates, the distinct-name sketches, list and self-test history
 * and the wrong-block reports; no table has a client address, a per-query row or a blocked name.
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
  // 2: what the transparency report needs. Seconds served per hour; distinct blocked names per (day,
  // venue, category) as HyperLogLog registers (never a name); list swaps and self-test results; and the
  // salt the sketches' hash is keyed with, made here once per database.
  `ALTER TABLE hourly_totals ADD COLUMN served_seconds REAL NOT NULL DEFAULT 0;
   CREATE TABLE daily_distinct (
     day TEXT NOT NULL,
     venue TEXT NOT NULL,
     category TEXT NOT NULL,
     registers BLOB NOT NULL,
     PRIMARY KEY (day, venue, category)
   ) WITHOUT ROWID;
   CREATE TABLE list_changes (
     id INTEGER PRIMARY KEY,
     at TEXT NOT NULL,
     version TEXT NOT NULL,
     entries INTEGER NOT NULL,
     sources INTEGER NOT NULL,
     reason TEXT NOT NULL
   );
   CREATE INDEX list_changes_at ON list_changes (at);
   CREATE TABLE self_tests (
     id INTEGER PRIMARY KEY,
     at TEXT NOT NULL,
     suite TEXT NOT NULL,
     passed INTEGER NOT NULL,
     failed INTEGER NOT NULL,
     sha256 TEXT NOT NULL
   );
   CREATE INDEX self_tests_at ON self_tests (at);
   CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
   INSERT INTO meta (key, value) VALUES ('hll_salt', randomblob(16));`,
  // 3: an honest report. Answered queries per venue (not only the blocked ones), the venue a self-test
  // ran as a client of (NULL: no venue, as every run before this step was), and the instance's first
  // start: recorded by the store at open, never overwritten; a database from before this step takes
  // the first hour it served as its best known first start.
  `ALTER TABLE hourly_venues ADD COLUMN queries INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE self_tests ADD COLUMN venue TEXT;
   INSERT INTO meta (key, value)
     SELECT 'first_start', min(hour) FROM hourly_totals WHERE served_seconds > 0 HAVING min(hour) IS NOT NULL;`,
  // 4: reports close the loop. The reviewer's note, and the reporter's reference: random, unguessable,
  // the only handle the block page's outcome page takes (NULL for reports made before this step).
  `ALTER TABLE reports ADD COLUMN note TEXT;
   ALTER TABLE reports ADD COLUMN reference TEXT;
   CREATE UNIQUE INDEX reports_reference ON reports (reference);`,
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

/** The salt of the distinct-name sketches (made by the schema, never changed: sketches merge only under one). */
export function readHllSalt(db: StatsDatabase): Uint8Array {
  const row = db.prepare<[], { value: Buffer }>("SELECT value FROM meta WHERE key = 'hll_salt'").get();
  if (row === undefined || row.value.length < 16) {
    throw new RojeError('ROJE_ERR_STATS_OPEN', 'the statistics database has no sketch salt (meta.hll_salt)');
  }
  return new Uint8Array(row.value);
}

/** Records the instance's first start (UTC ISO) unless one is already there: it is never overwritten. */
export function recordFirstStart(db: StatsDatabase, at: string): void {
  db.prepare<[string]>("INSERT OR IGNORE INTO meta (key, value) VALUES ('first_start', ?)").run(at);
}

/** The instance's first start (UTC ISO), or null for a database no server has opened yet. */
export function readFirstStart(db: StatsDatabase): string | null {
  const row = db
    .prepare<[], { value: string | Buffer }>("SELECT value FROM meta WHERE key = 'first_start'")
    .get();
  return row === undefined ? null : String(row.value);
}
