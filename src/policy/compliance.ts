/**
 * The compliance profile (config `profile`): what a certified deployment must have in force, and the
 * gaps between that and what roje runs with. Friendly WiFi certifies public WiFi that blocks pornography
 * and the IWF list for every user and keeps devices from slipping past the filter; a gap is never
 * silent, but it does not stop roje either (an operator may be mid-change): each is one warning with a
 * stable code, shown by `roje check-config`, `GET /api/v1/status`, `policy.roje. CH TXT` and
 * roje_compliance_warnings. Pure: the same facts give the same warnings in every query loop.
 *
 * Messages name policies, venues, categories and list sources, never a list entry (the abuse feed is
 * confidential: counts only).
 */
import { type AbuseStatus, NO_ABUSE_FEED_WARNING, staleAbuseFeedWarning } from './abuse/status.js';
import type { SafeSearchSettings } from './safesearch.js';
import type { CompiledLists } from './types.js';
import { DEFAULT_POLICY } from './venues.js';

export const PROFILES = ['friendly-wifi', 'none'] as const;
export type Profile = (typeof PROFILES)[number];

/** The metric's `kind` label: a fixed set, so that an alert can say what sort of gap it is. */
export const COMPLIANCE_KINDS = ['policy', 'safesearch', 'bypass', 'lists', 'abuse'] as const;
export type ComplianceKind = (typeof COMPLIANCE_KINDS)[number];

/**
 * What every Friendly WiFi policy must block: pornography, the IWF list, and the encrypted-DNS, VPN and
 * proxy endpoints a device would use to get around the filter (category names as in blocklists/README.md).
 */
export const FRIENDLY_WIFI_CATEGORIES = ['adult', 'abuse', 'doh-bypass'] as const;

/** The bypass keys Friendly WiFi needs on: each one closes a way devices leave this resolver. */
const BYPASS_KEYS = ['firefoxCanary', 'privateRelay', 'ddr'] as const;

/**
 * Every warning code and its kind. Stable: documented in docs/policies.md "Compliance profile" (a test
 * keeps the two in step), so that tools and alerts may match on them.
 */
export const COMPLIANCE_CODES = {
  'policy-not-blocking-adult': 'policy',
  'policy-not-blocking-abuse': 'policy',
  'policy-not-blocking-doh-bypass': 'policy',
  'policy-safesearch-off': 'safesearch',
  'bypass-prevention-off': 'bypass',
  'category-without-source': 'lists',
  'abuse-source-missing': 'abuse',
  'abuse-feed-stale': 'abuse',
} as const satisfies Record<string, ComplianceKind>;
export type ComplianceCode = keyof typeof COMPLIANCE_CODES;

export interface ComplianceWarning {
  code: ComplianceCode;
  kind: ComplianceKind;
  /** One plain English sentence naming the policy, venue, key or source concerned. */
  message: string;
}

export interface ComplianceReport {
  profile: Profile;
  warnings: ComplianceWarning[];
}

export interface ComplianceInput {
  config: {
    profile: Profile;
    policies: Readonly<
      Record<string, { block: 'all' | readonly string[]; safeSearch: Readonly<SafeSearchSettings> }>
    >;
    venues: ReadonlyArray<{ name: string; policy: string }>;
    bypass: Readonly<Record<(typeof BYPASS_KEYS)[number], boolean>>;
    abuse: { maxAgeMs: number };
  };
  /**
   * The categories of the list sources in force, or null while unknown (no lists loaded yet, or a
   * fleet edge checked offline): the lists checks then wait.
   */
  sourceCategories: readonly string[] | null;
  /** The abuse feed's ages (stale feeds), or null when they are not known (check-config). */
  abuse: Pick<AbuseStatus, 'feeds'> | null;
}

export function complianceReport(input: ComplianceInput): ComplianceReport {
  const { config } = input;
  if (config.profile === 'none') return { profile: 'none', warnings: [] };
  return {
    profile: config.profile,
    warnings: [
      ...policyWarnings(config),
      ...bypassWarnings(config.bypass),
      ...listsWarnings(input.sourceCategories),
      ...staleAbuseWarnings(input.abuse, config.abuse.maxAgeMs),
    ],
  };
}

function warning(code: ComplianceCode, message: string): ComplianceWarning {
  return { code, kind: COMPLIANCE_CODES[code], message };
}

