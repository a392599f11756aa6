/**
 * The shared store's schema on PostgreSQL: what many roje instances of one city or ISP write to and
 * read from. Times are UTC ISO text, as in the SQLite store, so that both run the same SQL (hour keys,
 * days and instants all sort as text). Every row that counts carries the instance that counted it, so
 * totals add up across instances and one instance can be told apart; nothing holds a client address,
 * a per-query row or an abuse-feed name.
 *
 * Each entry moves the schema from version i to i + 1; append only, never edit a shipped step.
 * Migrations run at start (and by `roje migrate`) under a transaction-scoped advisory lock, so that
 * instances starting together migrate once: the first takes the lock and migrates, the others wait for
 * it and then find the schema current.
 */
import type { Pool, PoolClient } from 'pg';
import { RojeError } from '../errors.js';
import { isUnavailable } from './sql-postgres.js';

/** Key of the advisory lock every migration takes (pg_advisory_xact_lock): "roje" in ASCII. */
export const MIGRATION_LOCK = 0x726f6a65;

export const POSTGRES_MIGRATIONS: readonly string[] = [
  `CREATE TABLE roje_meta (key TEXT PRIMARY KEY, value BYTEA NOT NULL);
   CREATE TABLE roje_instances (
     instance TEXT PRIMARY KEY,
     first_start TEXT NOT NULL,
     last_seen TEXT NOT NULL,
     version TEXT NOT NULL DEFAULT ''
   );
   CREATE TABLE hourly_totals (
     hour TEXT NOT NULL,
     instance TEXT NOT NULL,
     queries BIGINT NOT NULL DEFAULT 0,
     blocked BIGINT NOT NULL DEFAULT 0,
     cache_hits BIGINT NOT NULL DEFAULT 0,
     served_seconds DOUBLE PRECISION NOT NULL DEFAULT 0,
     PRIMARY KEY (hour, instance)
   );
   CREATE TABLE hourly_venues (
     hour TEXT NOT NULL,
     instance TEXT NOT NULL,
     venue TEXT NOT NULL,
     queries BIGINT NOT NULL DEFAULT 0,
     blocked BIGINT NOT NULL DEFAULT 0,
     PRIMARY KEY (hour, instance, venue)
   );
   CREATE TABLE hourly_blocks (
     hour TEXT NOT NULL,
     instance TEXT NOT NULL,
     venue TEXT NOT NULL,
     category TEXT NOT NULL,
     action TEXT NOT NULL,
     count BIGINT NOT NULL DEFAULT 0,
     PRIMARY KEY (hour, instance, venue, category, action)
   );
   CREATE TABLE daily_distinct (
     day TEXT NOT NULL,
     instance TEXT NOT NULL,
     venue TEXT NOT NULL,
     category TEXT NOT NULL,
     registers BYTEA NOT NULL,
     PRIMARY KEY (day, instance, venue, category)
   );
   CREATE TABLE list_changes (
     id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     instance TEXT NOT NULL,
     at TEXT NOT NULL,
     version TEXT NOT NULL,
     entries BIGINT NOT NULL,
     sources INTEGER NOT NULL,
     reason TEXT NOT NULL
   );
   CREATE INDEX list_changes_at ON list_changes (at);
   CREATE TABLE self_tests (
     id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     instance TEXT NOT NULL,
     at TEXT NOT NULL,
     venue TEXT,
     suite TEXT NOT NULL,
     passed INTEGER NOT NULL,
     failed INTEGER NOT NULL,
     sha256 TEXT NOT NULL
   );
   CREATE INDEX self_tests_at ON self_tests (at);
   CREATE TABLE reports (
     id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     instance TEXT NOT NULL,
     at TEXT NOT NULL,
     venue TEXT NOT NULL,
     category TEXT NOT NULL,
     name TEXT,
     message TEXT NOT NULL,
     status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'accepted', 'rejected')),
     reviewed_by TEXT,
     reviewed_at TEXT,
     note TEXT,
     reference TEXT UNIQUE
   );
   CREATE INDEX reports_status ON reports (status, id);
   CREATE TABLE applied_batches (
     batch TEXT PRIMARY KEY,
     instance TEXT NOT NULL,
     at TEXT NOT NULL
   );
   CREATE INDEX applied_batches_at ON applied_batches (at);
   CREATE TABLE overrides (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     action TEXT NOT NULL CHECK (action IN ('allow', 'deny')),
     venue TEXT,
     note TEXT NOT NULL DEFAULT '',
     who TEXT NOT NULL,
     at TEXT NOT NULL
   );
   CREATE UNIQUE INDEX overrides_name_venue ON overrides (name, coalesce(venue, ''));
   CREATE TABLE audit_log (
     id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     instance TEXT NOT NULL,
     at TEXT NOT NULL,
     entry TEXT NOT NULL
   );
   CREATE INDEX audit_log_at ON audit_log (at);`,
];

export const POSTGRES_SCHEMA_VERSION = POSTGRES_MIGRATIONS.length;

/** The NOTIFY channel an override change is announced on (payload: the writing instance). */
export const OVERRIDES_CHANNEL = 'roje_overrides';

/**
 * Brings the shared schema to POSTGRES_SCHEMA_VERSION in one transaction under the advisory lock, so
 * that instances starting together migrate once: the first migrates, the others wait for its commit and
 * find the schema current. The version sits in roje_schema (one row). Throws ROJE_ERR_STORE_OPEN for a
 * schema newer than this roje's, ROJE_ERR_STORE_UNAVAILABLE when the server cannot be reached.
 */
export async function migratePostgres(pool: Pool): Promise<{ from: number; to: number }> {
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    // Down or restarting: worth trying again. Refused (a wrong password, no such database): it will
    // not get better by itself, and says so.
    const code = isUnavailable(err) ? 'ROJE_ERR_STORE_UNAVAILABLE' : 'ROJE_ERR_STORE_OPEN';
    const what = code === 'ROJE_ERR_STORE_OPEN' ? 'refused the connection' : 'cannot be reached';
    throw new RojeError(code, `the shared store (PostgreSQL) ${what}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS roje_schema (version INTEGER NOT NULL)');
    const row = await client.query<{ version: number }>('SELECT version FROM roje_schema');
    const from = row.rows[0]?.version ?? 0;
    if (from > POSTGRES_SCHEMA_VERSION) {
      throw new RojeError(
        'ROJE_ERR_STORE_OPEN',
        `the shared store's schema version ${from} is newer than this roje's ${POSTGRES_SCHEMA_VERSION}: upgrade roje`,
      );
    }
    for (let v = from; v < POSTGRES_SCHEMA_VERSION; v++) await client.query(POSTGRES_MIGRATIONS[v] as string);
    if (row.rows.length === 0) {
      await client.query('INSERT INTO roje_schema (version) VALUES ($1)', [POSTGRES_SCHEMA_VERSION]);
    } else if (from < POSTGRES_SCHEMA_VERSION) {
      await client.query('UPDATE roje_schema SET version = $1', [POSTGRES_SCHEMA_VERSION]);
    }
    await client.query('COMMIT');
    return { from, to: Math.max(from, POSTGRES_SCHEMA_VERSION) };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    if (err instanceof RojeError) throw err;
    throw new RojeError(
      'ROJE_ERR_STORE_OPEN',
      `cannot migrate the shared store's schema: ${(err as Error).message}`,
      { cause: err },
    );
  } finally {
    client.release();
  }
}
