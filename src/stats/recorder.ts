/**
 * The hot-path side of the statistics: counts answers for the current hour in typed arrays, indexed
 * by (venue, category bit, action), and every answer once per venue (one increment at the venue index
 * the context stage set), so that a steady-state query allocates nothing, builds no string, reads no
 * clock and touches no disk. Names are resolved only when the counts are drained (by the store's flush, once a minute).
 *
 * Privacy: only counts. No client address and no domain ever enters this module's state: a blocked
 * name only moves a HyperLogLog register (hll.ts), keyed with the store's salt, for the distinct count.
 */
import { HEADER_SIZE } from '../dns/constants.js';
import { PRESENTED_NAME, presentName } from '../dns/name.js';
import type { Answer, Query } from '../pipeline/types.js';
import { HLL_REGISTERS, type HllKey, hllAdd, hllKey, hllPointBytes } from './hll.js';

/** What happened to a query, per (venue, category). Only 'blocked' for now; append, never reorder. */
export const STATS_ACTIONS = ['blocked'] as const;
export type StatsAction = (typeof STATS_ACTIONS)[number];

/** Category name for a venue's own deny addition (a blocked answer with categories mask 0). */
export const DENY_CATEGORY = 'deny';
/** Venue name for clients of no venue (venue index -1). */
export const NO_VENUE = '(none)';

const HOUR_MS = 3_600_000;
/** 32 category bits plus one slot for the deny addition (mask 0). */
const CATEGORY_SLOTS = 33;
const DENY_SLOT = 32;
const ACTION_BLOCKED = 0;

export interface AggregateRow {
  venue: string;
  category: string;
  action: StatsAction;
  count: number;
}

/** The distinct-name sketch of one (venue, category) over an hour: HLL registers, never a name. */
export interface SketchRow {
  venue: string;
  category: string;
  registers: Uint8Array;
}

/** The counts of one UTC hour, names resolved. */
export interface HourCounts {
  /** Start of the hour, UTC ISO without milliseconds: "2026-11-23T14:00:00Z". */
  hour: string;
  queries: number;
  /** Blocked answers (once each, whatever the number of categories). */
  blocked: number;
  /** Answers from the cache, fresh or stale. */
  cacheHits: number;
  /** Answered queries and blocked answers (once each) per venue; venues with neither are left out. */
  venues: Array<{ venue: string; queries: number; blocked: number }>;
  /** Per (venue, category, action); a blocked answer with several categories counts once per category. */
  rows: AggregateRow[];
  /** Distinct blocked names per (venue, category); present once useSalt() was called and a name was blocked. */
  sketches?: SketchRow[];
}

export interface StatsRecorderOptions {
  /** Venue names by venue index (the config's venues, in order). Read at drain time. */
  venues: () => readonly string[];
  /** Category names by bit (the compiled lists' categories). Read at drain time. */
  categories: () => readonly string[];
}

export interface StatsRecorderDeps {
  /** Wall clock in epoch ms; Date.now by default. Read once per hour and per drain, never per query. */
  now?: () => number;
}

export interface StatsRecorder {
  /** The responder's onAnswer hook. Increments counters; allocates nothing in the steady state. */
  onAnswer(query: Query, answer: Answer): void;
  /**
   * Takes every count so far (finished hours and the current one) with names resolved now, and
   * resets. Call it before venues or categories change meaning (a reload, a list swap), so that
   * counts are named by the lists they were made under.
   */
  drain(): HourCounts[];
  /**
   * Starts a new hour if the clock has left the current one. A timer calls it at each hour boundary
   * (reading the clock per query costs more than the counting itself: ~160 ns here vs ~35 ns), and
   * drain() calls it; tests with a fake clock call it after moving the clock.
   */
  tick(): void;
  /** Stops the hour timer (drain still works). */
  close(): void;
  /**
   * Starts counting distinct blocked names, hashed with this salt (the statistics store's: sketches
   * of one database must share it). Until it is called, only the counts are kept.
   */
  useSalt(salt: Uint8Array): void;
}

