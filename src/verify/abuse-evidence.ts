/**
 * Judging the abuse (IWF-style) category without trusting the operator and without a roje-only test.
 * The canary name proves only that roje wired its abuse category in (roje adds it to every abuse
 * source, so a two-line file passes it); what a certifier needs is evidence about the real list:
 *  1. a sample of the certifier's own abuse list (`--sample abuse=FILE`), for any resolver; else
 *  2. for roje, its `policy.roje.` CH TXT strings: an abuse source present, at least --abuse-min-entries
 *     entries, and every abuse source confirmed less than 12 h ago; else
 *  3. nothing: the category is not judged, and that is a fail (Friendly WiFi requires the list).
 */
import type { AbuseEvidence, ResolverIdentity, SampleResult } from './report.js';

/** A real IWF URL list holds hundreds of thousands of URLs; the domain part alone is in the thousands. */
export const DEFAULT_ABUSE_MIN_ENTRIES = 1000;
/** Friendly WiFi asks for the list to be refreshed at least twice a day. */
export const ABUSE_MAX_AGE_SECONDS = 12 * 3600;
export const ABUSE_CATEGORY = 'abuse';

/** A roje answers `version.roje. CH TXT` with "roje <version>"; no other resolver does. */
export function isRojeIdentity(identity: Partial<ResolverIdentity>): boolean {
  return (identity['version.roje']?.strings ?? []).some((s) => /^roje \S+/.test(s));
}

interface PolicyAbuse {
  sources: number;
  entries: number;
  maxAgeSeconds: number | null;
}

/**
 * The abuse facts in roje's policy strings (src/pipeline/policy-strings.ts): one
 * "source=NAME category=abuse entries=N version=V age=S" per abuse source, and one
 * "abuse feeds=N entries=N stale=N" line (distinct entries over every abuse source).
 */
export function parsePolicyAbuse(strings: readonly string[]): PolicyAbuse | null {
  let total: { sources: number; entries: number } | null = null;
  const ages: number[] = [];
  for (const s of strings) {
    const line = /^abuse feeds=(\d+) entries=(\d+)/.exec(s);
    if (line !== null) total = { sources: Number(line[1]), entries: Number(line[2]) };
    const source = /^source=\S+ category=abuse entries=\d+ .*\bage=(\d+)$/.exec(s);
    if (source !== null) ages.push(Number(source[1]));
  }
  if (total === null) return null;
  return { ...total, maxAgeSeconds: ages.length > 0 ? Math.max(...ages) : null };
}

export interface JudgeAbuseOptions {
  identity: Partial<ResolverIdentity>;
  /** The certifier's abuse sample, when given: it outranks anything the resolver says of itself. */
  sample?: SampleResult;
  minEntries?: number;
}

export function judgeAbuse(options: JudgeAbuseOptions): AbuseEvidence {
  const { sample } = options;
  if (sample !== undefined) {
    return {
      evidence: 'sample',
      verdict: sample.verdict,
      reason: `certifier's sample: ${sample.blocked}/${sample.asked} blocked, 95 % interval ${pct(sample.interval.low)}–${pct(sample.interval.high)}`,
    };
  }
  if (!isRojeIdentity(options.identity)) {
    return {
      evidence: 'none',
      verdict: 'fail',
      reason:
        'not judged: no certifier sample (--sample abuse=FILE) and the resolver is not roje; Friendly WiFi requires the abuse list',
    };
  }
  const minEntries = options.minEntries ?? DEFAULT_ABUSE_MIN_ENTRIES;
  const facts = parsePolicyAbuse(options.identity['policy.roje']?.strings ?? []);
  if (facts === null) {
    return {
      evidence: 'none',
      verdict: 'fail',
      reason:
        'not judged: roje did not say its abuse status (policy.roje. CH TXT), and no certifier sample was given',
    };
  }
  const policy = { ...facts, minEntries, maxAgeLimitSeconds: ABUSE_MAX_AGE_SECONDS };
  const problems: string[] = [];
  if (facts.sources === 0) problems.push('no abuse source is loaded');
  if (facts.entries < minEntries) problems.push(`${facts.entries} entries, fewer than ${minEntries}`);
  if (facts.maxAgeSeconds !== null && facts.maxAgeSeconds >= ABUSE_MAX_AGE_SECONDS) {
    problems.push(`an abuse source is ${hours(facts.maxAgeSeconds)} old, 12 h or more`);
  }
  return {
    evidence: 'roje-policy',
    verdict: problems.length === 0 ? 'pass' : 'fail',
    reason:
      problems.length === 0
        ? `roje policy string: ${facts.sources} abuse source(s), ${facts.entries} entries (>= ${minEntries}), oldest ${hours(facts.maxAgeSeconds ?? 0)} old (< 12 h)`
        : `roje policy string: ${problems.join('; ')}`,
    policy,
  };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)} %`;
}

function hours(seconds: number): string {
  return `${(seconds / 3600).toFixed(1)} h`;
}
