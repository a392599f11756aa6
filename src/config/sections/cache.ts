/** `cache`: the answer cache, its TTL bounds and serve-stale. */
import type { Static } from '@sinclair/typebox';
import { durationWithin, invalidKey, invalidValue } from '../config-error.js';
import { Type } from '../json-schema.js';
import { parseByteSize } from '../units.js';
import {
  byteSize,
  HOUR,
  MAX_TTL_MS,
  SECOND,
  type SectionContext,
  section,
  ttl,
  VALUE_EXPECTED,
} from './common.js';

export const CacheSchema = section(
  {
    maxEntries: Type.Integer({ minimum: 1, maximum: 100_000_000, default: 100_000 }),
    maxBytes: byteSize('64MiB', 'upper bound of the memory the cached answers take'),
    minTtl: ttl('0s', 'lower bound of the TTL of cached answers'),
    maxTtl: ttl('1d', 'upper bound of the TTL of cached answers'),
    negativeMaxTtl: ttl('1h', 'upper bound of the TTL of NXDOMAIN/NODATA answers (RFC 2308)'),
    serveStale: section(
      {
        enabled: Type.Boolean({ default: true }),
        maxStale: ttl('1d', 'how long past expiry an answer may still be served when upstreams fail'),
        answerTtl: ttl('30s', 'TTL given to stale answers (RFC 8767 recommends 30 s)'),
      },
      'RFC 8767: answer from expired cache entries when every upstream fails',
    ),
  },
  'the answer cache',
);

export type CacheConfig = ReturnType<typeof normalizeCache>;

/** Sizes in bytes; TTLs (DNS has no finer unit) in whole seconds. */
export function normalizeCache(ctx: SectionContext, raw: Static<typeof CacheSchema>) {
  const { file } = ctx;
  const seconds = (key: string, value: unknown, max = MAX_TTL_MS) =>
    durationWithin(file, `cache.${key}`, value, 0, max) / SECOND;
  const maxBytes = parseByteSize(raw.maxBytes);
  if (maxBytes === null) throw invalidValue(file, 'cache.maxBytes', VALUE_EXPECTED.byteSize, raw.maxBytes);
  if (maxBytes < 64 * 1024) {
    throw invalidValue(file, 'cache.maxBytes', 'a size of at least "64KiB"', raw.maxBytes);
  }
  const minTtl = seconds('minTtl', raw.minTtl);
  const maxTtl = seconds('maxTtl', raw.maxTtl);
  if (minTtl > maxTtl) {
    throw invalidKey(file, 'cache.minTtl', `"${raw.minTtl}" is longer than cache.maxTtl "${raw.maxTtl}"`);
  }
  return {
    maxEntries: raw.maxEntries,
    maxBytes,
    /** Seconds. */
    minTtl,
    /** Seconds. */
    maxTtl,
    /** Seconds. */
    negativeMaxTtl: seconds('negativeMaxTtl', raw.negativeMaxTtl),
    serveStale: {
      enabled: raw.serveStale.enabled,
      /** Seconds past expiry. */
      maxStale: seconds('serveStale.maxStale', raw.serveStale.maxStale),
      /** Seconds. */
      answerTtl: seconds('serveStale.answerTtl', raw.serveStale.answerTtl, HOUR),
    },
  };
}
