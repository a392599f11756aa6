/**
 * `policies` and `blockTtl`: what each policy blocks and how blocked names are answered. The block
 * modes and YouTube modes are those the policy code implements (src/policy), imported from there.
 */
import type { Static } from '@sinclair/typebox';
import { BLOCK_MODES } from '../../policy/block-answer.js';
import { normalizeListName } from '../../policy/name.js';
import {
  SAFE_SEARCH_OFF,
  SAFE_SEARCH_ON,
  type SafeSearchSettings,
  YOUTUBE_MODES,
} from '../../policy/safesearch.js';
import { durationWithin, invalidKey, invalidValue } from '../config-error.js';
import { Type } from '../json-schema.js';
import { Category, DAY, NAME_PATTERN, SECOND, type SectionContext, ttl } from './common.js';

export const POLICY_EXPECTED = {
  policyName: 'a name of letters, digits, "-" and "_" (at most 64), such as "default" or "library"',
  blockMode: `one of ${BLOCK_MODES.join(', ')}`,
  domain: 'a domain name such as "example.com"',
  safeSearch:
    'true, false, or a mapping with keys google, bing, duckduckgo (true or false) and youtube (strict, moderate or off)',
  safeSearchEngine: 'true or false',
  youtubeMode: `one of ${YOUTUBE_MODES.join(', ')}`,
} as const;

/** A policy's (or a venue's) name. */
export const PolicyName = Type.String({ pattern: NAME_PATTERN, 'x-expected': POLICY_EXPECTED.policyName });
const Domain = Type.String({ minLength: 1, maxLength: 254, 'x-expected': POLICY_EXPECTED.domain });
const engine = () => Type.Optional(Type.Boolean({ 'x-expected': POLICY_EXPECTED.safeSearchEngine }));

const Policy = Type.Object(
  {
    block: Type.Union([Type.Literal('all'), Type.Array(Category)], {
      default: 'all',
      'x-expected': '"all" or a list of category names',
    }),
    blockMode: Type.Union(
      BLOCK_MODES.map((m) => Type.Literal(m)),
      { default: 'nxdomain', 'x-expected': POLICY_EXPECTED.blockMode },
    ),
    optionalCategories: Type.Array(Category, {
      default: [],
      description:
        'categories of `block` that the lists may lack (on this site on purpose): not an error, a status warning',
    }),
    allow: Type.Array(Domain, { default: [], description: 'names (and their subdomains) never blocked' }),
    deny: Type.Array(Domain, { default: [], description: 'names (and their subdomains) always blocked' }),
    safeSearch: Type.Union(
      [
        Type.Boolean(),
        Type.Object(
          {
            google: engine(),
            bing: engine(),
            duckduckgo: engine(),
            youtube: Type.Optional(
              Type.Union(
                YOUTUBE_MODES.map((m) => Type.Literal(m)),
                { 'x-expected': POLICY_EXPECTED.youtubeMode },
              ),
            ),
          },
          { additionalProperties: false },
        ),
      ],
      {
        default: true,
        description:
          'search engines answered with their SafeSearch host: true (all; YouTube moderate), false, or per engine',
        'x-expected': POLICY_EXPECTED.safeSearch,
      },
    ),
  },
  {
    additionalProperties: false,
    'x-expected': 'a mapping with keys block, blockMode, optionalCategories, allow, deny, safeSearch',
  },
);

type RawPolicy = Static<typeof Policy>;

/**
 * The policy unknown clients get when the file defines none called "default": it blocks every
 * category (failing closed).
 */
const DEFAULT_POLICY: RawPolicy = {
  block: 'all',
  blockMode: 'nxdomain',
  optionalCategories: [],
  allow: [],
  deny: [],
  safeSearch: true,
};

export const PoliciesSchema = Type.Record(Type.String({ pattern: NAME_PATTERN }), Policy, {
  additionalProperties: false,
  default: { default: DEFAULT_POLICY },
  description: 'policy name -> what it blocks and how',
  'x-expected': 'a mapping of policy names to policies',
});

export type PolicyConfig = ReturnType<typeof normalizePolicy>;

