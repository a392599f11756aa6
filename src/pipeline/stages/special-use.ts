import { findLocalName, localAnswer } from '../../dns/special-use.js';
import type { Stage } from '../types.js';

/**
 * Special-use names answered here and never sent upstream, as unbound's default local zones answer
 * them (src/dns/special-use.ts has the zones and the RFCs): `localhost` is the loopback address,
 * `*.onion`, `*.invalid`, `*.local`, `*.home.arpa` and the private and loopback reverse zones
 * (RFC 6303) get NXDOMAIN or NODATA with their SOA. Besides conformance this keeps a device's local
 * and Tor names off the Internet. Nothing cached: building the answer is cheaper than a cache lookup.
 * An ordinary name costs a walk over its labels and one comparison.
 */
export function createSpecialUseStage(): Stage {
  return (next) => (query) => {
    const match = findLocalName(query);
    if (match === null) return next(query);
    const { wire, rcode } = localAnswer(query, match, query.udpSize);
    return { wire, source: 'local', rcode };
  };
}
