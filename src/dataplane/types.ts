/**
 * The data plane: what answers DNS. Two implementations, chosen once at start: in-process (this
 * thread's listeners, in-process.ts) and workers (one query loop per worker, workers.ts). The rest of
 * roje reads status, caches and upstream health through this interface only, summed over the loops in
 * workers mode.
 */
import type { DnsCacheStats } from '../cache/dns-cache.js';
import type { BlockExplanation } from '../pipeline/stages/policy.js';
import type { ClientInfo } from '../pipeline/types.js';
import type { Service } from '../services/lifecycle.js';
import type { SwapListener } from '../services/lists.js';
import type { HourCounts } from '../stats/recorder.js';
import type { BoundAddress } from '../transport/types.js';
import type { UpstreamHealth } from '../upstream/types.js';
import type { WorkerPoolStatus } from '../workers/supervisor.js';

export interface DataPlane extends Service, SwapListener {
  /** The bound DNS addresses (real ports when 0 was asked for). */
  addresses(): BoundAddress[];
  /** True while at least one listener (or query loop) answers. */
  listening(): boolean;
  cacheStats(): DnsCacheStats;
  /** Empties every cache; returns how many entries there were. */
  flushCache(): { removed: number };
  /** Per upstream, in config order; in workers mode the loops' figures summed. */
  upstreamHealth(): UpstreamHealth[];
  /** The query loops, or null in-process. */
  workers(): WorkerPoolStatus | null;
  /** Statistics counts gathered since the last call (the statistics store's drain). */
  drainCounts(): HourCounts[];
  /** The statistics store's salt for the distinct-name sketches, once it is open. */
  useSalt(salt: Uint8Array): void;
  /** Why the block page's host is blocked for this client (the block page asks). */
  explain(host: string, clientAddress: string): BlockExplanation | null;
  /**
   * Answers one DNS message in-process, as if `client` had sent it: through the listeners' chain (ACL,
   * rate limit, venue, policy, cache, upstream), but counted in no metric or statistic. null: no answer
   * (dropped, or no query loop running). The self-test asks as a client of each venue through this.
   */
  exchange(query: Buffer, client: ClientInfo): Promise<Buffer | null>;
}
