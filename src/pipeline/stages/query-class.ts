import { QCLASS, RCODE } from '../../dns/constants.js';
import { answerError } from '../../dns/query.js';
import type { Stage } from '../types.js';

/** RFC 8914 info-code 21 "Not Supported". */
const EDE_NOT_SUPPORTED = [{ code: 21, text: 'only class IN is resolved' }] as const;

/**
 * Only class IN goes further down the chain, and so upstream. CHAOS is answered by the chaos stage
 * before this one; every other class (HS, NONE, ANY, any number) gets NOTIMP here, never forwarded:
 * an upstream answers such a query REFUSED or not at all, and one packet must not be able to spend an
 * upstream query, a queue slot or the upstream's health. NOTIMP rather than REFUSED because it is not
 * a policy decision: RFC 1035 §4.1.1 "does not support the requested kind of query", as Knot Resolver
 * answers for any class but IN. One comparison on the hot path; the rejection is built only when sent.
 */
export function createQueryClassStage(): Stage {
  return (next) => (query) => {
    if (query.qclass === QCLASS.IN) return next(query);
    return {
      wire: answerError(query, RCODE.NOTIMP, { udpSize: query.udpSize, ede: EDE_NOT_SUPPORTED }),
      source: 'local',
      rcode: RCODE.NOTIMP,
    };
  };
}
