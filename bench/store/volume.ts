/**
 * What the shared store writes to PostgreSQL, measured from PostgreSQL's own counters rather than from
 * roje's code: rows inserted and updated per table (pg_stat_user_tables), the WAL it generated (the bytes
 * a replica or a backup carries), and the tables' size on disk. Two snapshots around a window of traffic,
 * divided by the batches applied in it (rows of applied_batches), give the cost of one flush; an hour is
 * 3600 / flushInterval flushes.
 */

export interface TableCounters {
  inserted: number;
  updated: number;
  deleted: number;
  /** pg_total_relation_size: heap, indexes and TOAST, dead tuples included until vacuumed. */
  bytes: number;
}

export interface Snapshot {
  /** pg_current_wal_lsn() as a byte position. */
  walBytes: number;
  tables: Map<string, TableCounters>;
}

/**
 * One row per table, `|`-separated (psql -At), the WAL position first. Each psql call is a new session, so
 * the counters are fresh; a backend reports its own a second after it goes idle, or when it exits.
 */
export const SNAPSHOT_SQL = `SELECT 'wal|' || pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint;
SELECT relname || '|' || n_tup_ins || '|' || n_tup_upd || '|' || n_tup_del || '|' || pg_total_relation_size(relid)
  FROM pg_stat_user_tables WHERE schemaname = 'public' ORDER BY relname;`;

export function parseSnapshot(text: string): Snapshot {
  let walBytes = Number.NaN;
  const tables = new Map<string, TableCounters>();
  for (const line of text.split('\n')) {
    const f = line.trim().split('|');
    if (f[0] === 'wal' && f.length === 2) walBytes = Number(f[1]);
    else if (f.length === 5 && f[0] !== undefined && f[0] !== '') {
      const [inserted, updated, deleted, bytes] = f.slice(1).map(Number) as [number, number, number, number];
      tables.set(f[0], { inserted, updated, deleted, bytes });
    }
  }
  if (!Number.isFinite(walBytes)) throw new Error(`no WAL position in the snapshot:\n${text}`);
  return { walBytes, tables };
}

export interface TableDelta {
  table: string;
  inserted: number;
  updated: number;
  bytes: number;
}

export interface VolumeDelta {
  walBytes: number;
  tables: TableDelta[];
  /** Rows inserted into applied_batches: one per batch (flush) applied. */
  batches: number;
}

export function diffSnapshots(before: Snapshot, after: Snapshot): VolumeDelta {
  const tables: TableDelta[] = [];
  for (const [table, a] of after.tables) {
    const b = before.tables.get(table) ?? { inserted: 0, updated: 0, deleted: 0, bytes: 0 };
    tables.push({
      table,
      inserted: a.inserted - b.inserted,
      updated: a.updated - b.updated,
      bytes: a.bytes - b.bytes,
    });
  }
  const batches = tables.find((t) => t.table === 'applied_batches')?.inserted ?? 0;
  return { walBytes: after.walBytes - before.walBytes, tables, batches };
}

export interface HourlyVolume {
  flushesPerHour: number;
  /** Row writes (inserts + updates) per hour, all tables, and per table. */
  rowsPerHour: number;
  perTable: Array<{ table: string; rowsPerHour: number }>;
  walBytesPerHour: number;
}

/** Per hour at `flushIntervalSeconds`, from a window of `delta.batches` flushes. */
export function perHour(delta: VolumeDelta, flushIntervalSeconds: number): HourlyVolume {
  if (delta.batches <= 0) throw new Error('no batch was applied in the window: nothing to scale');
  const flushesPerHour = 3600 / flushIntervalSeconds;
  const scale = flushesPerHour / delta.batches;
  const perTable = delta.tables
    .map((t) => ({ table: t.table, rowsPerHour: Math.round((t.inserted + t.updated) * scale) }))
    .filter((t) => t.rowsPerHour > 0)
    .sort((a, b) => b.rowsPerHour - a.rowsPerHour);
  return {
    flushesPerHour,
    rowsPerHour: perTable.reduce((n, t) => n + t.rowsPerHour, 0),
    perTable,
    walBytesPerHour: Math.round(delta.walBytes * scale),
  };
}

/**
 * What stays in the database: after VACUUM FULL (dead tuples of the upserts gone), the rows and bytes of
 * each counting table, and how many distinct hours (or days) they cover. An hour of a city's traffic adds
 * one hour's keys to the hourly tables; daily_distinct grows by one day's keys a day.
 */
export const RETAINED_TABLES = ['hourly_totals', 'hourly_venues', 'hourly_blocks', 'daily_distinct'] as const;

/** Its own psql call: VACUUM cannot run inside the transaction psql wraps several statements in. */
export const VACUUM_SQL = `VACUUM FULL ${RETAINED_TABLES.join(', ')}`;

export function retainedSql(): string {
  return RETAINED_TABLES.map((t) => {
    const period = t === 'daily_distinct' ? 'day' : 'hour';
    return `SELECT '${t}|' || count(*) || '|' || count(DISTINCT ${period}) || '|' || pg_total_relation_size('${t}') FROM ${t};`;
  }).join('\n');
}

export interface Retained {
  table: string;
  rows: number;
  /** Distinct hours (daily_distinct: days) the rows cover. */
  periods: number;
  bytes: number;
}

export function parseRetained(text: string): Retained[] {
  const out: Retained[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split('|');
    if (f.length !== 4 || !(RETAINED_TABLES as readonly string[]).includes(f[0] ?? '')) continue;
    out.push({ table: f[0]!, rows: Number(f[1]), periods: Number(f[2]), bytes: Number(f[3]) });
  }
  return out;
}