/** Per kind, how many warnings (every kind present, 0 included, so that the metric never vanishes). */
export function countByKind(warnings: readonly ComplianceWarning[]): Record<ComplianceKind, number> {
  const counts = Object.fromEntries(COMPLIANCE_KINDS.map((k) => [k, 0])) as Record<ComplianceKind, number>;
  for (const w of warnings) counts[w.kind]++;
  return counts;
}

/**
 * The policies in force are each venue's and the default (clients of no venue); a policy no venue uses
 * protects nobody, so it is not checked. One warning per policy and gap, naming the venues it serves.
 */
function policyWarnings(config: ComplianceInput['config']): ComplianceWarning[] {
  const users = new Map<string, string[]>([[DEFAULT_POLICY, []]]);
  for (const v of config.venues) users.set(v.policy, [...(users.get(v.policy) ?? []), v.name]);
  const out: ComplianceWarning[] = [];
  for (const [name, venues] of users) {
    const policy = config.policies[name];
    if (policy === undefined) continue; // the config refuses this; the default one blocks all
    const who = describePolicy(name, venues);
    for (const category of FRIENDLY_WIFI_CATEGORIES) {
      if (policy.block === 'all' || policy.block.includes(category)) continue;
      out.push(
        warning(
          `policy-not-blocking-${category}`,
          `${who} does not block the category "${category}" (Friendly WiFi requires it: add it to its block list)`,
        ),
      );
    }
    const off = safeSearchOff(policy.safeSearch);
    if (off.length > 0) {
      out.push(
        warning(
          'policy-safesearch-off',
          `${who} has SafeSearch off for ${off.join(', ')} (Friendly WiFi requires it on: set safeSearch: true)`,
        ),
      );
    }
  }
  return out;
}

function describePolicy(name: string, venues: readonly string[]): string {
  const served = venues.map((v) => `"${v}"`);
  if (name === DEFAULT_POLICY) served.push('clients of no venue');
  return `policy "${name}" (used by ${served.join(', ')})`;
}

function safeSearchOff(s: Readonly<SafeSearchSettings>): string[] {
  return [
    ...(s.google ? [] : ['google']),
    ...(s.bing ? [] : ['bing']),
    ...(s.duckduckgo ? [] : ['duckduckgo']),
    ...(s.youtube === 'off' ? ['youtube'] : []),
  ];
}

function bypassWarnings(bypass: ComplianceInput['config']['bypass']): ComplianceWarning[] {
  return BYPASS_KEYS.filter((key) => !bypass[key]).map((key) =>
    warning(
      'bypass-prevention-off',
      `bypass.${key} is false: devices can leave this filtering resolver that way (Friendly WiFi requires it on)`,
    ),
  );
}

/**
 * A policy that blocks a category no list provides blocks nothing of it. The abuse category has its own
 * code: a network without the IWF list (no abuse list configured, and no fleet artifact carrying one)
 * is the gap certifiers look for first.
 */
function listsWarnings(categories: readonly string[] | null): ComplianceWarning[] {
  if (categories === null) return [];
  const have = new Set(categories);
  const out: ComplianceWarning[] = [];
  for (const category of FRIENDLY_WIFI_CATEGORIES) {
    if (have.has(category)) continue;
    out.push(
      category === 'abuse'
        ? warning('abuse-source-missing', NO_ABUSE_FEED_WARNING)
        : warning(
            'category-without-source',
            `no list in force is in the category "${category}", so no policy blocks it: add a list of that category`,
          ),
    );
  }
  return out;
}

/** Stale: not confirmed by its publisher for longer than abuse.maxAge (the threshold the abuse status uses). */
function staleAbuseWarnings(abuse: ComplianceInput['abuse'], maxAgeMs: number): ComplianceWarning[] {
  return (abuse?.feeds ?? [])
    .filter((f) => f.stale)
    .map((f) => warning('abuse-feed-stale', staleAbuseFeedWarning(f, maxAgeMs)));
}

/** The report for a config and the lists in force (null: none loaded yet). */
export function complianceInForce(
  config: ComplianceInput['config'],
  lists: Pick<CompiledLists, 'sources'> | null,
  abuse: ComplianceInput['abuse'],
): ComplianceReport {
  return complianceReport({ config, sourceCategories: lists?.sources.map((s) => s.category) ?? null, abuse });
}
