/**
 * What the lists in force look like from outside: the status page's view and the metrics' figures.
 * Counts, versions and ages only, never entries.
 */
import type { FeedStatus } from '../feeds/feeds.js';
import type { ListsStatus, LoadedListSet } from '../policy/lists-loader.js';

export type ListsView = Omit<ListsStatus, 'sources'> & {
  missing: readonly string[];
  sources: Array<{
    name: string;
    category: string;
    format: string;
    entries: number;
    skipped: number;
    sha256: string;
    readAt: string;
  }>;
};

export function listsView(set: LoadedListSet | null, status: ListsStatus | null): ListsView | null {
  if (status === null || set === null) return null;
  return {
    ...status,
    missing: set.missing,
    sources: set.lists.sources.map((s) => ({
      name: s.name,
      category: s.category,
      format: s.format,
      entries: s.entries,
      skipped: s.skipped,
      sha256: s.sha256,
      readAt: s.readAt,
    })),
  };
}

/** Per source: entries and age. A feed's age runs from its download; a file's from when it was read. */
export function sourceAges(
  set: LoadedListSet | null,
  feeds: readonly FeedStatus[],
  now = Date.now(),
): Array<{ name: string; category: string; entries: number; ageSeconds: number }> {
  if (set === null) return [];
  const fetched = new Map(feeds.map((f) => [f.name, f.good?.fetchedAt]));
  return set.lists.sources.map((s) => ({
    name: s.name,
    category: s.category,
    entries: s.entries,
    ageSeconds: Math.max(0, (now - Date.parse(fetched.get(s.name) ?? s.readAt)) / 1000),
  }));
}

/** Per feed: whether its last refresh went well (a held copy does not), and when. */
export function refreshResults(
  feeds: readonly FeedStatus[],
): Array<{ name: string; ok: boolean; at: number | null }> {
  return feeds.map((f) => ({
    name: f.name,
    ok: f.held === null && (f.lastAttempt === null ? f.good !== null : f.lastAttempt.result !== 'failed'),
    at: f.lastAttempt === null ? null : Date.parse(f.lastAttempt.at),
  }));
}
