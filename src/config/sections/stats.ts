/** `stats`: hourly counts per venue and category (no per-client data), and wrong-block reports. */
import type { Static } from '@sinclair/typebox';
import { durationWithin } from '../config-error.js';
import { Type } from '../json-schema.js';
import { duration, HOUR, pathOrNull, SECOND, type SectionContext, section, statePath } from './common.js';

export const StatsSchema = section(
  {
    enabled: Type.Boolean({ default: true, description: 'hourly counts per venue and category' }),
    path: pathOrNull('the SQLite file; null: <stateDir>/stats.db, or memory only without a stateDir'),
    retentionDays: Type.Integer({ minimum: 1, maximum: 3650, default: 400 }),
    flushInterval: duration('60s', 'how often counts are written to the database'),
    maxOpenReports: Type.Integer({
      minimum: 1,
      maximum: 1_000_000,
      default: 10_000,
      description: 'wrong-block reports waiting for review, beyond which new ones are refused',
    }),
  },
  'statistics (no per-client data)',
);

export type StatsConfig = ReturnType<typeof normalizeStats>;

export function normalizeStats(
  ctx: SectionContext,
  raw: Static<typeof StatsSchema>,
  stateDir: string | null,
) {
  return {
    enabled: raw.enabled,
    /** Absolute, or ':memory:' when there is no stateDir and no path. */
    path: statePath(ctx, raw.path, stateDir, 'stats.db', ':memory:'),
    retentionDays: raw.retentionDays,
    flushIntervalMs: durationWithin(ctx.file, 'stats.flushInterval', raw.flushInterval, SECOND, HOUR),
    maxOpenReports: raw.maxOpenReports,
  };
}
