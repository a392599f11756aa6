/**
 * How much work the list compiles did: per compile, the sources parsed and those taken from the parse
 * cache (src/policy/parse-cache), logged as `lists compiled` and summed for the metrics. A reload that
 * changed no list does not compile at all, and so counts nothing.
 */
import type { Logger } from 'pino';
import type { LoadedListSet } from '../policy/lists-loader.js';

export interface ListParses {
  /** After a load: counts and logs it when it compiled (not when the lists in force were kept as they are). */
  note(loaded: LoadedListSet, previous: LoadedListSet | null): void;
  /** Sources parsed and taken from the cache, since start. */
  counts(): { parsed: number; cached: number };
}

export function createListParses(log: Logger): ListParses {
  let parsed = 0;
  let cached = 0;
  return {
    note(loaded, previous) {
      const report = loaded.report;
      if (report === null || loaded === previous) return;
      const fromCache = report.sources.filter((s) => s.cached === true);
      const read = report.sources.filter((s) => s.cached !== true);
      parsed += read.length;
      cached += fromCache.length;
      log.info(
        {
          parsed: read.length,
          cached: fromCache.length,
          // Operator-defined source names, never entries.
          parsedSources: read.map((s) => s.name),
          version: report.version.slice(0, 16),
          ms: Math.round(loaded.ms),
        },
        'lists compiled',
      );
    },
    counts: () => ({ parsed, cached }),
  };
}
