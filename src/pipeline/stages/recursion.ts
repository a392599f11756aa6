import { EDE, type ExtendedError, FLAG_RD, RCODE } from '../../dns/constants.js';
import { answerError } from '../../dns/query.js';
import type { Stage } from '../types.js';

/** RFC 8914 §4.21: the EDE for a REFUSED to a query that did not ask for recursion, as unbound sends it. */
const NOT_AUTHORITATIVE: readonly ExtendedError[] = [{ code: EDE.NOT_AUTHORITATIVE }];

/**
 * RD=0 (RFC 1034 §4.3.1-4.3.2): a query that does not ask for recursion is not resolved upstream.
 * roje is authoritative for nothing it forwards, so it answers REFUSED with EDE 20 "Not
 * Authoritative", as unbound does for a client of `access-control: allow`: from the cache neither,
 * because answering non-recursive queries from the cache is cache snooping (what the other devices
 * of a venue looked up, and of every venue: the cache is shared), the privacy leak unbound keeps
 * for `allow_snoop`. Answers roje makes itself (special-use names, blocks, RFC 8482) come from the
 * stages before this one and are given whatever RD says.
 */
export function createRecursionStage(): Stage {
  return (next) => (query) => {
    if ((query.flags & FLAG_RD) !== 0) return next(query);
    return {
      wire: answerError(query, RCODE.REFUSED, { udpSize: query.udpSize, ede: NOT_AUTHORITATIVE }),
      source: 'refused',
      rcode: RCODE.REFUSED,
    };
  };
}
