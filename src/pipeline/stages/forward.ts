import { FLAG_CD, HEADER_SIZE } from '../../dns/constants.js';
import { prepareResponse } from '../../dns/prepare.js';
import { renderResponse } from '../../dns/render.js';
import type { PreparedResponse, TtlBounds } from '../../dns/types.js';
import { clientKey } from '../../net/client-key.js';
import type { UpstreamPool } from '../../upstream/pool.js';
import type { Answer, Handler, Query } from '../types.js';

export interface ForwardOptions {
  pool: UpstreamPool;
  ttl: TtlBounds;
}

/**
 * The end of the chain: asks the upstream pool (which coalesces identical in-flight queries, fails over
 * between upstreams and gives each client and venue a bounded share of its queue) and prepares the
 * answer once, so the cache stage can store it as it is.
 */
export function createForwardHandler(options: ForwardOptions): Handler {
  const { pool, ttl } = options;
  // Queries coalesced by the pool share one result `wire`: the first to get it prepares it and hands
  // it to the cache stage, the others reuse that preparation and store nothing, so one upstream
  // exchange is one walk and one cache insert however many clients waited for it.
  const prepared = new WeakMap<Buffer, PreparedResponse>();
  return async (query: Query): Promise<Answer> => {
    const result = await pool.resolve({
      nameWire: lowercaseName(query.msg, HEADER_SIZE, query.nameEnd),
      name: query.name,
      qtype: query.qtype,
      qclass: query.qclass,
      do: query.edns?.do === true,
      cd: (query.flags & FLAG_CD) !== 0,
      // The rate limiter's key (IPv6 by /64), so a device has one share of the queue as it has one bucket.
      client: clientKey(query.client.address),
      venue: query.venue,
    });
    const shared = prepared.get(result.wire);
    if (shared !== undefined) {
      return {
        wire: renderResponse(shared, query, { age: 0, udpSize: query.udpSize }),
        source: 'upstream',
        rcode: shared.rcode,
      };
    }
    const fresh = prepareResponse(result.wire, ttl);
    prepared.set(result.wire, fresh);
    return {
      wire: renderResponse(fresh, query, { age: 0, udpSize: query.udpSize }),
      source: 'upstream',
      rcode: fresh.rcode,
      upstream: fresh,
    };
  };
}

/**
 * Upstreams are asked in lowercase so that queries differing only in case share one exchange and one
 * cache entry; each client still gets its own case back from renderResponse. ASCII only (RFC 4343).
 */
function lowercaseName(msg: Buffer, start: number, end: number): Buffer {
  const name = Buffer.allocUnsafe(end - start);
  msg.copy(name, 0, start, end);
  // Label length octets are < 64, so they never fall in 'A'..'Z' (65..90) and are left as they are.
  for (let i = 0; i < name.length; i++) {
    const c = name[i];
    if (c >= 0x41 && c <= 0x5a) name[i] = c | 0x20;
  }
  return name;
}
