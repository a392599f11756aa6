import type { ExtendedError } from './constants.js';

/** EDNS(0) facts of a client's query (RFC 6891). */
export interface EdnsInfo {
  /** The requestor's UDP payload size, as sent (callers clamp it). */
  udpSize: number;
  /** DNSSEC OK bit (RFC 3225). */
  do: boolean;
  version: number;
}

/**
 * A query read straight from the client's buffer: header and question only, no decode of the rest.
 * Names are lowercased for matching; `msg` keeps the client's bytes, so answers can echo its case.
 */
export interface ParsedQuery {
  /** The client's message, untouched. */
  msg: Buffer;
  id: number;
  /** The 16-bit flags word at offset 2. */
  flags: number;
  /** Lowercase presentation name without the trailing dot; '' for the root. Escapes per RFC 1035 §5.1. */
  name: string;
  /** Offset in `msg` just past the question name (the name always starts at offset 12). */
  nameEnd: number;
  /** Offset in `msg` just past the question (nameEnd + 4). */
  questionEnd: number;
  qtype: number;
  qclass: number;
  /** null when the client sent no OPT record. */
  edns: EdnsInfo | null;
}

/**
 * An upstream response made ready for serving many times: its OPT record removed (each client gets
 * its own), the offset of every TTL field recorded, so a cache hit is a copy plus a few patches.
 */
export interface PreparedResponse {
  /** The response bytes without OPT; ARCOUNT adjusted. Never mutated after preparation. */
  readonly wire: Buffer;
  /** Full RCODE, including the extended bits from the upstream's OPT record. */
  readonly rcode: number;
  /** Offsets in `wire` of every TTL field of every RR (answer, authority, additional). */
  readonly ttlOffsets: Uint32Array;
  /**
   * The TTL of each of those RRs as received, clamped to the configured bounds; a SOA in the
   * authority section is also cut to its negative TTL (RFC 2308 §3).
   */
  readonly ttls: Uint32Array;
  /**
   * Seconds the response may be served fresh: the smallest clamped TTL, or for NXDOMAIN/NODATA the
   * RFC 2308 negative TTL (min of SOA TTL and SOA MINIMUM). 0 means do not cache.
   */
  readonly ttl: number;
  /** Extended DNS Errors the upstream attached, passed on to clients. */
  readonly ede: readonly ExtendedError[];
}

/** TTL bounds applied when a response is prepared. */
export interface TtlBounds {
  minTtl: number;
  maxTtl: number;
  /** Upper bound for negative answers (RFC 2308 suggests 1–3 hours). */
  negativeMaxTtl: number;
}

/** Options for rendering a prepared response for one client. */
export interface RenderOptions {
  /** Whole seconds since the response was received; subtracted from every TTL (floored at 0). */
  age: number;
  /** Serve every TTL as exactly this value (RFC 8767 stale answers use 30). */
  ttlOverride?: number;
  /** Extended DNS Errors to add (only sent when the client used EDNS). */
  ede?: readonly ExtendedError[];
  /** The UDP payload size roje advertises in its own OPT record. */
  udpSize: number;
}
