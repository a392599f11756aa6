/**
 * What the admin API does, built from narrow views of roje's services (app.ts hands them over). The
 * routes (server.ts) validate, authorize and audit; this module only reads and acts. Grouped as the
 * routes are: operations, lists, statistics, reports, self-test.
 */
import { categoryDisplayName } from '../blockpage/i18n.js';
import { optionalCategoryWarnings } from '../config/policy-categories.js';
import { redactConfig } from '../config/redact.js';
import type { RojeConfig } from '../config/schema.js';
import type { DataPlane } from '../dataplane/types.js';
import { RojeError } from '../errors.js';
import type { Lookup } from '../lookup/lookup.js';
import type { OverridesService } from '../overrides/service.js';
import { overridesYaml } from '../overrides/yaml.js';
import { complianceInForce } from '../policy/compliance.js';
import type { BlockPageService } from '../services/block-page.js';
import type { ListsService } from '../services/lists.js';
import type { SelfTestService } from '../services/self-test.js';
import type { StatsService } from '../services/stats.js';
import { DENY_CATEGORY, NO_VENUE } from '../stats/recorder.js';
import { VERSION } from '../version.js';
import type { AdminApi } from './server.js';
import type { ReportReview } from './types.js';

export interface AdminApiDeps {
  startedAt: number;
  /** The config in force. */
  config: () => RojeConfig;
  lists: Pick<
    ListsService,
    | 'current'
    | 'ready'
    | 'missing'
    | 'status'
    | 'view'
    | 'abuseStatus'
    | 'feeds'
    | 'files'
    | 'fleet'
    | 'refresh'
    | 'accept'
    | 'reject'
  >;
  plane: Pick<
    DataPlane,
    'addresses' | 'listening' | 'cacheStats' | 'flushCache' | 'upstreamHealth' | 'workers'
  >;
  stats: Pick<StatsService, 'store' | 'required' | 'flushed' | 'storeState'>;
  selfTest: Pick<SelfTestService, 'runner' | 'required'>;
  blockPage: Pick<BlockPageService, 'addresses'>;
  overrides: Pick<OverridesService, 'list' | 'add' | 'remove' | 'state'>;
  /** Where the admin API and /metrics listen. */
  opsAddresses: () => { admin: string | null; metrics: string | null };
  metrics: () => Promise<{ contentType: string; body: string }>;
  /** Why a name is blocked (src/lookup). */
  lookup: Lookup;
}

export function createAdminApi(deps: AdminApiDeps): AdminApi {
  return {
    ...opsApi(deps),
    console: () => consolePage(deps.config(), deps.lists.current()?.lists ?? null),
    ...listsApi(deps),
    ...statsApi(deps),
    ...selfTestApi(deps),
    lookup: (name, venue) => deps.lookup.lookup(name, venue),
    ...overridesApi(deps),
  };
}

type Part<K extends keyof AdminApi> = Pick<AdminApi, K>;

function opsApi(
  deps: AdminApiDeps,
): Part<'status' | 'ready' | 'storeUp' | 'config' | 'flushCache' | 'metrics'> {
  const { lists, plane } = deps;
  function ready(): { ready: boolean; reason: string | null } {
    if (lists.current() === null) return { ready: false, reason: 'no good list loaded yet' };
    const missing = lists.missing();
    if (missing.length > 0) {
      return { ready: false, reason: `waiting for the first good copy of: ${missing.join(', ')}` };
    }
    if (!plane.listening()) return { ready: false, reason: 'not listening' };
    return { ready: true, reason: null };
  }
  return {
    status() {
      const abuse = lists.abuseStatus();
      const compliance = complianceInForce(deps.config(), lists.current()?.lists ?? null, abuse);
      const store = deps.stats.store();
      const blockPage = deps.blockPage.addresses();
      return {
        version: VERSION,
        startedAt: new Date(deps.startedAt).toISOString(),
        uptimeSeconds: Math.round((Date.now() - deps.startedAt) / 1000),
        serving: ready(),
        listeners: { dns: describeDns(plane.addresses()), ...deps.opsAddresses() },
        upstreams: plane.upstreamHealth(),
        lists: lists.view(),
        abuse,
        feeds: lists.feeds(),
        files: lists.files(),
        fleet: lists.fleet().status(),
        cache: plane.cacheStats(),
        workers: plane.workers(),
        stats: store === null ? null : { path: store.kind === 'sqlite' ? deps.config().stats.path : null },
        // The store's health: DNS answers while it is down (counts wait in the spool), but it shows here.
        store: deps.stats.storeState(),
        // The overrides' own link to a shared store (its LISTEN connection, the last read).
        overrides: deps.overrides.state(),
        blockPage: blockPage === null ? null : { listen: blockPage },
        compliance,
        // Conditions an operator or certifier must act on: a stale or missing abuse feed, the
        // compliance profile's gaps (whose abuse ones read as the abuse status's, said once), and an
        // optional category no list provides.
        warnings: [
          ...new Set([
            ...abuse.warnings,
            ...compliance.warnings.map((w) => w.message),
            ...categoryWarnings(deps.config(), lists.current()?.lists ?? null),
          ]),
        ],
      };
    },
    ready,
    storeUp: () => deps.stats.storeState()?.up ?? null,
    config: () => redactConfig(deps.config()),
    flushCache: () => plane.flushCache(),
    metrics: deps.metrics,
  };
}

