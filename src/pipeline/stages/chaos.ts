import { QCLASS, QTYPE, RCODE } from '../../dns/constants.js';
import { answerError } from '../../dns/query.js';
import { txtAnswer } from '../../dns/txt-answer.js';
import type { Stage } from '../types.js';

/** The CHAOS-class names roje answers itself. */
export const CHAOS_NAMES = ['version.roje', 'policy.roje'] as const;
export type ChaosName = (typeof CHAOS_NAMES)[number];

export interface ChaosStageOptions {
  /** false: every CHAOS query is REFUSED (config `chaos.enabled`). */
  enabled: boolean;
  /** The TXT strings for a name (read when asked, so they follow list swaps). Never an entry. */
  strings: (name: ChaosName) => readonly string[];
}

/**
 * Policy status over DNS: `version.roje. CH TXT` and `policy.roje. CH TXT` tell a certifier on the
 * network which roje and which list versions are in force (counts and ages, never entries). Every other
 * CHAOS query (version.bind, id.server, hostname.bind...) is REFUSED: roje does not forward CHAOS
 * queries, and it does not say more about itself than these two names. After the ACL: only clients roje
 * serves are answered. `chaos.enabled: false` leaves the stage out, and CHAOS queries are then REFUSED too.
 */
export function createChaosStage(options: ChaosStageOptions): Stage {
  const { enabled, strings } = options;
  return (next) => (query) => {
    if (query.qclass !== QCLASS.CH) return next(query);
    const name = query.name.toLowerCase().replace(/\.$/, '');
    const known = enabled && (CHAOS_NAMES as readonly string[]).includes(name);
    if (!known || (query.qtype !== QTYPE.TXT && query.qtype !== QTYPE.ANY)) {
      // A known name asked for another type: NODATA; anything else: REFUSED.
      const rcode = known ? RCODE.NOERROR : RCODE.REFUSED;
      return { wire: answerError(query, rcode, { udpSize: query.udpSize }), source: 'local', rcode };
    }
    return {
      wire: txtAnswer(query, strings(name as ChaosName), query.udpSize),
      source: 'local',
      rcode: RCODE.NOERROR,
    };
  };
}