/** Always holds "default" (added when the file does not define it). */
export function normalizePolicies(
  ctx: SectionContext,
  raw: Static<typeof PoliciesSchema>,
  blockPage: { ipv4: string | null; ipv6: string | null },
): Record<string, PolicyConfig> {
  const entries = Object.entries(raw);
  if (raw.default === undefined) entries.unshift(['default', DEFAULT_POLICY]);
  const out: Record<string, PolicyConfig> = {};
  for (const [name, p] of entries) out[name] = normalizePolicy(ctx, `policies.${name}`, p, blockPage);
  return out;
}

function normalizePolicy(
  ctx: SectionContext,
  key: string,
  p: RawPolicy,
  blockPage: { ipv4: string | null; ipv6: string | null },
) {
  if (p.blockMode === 'blockpage' && blockPage.ipv4 === null && blockPage.ipv6 === null) {
    throw invalidKey(
      ctx.file,
      `${key}.blockMode`,
      'blockMode "blockpage" needs the block page address: set blockPage.ipv4 or blockPage.ipv6',
      POLICY_EXPECTED.blockMode,
    );
  }
  const block = p.block === 'all' ? ('all' as const) : [...new Set(p.block)];
  return {
    /** "all" or category names, each once; each one a list provides (config/policy-categories.ts). */
    block,
    blockMode: p.blockMode,
    /** Categories of `block` the lists may lack without it being an error. */
    optionalCategories: optionalCategoriesOf(ctx, key, block, p.optionalCategories ?? []),
    /** Normalized names (lowercase A-labels, no trailing dot); each covers its subtree. */
    allow: domainList(ctx, `${key}.allow`, p.allow),
    deny: domainList(ctx, `${key}.deny`, p.deny),
    /** Per engine (src/policy/safesearch.ts): whether its names are answered with its SafeSearch host. */
    safeSearch: safeSearchOf(p.safeSearch),
  };
}

/** Each optional category must be one the policy blocks: otherwise the key says nothing (a typo). */
function optionalCategoriesOf(
  ctx: SectionContext,
  key: string,
  block: 'all' | readonly string[],
  optional: readonly string[],
): string[] {
  optional.forEach((category, i) => {
    if (block === 'all' || !block.includes(category)) {
      throw invalidValue(
        ctx.file,
        `${key}.optionalCategories[${i}]`,
        block === 'all'
          ? 'nothing: with `block: all` every category the lists have is blocked and none can be missing'
          : `one of the categories in ${key}.block (${block.join(', ')})`,
        category,
      );
    }
  });
  return [...new Set(optional)];
}

/**
 * `true` (the default): every engine, YouTube moderate; `false`: none; a mapping: the engines it
 * names as it says, the others as under `true`. The schema has already checked the values.
 */
function safeSearchOf(raw: RawPolicy['safeSearch'] | undefined): SafeSearchSettings {
  const on = SAFE_SEARCH_ON;
  if (raw === true || raw === undefined) return { ...on };
  if (raw === false) return { ...SAFE_SEARCH_OFF };
  return {
    google: raw.google ?? on.google,
    bing: raw.bing ?? on.bing,
    duckduckgo: raw.duckduckgo ?? on.duckduckgo,
    youtube: raw.youtube ?? on.youtube,
  };
}

function domainList(ctx: SectionContext, key: string, names: readonly string[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  names.forEach((text, i) => {
    const n = normalizeListName(text.trim());
    if (n.name === undefined) {
      throw invalidValue(
        ctx.file,
        `${key}[${i}]`,
        POLICY_EXPECTED.domain,
        text,
        `${n.reason.replace(/-/g, ' ')}`,
      );
    }
    if (!seen.has(n.name)) out.push(n.name);
    seen.add(n.name);
  });
  return out;
}

export const BlockTtlSchema = ttl('60s', 'TTL of blocked answers');

/** TTL of blocked answers, in seconds. */
export function normalizeBlockTtl(ctx: SectionContext, raw: Static<typeof BlockTtlSchema>): number {
  return durationWithin(ctx.file, 'blockTtl', raw, 0, DAY) / SECOND;
}
