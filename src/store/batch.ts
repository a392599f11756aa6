/**
 * A batch: what one flush writes (the recorder's counts since the last flush, the seconds served, the
 * day sketches, and the events: list swaps, self-test results, audit entries), with a random id. A
 * batch is applied in one transaction that first records its id in applied_batches: a batch replayed
 * after its commit's acknowledgement was lost is found there and skipped, so nothing counts twice.
 * Batches are plain JSON, so that the spool can keep them on disk while the store is unreachable.
 */
import { randomUUID } from 'node:crypto';
import { HLL_REGISTERS, hllMerge } from '../stats/hll.js';
import type { SelfTestRow } from '../stats/period.js';
import type { HourCounts } from '../stats/recorder.js';
import type { SqlExecutor } from './sql.js';

export interface ListChangeEvent {
  kind: 'list';
  at: string;
  version: string;
  entries: number;
  sources: number;
  reason: string;
}
/** A self-test run, as the period queries read it back. */
export interface SelfTestEvent extends SelfTestRow {
  kind: 'selftest';
}
/** An audit log entry, as JSON text (PostgreSQL only: SQLite's audit log is its local file). */
export interface AuditEvent {
  kind: 'audit';
  at: string;
  entry: string;
}
export type BatchEvent = ListChangeEvent | SelfTestEvent | AuditEvent;

export interface BatchHour {
  hour: string;
  queries: number;
  blocked: number;
  cacheHits: number;
  servedSeconds: number;
  /** [venue, queries, blocked] */
  venues: Array<[string, number, number]>;
  /** [venue, category, action, count] */
  rows: Array<[string, string, string, number]>;
}

export interface Batch {
  id: string;
  instance: string;
  /** UTC ISO instant it was made. */
  at: string;
  hours: BatchHour[];
  /** [day, venue, category, registers as base64]: merged register-wise into the stored day sketch. */
  sketches: Array<[string, string, string, string]>;
  events: BatchEvent[];
}

function count(value: unknown): number {
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? Math.floor(n) : 0;
}

/** Gathers the counts of one flush interval; take() hands them over as a batch and starts afresh. */
interface PendingHour {
  queries: number;
  blocked: number;
  cacheHits: number;
  servedSeconds: number;
  /** venue -> [queries, blocked] */
  venues: Map<string, [number, number]>;
  /** venue \0 category \0 action -> count */
  rows: Map<string, number>;
}

export function createBatchBuilder(maxEvents = 1000) {
  let hours = new Map<string, PendingHour>();
  let sketches = new Map<string, Uint8Array>();
  let events: BatchEvent[] = [];
  let droppedEvents = 0;

  function hourOf(key: string): PendingHour {
    let h = hours.get(key);
    if (h === undefined) {
      h = { queries: 0, blocked: 0, cacheHits: 0, servedSeconds: 0, venues: new Map(), rows: new Map() };
      hours.set(key, h);
    }
    return h;
  }

  return {
    merge(counts: HourCounts): void {
      const h = hourOf(counts.hour);
      h.queries += count(counts.queries);
      h.blocked += count(counts.blocked);
      h.cacheHits += count(counts.cacheHits);
      for (const v of counts.venues) {
        const before = h.venues.get(v.venue) ?? [0, 0];
        h.venues.set(v.venue, [before[0] + count(v.queries), before[1] + count(v.blocked)]);
      }
      for (const r of counts.rows) {
        const key = `${r.venue}\0${r.category}\0${r.action}`;
        h.rows.set(key, (h.rows.get(key) ?? 0) + count(r.count));
      }
      for (const s of counts.sketches ?? []) {
        if (s.registers.length !== HLL_REGISTERS) continue;
        const key = `${counts.hour.slice(0, 10)}\0${s.venue}\0${s.category}`;
        const before = sketches.get(key);
        if (before === undefined) sketches.set(key, new Uint8Array(s.registers));
        else hllMerge(before, s.registers);
      }
    },
    served(hour: string, seconds: number): void {
      hourOf(hour).servedSeconds += seconds;
    },
    /** Queues an event; past maxEvents the oldest goes (counted). */
    event(e: BatchEvent): void {
      if (events.length >= maxEvents) {
        events.shift();
        droppedEvents++;
      }
      events.push(e);
    },
    droppedEvents: () => droppedEvents,
    /** The batch of everything gathered, or null when there is nothing to write. */
    take(instance: string, now: number): Batch | null {
      if (hours.size === 0 && sketches.size === 0 && events.length === 0) return null;
      const batch: Batch = {
        id: randomUUID(),
        instance,
        at: new Date(now).toISOString(),
        hours: [...hours].map(([hour, h]) => ({
          hour,
          queries: h.queries,
          blocked: h.blocked,
          cacheHits: h.cacheHits,
          servedSeconds: h.servedSeconds,
          venues: [...h.venues].map(([venue, [q, b]]) => [venue, q, b]),
          rows: [...h.rows].map(([key, n]) => {
            const [venue, category, action] = key.split('\0') as [string, string, string];
            return [venue, category, action, n];
          }),
        })),
        sketches: [...sketches].map(([key, registers]) => {
          const [day, venue, category] = key.split('\0') as [string, string, string];
          return [day, venue, category, Buffer.from(registers).toString('base64')];
        }),
        events,
      };
      hours = new Map();
      sketches = new Map();
      events = [];
      return batch;
    },
  };
}

/** Rows per multi-row INSERT: far below both databases' parameter limits (SQLite 32766, PostgreSQL 65535). */
const ROWS_PER_STATEMENT = 200;

