/**
 * The overrides of a city on the shared store's PostgreSQL (table `overrides`), so that an override made
 * through any instance is in force on every one (postgres-reader.ts: LISTEN, re-read, poll, local
 * copy). A change is one transaction that also sends `NOTIFY roje_overrides, '<instance>'` (delivered
 * at commit). Two instances racing to the same (name, venue) are settled by the table's unique index:
 * the loser gets the winner's entry, as a local duplicate would. The database is not on the query
 * path: while it is down the set in force stays and changes fail with ROJE_ERR_STORE_UNAVAILABLE.
 */
import { renameSync } from 'node:fs';
import type pg from 'pg';
import { RojeError } from '../errors.js';
import { migratePostgres, OVERRIDES_CHANNEL } from '../store/postgres-schema.js';
import { checkedOverride, readOverridesFile } from './file.js';
import {
  createOverridesReader,
  OVERRIDE_COLUMNS,
  type OverridesReaderOptions,
  storeMessage,
} from './postgres-reader.js';
import type { Override, OverridesBackend } from './types.js';

export interface PostgresOverridesOptions extends OverridesReaderOptions {
  /** This instance's name: the NOTIFY payload, so that a log can tell who changed the set. */
  instance: string;
}

function unavailable(err: unknown, what: string): RojeError {
  return new RojeError(
    'ROJE_ERR_STORE_UNAVAILABLE',
    `the shared store (PostgreSQL) cannot be used: ${storeMessage(err)}; the override was not ${what}: try again when it answers`,
    { cause: err },
  );
}

const isUniqueViolation = (err: unknown) => (err as { code?: unknown } | null)?.code === '23505';

/** Runs `work` in one transaction that also announces the change; null from `work`: nothing to do. */
async function announced<T>(
  pool: pg.Pool,
  instance: string,
  work: (client: pg.PoolClient) => Promise<T | null>,
): Promise<T | null> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    if (result === null) {
      await client.query('ROLLBACK');
      return null;
    }
    await client.query('SELECT pg_notify($1, $2)', [OVERRIDES_CHANNEL, instance]);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    // A connection that failed mid-transaction goes, not back to the pool.
    if (!isUniqueViolation(err)) broken = err as Error;
    throw err;
  } finally {
    client.release(broken);
  }
}

/**
 * A box that joins the city keeps its overrides: the entries of its overrides.json go into the table
 * (an entry at a (name, venue) the city already has is skipped), and the file is renamed so that
 * they go in once. A failure leaves the file for the next start.
 */
async function importOnce(options: PostgresOverridesOptions): Promise<boolean> {
  const path = options.importPath ?? null;
  if (path === null) return false;
  let added = 0;
  try {
    const entries = readOverridesFile(path);
    if (entries === null) return false;
    await announced(options.pool, options.instance, async (client) => {
      for (const o of entries) {
        const r = await client.query(
          `INSERT INTO overrides (${OVERRIDE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
          [o.id, o.name, o.action, o.venue, o.note, o.who, o.at],
        );
        added += r.rowCount ?? 0;
      }
      return true;
    });
    renameSync(path, `${path}.imported`);
    options.logger.warn(
      { imported: added, skipped: entries.length - added, file: `${path}.imported` },
      "overrides: this box's overrides.json joined the city's overrides in the shared store; the file is renamed",
    );
  } catch (err) {
    added = 0; // rolled back
    options.logger.error(
      { error: storeMessage(err), file: path },
      "overrides: this box's overrides.json cannot be imported into the shared store; tried again at the next start",
    );
  }
  return added > 0;
}

export function createPostgresOverridesBackend(
  options: PostgresOverridesOptions,
  deliver: (entries: readonly Override[]) => void,
): OverridesBackend {
  const { pool, instance } = options;
  const reader = createOverridesReader({ ...options, afterFirstRead: () => importOnce(options) }, deliver);
  const change = <T>(work: (client: pg.PoolClient) => Promise<T | null>) => announced(pool, instance, work);

  /** After our own commit: in force here at once, not at our own notification. */
  async function afterChange(local: readonly Override[]): Promise<void> {
    try {
      await reader.refresh();
    } catch (err) {
      reader.markDown(err);
      reader.assume(local);
    }
  }

  /** The entry another writer put at (name, venue) first, or null when it is gone again. */
  async function winner(override: Override): Promise<Override | null> {
    try {
      const { rows } = await pool.query(
        `SELECT ${OVERRIDE_COLUMNS} FROM overrides WHERE name = $1 AND coalesce(venue, '') = coalesce($2, '')`,
        [override.name, override.venue],
      );
      return rows.length === 0 ? null : checkedOverride(rows[0]);
    } catch (err) {
      reader.markDown(err);
      throw unavailable(err, 'made');
    }
  }

  return {
    kind: 'postgres',
    async open() {
      // The schema first: on a new database the overrides start before the statistics store, which
      // migrates it too; the advisory lock makes whoever comes first migrate it once. Unreachable: the
      // reader's first read says so and falls back to the local copy.
      await migratePostgres(pool).catch(() => {});
      return reader.open();
    },
    async insert(override, current) {
      try {
        await change(async (client) => {
          await client.query(
            `INSERT INTO overrides (${OVERRIDE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
            [
              override.id,
              override.name,
              override.action,
              override.venue,
              override.note,
              override.who,
              override.at,
            ],
          );
          return true;
        });
      } catch (err) {
        if (!isUniqueViolation(err)) {
          reader.markDown(err);
          throw unavailable(err, 'made');
        }
        // Put the winner's entry in force here too, without waiting for its notification.
        reader.scheduleRead();
        const existing = await winner(override);
        if (existing === null) {
          throw new RojeError(
            'ROJE_ERR_OVERRIDE_CONFLICT',
            `the entry for ${override.name} changed while this one was made: look again and retry`,
          );
        }
        return { existing };
      }
      await afterChange([...current, override]);
      return 'inserted';
    },
    async delete(id, current) {
      let removed: Override | null;
      try {
        removed = await change(async (client) => {
          const { rows } = await client.query(
            `DELETE FROM overrides WHERE id = $1 RETURNING ${OVERRIDE_COLUMNS}`,
            [id],
          );
          return rows.length === 0 ? null : checkedOverride(rows[0]);
        });
      } catch (err) {
        reader.markDown(err);
        throw unavailable(err, 'deleted');
      }
      if (removed === null) {
        // Gone already (deleted through another instance): bring this one's set up to date.
        reader.scheduleRead();
        return null;
      }
      await afterChange(current.filter((o) => o.id !== id));
      return removed;
    },
    state: () => reader.state(),
    close: () => reader.close(),
  };
}
