/**
 * The abuse feed's config: where its key lives, what page-level entries do, when it counts as stale, and
 * the rule that makes it mandatory. Friendly WiFi certifies networks that block the IWF list for every
 * user, so no policy may leave the `abuse` category out and no key switches it off: a config that tries
 * is refused at startup, naming the key.
 */
import { join, resolve } from 'node:path';
import { invalidKey } from './config-error.js';
import type { AbuseConfig, RawConfig } from './schema.js';
import { parseDuration } from './units.js';

export const ABUSE_CATEGORY = 'abuse';

export function normalizeAbuse(file: string | null, raw: RawConfig, baseDir: string): AbuseConfig {
  const a = raw.abuse;
  if (a.enabled !== true) {
    throw invalidKey(
      file,
      'abuse.enabled',
      'the abuse category cannot be switched off: every client of a Friendly WiFi network must be filtered against it (leave the key out)',
      'true',
    );
  }
  for (const [name, policy] of Object.entries(raw.policies)) {
    if (policy.block !== 'all' && !policy.block.includes(ABUSE_CATEGORY)) {
      throw invalidKey(
        file,
        `policies.${name}.block`,
        `leaves out "${ABUSE_CATEGORY}": the abuse category is mandatory for every policy and cannot be switched off (add "${ABUSE_CATEGORY}" to the list)`,
        `"all", or a list of categories that includes "${ABUSE_CATEGORY}"`,
      );
    }
  }
  const maxAgeMs = parseDuration(a.maxAge) as number; // the schema checked the format
  if (maxAgeMs < 60_000) {
    throw invalidKey(
      file,
      'abuse.maxAge',
      `${a.maxAge} is too short to mean anything`,
      'a duration of at least "1m", such as "12h"',
    );
  }
  return {
    keyFile:
      a.keyFile !== null
        ? resolve(baseDir, a.keyFile)
        : raw.stateDir !== null
          ? join(resolve(baseDir, raw.stateDir), 'abuse.key')
          : null,
    pageEntries: a.pageEntries,
    maxAgeMs,
  };
}
