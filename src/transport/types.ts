import type { ClientInfo } from '../pipeline/types.js';

/**
 * Bytes in, bytes out: a transport hands each complete DNS message to a responder and sends back
 * whatever it returns. null means "send nothing" (unreadable header, or a response sent to us).
 * A synchronous answer to a client with `sendsAtOnce` may be a reply buffer the chain writes again for
 * the next query (dns/bytes.ts replyBuffer): send or copy it before passing another message.
 */
export type Responder = (msg: Buffer, client: ClientInfo) => Buffer | null | Promise<Buffer | null>;

export interface ListenAddress {
  host: string;
  /** 0 picks an ephemeral port (UDP and TCP then share the port UDP got). */
  port: number;
}

/** Where a listener actually bound (the port is the real one when 0 was asked for). */
export interface BoundAddress {
  host: string;
  port: number;
  family: 'IPv4' | 'IPv6';
}

/**
 * Counters since the listener started, read by metrics. A message is either answered (responses) or
 * not (dropped: the responder returned null, failed, the answer could not be sent or framed, or the
 * listener was closing). errors counts responder throws and rejections, which are bugs.
 */
export interface ListenerStats {
  messages: number;
  responses: number;
  dropped: number;
  errors: number;
  /** TCP connections accepted (a counter); 0 for UDP. */
  tcpConnections: number;
  /** TCP connections open now (a gauge); 0 for UDP. */
  tcpOpen: number;
  /**
   * TCP connections refused at once: the connection limit was reached, the client held its share of
   * connections already, or it is outside acl.allow; 0 for UDP.
   */
  tcpRejected: number;
}

/** The settings a running listener can change (on SIGHUP); each absent one stays as it is. */
export interface ListenerSettings {
  drainTimeoutMs?: number;
  firstQueryTimeoutMs?: number;
  idleTimeoutMs?: number;
  maxConnections?: number;
  maxConnectionsPerClient?: number;
  maxInFlightPerConnection?: number;
  /** Who may connect over TCP (acl.allow), checked at accept. */
  isAllowed?: (address: string) => boolean;
}

export interface Listener {
  address(): BoundAddress;
  stats(): ListenerStats;
  /** Applies new settings; open TCP connections pick them up at their next message. */
  configure(settings: ListenerSettings): void;
  /** Stops taking new messages, lets in-flight answers go out (bounded), then releases the socket. */
  close(): Promise<void>;
}
