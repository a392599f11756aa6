/** Connection and report limits, so that no single client can take the page (or DNS's descriptors). */
export interface BlockPageLimits {
  /** Open connections, all clients; capped further to a quarter of the descriptor limit. */
  maxConnections: number;
  /** Open connections from one client (IPv4 address or IPv6 /64). */
  maxConnectionsPerClient: number;
  /** Time to receive a request's headers (a half-sent request is closed then). */
  headersTimeoutMs: number;
  /** Time to receive a whole request, body included. */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open. */
  keepAliveTimeoutMs: number;
  /** Reports taken per minute from one client, within reportsPerMinute for all. */
  reportsPerClientPerMinute: number;
}

export const BLOCK_PAGE_LIMITS: BlockPageLimits = {
  maxConnections: 256,
  maxConnectionsPerClient: 16,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  reportsPerClientPerMinute: 5,
};
