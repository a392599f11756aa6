/**
 * What the admin API may ask of the running resolver, one interface per group of routes: each route
 * plugin (routes/*.ts) takes only its own, so that a plugin cannot reach what it does not serve and a
 * test can stub just that much. app.ts builds the whole AdminApi.
 */
import type { NewOverride } from '../overrides/store.js';
import type { Override } from '../overrides/types.js';
import type { TransparencyReport } from '../report/transparency.js';

/** Health, status, config view, cache and metrics (routes/ops.ts). */
export interface OpsApi {
  status(): unknown;
  /** Whether the statistics store can be written: false while a shared store is down, null without one. */
  storeUp(): boolean | null;
  ready(): { ready: boolean; reason: string | null };
  /** The config in force, secrets redacted. */
  config(): unknown;
  flushCache(): { removed: number };
  metrics(): Promise<{ contentType: string; body: string }>;
}

/** The operator console's HTML shell (routes/console.ts); its assets are static files. */
export interface ConsoleApi {
  /** The shell in the deployment's time zone, with every category's display name. */
  console(): Promise<string>;
}

/** Refreshing lists, held feed copies and the signed artifact for fleet edges (routes/lists.ts). */
export interface ListsApi {
  /** Refreshes the named list sources (all when none are named) and swaps the lists if any changed. */
  refreshLists(sources: string[] | undefined): Promise<unknown>;
  /**
   * The lists in force as a signed artifact for fleet edges (src/fleet): rejects with
   * ROJE_ERR_FLEET_NOT_PUBLISHED when publishing is off, ROJE_ERR_FLEET_NOT_READY while the lists are
   * incomplete.
   */
  listsArtifact?(): Promise<{ etag: string; artifact: Buffer; signature: string }>;
  /** Promotes a held feed copy or list file; false when nothing is held under that name. */
  acceptList(name: string): Promise<boolean>;
  rejectList(name: string): Promise<boolean>;
}

/** Statistics over a period (routes/stats.ts). */
export interface StatsApi {
  statsSummary(query: StatsQuery): unknown;
  statsSeries(query: StatsQuery & { bucket: 'hour' | 'day' }): unknown;
  /** The store's kind and the instances that write to it (the console's chooser, with PostgreSQL). */
  statsInstances(): Promise<unknown>;
}

/** Wrong-block reports and the monthly transparency report (routes/reports.ts). */
export interface ReportsApi {
  reports(query: { status?: ReportStatus; limit: number; offset: number }): unknown;
  /**
   * The reviewed report; ROJE_ERR_STATS_REPORT_NOT_FOUND when there is none with that id. Accepted with
   * `allow`, it first makes the allow override for the report's venue or for all (routes/overrides.ts's
   * rules and errors), and answers it too.
   */
  reviewReport(id: number, review: ReportReview, by: string): unknown;
  /**
   * The transparency report of a month ("2026-10"), of one venue or all, of one instance of a shared
   * store or the whole city; ROJE_ERR_STATS_RANGE for a bad month.
   */
  transparencyReport(query: {
    month: string;
    site?: string;
    instance?: string;
  }): TransparencyReport | Promise<TransparencyReport>;
}

export interface ReportReview {
  status: 'accepted' | 'rejected';
  /** Only with accepted: allow the reported name for the report's venue, or for every client. */
  allow?: 'venue' | 'all';
  note?: string;
}

/** Run-time allow and deny overrides (routes/overrides.ts). */
export interface OverridesApi {
  overrides(): readonly Override[];
  /** The overrides as the YAML a config would hold. */
  overridesYaml(): string;
  /** The new entry, or the same (name, venue, action) already there (created false). */
  addOverride(entry: NewOverride): Promise<{ override: Override; created: boolean }>;
  /** The removed entry; ROJE_ERR_OVERRIDE_NOT_FOUND when there is none with that id. */
  removeOverride(id: string): Promise<Override>;
}

/** The scheduled self-test (routes/selftest.ts). */
export interface SelfTestApi {
  /** The kept self-test runs, newest first. */
  selfTests(): unknown;
  /**
   * One kept self-test report as JSON (the kept bytes, which the run's sha256 names) or HTML, for a
   * venue's clients or (venue null) clients of no venue; null when there is none.
   */
  selfTestReport(
    id: string,
    format: 'json' | 'html',
    venue: string | null,
  ): { contentType: string; body: string } | null;
  /** Runs the self-test now and returns its summary (ROJE_ERR_SELFTEST_DISABLED when it is disabled). */
  runSelfTest(): Promise<unknown>;
}

/** Why a name is blocked, per venue (routes/lookup.ts, src/lookup). */
export interface LookupApi {
  lookup(name: string, venue: string | undefined): Promise<unknown>;
}

/** Everything the admin API may ask of the running resolver. */
export type AdminApi = OpsApi &
  ConsoleApi &
  ListsApi &
  StatsApi &
  ReportsApi &
  SelfTestApi &
  LookupApi &
  OverridesApi;

export type ReportStatus = 'open' | 'accepted' | 'rejected';
export interface StatsQuery {
  from: string;
  to: string;
  venue?: string;
  category?: string;
  by?: 'venue' | 'category';
  /** One instance of a shared store; absent: the whole city. */
  instance?: string;
}
