/**
 * Messages between the primary (control plane: lists, feeds, admin, statistics store) and its query
 * loops. The same messages travel over worker_threads ports and cluster IPC (advanced serialization), so
 * they hold only structured-cloneable data: in thread mode the artifact bytes sit in a SharedArrayBuffer
 * and every thread reads the one copy; in process mode each process gets its own.
 */
import type { DnsCacheStats } from '../cache/dns-cache.js';
import type { RojeConfig } from '../config/schema.js';
import type { WorkerMetrics } from '../metrics/metrics.js';
import type { Override } from '../overrides/types.js';
import type { ClientInfo } from '../pipeline/types.js';
import type { HourCounts } from '../stats/recorder.js';
import type { BoundAddress, ListenAddress, ListenerStats } from '../transport/types.js';
import type { UpstreamHealth } from '../upstream/types.js';

export interface WorkerInit {
  type: 'init';
  /** 0-based; worker 0 binds first so that port 0 becomes one concrete port for all. */
  index: number;
  /** Query loops sharing the rate limits. */
  shares: number;
  config: RojeConfig;
  listen: ListenAddress[];
  reusePort: boolean;
  /** Process mode: the worker sends its process metrics too. */
  processMetrics: boolean;
}

/** The lists in force, whole (sent at start and after each swap). */
export interface ListsMessage {
  type: 'lists';
  /** The artifact; a view over a SharedArrayBuffer in thread mode. */
  bytes: Uint8Array;
  /** Feeds still without a good copy: the loop answers SERVFAIL (EDE 14) while any is missing. */
  missing: string[];
  /** The abuse key's bytes when the lists hold hashed entries. */
  abuseKey: Uint8Array | null;
}

/** Facts the CH TXT policy strings need that only the primary has: feed confirmation times. */
export interface StateMessage {
  type: 'state';
  checkedAt: Array<[string, string | undefined]>;
  /** The run-time overrides in force (src/overrides), whole: a few entries, sent on each change. */
  overrides: Override[];
}

export type ToWorker =
  | WorkerInit
  | ListsMessage
  | StateMessage
  | { type: 'config'; config: RojeConfig }
  | { type: 'salt'; salt: Uint8Array }
  | { type: 'flush-cache' }
  | { type: 'metrics'; id: number }
  /** One of roje's own questions (the self-test as a client of a venue), answered by the loop's chain. */
  | { type: 'exchange'; id: number; query: Uint8Array; client: ClientInfo }
  | { type: 'stop' };

/** What a loop reports every second and before it stops: statistics deltas and its counters. */
export interface WorkerReport {
  type: 'report';
  counts: HourCounts[];
  cache: DnsCacheStats;
  listeners: ListenerStats;
  /** This loop's own view of each upstream (the status sums them over loops). */
  upstreams: UpstreamHealth[];
}

export type FromWorker =
  /** A worker process is ready for its init (IPC messages sent before it listens would be lost). */
  | { type: 'hello' }
  | { type: 'listening'; addresses: BoundAddress[] }
  | { type: 'lists-loaded'; version: string }
  | WorkerReport
  | { type: 'metrics'; id: number; metrics: WorkerMetrics }
  /** The answer to an `exchange`, or null (none: dropped). */
  | { type: 'exchanged'; id: number; answer: Uint8Array | null }
  | { type: 'fatal'; message: string; code?: string }
  | { type: 'stopped' };

/** How often a loop sends its statistics and counters. */
export const REPORT_INTERVAL_MS = 1000;