/** "2026-11-23T14:00:00Z" for any instant inside that UTC hour. */
export function hourKey(ms: number): string {
  return `${new Date(Math.floor(ms / HOUR_MS) * HOUR_MS).toISOString().slice(0, 19)}Z`;
}

// long-function: the hour's counters (typed arrays grown in place, so the hot path allocates nothing) are
// the recorder's state, shared by its inner functions (onAnswer, grow, snapshot, reset, rollover), none
// over 30 lines.
export function createStatsRecorder(
  options: StatsRecorderOptions,
  deps: StatsRecorderDeps = {},
): StatsRecorder {
  const now = deps.now ?? Date.now;
  let hourStart = Math.floor(now() / HOUR_MS) * HOUR_MS;
  let hourEnd = hourStart + HOUR_MS;
  // Venue slot 0 is "no venue" (-1); slot v+1 is venue v. Grown (rarely) when a larger index appears.
  let venueSlots = options.venues().length + 1;
  let blocks = new Float64Array(venueSlots * CATEGORY_SLOTS * STATS_ACTIONS.length);
  let venueBlocked = new Float64Array(venueSlots);
  let venueQueries = new Float64Array(venueSlots);
  let queries = 0;
  let blocked = 0;
  let cacheHits = 0;
  let touched = false;
  // Distinct-name sketches per (venue slot, category slot): made on the first block of that pair and
  // then reused (zeroed at each drain), so the steady state allocates nothing.
  let key: HllKey | null = null;
  const sketches: Array<Uint8Array | undefined> = new Array(venueSlots * CATEGORY_SLOTS);
  let sketchTouched = new Uint8Array(venueSlots * CATEGORY_SLOTS);
  // Hours that ended before a drain, already named. At most one per hour between two drains.
  const finished: HourCounts[] = [];

  function grow(slot: number): void {
    const slots = Math.max(slot + 1, venueSlots * 2);
    const nextBlocks = new Float64Array(slots * CATEGORY_SLOTS * STATS_ACTIONS.length);
    nextBlocks.set(blocks);
    const nextVenues = new Float64Array(slots);
    nextVenues.set(venueBlocked);
    const nextQueries = new Float64Array(slots);
    nextQueries.set(venueQueries);
    blocks = nextBlocks;
    venueBlocked = nextVenues;
    venueQueries = nextQueries;
    const nextTouched = new Uint8Array(slots * CATEGORY_SLOTS);
    nextTouched.set(sketchTouched);
    sketchTouched = nextTouched;
    sketches.length = slots * CATEGORY_SLOTS;
    venueSlots = slots;
  }

  function snapshot(): HourCounts {
    const venueNames = options.venues();
    const categoryNames = options.categories();
    const venueName = (slot: number) => (slot === 0 ? NO_VENUE : (venueNames[slot - 1] ?? `#${slot - 1}`));
    const rows: AggregateRow[] = [];
    const venues: HourCounts['venues'] = [];
    for (let v = 0; v < venueSlots; v++) {
      const vb = venueBlocked[v] ?? 0;
      const vq = venueQueries[v] ?? 0;
      if (vb > 0 || vq > 0) venues.push({ venue: venueName(v), queries: vq, blocked: vb });
      for (let c = 0; c < CATEGORY_SLOTS; c++) {
        for (let a = 0; a < STATS_ACTIONS.length; a++) {
          const count = blocks[(v * CATEGORY_SLOTS + c) * STATS_ACTIONS.length + a] ?? 0;
          if (count === 0) continue;
          const category = c === DENY_SLOT ? DENY_CATEGORY : (categoryNames[c] ?? `bit${c}`);
          rows.push({ venue: venueName(v), category, action: STATS_ACTIONS[a] as StatsAction, count });
        }
      }
    }
    const counts: HourCounts = { hour: hourKey(hourStart), queries, blocked, cacheHits, venues, rows };
    const sketchRows: SketchRow[] = [];
    for (let i = 0; i < sketchTouched.length; i++) {
      const sketch = sketches[i];
      if (sketchTouched[i] === 0 || sketch === undefined) continue;
      const c = i % CATEGORY_SLOTS;
      const category = c === DENY_SLOT ? DENY_CATEGORY : (categoryNames[c] ?? `bit${c}`);
      sketchRows.push({ venue: venueName((i - c) / CATEGORY_SLOTS), category, registers: sketch.slice() });
    }
    if (sketchRows.length > 0) counts.sketches = sketchRows;
    return counts;
  }

  function sketch(i: number, point: number): void {
    let s = sketches[i];
    if (s === undefined) {
      s = new Uint8Array(HLL_REGISTERS);
      sketches[i] = s;
    }
    sketchTouched[i] = 1;
    hllAdd(s, point);
  }

  function reset(): void {
    blocks.fill(0);
    venueBlocked.fill(0);
    venueQueries.fill(0);
    queries = 0;
    blocked = 0;
    cacheHits = 0;
    touched = false;
    for (let i = 0; i < sketchTouched.length; i++) {
      if (sketchTouched[i] === 0) continue;
      sketches[i]?.fill(0);
      sketchTouched[i] = 0;
    }
  }

  function rollover(t: number): void {
    if (touched) finished.push(snapshot());
    reset();
    hourStart = Math.floor(t / HOUR_MS) * HOUR_MS;
    hourEnd = hourStart + HOUR_MS;
  }

  function tick(): void {
    const t = now();
    if (t >= hourEnd || t < hourStart) rollover(t);
  }

  // Counts made between the boundary and this timer firing (a few ms, longer if the loop is blocked)
  // land in the hour that just ended: harmless for hourly aggregates.
  let timer: NodeJS.Timeout | undefined;
  function schedule(): void {
    timer = setTimeout(
      () => {
        tick();
        schedule();
      },
      Math.min(HOUR_MS, Math.max(1000, hourEnd - now())),
    );
    timer.unref();
  }
  schedule();

  return {
    tick,
    useSalt(salt) {
      key = hllKey(salt);
    },
    close() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
    onAnswer(query, answer) {
      touched = true;
      queries++;
      // Per venue: one increment keyed by the venue index the context stage set (-1, or unset when the
      // chain failed before it: no venue).
      const venue = query.venue;
      const querySlot = venue >= 0 ? venue + 1 : 0;
      if (querySlot >= venueSlots) grow(querySlot);
      venueQueries[querySlot] = (venueQueries[querySlot] ?? 0) + 1;
      if (answer.source === 'cache' || answer.source === 'stale') cacheHits++;
      const block = answer.block;
      if (block === undefined) return;
      blocked++;
      const slot = block.venue < 0 ? 0 : block.venue + 1;
      if (slot >= venueSlots) grow(slot);
      venueBlocked[slot] = (venueBlocked[slot] ?? 0) + 1;
      const base = slot * CATEGORY_SLOTS;
      // One hash per blocked answer, whatever the number of categories; -1: not counted. The name's
      // presentation bytes come from the wire: no string is made for it.
      const length = key !== null ? presentName(query.msg, HEADER_SIZE, null, false) : -1;
      const point = key !== null && length >= 0 ? hllPointBytes(PRESENTED_NAME, length, key) : -1;
      let mask = block.categories >>> 0;
      if (mask === 0) {
        const i = (base + DENY_SLOT) * STATS_ACTIONS.length + ACTION_BLOCKED;
        blocks[i] = (blocks[i] ?? 0) + 1;
        if (point >= 0) sketch(base + DENY_SLOT, point);
        return;
      }
      // One count per category bit set (Kernighan: clear the lowest set bit each round, at most 32).
      while (mask !== 0) {
        const bit = 31 - Math.clz32(mask & -mask);
        const i = (base + bit) * STATS_ACTIONS.length + ACTION_BLOCKED;
        blocks[i] = (blocks[i] ?? 0) + 1;
        if (point >= 0) sketch(base + bit, point);
        mask = (mask & (mask - 1)) >>> 0;
      }
    },
    drain() {
      tick();
      const out = finished.splice(0, finished.length);
      if (touched) out.push(snapshot());
      reset();
      return out;
    },
  };
}