/** Upserts of the counting tables: added to what is there (one instance's rows: no conflict between instances). */
const UPSERT = {
  totals: {
    head: 'INSERT INTO hourly_totals (hour, instance, queries, blocked, cache_hits, served_seconds) VALUES',
    width: 6,
    tail: `ON CONFLICT (hour, instance) DO UPDATE SET queries = hourly_totals.queries + excluded.queries,
      blocked = hourly_totals.blocked + excluded.blocked,
      cache_hits = hourly_totals.cache_hits + excluded.cache_hits,
      served_seconds = hourly_totals.served_seconds + excluded.served_seconds`,
  },
  venues: {
    head: 'INSERT INTO hourly_venues (hour, instance, venue, queries, blocked) VALUES',
    width: 5,
    tail: `ON CONFLICT (hour, instance, venue) DO UPDATE SET queries = hourly_venues.queries + excluded.queries,
      blocked = hourly_venues.blocked + excluded.blocked`,
  },
  blocks: {
    head: 'INSERT INTO hourly_blocks (hour, instance, venue, category, action, count) VALUES',
    width: 6,
    tail: `ON CONFLICT (hour, instance, venue, category, action) DO UPDATE
      SET count = hourly_blocks.count + excluded.count`,
  },
  // Sketches are merged before they are written (registers cannot be added in SQL): replaced.
  sketches: {
    head: 'INSERT INTO daily_distinct (day, instance, venue, category, registers) VALUES',
    width: 5,
    tail: 'ON CONFLICT (day, instance, venue, category) DO UPDATE SET registers = excluded.registers',
  },
} as const;

/** One multi-row INSERT per ROWS_PER_STATEMENT rows: a busy minute is a few statements, not thousands. */
async function upsert(tx: SqlExecutor, kind: keyof typeof UPSERT, rows: unknown[][]): Promise<void> {
  const { head, width, tail } = UPSERT[kind];
  const tuple = `(${new Array(width).fill('?').join(', ')})`;
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    const chunk = rows.slice(i, i + ROWS_PER_STATEMENT);
    await tx.run(`${head} ${new Array(chunk.length).fill(tuple).join(', ')} ${tail}`, chunk.flat());
  }
}

const SQL = {
  claim: 'INSERT INTO applied_batches (batch, instance, at) VALUES (?, ?, ?) ON CONFLICT (batch) DO NOTHING',
  sketchesOfDay: 'SELECT venue, category, registers FROM daily_distinct WHERE day = ? AND instance = ?',
  list: 'INSERT INTO list_changes (instance, at, version, entries, sources, reason) VALUES (?, ?, ?, ?, ?, ?)',
  selftest: `INSERT INTO self_tests (instance, at, venue, suite, passed, failed, sha256)
    VALUES (?, ?, ?, ?, ?, ?, ?)`,
  audit: 'INSERT INTO audit_log (instance, at, entry) VALUES (?, ?, ?)',
};

async function writeEvent(tx: SqlExecutor, instance: string, e: BatchEvent): Promise<void> {
  if (e.kind === 'list') {
    await tx.run(SQL.list, [instance, e.at, e.version, e.entries, e.sources, e.reason]);
  } else if (e.kind === 'selftest') {
    await tx.run(SQL.selftest, [instance, e.at, e.venue, e.suite, e.passed, e.failed, e.sha256]);
  } else if (tx.dialect === 'postgres') {
    await tx.run(SQL.audit, [instance, e.at, e.entry]);
  }
}

/** The batch's day sketches merged with the stored ones (read once per day), as rows to write. */
async function mergedSketches(tx: SqlExecutor, batch: Batch): Promise<unknown[][]> {
  const stored = new Map<string, Buffer>();
  for (const day of new Set(batch.sketches.map(([d]) => d))) {
    const rows = await tx.all<{ venue: string; category: string; registers: Buffer }>(SQL.sketchesOfDay, [
      day,
      batch.instance,
    ]);
    for (const r of rows) stored.set(`${day}\0${r.venue}\0${r.category}`, r.registers);
  }
  const out: unknown[][] = [];
  for (const [day, venue, category, base64] of batch.sketches) {
    const merged = new Uint8Array(Buffer.from(base64, 'base64'));
    if (merged.length !== HLL_REGISTERS) continue;
    const before = stored.get(`${day}\0${venue}\0${category}`);
    if (before !== undefined && before.length === HLL_REGISTERS) hllMerge(merged, before);
    out.push([day, batch.instance, venue, category, Buffer.from(merged)]);
  }
  return out;
}

/**
 * Applies a batch in one transaction. Returns false when its id was already applied (a replay after
 * a lost acknowledgement): nothing is written twice. Throws when it cannot be written.
 */
export function applyBatch(db: SqlExecutor, batch: Batch): Promise<boolean> {
  const instance = batch.instance;
  return db.transaction(async (tx) => {
    const claimed = await tx.run(SQL.claim, [batch.id, instance, batch.at]);
    if (claimed.changes === 0) return false;
    const hours = batch.hours;
    await upsert(
      tx,
      'totals',
      hours.map((h) => [h.hour, instance, h.queries, h.blocked, h.cacheHits, h.servedSeconds]),
    );
    await upsert(
      tx,
      'venues',
      hours.flatMap((h) => h.venues.map(([venue, q, b]) => [h.hour, instance, venue, q, b])),
    );
    await upsert(
      tx,
      'blocks',
      hours.flatMap((h) =>
        h.rows.map(([venue, category, action, n]) => [h.hour, instance, venue, category, action, n]),
      ),
    );
    await upsert(tx, 'sketches', await mergedSketches(tx, batch));
    for (const e of batch.events) await writeEvent(tx, instance, e);
    return true;
  });
}
