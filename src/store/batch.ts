/**
 * A batch: what one flush writes (the recorder's counts since the last flush, the seconds served, the
 * day sketches, and the events: list swaps, self-test results, audit entries), with a random id. A
 * batch is applied in one transaction that first records its id in applied_batches: a batch replayed
 * after its commit's acknowledgement was lost is found there and skipped, so nothing counts twice.
 * Batches are plain JSON, so that the spool can keep them on disk while the store is unreachable.
 */
import { randomUUID } from 'node:crypto';
import { HLL_REGISTERS, hllMerge } from '../stats/hll.js';
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
export interface SelfTestEvent {
  kind: 'selftest';
  at: string;
  venue: string | null;
  suite: string;
  passed: number;
  failed: number;
  sha256: string;
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

const SQL = {
  claim: 'INSERT INTO applied_batches (batch, instance, at) VALUES (?, ?, ?) ON CONFLICT (batch) DO NOTHING',
  totals: `INSERT INTO hourly_totals (hour, instance, queries, blocked, cache_hits, served_seconds)
    VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (hour, instance) DO UPDATE SET queries = hourly_totals.queries + excluded.queries,
      blocked = hourly_totals.blocked + excluded.blocked,
      cache_hits = hourly_totals.cache_hits + excluded.cache_hits,
      served_seconds = hourly_totals.served_seconds + excluded.served_seconds`,
  venue: `INSERT INTO hourly_venues (hour, instance, venue, queries, blocked) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (hour, instance, venue) DO UPDATE SET queries = hourly_venues.queries + excluded.queries,
      blocked = hourly_venues.blocked + excluded.blocked`,
  block: `INSERT INTO hourly_blocks (hour, instance, venue, category, action, count) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (hour, instance, venue, category, action) DO UPDATE SET count = hourly_blocks.count + excluded.count`,
  getSketch:
    'SELECT registers FROM daily_distinct WHERE day = ? AND instance = ? AND venue = ? AND category = ?',
  putSketch: `INSERT INTO daily_distinct (day, instance, venue, category, registers) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (day, instance, venue, category) DO UPDATE SET registers = excluded.registers`,
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

/**
 * Applies a batch in one transaction. Returns false when its id was already applied (a replay after
 * a lost acknowledgement): nothing is written twice. Throws when it cannot be written.
 */
export function applyBatch(db: SqlExecutor, batch: Batch): Promise<boolean> {
  const instance = batch.instance;
  return db.transaction(async (tx) => {
    const claimed = await tx.run(SQL.claim, [batch.id, instance, batch.at]);
    if (claimed.changes === 0) return false;
    for (const h of batch.hours) {
      await tx.run(SQL.totals, [h.hour, instance, h.queries, h.blocked, h.cacheHits, h.servedSeconds]);
      for (const [venue, q, b] of h.venues) await tx.run(SQL.venue, [h.hour, instance, venue, q, b]);
      for (const [venue, category, action, n] of h.rows) {
        await tx.run(SQL.block, [h.hour, instance, venue, category, action, n]);
      }
    }
    for (const [day, venue, category, base64] of batch.sketches) {
      const merged = new Uint8Array(Buffer.from(base64, 'base64'));
      if (merged.length !== HLL_REGISTERS) continue;
      const stored = await tx.get<{ registers: Buffer }>(SQL.getSketch, [day, instance, venue, category]);
      if (stored !== undefined && stored.registers.length === HLL_REGISTERS)
        hllMerge(merged, stored.registers);
      await tx.run(SQL.putSketch, [day, instance, venue, category, Buffer.from(merged)]);
    }
    for (const e of batch.events) await writeEvent(tx, instance, e);
    return true;
  });
}
