import { performance } from 'node:perf_hooks';

export interface CoarseClockOptions {
  /** How often the clock reads the real one, in ms. A few ms is far finer than TTL seconds. */
  intervalMs: number;
}

export interface CoarseClockDeps {
  /** The precise monotonic clock it samples (ms); performance.now by default. */
  source?: () => number;
}

export interface CoarseClock {
  /** The last sampled time (ms); a plain variable read. */
  now(): number;
  /** Stops the sampling timer. now() keeps returning the last sample. */
  close(): void;
}

/**
 * A clock that reads performance.now() every few ms instead of on every cache hit, where that call
 * is a measurable part of the cost (see bench/internal/cache.bench.ts). Its timer is unref'd, so it
 * never keeps the process alive.
 *
 * It lags the real clock by up to intervalMs, and by longer while the event loop is blocked; the
 * timers phase runs before new datagrams are read, so queries that waited behind a block normally
 * see a fresh sample. A lag only delays expiry and under-reports age by that much.
 */
export function createCoarseClock(options: CoarseClockOptions, deps: CoarseClockDeps = {}): CoarseClock {
  const source = deps.source ?? (() => performance.now());
  let current = source();
  const timer = setInterval(() => {
    current = source();
  }, options.intervalMs);
  timer.unref();
  return {
    now: () => current,
    close: () => clearInterval(timer),
  };
}

/** The sampling interval of the shared clock: a few ms, far finer than TTL seconds. */
const SHARED_INTERVAL_MS = 5;
let shared: CoarseClock | undefined;

/**
 * One coarse clock for the process, started at first use and never closed (its timer is unref'd):
 * the answer cache's default. performance.now() allocates on Node 20 (16 bytes a call, measured by
 * bench/internal/cache-memory.ts), a read of this one does not; one clock, not one per cache, so a
 * cache replaced on reload leaves no timer behind.
 */
export function sharedCoarseClock(): CoarseClock {
  shared ??= createCoarseClock({ intervalMs: SHARED_INTERVAL_MS });
  return shared;
}
