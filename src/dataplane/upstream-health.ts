import type { UpstreamHealth } from '../upstream/types.js';

/**
 * One view of the upstreams from every query loop's own: queries and failures summed, the round trip
 * time weighted by each loop's queries, and an upstream down when any loop has it down (as the
 * roje_upstream_up metric, which takes the minimum over loops). Ordered as `urls`: the config's, redacted,
 * as each loop's pool names them (upstream/pool.ts).
 */
export function mergeUpstreamHealth(
  urls: readonly string[],
  loops: ReadonlyArray<readonly UpstreamHealth[]>,
): UpstreamHealth[] {
  return urls.map((url) => {
    const merged: UpstreamHealth = {
      url,
      state: 'up',
      consecutiveFailures: 0,
      srttMs: null,
      queries: 0,
      failures: 0,
      lastError: null,
    };
    let weighted = 0;
    let weight = 0;
    for (const loop of loops) {
      const h = loop.find((x) => x.url === url);
      if (h === undefined) continue;
      merged.queries += h.queries;
      merged.failures += h.failures;
      merged.consecutiveFailures = Math.max(merged.consecutiveFailures, h.consecutiveFailures);
      if (h.state === 'down') merged.state = 'down';
      merged.lastError ??= h.lastError;
      if (h.srttMs !== null) {
        const w = Math.max(1, h.queries);
        weighted += h.srttMs * w;
        weight += w;
      }
    }
    if (weight > 0) merged.srttMs = weighted / weight;
    return merged;
  });
}
