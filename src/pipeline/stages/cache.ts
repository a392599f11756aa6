import { type DnsCache, keySuffix, questionKey } from '../../cache/dns-cache.js';
import { EMPTY } from '../../dns/bytes.js';
import { EDE, FLAG_CD, HEADER_SIZE, RCODE } from '../../dns/constants.js';
import { PRESENTED_NAME, presentName } from '../../dns/name.js';
import { isRojeError } from '../../errors.js';
import type { Answer, Query, Stage } from '../types.js';

export interface CacheStageOptions {
  cache: DnsCache;
  serveStale: {
    enabled: boolean;
    /** TTL given to stale records (RFC 8767 recommends 30 s). */
    answerTtl: number;
  };
}

const STALE_EDE = [{ code: EDE.STALE_ANSWER }] as const;

/**
 * Answers from stored wire responses (a copy plus ID/case/TTL patches) and stores what the stages
 * after it fetched. Serve-stale lives here because only the cache still holds expired answers:
 * when every upstream fails or answers SERVFAIL, an expired answer beats a SERVFAIL (RFC 8767).
 * A hit builds nothing but its answer: the cache is searched by the query name's presentation bytes and
 * a prebuilt key suffix (no name, no key string), and renders straight from its slab; the strings are
 * made on a miss only.
 */
export function createCacheStage(options: CacheStageOptions): Stage {
  const { cache } = options;
  const { enabled: serveStale, answerTtl } = options.serveStale;
  // A hit is answered synchronously and read by the responder before the next query: one Answer,
  // refilled, its wire in a reply buffer (pipeline/types.ts Handler).
  const hitAnswer: Answer = { wire: EMPTY, source: 'cache', rcode: 0 };

  return (next) => (query) => {
    const suffix = keySuffix(
      query.qtype,
      query.qclass,
      query.edns?.do === true,
      (query.flags & FLAG_CD) !== 0,
    );
    // The name's presentation bytes, read as query.name reads them (no pointers): a hit builds no string.
    const length = presentName(query.msg, HEADER_SIZE, null, false);
    const hit =
      length >= 0 ? cache.findPresented(PRESENTED_NAME, length, suffix) : cache.find(query.name, suffix);
    if (hit >= 0) {
      hitAnswer.rcode = cache.rcodeOf(hit);
      hitAnswer.wire = cache.render(hit, query, query.udpSize, undefined, undefined, true);
      return hitAnswer;
    }
    return settle(next(query), query, suffix);
  };

  async function settle(pending: Answer | Promise<Answer>, query: Query, suffix: string): Promise<Answer> {
    let answer: Answer;
    try {
      answer = await pending;
    } catch (err) {
      if (!serveStale || !isRojeError(err, 'ROJE_ERR_UPSTREAM_ALL_FAILED')) throw err;
      const stale = staleAnswer(query, suffix);
      if (stale === undefined) throw err;
      return stale;
    }
    if (answer.upstream !== undefined) cache.set(questionKey(query.name, suffix), answer.upstream);
    // Every upstream answered SERVFAIL (the pool passes the first one on): they could not refresh the
    // answer either, which is what serve-stale is for.
    if (serveStale && answer.rcode === RCODE.SERVFAIL) return staleAnswer(query, suffix) ?? answer;
    return answer;
  }

  function staleAnswer(query: Query, suffix: string): Answer | undefined {
    const stale = cache.findStale(query.name, suffix);
    if (stale < 0) return undefined;
    const rcode = cache.rcodeOf(stale);
    return { wire: cache.render(stale, query, query.udpSize, answerTtl, STALE_EDE), source: 'stale', rcode };
  }
}
