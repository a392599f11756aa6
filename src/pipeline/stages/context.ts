import type { Stage } from '../types.js';

export interface ContextStageOptions {
  /** The venue of a client address (createVenueResolver, which remembers it per address). */
  venueOf: (address: string) => number;
  /** The UDP payload size roje advertises in its OPT records (config `edns.udpSize`). */
  udpSize: number;
}

/**
 * What the later stages would otherwise each work out for themselves, resolved once per query and
 * carried on it: the client's venue (rate limit, policy, SafeSearch) and roje's advertised UDP size
 * (the OPT record of every answer). Two field writes, no allocation.
 */
export function createContextStage(options: ContextStageOptions): Stage {
  const { venueOf, udpSize } = options;
  return (next) => (query) => {
    query.venue = venueOf(query.client.address);
    query.udpSize = udpSize;
    return next(query);
  };
}
