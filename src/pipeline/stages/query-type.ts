import { QTYPE, RCODE } from '../../dns/constants.js';
import { answerError } from '../../dns/query.js';
import type { Stage } from '../types.js';

const TKEY = 249;
const TSIG = 250;
const MAILB = 253;
const MAILA = 254;
/** RFC 6895 §3.1: 128-255 is the range of QTYPEs and meta-TYPEs; 128-248 are unassigned in it. */
const META_FIRST = 128;

/**
 * The RCODE for a QTYPE that is not a question for data (RFC 6895 §3.1), or 0 to go on: OPT, TKEY,
 * TSIG (meta-types: they exist only inside a transaction), MAILA, MAILB (obsolete, RFC 883) and the
 * unassigned 128-248 get FORMERR; AXFR and IXFR (zone transfers: roje holds no zone) get REFUSED,
 * over UDP and TCP alike. These are unbound's answers (worker_check_request / answer_norec).
 */
export function queryTypeRcode(qtype: number): number {
  if (qtype < META_FIRST) return qtype === QTYPE.OPT ? RCODE.FORMERR : 0;
  if (qtype === QTYPE.AXFR || qtype === QTYPE.IXFR) return RCODE.REFUSED;
  if (qtype === TKEY || qtype === TSIG || qtype === MAILA || qtype === MAILB || qtype < TKEY)
    return RCODE.FORMERR;
  return 0;
}

/**
 * Meta-types and zone transfers answered here, never forwarded: an upstream would answer them FORMERR,
 * NOTIMP or REFUSED, or not at all, and one packet must not spend an upstream query or its health.
 * One comparison for every ordinary type (all below 128).
 */
export function createQueryTypeStage(): Stage {
  return (next) => (query) => {
    const rcode = queryTypeRcode(query.qtype);
    if (rcode === 0) return next(query);
    return { wire: answerError(query, rcode, { udpSize: query.udpSize }), source: 'local', rcode };
  };
}
