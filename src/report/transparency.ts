/**
 * The transparency report of one month: what a municipality publishes about its free WiFi's filter.
 * Built from the statistics store's period data; holds counts, estimates, list versions (hashes) and
 * self-test tallies and digests, never a blocked name or a client. The month and every instant are in
 * the deployment's time zone (config `timeZone`), which the report states. Renderers (html.ts, csv.ts)
 * take this document.
 */
import type { LocalText } from '../blockpage/i18n.js';
import { HLL_METHOD } from '../stats/hll.js';
import type { PeriodQueries, SelfTestRow } from '../stats/period.js';
import { VERSION } from '../version.js';
import { localIso, monthBounds } from './time-zone.js';

export const REPORT_FORMATS = ['json', 'html', 'csv'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export interface VenueCounts {
  venue: string;
  /** Answered queries of the venue's clients (0 for hours recorded before roje counted them per venue). */
  queries: number;
  /** Blocked answers, each once. */
  blocked: number;
  /** blocked / queries * 100, two decimals; null without queries. */
  blockedPercent: number | null;
  /** Per category (one answer may count in several). */
  byCategory: Record<string, number>;
}

export interface SelfTestVenue {
  /** null: clients of no venue (every run recorded before self-tests ran per venue). */
  venue: string | null;
  runs: number;
  /** Runs where every case passed. */
  passes: number;
  /** Runs with at least one failed case. */
  failures: number;
  results: Array<{
    at: string;
    suite: string;
    passed: number;
    failed: number;
    /** SHA-256 (hex) of the signed self-test report; null when the run recorded no digest. */
    sha256: string | null;
  }>;
}

export interface TransparencyReport {
  report: 'roje transparency report';
  /** Bumped when a field changes meaning. 2: time zone, per-venue queries, uptime since first start, appeals. */
  schema: 2;
  period: {
    month: string;
    /** IANA name of the zone the month and every instant of the report are in. */
    timeZone: string;
    /** The month's local start (inclusive) and end (exclusive), ISO 8601 with the zone's offset. */
    from: string;
    to: string;
  };
  /** The venue reported on; null: every venue. */
  site: string | null;
  /** Present when the report is of one instance of a shared store (absent: the whole city). */
  instance?: string;
  /** blockPage.operatorName, when the config was given. */
  operator: LocalText | null;
  queries: {
    /** Answered queries (of the site's clients, for one site). */
    total: number;
    /** Blocked answers, each once. */
    blocked: number;
    /** blocked / total * 100, two decimals; null without queries. */
    blockedPercent: number | null;
  };
  blocked: {
    /** The categories that blocked anything in the period, sorted. */
    categories: string[];
    /** Per venue ("(none)": clients of no venue). */
    venues: VenueCounts[];
    /** Per category over all venues reported, with its share of the answered queries. */
    byCategory: Array<{ category: string; count: number; percentOfQueries: number | null }>;
  };
  distinctBlockedNames: {
    /** Always true: the numbers are estimates. */
    estimate: true;
    method: string;
    byCategory: Array<{ category: string; estimate: number }>;
  };
  /** Changes of the lists' content in the month (a restart with the same lists is not one). */
  listUpdates: Array<{ at: string; version: string; entries: number; sources: number; reason: string }>;
  uptime: {
    /** The instance's first start (kept by the statistics store), or null when unknown. */
    firstStart: string | null;
    /**
     * The part of the month uptime is measured over: from the later of the month's start and the first
     * start, to the earlier of the month's end and the report's generation. null: none of the month.
     */
    from: string | null;
    to: string | null;
    servedSeconds: number;
    periodSeconds: number;
    servedHours: number;
    /** servedSeconds / periodSeconds * 100, one decimal; null when the period is empty. */
    percent: number | null;
  };
  selfTests: {
    runs: number;
    passes: number;
    failures: number;
    /** Per venue the suite asked as a client of, venues sorted, clients of no venue last. */
    venues: SelfTestVenue[];
  };
  /** Wrong-block reports from the block page: received in the month, and reviewed in it. */
  appeals: {
    /** Each report once (by category, one naming several categories counts in each). */
    received: number;
    accepted: number;
    rejected: number;
    /** A report naming several categories counts in each. */
    byCategory: Array<{ category: string; received: number; accepted: number; rejected: number }>;
  };
  generatedAt: string;
  /** "roje 0.1.0" */
  generator: string;
}

export interface TransparencyOptions {
  /** "2026-10" */
  month: string;
  site?: string | undefined;
  /** One instance of a shared store; absent: the whole city. */
  instance?: string | undefined;
  operator?: LocalText | null | undefined;
  /** IANA time zone (config `timeZone`); default UTC. */
  timeZone?: string | undefined;
  /** Generation time, epoch ms (tests). */
  now?: number | undefined;
}

/** The UTC bounds of a month "YYYY-MM"; ROJE_ERR_STATS_RANGE when it is not one. */
export function parseMonth(month: string): { from: string; to: string; fromMs: number; toMs: number } {
  const b = monthBounds(month, 'UTC');
  return { from: localIso(b.fromMs, 'UTC'), to: localIso(b.toMs, 'UTC'), fromMs: b.fromMs, toMs: b.toMs };
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

const percent = (part: number, whole: number, decimals: number) =>
  whole > 0 ? Math.round((part / whole) * 100 * 10 ** decimals) / 10 ** decimals : null;

function selfTestVenues(rows: readonly SelfTestRow[], zone: string): SelfTestVenue[] {
  const byVenue = new Map<string | null, SelfTestVenue>();
  for (const r of rows) {
    let v = byVenue.get(r.venue);
    if (v === undefined) {
      v = { venue: r.venue, runs: 0, passes: 0, failures: 0, results: [] };
      byVenue.set(r.venue, v);
    }
    v.runs++;
    if (r.failed === 0) v.passes++;
    else v.failures++;
    v.results.push({
      at: localIso(Date.parse(r.at), zone),
      suite: r.suite,
      passed: r.passed,
      failed: r.failed,
      // Runs recorded before the digest was the signed report's held the run's id (a timestamp): not a digest.
      sha256: SHA256_HEX.test(r.sha256) ? r.sha256 : null,
    });
  }
  return [...byVenue.values()].sort((a, b) =>
    a.venue === null ? 1 : b.venue === null ? -1 : a.venue.localeCompare(b.venue),
  );
}

function uptime(servedSeconds: number, firstStart: string | null, from: number, to: number, zone: string) {
  const first = firstStart === null ? Number.NaN : Date.parse(firstStart);
  const start = Number.isNaN(first) ? from : Math.max(from, first);
  const periodSeconds = Math.max(0, Math.round((to - start) / 1000));
  const served = Math.min(Math.round(servedSeconds), periodSeconds);
  return {
    firstStart: Number.isNaN(first) ? null : localIso(first, zone),
    from: periodSeconds > 0 ? localIso(start, zone) : null,
    to: periodSeconds > 0 ? localIso(to, zone) : null,
    servedSeconds: served,
    periodSeconds,
    servedHours: Math.round(served / 360) / 10,
    percent: percent(served, periodSeconds, 1),
  };
}

export async function buildTransparencyReport(
  source: PeriodQueries,
  options: TransparencyOptions,
): Promise<TransparencyReport> {
  const zone = options.timeZone ?? 'UTC';
  const bounds = monthBounds(options.month, zone);
  const site = options.site ?? null;
  const now = options.now ?? Date.now();
  const data = await source.period({
    from: new Date(bounds.fromMs).toISOString(),
    to: new Date(bounds.toMs).toISOString(),
    venue: options.site,
    ...(options.instance !== undefined ? { instance: options.instance } : {}),
  });

  const categories = [...new Set(data.blocks.map((b) => b.category))].sort();
  const venues = new Map<string, VenueCounts>();
  const venue = (name: string, queries = 0, blocked = 0): VenueCounts => {
    let v = venues.get(name);
    if (v === undefined) {
      v = { venue: name, queries, blocked, blockedPercent: null, byCategory: {} };
      venues.set(name, v);
    }
    return v;
  };
  for (const v of data.venues) venue(v.venue, v.queries, v.blocked);
  const byCategory = new Map<string, number>();
  for (const b of data.blocks) {
    const v = venue(b.venue);
    v.byCategory[b.category] = (v.byCategory[b.category] ?? 0) + b.count;
    byCategory.set(b.category, (byCategory.get(b.category) ?? 0) + b.count);
  }
  for (const v of venues.values()) v.blockedPercent = percent(v.blocked, v.queries, 2);

  const tests = selfTestVenues(data.selfTests, zone);
  const sum = <T>(rows: readonly T[], field: (row: T) => number) => rows.reduce((n, r) => n + field(r), 0);

  return {
    report: 'roje transparency report',
    schema: 2,
    period: {
      month: options.month,
      timeZone: zone,
      from: localIso(bounds.fromMs, zone),
      to: localIso(bounds.toMs, zone),
    },
    site,
    ...(options.instance !== undefined ? { instance: options.instance } : {}),
    operator: options.operator ?? null,
    queries: {
      total: data.queries,
      blocked: data.blocked,
      blockedPercent: percent(data.blocked, data.queries, 2),
    },
    blocked: {
      categories,
      venues: [...venues.values()].sort((a, b) => a.venue.localeCompare(b.venue)),
      byCategory: [...byCategory]
        .map(([category, count]) => ({ category, count, percentOfQueries: percent(count, data.queries, 2) }))
        .sort((a, b) => b.count - a.count || a.category.localeCompare(b.category)),
    },
    distinctBlockedNames: { estimate: true, method: HLL_METHOD, byCategory: data.distinct },
    // A version is a hash of the compiled lists: its first 12 hex digits name it, as `policy.roje.` does.
    listUpdates: data.listChanges.map((c) => ({
      ...c,
      at: localIso(Date.parse(c.at), zone),
      version: c.version.slice(0, 12),
    })),
    uptime: uptime(data.servedSeconds, data.firstStart, bounds.fromMs, Math.min(now, bounds.toMs), zone),
    selfTests: {
      runs: sum(tests, (v) => v.runs),
      passes: sum(tests, (v) => v.passes),
      failures: sum(tests, (v) => v.failures),
      venues: tests,
    },
    appeals: { ...data.appealTotals, byCategory: data.appeals },
    generatedAt: localIso(now, zone),
    generator: `roje ${VERSION}`,
  };
}
