import { FLAG_TC, RCODE } from '../../dns/constants.js';
import { answerError } from '../../dns/query.js';
import { clientKey } from '../../net/client-key.js';
import type { Answer, Query, Stage } from '../types.js';

export interface RateLimitOptions {
  /** Answers per second one client may get over UDP, and over TCP (an IPv4 address, or an IPv6 /64). */
  responsesPerSecond: number;
  /** How many answers a client may get at once before the rate applies (the bucket size). */
  burst: number;
  /**
   * Every `slip`-th answer over the limit is sent empty with TC set instead of being dropped, so a real
   * client behind a flood retries over TCP and gets through (BIND's RRL "slip"). 0 drops them all.
   * Over TCP there is no slip: a truncated answer would only send the client back to TCP.
   */
  slip: number;
  /** True for clients that are never limited (e.g. a NAT gateway that speaks for a whole venue). */
  isExempt: (address: string) => boolean;
  /**
   * How many venues there are (query.venue indexes their buckets). A venue's clients together get
   * `venueResponsesPerSecond` (0: no venue limit), so that one venue cannot starve the others on a
   * resolver an ISP runs for many.
   */
  venues?: number;
  venueResponsesPerSecond?: number;
  venueBurst?: number;
  /** Buckets in the table, a power of two. Default 65536 (1.5 MiB). */
  slots?: number;
}

const DEFAULT_SLOTS = 1 << 16;
const DROP: Answer = { wire: Buffer.alloc(0), source: 'rate-limited', rcode: -1, drop: true };

/**
 * Response rate limiting: a token bucket per client so that roje cannot be made to flood a victim
 * over UDP (where a source can be forged), and one device cannot starve the others; and one per venue,
 * so that one venue cannot starve the others. The per-client default (1,000/s) is sized for a NAT
 * gateway with hundreds of phones behind one address, not for one device.
 *
 * TCP queries are limited too (a pipelining client must not escape its rate by switching transport), at
 * the same rate but in a bucket of their own per client, and dropped when over it, never slipped. Their
 * own bucket, because a flood forging a victim's UDP source drains the victim's UDP bucket: the TC answers
 * slip sends it would be worthless if its TCP retries drew on that bucket. For the same reason TCP does not
 * draw on the venue's bucket; a TCP client's address is proven, and its connections are capped.
 *
 * Buckets live in a fixed table indexed by a hash of the client's address: no allocation and bounded
 * memory whatever the number of clients. A slot holding another client's bucket is taken over when
 * that bucket is full again (idle); otherwise both share it, which can only limit sooner, never later.
 */
export function createRateLimitStage(options: RateLimitOptions): Stage {
  const { responsesPerSecond, burst, slip, isExempt } = options;
  const slots = options.slots ?? DEFAULT_SLOTS;
  if (!Number.isInteger(Math.log2(slots))) throw new RangeError('rate limit slots must be a power of two');
  const mask = slots - 1;
  const owner = new Int32Array(slots);
  const tokens = new Float64Array(slots);
  const stamp = new Float64Array(slots);
  const limited = new Uint32Array(slots);
  const perMs = responsesPerSecond / 1000;
  const venuePerMs = (options.venueResponsesPerSecond ?? 0) / 1000;
  const venueBurst = options.venueBurst ?? 0;
  const venueLimited = venuePerMs > 0 && (options.venues ?? 0) > 0;
  const venueTokens = new Float64Array(options.venues ?? 0).fill(venueBurst);
  const venueStamp = new Float64Array(options.venues ?? 0);
  let venueOver = 0;

  /** Takes a token from venue `v`'s bucket; false when the venue is over its rate. */
  function venueAllows(v: number, now: number): boolean {
    if (v < 0) return true;
    let available = venueTokens[v] + (venueStamp[v] === 0 ? venueBurst : (now - venueStamp[v]) * venuePerMs);
    if (available > venueBurst) available = venueBurst;
    venueStamp[v] = now;
    if (available >= 1) {
      venueTokens[v] = available - 1;
      return true;
    }
    venueTokens[v] = available;
    return false;
  }

  function limitedAnswer(query: Query, count: number): Answer {
    if (slip > 0 && count % slip === 0 && query.client.transport === 'udp') {
      const wire = answerError(query, RCODE.NOERROR, { udpSize: query.udpSize });
      wire[2] |= FLAG_TC >> 8;
      return { wire, source: 'rate-limited', rcode: RCODE.NOERROR };
    }
    return DROP;
  }

  return (next) => (query) => {
    if (isExempt(query.client.address)) return next(query);
    const tcp = query.client.transport !== 'udp';
    const key = tcp ? tcpKey(clientKey(query.client.address)) : clientKey(query.client.address);
    const slot = key & mask;
    const now = query.receivedAt;
    let available = tokens[slot] + (now - stamp[slot]) * perMs;
    if (available > burst) available = burst;
    if (owner[slot] !== key) {
      if (available < burst && stamp[slot] !== 0) {
        // Another client's bucket that is still in use: share it.
      } else {
        owner[slot] = key;
        available = burst;
        limited[slot] = 0;
      }
    }
    stamp[slot] = now;
    if (available >= 1) {
      tokens[slot] = available - 1;
      if (tcp || !venueLimited || venueAllows(query.venue, now)) return next(query);
      return limitedAnswer(query, ++venueOver);
    }
    tokens[slot] = available;
    limited[slot]++;
    return limitedAnswer(query, limited[slot]);
  };
}

/** The key of a client's TCP bucket: another slot than its UDP bucket (an odd multiplier is a bijection). */
function tcpKey(key: number): number {
  return Math.imul(key, 0x9e3779b1) | 0 || 1;
}
