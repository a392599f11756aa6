/**
 * openList with a parse cache in front: a source whose bytes were parsed before (same content hash,
 * same requested format, for abuse the same key) is replayed from its entry without reading or parsing
 * the list; any other is parsed as usual and its rules recorded as they pass, then kept for next time.
 * The compile sees the same OpenedList either way, so a cached compile builds the same artifact.
 */

import type { AbuseKey } from '../abuse/format.js';
import { CONFIDENTIAL_TEXT } from '../abuse/format.js';
import { fileSha256 } from '../lists-version.js';
import { flattenBatches, type OpenedList, openList } from '../parsers/index.js';
import type { ListRule, ListSource, ParseStats } from '../types.js';
import { createRuleEncoder, decodeMeta, decodeRules } from './codec.js';
import { type ParseCache, parseCacheKey } from './store.js';

export interface CachedList extends OpenedList {
  /** Taken from the cache: the file was hashed, not parsed. */
  cached: boolean;
}

/** Opens `source` through `cache` (none: plain openList). Errors are openList's, from the same place. */
export async function openCachedList(
  source: ListSource,
  options: { abuseKey?: AbuseKey },
  cache: ParseCache | undefined,
): Promise<CachedList> {
  if (cache === undefined) return { ...(await openList(source, options)), cached: false };
  const format = source.format ?? 'auto';
  const keyId = options.abuseKey?.id ?? null;
  // Unreadable here: openList below raises the proper ROJE_ERR_LIST_READ.
  const sha256 = await fileSha256(source.path).catch(() => null);
  if (sha256 !== null) {
    const entry = await cache.get(parseCacheKey(sha256, format, keyId));
    if (entry !== null) return replay(entry, sha256);
  }
  const opened = await openList(source, options);
  const batches = record(opened, (entry, sha) => cache.put(parseCacheKey(sha, format, keyId), entry));
  return {
    ...opened,
    batches,
    rules: flattenBatches(batches),
    get stats() {
      return opened.stats;
    },
    cached: false,
  };
}

/** An OpenedList over a cache entry. */
function replay(entry: Uint8Array, sha256: string): CachedList {
  const { meta } = decodeMeta(entry);
  const stats: ParseStats = structuredClone(meta.stats);
  const batches = (async function* () {
    yield* decodeRules(entry);
  })();
  return {
    format: meta.format,
    stats,
    batches,
    rules: flattenBatches(batches),
    sha256: () => sha256,
    bytes: () => meta.bytes,
    close() {},
    cached: true,
  };
}

/** The batches of `opened`, each rule also encoded; at the end (and only then) the entry is kept. */
async function* record(
  opened: OpenedList,
  keep: (entry: Uint8Array, sha256: string) => void,
): AsyncGenerator<ListRule[]> {
  const encoder = createRuleEncoder();
  for await (const batch of opened.batches) {
    for (let i = 0; i < batch.length; i++) encoder.add(batch[i]);
    yield batch;
  }
  const stats: ParseStats = structuredClone(opened.stats);
  // Abuse lines are never quoted (abuse/format.ts); the cache says so again rather than trust it.
  if (opened.format === 'abuse') for (const s of stats.samples) s.text = CONFIDENTIAL_TEXT;
  keep(encoder.finish({ format: opened.format, stats, bytes: opened.bytes() }).bytes, opened.sha256());
}
