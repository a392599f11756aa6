/**
 * `abuse`: the abuse feed's config: where its key lives, what page-level entries do, when it counts as
 * stale, and the rule that makes it mandatory. Friendly WiFi certifies networks that block the IWF list
 * for every user, so no policy may leave the `abuse` category out and no key switches it off: a config
 * that tries is refused at startup, naming the key.
 */
import type { Static } from '@sinclair/typebox';
import { invalidKey } from '../config-error.js';
import { Type } from '../json-schema.js';
import { parseDuration } from '../units.js';
import { duration, pathOrNull, type SectionContext, section, statePath } from './common.js';

export const ABUSE_CATEGORY = 'abuse';

export const AbuseSchema = section(
  {
    enabled: Type.Boolean({
      default: true,
      description: 'always true: the abuse category is mandatory and cannot be switched off',
    }),
    keyFile: pathOrNull(
      'the HMAC key abuse entries are hashed with; null: <stateDir>/abuse.key (created on first start)',
    ),
    pageEntries: Type.Union([Type.Literal('count'), Type.Literal('block-host')], {
      default: 'count',
      description: 'page-level entries: count them as not enforceable by DNS, or block their whole host',
      'x-expected': 'count or block-host',
    }),
    maxAge: duration('12h', 'an abuse feed not confirmed for this long raises a status warning'),
  },
  'the confidential abuse feed (IWF-style): hashed, mandatory',
);

export type AbuseConfig = ReturnType<typeof normalizeAbuse>;

export function normalizeAbuse(
  ctx: SectionContext,
  raw: Static<typeof AbuseSchema>,
  policies: Readonly<Record<string, { block: 'all' | readonly string[] }>>,
  stateDir: string | null,
) {
  const { file } = ctx;
  if (raw.enabled !== true) {
    throw invalidKey(
      file,
      'abuse.enabled',
      'the abuse category cannot be switched off: every client of a Friendly WiFi network must be filtered against it (leave the key out)',
      'true',
    );
  }
  for (const [name, policy] of Object.entries(policies)) {
    if (policy.block !== 'all' && !policy.block.includes(ABUSE_CATEGORY)) {
      throw invalidKey(
        file,
        `policies.${name}.block`,
        `leaves out "${ABUSE_CATEGORY}": the abuse category is mandatory for every policy and cannot be switched off (add "${ABUSE_CATEGORY}" to the list)`,
        `"all", or a list of categories that includes "${ABUSE_CATEGORY}"`,
      );
    }
  }
  const maxAgeMs = parseDuration(raw.maxAge) as number; // the schema checked the format
  if (maxAgeMs < 60_000) {
    throw invalidKey(
      file,
      'abuse.maxAge',
      `${raw.maxAge} is too short to mean anything`,
      'a duration of at least "1m", such as "12h"',
    );
  }
  return {
    /** Absolute path of the key file, or null: a key for this process only (no stateDir). */
    keyFile: statePath(ctx, raw.keyFile, stateDir, 'abuse.key', null),
    pageEntries: raw.pageEntries,
    /** An abuse feed older than this (since last confirmed) is stale: status warning and metric. */
    maxAgeMs,
  };
}
