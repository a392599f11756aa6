/**
 * The small SQL executor the statistics store is written once against: SQLite (one box) and
 * PostgreSQL (a city) each have an adapter (sql-sqlite.ts, sql-postgres.ts). Queries are plain SQL
 * both dialects accept, with `?` (positional, an array) or `@name` (named, an object) placeholders;
 * the PostgreSQL adapter rewrites them to $n. Integers come back as numbers in both.
 */

/** Positional values for `?`, or an object whose keys name the `@name` placeholders. */
export type SqlParams = readonly unknown[] | object;

export interface SqlResult<T> {
  /** Rows changed by an INSERT, UPDATE or DELETE. */
  changes: number;
  /** Rows a statement returned (SELECT, or RETURNING). */
  rows: T[];
}

export interface SqlExecutor {
  readonly dialect: 'sqlite' | 'postgres';
  all<T>(sql: string, params?: SqlParams): Promise<T[]>;
  get<T>(sql: string, params?: SqlParams): Promise<T | undefined>;
  run<T = unknown>(sql: string, params?: SqlParams): Promise<SqlResult<T>>;
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. Inside, use
   * the executor it is given (on PostgreSQL: the transaction's own connection).
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const NAMED = /@([A-Za-z_][A-Za-z0-9_]*)/g;

/** `?` and `@name` placeholders as PostgreSQL's $n, with the values in order. */
export function toNumbered(sql: string, params: SqlParams = []): { text: string; values: unknown[] } {
  if (Array.isArray(params)) {
    let i = 0;
    return { text: sql.replace(/\?/g, () => `$${++i}`), values: [...params] };
  }
  const named = params as Record<string, unknown>;
  const order = new Map<string, number>();
  const values: unknown[] = [];
  const text = sql.replace(NAMED, (_, name: string) => {
    let n = order.get(name);
    if (n === undefined) {
      if (!(name in named)) throw new Error(`missing SQL parameter @${name}`);
      values.push(named[name]);
      n = values.length;
      order.set(name, n);
    }
    return `$${n}`;
  });
  return { text, values };
}

/** Only the parameters a statement names (better-sqlite3 refuses an object with a key it does not use). */
export function namedIn(sql: string, params: object): Record<string, unknown> {
  const named = params as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const m of sql.matchAll(NAMED)) {
    const name = m[1] as string;
    if (!(name in named)) throw new Error(`missing SQL parameter @${name}`);
    out[name] = named[name];
  }
  return out;
}
