import { QCLASS, QTYPE, RCODE } from '../../dns/constants.js';
import { rfc8482Answer } from '../../dns/rfc8482-answer.js';
import type { Stage } from '../types.js';

/**
 * TTL of the synthesized HINFO (RFC 8482 §4.2 leaves it to the operator): an hour, so a client that
 * keeps asking is answered from its own cache, and no longer than roje's usual answers live.
 */
export const RFC8482_TTL = 3600;

/**
 * QTYPE ANY answered per RFC 8482 with one synthesized HINFO "RFC8482" "" record, never forwarded and
 * never from the cache: ANY is an amplification tool, not something a hotspot's devices need (browsers
 * and OS resolvers never ask it), and a cache subset would answer differently from one minute to the
 * next. After the policy stage, so a blocked name's ANY still gets its block answer, and after
 * SafeSearch, which sends an engine's ANY here as the safe host's behind its CNAME.
 */
export function createAnyQueryStage(): Stage {
  return (next) => (query) => {
    if (query.qtype !== QTYPE.ANY || query.qclass !== QCLASS.IN) return next(query);
    return { wire: rfc8482Answer(query, RFC8482_TTL, query.udpSize), source: 'local', rcode: RCODE.NOERROR };
  };
}
