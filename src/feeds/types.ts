/**
 * The vocabulary of list feeds: a list source fetched from a URL on a schedule and compiled from its
 * last good copy on disk. Config (src/config/filtering.ts) produces FeedListSource; the feed manager,
 * its store and the lists loader consume it.
 */
import type { ListSource } from '../policy/types.js';

export const FEED_DEFAULTS = {
  refreshMs: 6 * 3_600_000,
  /** The abuse feed changes through the day (the IWF list twice a day): checked every 30 minutes. */
  abuseRefreshMs: 30 * 60_000,
  /** Shorter refreshes hammer list publishers (most update a few times a day). */
  minRefreshMs: 60_000,
  maxBytes: 64 * 1024 * 1024,
  maxShrink: 0.5,
  timeoutMs: 30_000,
} as const;

export interface FeedSettings {
  /** http:// or https:// URL, as configured (may hold credentials: never log it, use redactUrl). */
  url: string;
  refreshMs: number;
  /** Absolute path of a file holding the bearer token, or null. Read at each download (rotation). */
  bearerTokenFile: string | null;
  /** Client certificate and CA files (absolute paths), read at each download; null: none. */
  tls?: FeedTls | null;
  /** Largest download accepted (bytes as stored, after content-encoding is undone). */
  maxBytes: number;
  /** Share (0..1) of the last good rule count a new copy may lose before it is held for an operator. */
  maxShrink: number;
  /** Longest wait for the response headers, and between two pieces of the body. */
  timeoutMs: number;
}

export interface FeedTls {
  /** PEM client certificate and its key (both or neither). */
  certFile: string | null;
  keyFile: string | null;
  /** PEM CA certificates to trust instead of Node's bundled ones. */
  caFile: string | null;
}

/**
 * A configured list source whose content comes from a URL. `path` holds the redacted URL until the
 * lists loader substitutes the last good local copy (so a message that names the path names the URL).
 */
export interface FeedListSource extends ListSource {
  feed: FeedSettings;
}

export function isFeedSource(source: ListSource): source is FeedListSource {
  return (source as Partial<FeedListSource>).feed !== undefined;
}

/** The one URL redaction (src/config/redact.ts), where feed code has always found it. */
export { redactUrl } from '../config/redact.js';

/** Source names become file names under <stateDir>/feeds: keep them plain. */
export const FEED_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
