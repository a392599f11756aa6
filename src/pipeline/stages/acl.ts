import { RCODE } from '../../dns/constants.js';
import { answerError } from '../../dns/query.js';
import type { Stage } from '../types.js';

export interface AclStageOptions {
  /** True when the client address belongs to a network roje serves. */
  isAllowed: (address: string) => boolean;
}

/**
 * REFUSED for clients outside the served networks, before any other work is spent on them:
 * roje must never be an open resolver.
 */
export function createAclStage(options: AclStageOptions): Stage {
  const { isAllowed } = options;
  return (next) => (query) => {
    if (isAllowed(query.client.address)) return next(query);
    return {
      wire: answerError(query, RCODE.REFUSED, { udpSize: query.udpSize }),
      source: 'refused',
      rcode: RCODE.REFUSED,
    };
  };
}
