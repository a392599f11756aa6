/**
 * The transparency report of one month: what a municipality publishes about its free WiFi's filter.
 * Built from the statistics store's period data; holds counts, estimates, list versions (hashes) and
 * self-test tallies, never a blocked name or a client. Renderers (html.ts, csv.ts) take this document.
 */
import type { LocalText } from '../blockpage/i18n.js';
import { RojeError } from '../errors.js';
import { HLL_METHOD } from '../stats/hll.js';
import type { PeriodQueries } from '../stats/period.js';
import { VERSION } from '../version.js';

export const REPORT_FORMATS = ['json', 'html', 'csv'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export interface TransparencyReport {
  report: 'roje transparency report';
  /** Bumped when a field changes meaning. */
  schema: 1;
  period: {
    month: string;
    /** UTC, inclusive. */
    from: string;
    /** UTC, exclusive. */
    to: string;
  };
  /** The venue reported on; null: every venue. */
  site: string | null;
  /** blockPage.operatorName, when the config was given. */
  operator: LocalText | null;
  queries: {
    /** Every answered query; null for one site (only blocked answers carry a venue). */
    total: number | null;
    /** Blocked answers, each once. */
    blocked: number;
  };
  blocked: {
    /** The categories that blocked anything in the period, sorted. */
    categories: string[];
    /** Per venue: blocked answers (each once) and per category (one answer may count in several). */
    venues: Array<{ venue: string; blocked: number; byCategory: Record<string, number> }>;
    /** Per category over all venues reported. */
    byCategory: Array<{ category: string; count: number }>;
  };
  distinctBlockedNames: {
    /** Always true: the numbers are estimates. */
    estimate: true;
    method: string;
    byCategory: Array<{ category: string; estimate: number }>;
  };
  listUpdates: Array<{ at: string; version: string; entries: number; sources: number; reason: string }>;
  uptime: {
    servedSeconds: number;
    /** The part of the month that has passed at generation time (all of it for a past month). */
    periodSeconds: number;
    servedHours: number;
    /** servedSeconds / periodSeconds * 100, one decimal; null before the month began. */
    percent: number | null;
  };
  selfTests: {
    runs: number;
    /** Runs where every case passed. */
    passes: number;
    /** Runs with at least one failed case. */
    failures: number;
    results: Array<{ at: string; suite: string; passed: number; failed: number; sha256: string }>;
  };
  generatedAt: string;
  /** "roje 0.1.0" */
  generator: string;
}

export interface TransparencyOptions {
  /** "2026-10" */
  month: string;
  site?: string | undefined;
  operator?: LocalText | null | undefined;
  /** Generation time, epoch ms (tests). */
  now?: number | undefined;
}

/** The UTC bounds of a month "YYYY-MM"; ROJE_ERR_STATS_RANGE when it is not one. */
export function parseMonth(month: string): { from: string; to: string; fromMs: number; toMs: number } {
  const m = typeof month === 'string' ? /^(\d{4})-(0[1-9]|1[0-2])$/.exec(month) : null;
  if (m === null) {
    throw new RojeError(
      'ROJE_ERR_STATS_RANGE',
      `month "${String(month)}" must be a calendar month written YYYY-MM, e.g. 2026-10`,
    );
  }
  const year = Number(m[1]);
  const index = Number(m[2]) - 1;
  const fromMs = Date.UTC(year, index, 1);
  const toMs = Date.UTC(year, index + 1, 1);
  const iso = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;
  return { from: iso(fromMs), to: iso(toMs), fromMs, toMs };
}

export function buildTransparencyReport(
  source: PeriodQueries,
  options: TransparencyOptions,
): TransparencyReport {
  const bounds = parseMonth(options.month);
  const site = options.site ?? null;
  const now = options.now ?? Date.now();
  const data = source.period({ from: bounds.from, to: bounds.to, venue: options.site });

  const categories = [...new Set(data.blocks.map((b) => b.category))].sort();
  const venues = new Map<string, { venue: string; blocked: number; byCategory: Record<string, number> }>();
  for (const v of data.venues) venues.set(v.venue, { venue: v.venue, blocked: v.blocked, byCategory: {} });
  const byCategory = new Map<string, number>();
  for (const b of data.blocks) {
    let v = venues.get(b.venue);
    if (v === undefined) {
      v = { venue: b.venue, blocked: 0, byCategory: {} };
      venues.set(b.venue, v);
    }
    v.byCategory[b.category] = (v.byCategory[b.category] ?? 0) + b.count;
    byCategory.set(b.category, (byCategory.get(b.category) ?? 0) + b.count);
  }

  const periodSeconds = Math.max(0, (Math.min(now, bounds.toMs) - bounds.fromMs) / 1000);
  const servedSeconds = Math.min(Math.round(data.servedSeconds), Math.round(periodSeconds));
  const passes = data.selfTests.filter((r) => r.failed === 0).length;

  return {
    report: 'roje transparency report',
    schema: 1,
    period: { month: options.month, from: bounds.from, to: bounds.to },
    site,
    operator: options.operator ?? null,
    queries: { total: data.queries, blocked: data.blocked },
    blocked: {
      categories,
      venues: [...venues.values()].sort((a, b) => a.venue.localeCompare(b.venue)),
      byCategory: [...byCategory]
        .map(([category, count]) => ({ category, count }))
        .sort((a, b) => b.count - a.count || a.category.localeCompare(b.category)),
    },
    distinctBlockedNames: { estimate: true, method: HLL_METHOD, byCategory: data.distinct },
    // A version is a hash of the compiled lists: its first 12 hex digits name it, as `policy.roje.` does.
    listUpdates: data.listChanges.map((c) => ({ ...c, version: c.version.slice(0, 12) })),
    uptime: {
      servedSeconds,
      periodSeconds: Math.round(periodSeconds),
      servedHours: Math.round(servedSeconds / 360) / 10,
      percent: periodSeconds > 0 ? Math.round((servedSeconds / periodSeconds) * 1000) / 10 : null,
    },
    selfTests: {
      runs: data.selfTests.length,
      passes,
      failures: data.selfTests.length - passes,
      results: data.selfTests,
    },
    generatedAt: new Date(now).toISOString(),
    generator: `roje ${VERSION}`,
  };
}
