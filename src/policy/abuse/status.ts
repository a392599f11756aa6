/**
 * What the status page, the metrics and reports say about the abuse feed: counts, ages and warnings,
 * never an entry. A feed's age runs from the last time its publisher confirmed it (a download or a 304),
 * a file's from when it was read; older than abuse.maxAge is stale.
 */
import { CONFIDENTIAL_CATEGORIES, type CompiledLists } from '../types.js';

export interface AbuseSourceStatus {
  name: string;
  /** Entries enforced (whole domains, plus page hosts when they are blocked). */
  entries: number;
  /** Page-level entries read. */
  pages: number;
  ageSeconds: number;
  stale: boolean;
}

export interface AbuseStatus {
  /** Abuse sources in the lists in force. 0: this network does not filter the abuse list. */
  sources: number;
  /** Distinct hashed entries enforced. */
  entries: number;
  /** Page-level entries read, and how they are handled. */
  pages: number;
  pageEntries: 'count' | 'block-host';
  /** Page-level entries DNS cannot enforce (0 when their hosts are blocked). */
  pagesNotEnforced: number;
  maxAgeSeconds: number;
  feeds: AbuseSourceStatus[];
  /** Key id of the hashes (not the key). */
  keyId: string | null;
  warnings: string[];
}

export interface AbuseStatusInput {
  lists: CompiledLists | null;
  /** When each feed's copy was last confirmed (ISO 8601), by source name. */
  confirmedAt: ReadonlyMap<string, string | undefined>;
  pageEntries: 'count' | 'block-host';
  maxAgeMs: number;
  keyId: string | null;
  now: number;
}

/** The warnings' wording, shared with the compliance profile (src/policy/compliance.ts) so that they read the same. */
export const NO_ABUSE_FEED_WARNING =
  'no abuse feed is configured: this network does not block the IWF-style abuse list (Friendly WiFi requires it)';

export function staleAbuseFeedWarning(
  feed: Pick<AbuseSourceStatus, 'name' | 'ageSeconds'>,
  maxAgeMs: number,
): string {
  return `abuse feed "${feed.name}" was last confirmed ${Math.round(feed.ageSeconds / 3600)} h ago, more than abuse.maxAge (${Math.round(maxAgeMs / 3_600_000)} h)`;
}

export function abuseStatus(input: AbuseStatusInput): AbuseStatus {
  const sources = (input.lists?.sources ?? []).filter((s) => CONFIDENTIAL_CATEGORIES.has(s.category));
  const feeds = sources.map((s): AbuseSourceStatus => {
    const since = Date.parse(input.confirmedAt.get(s.name) ?? s.readAt);
    const ageMs = Math.max(0, input.now - since);
    return {
      name: s.name,
      entries: s.entries,
      pages: s.pages ?? 0,
      ageSeconds: Math.round(ageMs / 1000),
      stale: ageMs > input.maxAgeMs,
    };
  });
  const pages = feeds.reduce((n, f) => n + f.pages, 0);
  const warnings: string[] = [];
  if (input.lists !== null && sources.length === 0) warnings.push(NO_ABUSE_FEED_WARNING);
  for (const f of feeds) if (f.stale) warnings.push(staleAbuseFeedWarning(f, input.maxAgeMs));
  return {
    sources: sources.length,
    entries: input.lists?.hashedEntries ?? 0,
    pages,
    pageEntries: input.pageEntries,
    pagesNotEnforced: input.pageEntries === 'count' ? pages : 0,
    maxAgeSeconds: Math.round(input.maxAgeMs / 1000),
    feeds,
    keyId: input.keyId,
    warnings,
  };
}
