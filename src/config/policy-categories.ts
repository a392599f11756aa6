/**
 * A policy that blocks a category no list provides filters nothing for it: `block: [porn]` when the
 * lists call it `adult` leaves a venue open. So a category a policy names must be one the lists have,
 * unless the policy lists it in `optionalCategories` (a list that some sites have and others not).
 *
 * Checked twice, because the categories are known at two moments: from the config's own `lists`
 * (at load: normalize.ts), and from a compiled artifact or a fleet pull only once it is read (at each
 * load and swap of the lists: services/lists.ts).
 *
 * The `abuse` category is exempt: every policy must block it (sections/abuse.ts), and a network
 * without the abuse feed has its own status warning (policy/abuse/status.ts).
 */

import { ConfigError, wherePrefix } from './config-error.js';
import { editDistance } from './edit-distance.js';
import { ABUSE_CATEGORY } from './sections/abuse.js';

/** What this check reads of a policy. */
export interface PolicyCategories {
  block: 'all' | readonly string[];
  optionalCategories?: readonly string[];
}

export interface MissingCategory {
  policy: string;
  category: string;
  optional: boolean;
}

/** Each category a policy blocks that `available` lacks (abuse aside), in policy and block order. */
export function missingCategories(
  policies: Readonly<Record<string, PolicyCategories>>,
  available: readonly string[],
): MissingCategory[] {
  const have = new Set(available);
  const out: MissingCategory[] = [];
  for (const [policy, p] of Object.entries(policies)) {
    if (p.block === 'all') continue;
    const optional = new Set(p.optionalCategories ?? []);
    for (const category of p.block) {
      if (category === ABUSE_CATEGORY || have.has(category)) continue;
      out.push({ policy, category, optional: optional.has(category) });
    }
  }
  return out;
}

/**
 * Throws ROJE_ERR_CONFIG_CATEGORY_MISSING for the first category a policy blocks that `available`
 * lacks and the policy does not mark optional. `provider` says where the categories came from
 * ("the configured lists", "the compiled artifact /x.roje") for the message.
 */
export function assertCategoriesProvided(
  file: string | null,
  policies: Readonly<Record<string, PolicyCategories>>,
  available: readonly string[],
  provider: string,
): void {
  const missing = missingCategories(policies, available).find((m) => !m.optional);
  if (missing === undefined) return;
  const { policy, category } = missing;
  const key = `policies.${policy}.block`;
  const near = nearestCategory(category, available);
  const known = available.length === 0 ? 'none' : available.join(', ');
  throw new ConfigError(
    'ROJE_ERR_CONFIG_CATEGORY_MISSING',
    `${wherePrefix(file)}${key}: policy "${policy}" blocks the category "${category}", which no list provides ` +
      `(${provider} provide: ${known})${near === null ? '.' : `; did you mean ${near}?`} ` +
      `A typo here would leave the category unfiltered. If this site has no such list on purpose, add it to policies.${policy}.optionalCategories.`,
    { file, key, expected: `a category of ${provider}: ${known}` },
  );
}

/** The status warnings for optional categories no list provides: they are blocked nowhere. */
export function optionalCategoryWarnings(
  policies: Readonly<Record<string, PolicyCategories>>,
  available: readonly string[],
): string[] {
  return missingCategories(policies, available)
    .filter((m) => m.optional)
    .map(
      (m) =>
        `policy "${m.policy}" blocks the optional category "${m.category}", which no list provides: nothing is blocked for it`,
    );
}

/** What people often call a category that roje's lists and docs name otherwise. */
const CATEGORY_ALIASES: Readonly<Record<string, string>> = {
  porn: 'adult',
  pornography: 'adult',
  nsfw: 'adult',
  xxx: 'adult',
  sex: 'adult',
  betting: 'gambling',
  casino: 'gambling',
  doh: 'doh-bypass',
  bypass: 'doh-bypass',
};

/**
 * The category `name` was probably meant to be: a usual other name for one the lists have ("porn" for
 * "adult"), else the closest by edit distance if a slip of the keyboard could explain it; else null.
 */
export function nearestCategory(name: string, available: readonly string[]): string | null {
  const alias = CATEGORY_ALIASES[name];
  if (alias !== undefined && available.includes(alias)) return alias;
  let best: string | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of available) {
    const d = editDistance(name, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  const limit = Math.max(2, Math.floor(Math.max(name.length, best?.length ?? 0) / 3));
  return bestDistance <= limit ? best : null;
}

/**
 * The check for lists whose categories are known only once read: a compiled artifact or a fleet pull.
 * The config's own lists were checked at load; lists still missing a feed or a pull answer nothing yet.
 */
export function assertListsProvideCategories(
  config: {
    source: string | null;
    compiled: string | null;
    policies: Readonly<Record<string, PolicyCategories>>;
  },
  set: { from: string; missing: readonly string[]; lists: { categories: readonly string[] } } | null,
): void {
  if (set === null || set.missing.length > 0) return;
  if (set.from !== 'compiled' && set.from !== 'fleet') return;
  const provider =
    set.from === 'compiled'
      ? `the compiled artifact ${config.compiled ?? ''}`.trim()
      : 'the pulled fleet artifact';
  assertCategoriesProvided(config.source, config.policies, set.lists.categories, provider);
}
