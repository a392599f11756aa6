import type { RojeErrorCode } from '../errors.js';

/**
 * One way of reaching one upstream. `exchange` sends a copy of `query` under a fresh random ID (DoH:
 * ID 0) and resolves with a response that passed checkUpstreamResponse against that copy; it never
 * mutates `query`. Rejects with RojeError ROJE_ERR_UPSTREAM_TIMEOUT, _NETWORK or _BAD_RESPONSE.
 */
export interface UpstreamTransport {
  /** The canonical upstream URL (see parseUpstreamUrl). */
  readonly url: string;
  exchange(query: Buffer, timeoutMs: number): Promise<Buffer>;
  /** Closes sockets and connections; exchanges still in flight fail with ROJE_ERR_UPSTREAM_NETWORK. */
  close(): Promise<void>;
}

/** What the forward stage asks the pool. Identical requests in flight share one exchange. */
export interface UpstreamRequest {
  /** Wire-format question name, lowercase. */
  nameWire: Buffer | Uint8Array;
  /** Lowercase presentation name, for logs and the coalescing key. */
  name: string;
  qtype: number;
  qclass: number;
  do: boolean;
  cd: boolean;
  /**
   * Who asked, for the fair share of the queue: a number per client (an IPv4 address or an IPv6 /64;
   * two clients hashing alike only share a share, sooner limited). Absent: no per-client cap.
   */
  client?: number;
  /** The client's venue (query.venue); absent or -1: no per-venue cap. */
  venue?: number;
}

export interface UpstreamResult {
  /**
   * The upstream's response (its ID is the random upstream ID, not the client's). Shared by every
   * coalesced caller: treat it as read-only and copy before patching.
   */
  wire: Buffer;
  /** The canonical URL of the upstream that answered. */
  upstream: string;
  rttMs: number;
}

export interface UpstreamHealth {
  /** The upstream's URL, redacted (config/redact.ts): safe for status, metrics and logs as it is. */
  url: string;
  state: 'up' | 'down';
  consecutiveFailures: number;
  /** Smoothed round-trip time (RFC 6298 style, alpha 1/8); null before the first answer. */
  srttMs: number | null;
  queries: number;
  failures: number;
  /** Code of the last failure, or null if it never failed. */
  lastError: RojeErrorCode | 'SERVFAIL' | 'REFUSED' | null;
}
