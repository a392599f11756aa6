import { cacheKey, type DnsCache } from '../../cache/dns-cache.js';
import { EDE, FLAG_CD, RCODE } from '../../dns/constants.js';
import { renderResponse } from '../../dns/render.js';
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
 */
export function createCacheStage(options: CacheStageOptions): Stage {
  const { cache } = options;
  const { enabled: serveStale, answerTtl } = options.serveStale;

  return (next) => (query) => {
    const key = cacheKey({
      name: query.name,
      qtype: query.qtype,
      qclass: query.qclass,
      do: query.edns?.do === true,
      cd: (query.flags & FLAG_CD) !== 0,
    });
    const hit = cache.get(key);
    if (hit !== undefined) {
      return {
        wire: renderResponse(hit.response, query, { age: hit.age, udpSize: query.udpSize }),
        source: 'cache',
        rcode: hit.response.rcode,
      };
    }
    return settle(next(query), key, query);
  };

  async function settle(pending: Answer | Promise<Answer>, key: string, query: Query): Promise<Answer> {
    let answer: Answer;
    try {
      answer = await pending;
    } catch (err) {
      if (!serveStale || !isRojeError(err, 'ROJE_ERR_UPSTREAM_ALL_FAILED')) throw err;
      const stale = staleAnswer(key, query);
      if (stale === undefined) throw err;
      return stale;
    }
    if (answer.upstream !== undefined) cache.set(key, answer.upstream);
    // Every upstream answered SERVFAIL (the pool passes the first one on): they could not refresh the
    // answer either, which is what serve-stale is for.
    if (serveStale && answer.rcode === RCODE.SERVFAIL) return staleAnswer(key, query) ?? answer;
    return answer;
  }

  function staleAnswer(key: string, query: Query): Answer | undefined {
    const stale = cache.getStale(key);
    if (stale === undefined) return undefined;
    return {
      wire: renderResponse(stale.response, query, {
        age: stale.age,
        ttlOverride: answerTtl,
        ede: STALE_EDE,
        udpSize: query.udpSize,
      }),
      source: 'stale',
      rcode: stale.response.rcode,
    };
  }
}
