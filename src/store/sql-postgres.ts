/**
 * The SQL executor over a pg.Pool. Placeholders become $n (sql.ts); BIGINT, NUMERIC (what sum() of a
 * BIGINT gives) and COUNT come back as numbers, as from SQLite: the counts stay far below 2^53. A
 * failure to reach the server becomes ROJE_ERR_STORE_UNAVAILABLE, whose message never holds the URL's
 * password.
 */
import type pg from 'pg';
import { RojeError } from '../errors.js';
import { lazyRequire } from '../lazy.js';
import { type SqlExecutor, type SqlParams, toNumbered } from './sql.js';

/** pg loads with the first pool: a box on SQLite never needs it. */
export const pgModule = lazyRequire<typeof pg>('pg');

const INT8 = 20;
const NUMERIC = 1700;

/** Type parsers of this pool only (pg's global ones are left alone). */
const TYPES = {
  getTypeParser(oid: number, format?: string) {
    if (oid === INT8 || oid === NUMERIC) return (value: string) => Number(value);
    // biome-ignore lint/suspicious/noExplicitAny: pg-types' overloads take a text or binary format
    return pgModule().types.getTypeParser(oid, format as any);
  },
} as pg.CustomTypesConfig;

export interface PostgresPoolOptions {
  url: string;
  /** Connections; default 4. */
  poolSize?: number;
  /** Reported once per error burst, never with the URL. */
  onIdleError?: (err: Error) => void;
}

export function createPostgresPool(options: PostgresPoolOptions): pg.Pool {
  const pool = new (pgModule().Pool)({
    connectionString: options.url,
    max: options.poolSize ?? 4,
    types: TYPES,
    // A server that is gone must fail a flush in seconds, not hang it.
    connectionTimeoutMillis: 5000,
    query_timeout: 30_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle connection the server closed (a restart) must not crash the process.
  pool.on('error', (err) => options.onIdleError?.(err));
  return pool;
}

/** Connection-level failures (the server is down, restarting or out of connections), not a bad statement. */
export function isUnavailable(err: unknown): boolean {
  if (err instanceof RojeError) return err.code === 'ROJE_ERR_STORE_UNAVAILABLE';
  const code = String((err as { code?: unknown })?.code ?? '');
  if (/^(08|57P0|53)/.test(code)) return true;
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EPIPE', 'EHOSTUNREACH'].includes(code))
    return true;
  const message = String((err as Error)?.message ?? '');
  return /Connection terminated|connection timeout|timeout exceeded|Query read timeout|Client has encountered a connection error|not queryable/i.test(
    message,
  );
}

function unavailable(err: unknown): never {
  if (err instanceof RojeError || !isUnavailable(err)) throw err;
  throw new RojeError(
    'ROJE_ERR_STORE_UNAVAILABLE',
    `the shared store (PostgreSQL) cannot be reached: ${(err as Error).message}`,
    { cause: err },
  );
}

type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

function over(target: Queryable, transaction: SqlExecutor['transaction']): SqlExecutor {
  async function query(sql: string, params?: SqlParams): Promise<pg.QueryResult> {
    const { text, values } = toNumbered(sql, params);
    try {
      return await target.query(text, values);
    } catch (err) {
      unavailable(err);
    }
  }
  return {
    dialect: 'postgres',
    all: async <T>(sql: string, params?: SqlParams) => (await query(sql, params)).rows as T[],
    get: async <T>(sql: string, params?: SqlParams) => (await query(sql, params)).rows[0] as T | undefined,
    run: async <T>(sql: string, params?: SqlParams) => {
      const r = await query(sql, params);
      return { changes: r.rowCount ?? 0, rows: r.rows as T[] };
    },
    transaction,
    close: async () => undefined,
  };
}

export function postgresExecutor(pool: pg.Pool): SqlExecutor {
  async function transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      unavailable(err);
    }
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const tx = over(client, (inner) => inner(tx));
      const out = await fn(tx);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch (rollback) {
        broken = rollback as Error;
      }
      if (isUnavailable(err)) broken = err as Error;
      unavailable(err);
    } finally {
      // A connection that failed is dropped from the pool, not handed to the next caller.
      client.release(broken);
    }
  }
  const exec = over(pool, transaction);
  return { ...exec, close: () => pool.end() };
}
