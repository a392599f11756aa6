/**
 * The per-query log line, off by default (privacy: `log.queries`). A name blocked by a confidential
 * category (the abuse feed) is itself an entry of that feed, and so is the host of a page entry that is
 * only counted: those are written as "[confidential]".
 */
import type { Logger } from 'pino';
import { HEADER_SIZE } from '../dns/constants.js';
import { CONFIDENTIAL_CATEGORIES, type CompiledLists } from '../policy/types.js';
import type { Answer, Query } from './types.js';

export interface QueryLogOptions {
  logger: Logger;
  /** Read per answer, so that a reload can switch it. */
  enabled: () => boolean;
  lists: () => CompiledLists | null;
}

export function createQueryLog(options: QueryLogOptions): (query: Query, answer: Answer) => void {
  const { logger, enabled, lists } = options;

  function isConfidential(query: Query, answer: Answer): boolean {
    const current = lists();
    if (current === null) return false;
    const mask = answer.block?.categories ?? 0;
    if (current.categories.some((c, bit) => (mask & (1 << bit)) !== 0 && CONFIDENTIAL_CATEGORIES.has(c)))
      return true;
    return current.hashedListedWire(query.msg, HEADER_SIZE);
  }

  return (query, answer) => {
    if (!enabled()) return;
    logger.info(
      {
        qname: isConfidential(query, answer) ? '[confidential]' : query.name,
        qtype: query.qtype,
        rcode: answer.rcode,
        source: answer.source,
        client: query.client.address,
        transport: query.client.transport,
        ms: Math.round((performance.now() - query.receivedAt) * 1000) / 1000,
      },
      'query',
    );
  };
}
