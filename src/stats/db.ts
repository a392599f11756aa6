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
  // 5: the shared store's shape (src/store/postgres-schema.ts), so that one set of queries serves both.
  // The counting tables are keyed by instance too (rebuilt: SQLite cannot change a primary key); rows
  // already there get the local instance's name at the next open (the 'unnamed_rows' mark), as the
  // first start does in roje_instances. Batches carry ids (applied_batches): each is written once.
  `ALTER TABLE meta RENAME TO roje_meta;
   INSERT INTO roje_meta (key, value) VALUES ('unnamed_rows', x'01');
   CREATE TABLE roje_instances (
     instance TEXT PRIMARY KEY,
     first_start TEXT NOT NULL,
     last_seen TEXT NOT NULL,
     version TEXT NOT NULL DEFAULT ''
   ) WITHOUT ROWID;
   INSERT INTO roje_instances (instance, first_start, last_seen)
     SELECT '', CAST(value AS TEXT), CAST(value AS TEXT) FROM roje_meta WHERE key = 'first_start';
   DELETE FROM roje_meta WHERE key = 'first_start';
   CREATE TABLE hourly_totals_5 (
     hour TEXT NOT NULL,
     instance TEXT NOT NULL,
     queries INTEGER NOT NULL DEFAULT 0,
     blocked INTEGER NOT NULL DEFAULT 0,
     cache_hits INTEGER NOT NULL DEFAULT 0,
     served_seconds REAL NOT NULL DEFAULT 0,
     PRIMARY KEY (hour, instance)
   ) WITHOUT ROWID;
   INSERT INTO hourly_totals_5 (hour, instance, queries, blocked, cache_hits, served_seconds)
     SELECT hour, '', queries, blocked, cache_hits, served_seconds FROM hourly_totals;
   DROP TABLE hourly_totals;
   ALTER TABLE hourly_totals_5 RENAME TO hourly_totals;
   CREATE TABLE hourly_venues_5 (
     hour TEXT NOT NULL,
     instance TEXT NOT NULL,
     venue TEXT NOT NULL,
     queries INTEGER NOT NULL DEFAULT 0,
     blocked INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (hour, instance, venue)
   ) WITHOUT ROWID;
   INSERT INTO hourly_venues_5 (hour, instance, venue, queries, blocked)
     SELECT hour, '', venue, queries, blocked FROM hourly_venues;
   DROP TABLE hourly_venues;
   ALTER TABLE hourly_venues_5 RENAME TO hourly_venues;
   CREATE TABLE hourly_blocks_5 (
     hour TEXT NOT NULL,
     instance TEXT NOT NULL,
     venue TEXT NOT NULL,
     category TEXT NOT NULL,
     action TEXT NOT NULL,
     count INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (hour, instance, venue, category, action)
   ) WITHOUT ROWID;
   INSERT INTO hourly_blocks_5 (hour, instance, venue, category, action, count)
     SELECT hour, '', venue, category, action, count FROM hourly_blocks;
   DROP TABLE hourly_blocks;
   ALTER TABLE hourly_blocks_5 RENAME TO hourly_blocks;
   CREATE TABLE daily_distinct_5 (
     day TEXT NOT NULL,
     instance TEXT NOT NULL,
     venue TEXT NOT NULL,
     category TEXT NOT NULL,
     registers BLOB NOT NULL,
     PRIMARY KEY (day, instance, venue, category)
   ) WITHOUT ROWID;
   INSERT INTO daily_distinct_5 (day, instance, venue, category, registers)
     SELECT day, '', venue, category, registers FROM daily_distinct;
   DROP TABLE daily_distinct;
   ALTER TABLE daily_distinct_5 RENAME TO daily_distinct;
   ALTER TABLE list_changes ADD COLUMN instance TEXT NOT NULL DEFAULT '';
   ALTER TABLE self_tests ADD COLUMN instance TEXT NOT NULL DEFAULT '';
   ALTER TABLE reports ADD COLUMN instance TEXT NOT NULL DEFAULT '';
   CREATE TABLE applied_batches (batch TEXT PRIMARY KEY, instance TEXT NOT NULL, at TEXT NOT NULL) WITHOUT ROWID;
   CREATE INDEX applied_batches_at ON applied_batches (at);`,
];

/** Tables whose rows carry the instance that wrote them (migration 5 left them unnamed). */
const INSTANCE_TABLES = [
  'roje_instances',
  'hourly_totals',
  'hourly_venues',
  'hourly_blocks',
  'daily_distinct',
  'list_changes',
  'self_tests',
  'reports',
] as const;

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Opens (creating if needed) and migrates. Throws ROJE_ERR_STATS_OPEN when the file cannot be opened,
 * is not a database, or was written by a newer roje. A database whose schema is current but that
 * cannot be written (read-only file, full disk) opens: the store then keeps counts in memory.
 */
export function openStatsDatabase(
  path: string,
  onMigrate?: (from: number, to: number) => void,
): StatsDatabase {
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
      onMigrate?.(version, SCHEMA_VERSION);
    } else {
      // Already current: WAL was set when it was created (the mode is persistent); setting it again
      // would need write access, which a read-only file does not give.
      try {
        db.pragma('journal_mode = WAL');
      } catch {
        // read-only: reads still work
      }
      onMigrate?.(version, version);
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

/**
 * Gives the rows a database had before migration 5 the local instance's name, once (the mark is then
 * removed). Runs at the server's open; a read-only file keeps them unnamed (reads do not mind).
 */
export function nameUnnamedRows(db: StatsDatabase, instance: string): void {
  const mark = db.prepare("SELECT 1 AS x FROM roje_meta WHERE key = 'unnamed_rows'").get();
  if (mark === undefined) return;
  db.transaction(() => {
    for (const table of INSTANCE_TABLES) {
      db.prepare(`UPDATE ${table} SET instance = ? WHERE instance = ''`).run(instance);
    }
    db.prepare("DELETE FROM roje_meta WHERE key = 'unnamed_rows'").run();
  })();
}
