/**
 * The SQL executor over better-sqlite3. The driver is synchronous and the connection is one, so every
 * call and transaction takes its turn (a queue): no statement of another caller can land inside an
 * open transaction while its function awaits.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { Database } from '../stats/sqlite.js';
import { namedIn, type SqlExecutor, type SqlParams, type SqlResult } from './sql.js';

export function sqliteExecutor(db: Database): SqlExecutor {
  const statements = new Map<string, BetterSqlite3.Statement>();
  let tail: Promise<unknown> = Promise.resolve();

  function prepared(sql: string): BetterSqlite3.Statement {
    let s = statements.get(sql);
    if (s === undefined) {
      s = db.prepare(sql);
      statements.set(sql, s);
    }
    return s;
  }
  function bind(sql: string, params: SqlParams = []): unknown[] {
    return Array.isArray(params) ? (params as unknown[]) : [namedIn(sql, params)];
  }
  function runNow<T>(sql: string, params?: SqlParams): SqlResult<T> {
    const s = prepared(sql);
    if (s.reader) {
      const rows = s.all(...bind(sql, params)) as T[];
      return { changes: rows.length, rows };
    }
    return { changes: s.run(...bind(sql, params)).changes, rows: [] };
  }
  /** Takes its turn after every call before it. */
  function inTurn<T>(fn: () => T | Promise<T>): Promise<T> {
    const next = tail.then(fn);
    tail = next.catch(() => undefined);
    return next;
  }

  const direct: SqlExecutor = {
    dialect: 'sqlite',
    all: async <T>(sql: string, params?: SqlParams) => prepared(sql).all(...bind(sql, params)) as T[],
    get: async <T>(sql: string, params?: SqlParams) =>
      prepared(sql).get(...bind(sql, params)) as T | undefined,
    run: async <T>(sql: string, params?: SqlParams) => runNow<T>(sql, params),
    transaction: (fn) => fn(direct),
    close: async () => undefined,
  };

  return {
    dialect: 'sqlite',
    all: (sql, params) => inTurn(() => direct.all(sql, params)),
    get: (sql, params) => inTurn(() => direct.get(sql, params)),
    run: (sql, params) => inTurn(() => direct.run(sql, params)),
    transaction: (fn) =>
      inTurn(async () => {
        db.exec('BEGIN IMMEDIATE');
        try {
          const out = await fn(direct);
          db.exec('COMMIT');
          return out;
        } catch (err) {
          if (db.inTransaction) db.exec('ROLLBACK');
          throw err;
        }
      }),
    close: () =>
      inTurn(() => {
        if (db.open) db.close();
      }),
  };
}
