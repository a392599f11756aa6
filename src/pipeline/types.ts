import type { ParsedQuery, PreparedResponse } from '../dns/types.js';

export type TransportName = 'udp' | 'tcp';

/** Who sent a message, as the transport saw it. */
export interface ClientInfo {
  /** Client IP address as Node reports it (IPv4-mapped IPv6 already unwrapped to dotted IPv4). */
  address: string;
  port: number;
  transport: TransportName;
  /**
   * The transport sends or copies a synchronous answer before it passes on another message, so that
   * answer may be a reply buffer lent by the chain (dns/bytes.ts replyBuffer) and written again for the
   * next query. Absent: the caller may keep answers, and the responder lends none (keepReply).
   */
  sendsAtOnce?: boolean;
}

/**
 * A parsed query travelling down the chain, with its client and limits. The responder sets `client`,
 * `maxSize` and `receivedAt`; the context stage, first in the chain, sets `venue` and `udpSize` so
 * that no later stage works them out again.
 */
export interface Query extends ParsedQuery {
  client: ClientInfo;
  /** The largest response this client can take: negotiated EDNS size for UDP, 65535 for TCP. */
  maxSize: number;
  /** performance.now() when the message arrived, for durations. */
  receivedAt: number;
  /**
   * The client's venue: its index in config `venues` (the longest matching network), or -1 for a
   * client of no venue, who gets the default policy. Read by the rate limit, policy and SafeSearch.
   */
  venue: number;
  /** The UDP payload size roje advertises in the OPT record of its answers (config `edns.udpSize`). */
  udpSize: number;
}

/** Where an answer came from, for metrics and logs. */
export type AnswerSource =
  | 'cache'
  | 'stale'
  | 'upstream'
  | 'local'
  | 'policy'
  | 'refused'
  | 'rate-limited'
  | 'not-ready'
  | 'error';

export interface Answer {
  /** The response for this client: its ID, question case and EDNS. Not yet fitted to maxSize. */
  wire: Buffer;
  source: AnswerSource;
  /** The answer's RCODE; -1 when nothing is sent. */
  rcode: number;
  /** Send nothing at all (a rate-limited UDP query); `wire` is then empty. */
  drop?: boolean;
  /**
   * Set by the policy stage on a blocked answer, for metrics: the blocking categories (bit i = the
   * compiled lists' categories[i]; 0 for a venue's own deny addition) and the venue index (-1: no venue).
   */
  block?: { categories: number; venue: number };
  /**
   * Set by the SafeSearch stage on an answer it rewrote to an engine's safe host, for metrics: the
   * engine's index in SAFE_SEARCH_ENGINES (src/policy/safesearch.ts).
   */
  safeSearch?: number;
  /**
   * Set by the forward stage so that the cache stage can store the upstream's answer; only on the
   * first of the answers that share one coalesced exchange, so it is stored once.
   */
  upstream?: PreparedResponse;
}

/**
 * A handler answers a query; cache hits, blocked and bypass answers are synchronous. Both directions
 * are reused to answer without allocating:
 * - a synchronous answer ends the handler's use of the query and its client: the responder and the UDP
 *   transport refill both for the next message. Work that outlives the call (a prefetch) copies what it
 *   needs first; a handler that goes async keeps them (the responder then takes new ones);
 * - a synchronous Answer (and its wire) may be a stage's own, refilled for the next query: read it
 *   before calling the handler again, never keep it. An Answer a promise settles to is the caller's.
 */
export type Handler = (query: Query) => Answer | Promise<Answer>;

/** A stage wraps the next handler (CoreDNS plugin / Blocky resolver chain shape). */
export type Stage = (next: Handler) => Handler;