function listsApi(deps: AdminApiDeps): Part<'refreshLists' | 'listsArtifact' | 'acceptList' | 'rejectList'> {
  const { lists } = deps;
  return {
    refreshLists: (sources) => lists.refresh(sources),
    listsArtifact: () => lists.fleet().publication(lists.current()),
    acceptList: (name) => lists.accept(name),
    rejectList: (name) => lists.reject(name),
  };
}

function statsApi(
  deps: AdminApiDeps,
): Part<
  'statsSummary' | 'statsSeries' | 'statsInstances' | 'reports' | 'reviewReport' | 'transparencyReport'
> {
  const { stats } = deps;
  return {
    // Flushed first, so that the API shows the counts up to this moment. The abuse feed's page-level
    // entries DNS cannot enforce are reported with the counts (numbers only).
    statsSummary: async (q) => {
      const a = deps.lists.abuseStatus();
      return {
        ...(await (await stats.flushed()).summary(q)),
        abuse: {
          entries: a.entries,
          pages: a.pages,
          pageEntries: a.pageEntries,
          pagesNotEnforced: a.pagesNotEnforced,
        },
      };
    },
    statsSeries: async (q) => (await stats.flushed()).series(q),
    statsInstances: async () => {
      const store = stats.required();
      return { kind: store.kind, instance: store.instance, instances: await store.instances() };
    },
    reports: (q) => stats.required().listReports(q),
    reviewReport: (id, review, by) => reviewReport(deps, id, review, by),
    transparencyReport: async (q) => {
      // Loaded at the first report, not before the first DNS answer (as the console's page below).
      const { buildTransparencyReport } = await import('../report/transparency.js');
      return buildTransparencyReport(await stats.flushed(), {
        ...q,
        operator: deps.config().blockPage.operatorName,
        timeZone: deps.config().timeZone,
      });
    },
  };
}

function overridesApi(
  deps: AdminApiDeps,
): Part<'overrides' | 'overridesYaml' | 'addOverride' | 'removeOverride'> {
  const { overrides } = deps;
  return {
    overrides: () => overrides.list(),
    overridesYaml: () => overridesYaml(overrides.list(), new Date().toISOString()),
    addOverride: (entry) => overrides.add(entry),
    removeOverride: (id) => overrides.remove(id),
  };
}

/**
 * A review; accepted with `allow`, the allow override for the reported name is made first (so a review
 * that cannot make it changes nothing), for the report's venue or for every client.
 */
async function reviewReport(
  deps: AdminApiDeps,
  id: number,
  review: ReportReview,
  by: string,
): Promise<unknown> {
  const store = deps.stats.required();
  const note = review.note ?? '';
  if (review.allow === undefined) return store.reviewReport(id, review.status, by, note);
  if (review.status !== 'accepted') {
    throw new RojeError('ROJE_ERR_OVERRIDE_INVALID', 'allow goes with status "accepted" only');
  }
  const report = await store.getReport(id);
  if (report.name === null) {
    throw new RojeError('ROJE_ERR_OVERRIDE_INVALID', `report ${id} names no site: there is nothing to allow`);
  }
  if (review.allow === 'venue' && report.venue === NO_VENUE) {
    throw new RojeError(
      'ROJE_ERR_OVERRIDE_INVALID',
      `report ${id} came from a client of no venue: allow it for "all", or add the override for a venue`,
    );
  }
  const { override } = await deps.overrides.add({
    name: report.name,
    action: 'allow',
    venue: review.allow === 'all' ? null : report.venue,
    note: note !== '' ? note : `report ${id}`,
    who: by,
  });
  return { ...(await store.reviewReport(id, review.status, by, note)), override };
}

function selfTestApi(deps: AdminApiDeps): Part<'selfTests' | 'selfTestReport' | 'runSelfTest'> {
  const { selfTest } = deps;
  return {
    selfTests: () => {
      const runner = selfTest.runner();
      return { enabled: runner !== null, reports: runner?.list() ?? [] };
    },
    selfTestReport: (id, format, venue) => {
      const body = selfTest.runner()?.get(id, venue, format) ?? null;
      if (body === null) return null;
      return format === 'html'
        ? { contentType: 'text/html; charset=utf-8', body }
        : { contentType: 'application/json; charset=utf-8', body };
    },
    runSelfTest: () => selfTest.required().runNow('operator'),
  };
}

/** The bound DNS addresses for logs and status: "udp+tcp 127.0.0.1:5353", "udp+tcp [::1]:5353". */
export function describeDns(addresses: ReadonlyArray<{ host: string; port: number }>): string[] {
  return addresses.map((a) => `udp+tcp ${formatAddress(a)}`);
}

export function formatAddress(address: { host: string; port: number }): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** The console in the deployment's zone, naming every category the statistics can hold by its display name. */
async function consolePage(
  config: RojeConfig,
  lists: { categories: readonly string[] } | null,
): Promise<string> {
  const { consoleHtml } = await import('../console/page.js');
  const ids = new Set([...(lists?.categories ?? []), DENY_CATEGORY, ...Object.keys(config.categoryNames)]);
  const categoryNames = Object.fromEntries(
    [...ids].map((id) => [id, categoryDisplayName(id, config.categoryNames)]),
  );
  return consoleHtml({ timeZone: config.timeZone, categoryNames });
}

function categoryWarnings(config: RojeConfig, lists: { categories: readonly string[] } | null): string[] {
  return lists === null ? [] : optionalCategoryWarnings(config.policies, lists.categories);
}
