import { EDE, type ExtendedError, RCODE } from '../../dns/constants.js';
import { answerError } from '../../dns/query.js';
import type { Stage } from '../types.js';

export interface ReadyStageOptions {
  /** True once a good list is loaded: until then nothing may be answered unfiltered. */
  isReady: () => boolean;
}

const NOT_READY: readonly ExtendedError[] = [{ code: EDE.NOT_READY, text: 'filter lists not loaded yet' }];

/**
 * Fail closed: while no good list is loaded (a feed never downloaded and no copy on disk), every query
 * gets SERVFAIL with EDE 14 "Not Ready" rather than an unfiltered answer; clients retry or fail over.
 */
export function createReadyStage(options: ReadyStageOptions): Stage {
  const { isReady } = options;
  return (next) => (query) => {
    if (isReady()) return next(query);
    return {
      wire: answerError(query, RCODE.SERVFAIL, { udpSize: query.udpSize, ede: NOT_READY }),
      source: 'not-ready',
      rcode: RCODE.SERVFAIL,
    };
  };
}
