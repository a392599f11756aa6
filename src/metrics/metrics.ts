/**
 * Every Prometheus metric roje exports, declared in one table (METRICS below), and the hooks that feed
 * them. The query path only adds to typed arrays indexed by small integers (no label strings, no
 * prom-client call per query); prom-client reads them when scraped, through each metric's collect().
 *
 * Labels never carry a domain name or a client address: venues and categories are operator-defined
 * names, upstreams are the configured URLs, and the rest are fixed enumerations.
 */
import type {
  Counter as CounterType,
  Histogram as HistogramType,
  Metric,
  MetricObjectWithValues,
  MetricValue,
  Registry,
} from 'prom-client';
import type { DnsCacheStats } from '../cache/dns-cache.js';
import { QTYPE, RCODE } from '../dns/constants.js';
import { lazyRequire } from '../lazy.js';
import type { Answer, AnswerSource, Query } from '../pipeline/types.js';
import type { AbuseStatus } from '../policy/abuse/status.js';
import { COMPLIANCE_KINDS, type ComplianceReport, countByKind } from '../policy/compliance.js';
import { SAFE_SEARCH_ENGINES } from '../policy/safesearch.js';
import type { UpstreamHealth } from '../upstream/types.js';
import {
  createQueryDurations,
  durationGroups,
  QUERY_DURATION_METRIC,
  queryDurationHistogram,
} from './query-duration.js';

/**
 * prom-client (with the default metrics, ~80 ms of CPU) loads at the first scrape or upstream exchange,
 * or when the app calls prepare() once the listeners answer: not before the first answer.
 */
const promClient = lazyRequire<typeof import('prom-client')>('prom-client');

/**
 * How long a start leaves the CPU to the DNS listeners once they are open, before the control plane
 * (prom-client, the admin API, the block page) loads: queries already on their way are answered first.
 */
export const FIRST_ANSWERS_MS = 50;

/** What the metrics read at scrape time; app.ts hands these over. */
export interface MetricsSources {
  cache(): DnsCacheStats;
  upstreams(): UpstreamHealth[];
  /** The lists in force, per source; empty before any list is loaded. */
  listSources(): ReadonlyArray<{ name: string; category: string; entries: number; ageSeconds: number }>;
  /** Per list source with a refresh schedule (feeds): last attempt and result. */
  listRefreshes(): ReadonlyArray<{ name: string; ok: boolean; at: number | null }>;
  /** 1 while answering normally; 0 while refusing to serve for want of a good list. */
  serving(): boolean;
  /** The abuse feed's counts and ages (never entries). */
  abuse(): AbuseStatus;
  /** The last self-test run, or null (none yet, or disabled). */
  selfTest(): SelfTestMetricsSource | null;
  /** Sources the list compiles parsed, and those taken from the parse cache; absent in query loops. */
  listParses?(): { parsed: number; cached: number };
  /** Fleet edge pulls (src/fleet): counts per result, and the age of the artifact in force; null: not an edge. */
  fleet?(): FleetMetricsSource | null;
  /** The compliance profile's gaps for the config and lists in force; absent in query loops. */
  compliance?(): ComplianceReport;
  /** The statistics store's health; null while statistics are off or the store is not open. */
  store?(): StoreMetricsSource | null;
}

/** The statistics store (src/stats/store.ts) as the metrics see it. */
export interface StoreMetricsSource {
  up: boolean;
  spooledBatches: number;
  spooledBytes: number;
  dropped: number;
  /** Takes the durations (seconds) of the batch writes since the last call: the histogram's alone. */
  takeWriteSeconds(): readonly number[];
}

/** The last self-test run: its totals, and per venue (null: clients of no venue) its failed cases. */
export interface SelfTestMetricsSource {
  at: string;
  passed: number;
  failed: number;
  ok: boolean;
  venues?: ReadonlyArray<{ venue: string | null; failed: number }>;
}

/** The `venue` label of clients of no venue in the self-test metrics: no venue name can be "-". */
export const SELFTEST_NO_VENUE = '-';

export interface FleetMetricsSource {
  pulls: Readonly<Record<(typeof FLEET_PULL_RESULTS)[number], number>> | null;
  /** Seconds since the central last confirmed the artifact in force, or null (none yet). */
  artifactAgeSeconds: number | null;
}

const FLEET_PULL_RESULTS = ['updated', 'unchanged', 'refused', 'failed'] as const;

/** One worker's metrics as prom-client JSON (Registry#getMetricsAsJSON), for the primary to merge. */
export type WorkerMetrics = MetricObjectWithValues<MetricValue<string>>[];

export interface MetricsOptions {
  /** Process and Node.js metrics (roje_process_*, roje_nodejs_*): off in worker threads, whose process the main thread describes. */
  processMetrics?: boolean;
  /**
   * Query loops in workers (src/workers): their data-plane metrics, fetched at each scrape, replace this
   * registry's own (which then counts nothing) and are summed; the rest (lists, feeds, abuse, self-test)
   * come from this registry alone.
   */
  workers?: {
    metrics(): Promise<WorkerMetrics[]>;
    /** Worker processes have process metrics of their own, summed with the primary's (memory, CPU). */
    processMetrics: boolean;
    status(): { configured: number; running: number; restarts: number };
  };
}

/** What a query loop measures: summed over workers. Everything else is the primary's view. */
export const DATA_PLANE_METRICS: ReadonlySet<string> = new Set([
  'roje_queries_total',
  QUERY_DURATION_METRIC,
  'roje_blocked_total',
  'roje_safesearch_answers_total',
  'roje_cache_hits_total',
  'roje_cache_misses_total',
  'roje_cache_entries',
  'roje_cache_bytes',
  'roje_upstream_up',
  'roje_upstream_duration_seconds',
  'roje_upstream_errors_total',
  'roje_upstream_queue_full_total',
]);

/** The prom-client side of the metrics, made at the first use. */
interface Registered {
  registry: Registry;
  upstreamDuration: HistogramType<'upstream'>;
  upstreamErrors: CounterType<'upstream' | 'kind'>;
  upstreamQueueFull: CounterType;
}

/** Category and venue names for decoding Answer.block; app.ts updates them when lists or venues change. */
export interface BlockLabels {
  categories: readonly string[];
  venues: readonly string[];
}

const TRANSPORTS = ['udp', 'tcp'] as const;
const SOURCES: readonly AnswerSource[] = [
  'cache',
  'stale',
  'upstream',
  'local',
  'policy',
  'refused',
  'rate-limited',
  'not-ready',
  'error',
];
const QTYPE_NAMES = [
  'A',
  'AAAA',
  'HTTPS',
  'SVCB',
  'CNAME',
  'MX',
  'TXT',
  'NS',
  'SOA',
  'PTR',
  'SRV',
  'DS',
  'DNSKEY',
  'ANY',
];
const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'BADVERS'];
const OTHER = 'other';
const NONE = 'none';

/** qtype number -> index in QTYPE_NAMES; anything else -> the "other" slot. */
const QTYPE_INDEX = new Map<number, number>(
  QTYPE_NAMES.map((n, i) => [QTYPE[n as keyof typeof QTYPE], i] as const),
);
const QTYPES = QTYPE_NAMES.length + 1;
const RCODE_INDEX = new Map<number, number>(
  RCODE_NAMES.map((n, i) => [RCODE[n as keyof typeof RCODE], i] as const),
);
/** RCODE_NAMES, then "other", then "none" (nothing sent). */
const RCODES = RCODE_NAMES.length + 2;
const SOURCE_INDEX = new Map<AnswerSource, number>(SOURCES.map((s, i) => [s, i]));
/** SOURCES index -> the `source` label of roje_query_duration_seconds (query-duration.ts). */
const DURATION_GROUP = durationGroups(SOURCES);
const MAX_CATEGORIES = 32;
const DENY = 'venue-deny';

/** Batch writes: SQLite in a millisecond, a PostgreSQL transaction of a busy minute in tens of ms, a stall in s. */
const STORE_WRITE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Upstream exchange durations: loopback answers in 0.1 ms, a far resolver in 50-200 ms, timeouts at 2 s. */
const UPSTREAM_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export interface RojeMetrics {
  /** The prom-client registry, made at the first use. */
  readonly registry: Registry;
  /** Makes the registry now (loads prom-client): called once the listeners answer, before any scrape. */
  prepare(): void;
  /**
   * The responder's onAnswer hook: counts the query, its duration since `query.receivedAt` and, when
   * blocked, its venue and categories.
   */
  onAnswer(query: Query, answer: Answer): void;
  /** The upstream pool's hook: one exchange with `upstream`, its duration, and its failure code if any. */
  onUpstreamAttempt(upstream: string, seconds: number, failure: string | null): void;
  /** The upstream pool's hook: a query refused because upstream.maxPending exchanges were in flight. */
  onUpstreamQueueFull(): void;
  /**
   * Call before the block labels change (a list swap, a reload that changes venues): folds the counts
   * gathered under the old indexes into totals kept by name, so that no count moves to another label.
   */
  setBlockLabels(labels: BlockLabels): void;
  /** The text exposition (Prometheus format). */
  render(): Promise<string>;
  readonly contentType: string;
}

// long-function: register() below, the table of every metric, is most of it.
export function createMetrics(
  sources: MetricsSources,
  initial: BlockLabels,
  options: MetricsOptions = {},
): RojeMetrics {
  // Hot-path counters: [transport][qtype][rcode][source].
  const queries = new Float64Array(TRANSPORTS.length * QTYPES * RCODES * SOURCES.length);
  // [venue + 1][category bit, then one slot for a venue's own deny]; resized with the labels.
  let labels = initial;
  let blocked = new Float64Array((labels.venues.length + 1) * (MAX_CATEGORIES + 1));
  const blockedTotals = new Map<string, { venue: string; category: string; value: number }>();
  // [engine index in SAFE_SEARCH_ENGINES].
  const safeSearch = new Float64Array(SAFE_SEARCH_ENGINES.length);
  const durations = createQueryDurations();

  function foldBlocked(): void {
    const width = MAX_CATEGORIES + 1;
    for (let i = 0; i < blocked.length; i++) {
      const value = blocked[i];
      if (value === 0) continue;
      const v = Math.floor(i / width) - 1;
      const bit = i % width;
      const venue = v < 0 ? NONE : (labels.venues[v] ?? OTHER);
      const category = bit === MAX_CATEGORIES ? DENY : (labels.categories[bit] ?? OTHER);
      const key = `${venue}\u0000${category}`;
      const total = blockedTotals.get(key);
      if (total === undefined) blockedTotals.set(key, { venue, category, value });
      else total.value += value;
    }
    blocked.fill(0);
  }

  let made: Registered | null = null;
  const registered = (): Registered => {
    made ??= register();
    return made;
  };

  // long-function: most of it is METRICS, the one table that declares every metric (a few lines each) over
  // the registry and the hot-path counter arrays made above, which its collect() functions read.
  function register(): Registered {
    const { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } = promClient();
    const registry = new Registry();
    if (options.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'roje_' });
    const upstreamDuration = new Histogram({
      name: 'roje_upstream_duration_seconds',
      help: 'Duration of exchanges with each upstream (successful or not)',
      labelNames: ['upstream'] as const,
      buckets: UPSTREAM_BUCKETS,
      registers: [registry],
    });
    const upstreamErrors = new Counter({
      name: 'roje_upstream_errors_total',
      help: 'Failed exchanges per upstream and kind (timeout, network, SERVFAIL, REFUSED...)',
      labelNames: ['upstream', 'kind'] as const,
      registers: [registry],
    });
    const upstreamQueueFull = new Counter({
      name: 'roje_upstream_queue_full_total',
      help: 'Queries not sent upstream because upstream.maxPending exchanges were in flight',
      registers: [registry],
    });

    // The table: every other metric, its help and how it is read at scrape time.
    const METRICS: Metric[] = [
      new Counter({
        name: 'roje_queries_total',
        help: 'Answered queries by transport, query type, response code and where the answer came from',
        labelNames: ['transport', 'qtype', 'rcode', 'source'] as const,
        registers: [],
        collect() {
          this.reset();
          for (let i = 0; i < queries.length; i++) {
            if (queries[i] === 0) continue;
            const s = i % SOURCES.length;
            const r = Math.floor(i / SOURCES.length) % RCODES;
            const q = Math.floor(i / (SOURCES.length * RCODES)) % QTYPES;
            const t = Math.floor(i / (SOURCES.length * RCODES * QTYPES));
            this.inc(
              {
                transport: TRANSPORTS[t],
                qtype: QTYPE_NAMES[q] ?? OTHER,
                rcode: r < RCODE_NAMES.length ? RCODE_NAMES[r] : r === RCODES - 2 ? OTHER : NONE,
                source: SOURCES[s],
              },
              queries[i],
            );
          }
        },
      }),
      queryDurationHistogram(Histogram, durations),
      new Counter({
        name: 'roje_blocked_total',
        help: `Blocked queries by venue ("${NONE}": clients of no venue) and category ("${DENY}": a venue's own deny list); a query blocked in several categories counts in each`,
        labelNames: ['venue', 'category'] as const,
        registers: [],
        collect() {
          foldBlocked();
          this.reset();
          for (const t of blockedTotals.values()) this.inc({ venue: t.venue, category: t.category }, t.value);
        },
      }),
      new Counter({
        name: 'roje_safesearch_answers_total',
        help: "Answers rewritten to a search engine's SafeSearch host (CNAME + the safe host's addresses), by engine",
        labelNames: ['engine'] as const,
        registers: [],
        collect() {
          this.reset();
          for (let i = 0; i < safeSearch.length; i++) {
            if (safeSearch[i] !== 0) this.inc({ engine: SAFE_SEARCH_ENGINES[i] }, safeSearch[i]);
          }
        },
      }),
      new Counter({
        name: 'roje_cache_hits_total',
        help: 'Answers served from the cache (stale ones included)',
        registers: [],
        collect() {
          const s = sources.cache();
          this.reset();
          this.inc(s.hits + s.staleHits);
        },
      }),
      new Counter({
        name: 'roje_cache_misses_total',
        help: 'Cache lookups that found nothing usable',
        registers: [],
        collect() {
          this.reset();
          this.inc(sources.cache().misses);
        },
      }),
      new Gauge({
        name: 'roje_cache_entries',
        help: 'Answers held in the cache',
        registers: [],
        collect() {
          this.set(sources.cache().entries);
        },
      }),
      new Gauge({
        name: 'roje_cache_bytes',
        help: 'Estimated memory held by cached answers',
        registers: [],
        collect() {
          this.set(sources.cache().bytes);
        },
      }),
      new Gauge({
        name: 'roje_upstream_up',
        help: '1 while an upstream is considered healthy, 0 while it is marked down',
        labelNames: ['upstream'] as const,
        registers: [],
        // Over query loops: up only while every loop's pool has it up.
        aggregator: 'min',
        collect() {
          this.reset();
          for (const u of sources.upstreams()) this.set({ upstream: u.url }, u.state === 'up' ? 1 : 0);
        },
      }),
      new Gauge({
        name: 'roje_list_entries',
        help: 'Rules per list source in the lists in force (counts only; never the entries)',
        labelNames: ['source', 'category'] as const,
        registers: [],
        collect() {
          this.reset();
          for (const s of sources.listSources())
            this.set({ source: s.name, category: s.category }, s.entries);
        },
      }),
      new Gauge({
        name: 'roje_list_age_seconds',
        help: 'Age of each list source in force (since it was fetched or compiled)',
        labelNames: ['source'] as const,
        registers: [],
        collect() {
          this.reset();
          for (const s of sources.listSources()) this.set({ source: s.name }, s.ageSeconds);
        },
      }),
      new Gauge({
        name: 'roje_abuse_entries',
        help: 'Abuse feed entries enforced (distinct hashes; counts only, never the entries)',
        registers: [],
        collect() {
          this.set(sources.abuse().entries);
        },
      }),
      new Gauge({
        name: 'roje_abuse_page_entries',
        help: 'Page-level abuse entries: enforced="false" counts those DNS cannot enforce (abuse.pageEntries: count)',
        labelNames: ['enforced'] as const,
        registers: [],
        collect() {
          const a = sources.abuse();
          this.set({ enforced: 'true' }, a.pages - a.pagesNotEnforced);
          this.set({ enforced: 'false' }, a.pagesNotEnforced);
        },
      }),
      new Gauge({
        name: 'roje_abuse_feed_age_seconds',
        help: 'Seconds since each abuse source was last confirmed by its publisher (or read from its file)',
        labelNames: ['source'] as const,
        registers: [],
        collect() {
          this.reset();
          for (const f of sources.abuse().feeds) this.set({ source: f.name }, f.ageSeconds);
        },
      }),
      new Gauge({
        name: 'roje_abuse_feed_stale',
        help: '1 while an abuse source is older than abuse.maxAge (default 12h)',
        labelNames: ['source'] as const,
        registers: [],
        collect() {
          this.reset();
          for (const f of sources.abuse().feeds) this.set({ source: f.name }, f.stale ? 1 : 0);
        },
      }),
      new Gauge({
        name: 'roje_abuse_feed_configured',
        help: '1 when the lists in force hold an abuse source (Friendly WiFi requires one), else 0',
        registers: [],
        collect() {
          this.set(sources.abuse().sources > 0 ? 1 : 0);
        },
      }),
      new Gauge({
        name: 'roje_compliance_warnings',
        help: 'Compliance gaps of the profile in force (config `profile`; 0 for every kind under none), by kind',
        labelNames: ['kind'] as const,
        registers: [],
        collect() {
          this.reset();
          if (sources.compliance === undefined) return;
          const counts = countByKind(sources.compliance().warnings);
          for (const kind of COMPLIANCE_KINDS) this.set({ kind }, counts[kind]);
        },
      }),
      new Gauge({
        name: 'roje_selftest_success',
        help: '1 when the last self-test passed every case, 0 when a case failed (absent before the first run)',
        registers: [],
        collect() {
          this.reset();
          const last = sources.selfTest();
          if (last !== null) this.set(last.ok ? 1 : 0);
        },
      }),
      new Gauge({
        name: 'roje_selftest_last_run_timestamp_seconds',
        help: 'When the last self-test ran (Unix seconds)',
        registers: [],
        collect() {
          this.reset();
          const last = sources.selfTest();
          if (last !== null) this.set(Date.parse(last.at) / 1000);
        },
      }),
      new Gauge({
        name: 'roje_selftest_cases',
        help: 'Cases of the last self-test, by result',
        labelNames: ['result'] as const,
        registers: [],
        collect() {
          this.reset();
          const last = sources.selfTest();
          if (last === null) return;
          this.set({ result: 'pass' }, last.passed);
          this.set({ result: 'fail' }, last.failed);
        },
      }),
      new Gauge({
        name: 'roje_selftest_failed_cases',
        help: `Failed cases of the last self-test, by venue whose clients it asked as ("${SELFTEST_NO_VENUE}": clients of no venue)`,
        labelNames: ['venue'] as const,
        registers: [],
        collect() {
          this.reset();
          for (const v of sources.selfTest()?.venues ?? []) {
            this.set({ venue: v.venue ?? SELFTEST_NO_VENUE }, v.failed);
          }
        },
      }),
      new Gauge({
        name: 'roje_list_refresh_success',
        help: '1 when the last refresh of a list source succeeded (or had nothing new), 0 when it failed or is held',
        labelNames: ['source'] as const,
        registers: [],
        collect() {
          this.reset();
          for (const r of sources.listRefreshes()) this.set({ source: r.name }, r.ok ? 1 : 0);
        },
      }),
      new Gauge({
        name: 'roje_list_refresh_timestamp_seconds',
        help: 'Unix time of the last refresh attempt of a list source',
        labelNames: ['source'] as const,
        registers: [],
        collect() {
          this.reset();
          for (const r of sources.listRefreshes())
            if (r.at !== null) this.set({ source: r.name }, r.at / 1000);
        },
      }),
      new Counter({
        name: 'roje_list_compile_sources_total',
        help: 'Sources read by list compiles: parsed, or cached (unchanged bytes, taken from the parse cache)',
        labelNames: ['result'] as const,
        registers: [],
        collect() {
          this.reset();
          const counts = sources.listParses?.();
          if (counts === undefined) return;
          this.inc({ result: 'parsed' }, counts.parsed);
          this.inc({ result: 'cached' }, counts.cached);
        },
      }),
      new Counter({
        name: 'roje_fleet_pulls_total',
        help: 'Fleet edge pulls of the signed artifact by result: updated, unchanged (304 or same bytes), refused (unsigned, untrusted key, changed, unusable), failed (not reached)',
        labelNames: ['result'] as const,
        registers: [],
        collect() {
          this.reset();
          const pulls = sources.fleet?.()?.pulls ?? null;
          if (pulls === null) return;
          for (const result of FLEET_PULL_RESULTS) this.inc({ result }, pulls[result]);
        },
      }),
      new Gauge({
        name: 'roje_fleet_artifact_age_seconds',
        help: 'Seconds since the central last confirmed the fleet artifact in force (absent before the first)',
        registers: [],
        collect() {
          this.reset();
          const age = sources.fleet?.()?.artifactAgeSeconds ?? null;
          if (age !== null) this.set(age);
        },
      }),
      ...storeMetrics(sources),
      new Gauge({
        name: 'roje_serving',
        help: '1 while roje answers normally; 0 while it refuses to serve (SERVFAIL, EDE 14) for want of a good list',
        registers: [],
        collect() {
          this.set(sources.serving() ? 1 : 0);
        },
      }),
    ];
    const workers = options.workers;
    if (workers !== undefined) {
      METRICS.push(
        new Gauge({
          name: 'roje_workers',
          help: 'Query loops: configured, and running now (a dead one is replaced)',
          labelNames: ['state'] as const,
          registers: [],
          collect() {
            const w = workers.status();
            this.set({ state: 'configured' }, w.configured);
            this.set({ state: 'running' }, w.running);
          },
        }),
        new Counter({
          name: 'roje_worker_restarts_total',
          help: 'Query loops that died and were replaced',
          registers: [],
          collect() {
            this.reset();
            this.inc(workers.status().restarts);
          },
        }),
      );
    }
    for (const m of METRICS) registry.registerMetric(m);
    return { registry, upstreamDuration, upstreamErrors, upstreamQueueFull };
  }

  return {
    get registry() {
      return registered().registry;
    },
    prepare: () => void registered(),
    get contentType() {
      return registered().registry.contentType;
    },
    onAnswer(query, answer) {
      const t = query.client.transport === 'tcp' ? 1 : 0;
      const q = QTYPE_INDEX.get(query.qtype) ?? QTYPES - 1;
      const r = answer.rcode < 0 ? RCODES - 1 : (RCODE_INDEX.get(answer.rcode) ?? RCODES - 2);
      const s = SOURCE_INDEX.get(answer.source) ?? 0;
      queries[((t * QTYPES + q) * RCODES + r) * SOURCES.length + s]++;
      durations.record(DURATION_GROUP[s], (performance.now() - query.receivedAt) / 1000);
      const engine = answer.safeSearch;
      if (engine !== undefined && engine >= 0 && engine < safeSearch.length) safeSearch[engine]++;
      const block = answer.block;
      if (block === undefined) return;
      const row = (block.venue + 1) * (MAX_CATEGORIES + 1);
      if (row + MAX_CATEGORIES >= blocked.length) return; // a venue index from before a reload
      let bits = block.categories >>> 0;
      if (bits === 0) blocked[row + MAX_CATEGORIES]++;
      while (bits !== 0) {
        const bit = 31 - Math.clz32(bits);
        blocked[row + bit]++;
        bits &= ~(1 << bit);
      }
    },
    onUpstreamAttempt(upstream, seconds, failure) {
      const { upstreamDuration, upstreamErrors } = registered();
      upstreamDuration.observe({ upstream }, seconds);
      if (failure !== null) upstreamErrors.inc({ upstream, kind: failureKind(failure) });
    },
    onUpstreamQueueFull() {
      registered().upstreamQueueFull.inc();
    },
    setBlockLabels(next) {
      foldBlocked();
      labels = next;
      blocked = new Float64Array((next.venues.length + 1) * (MAX_CATEGORIES + 1));
    },
    render: () => {
      const { workers } = options;
      const { registry } = registered();
      return workers === undefined ? registry.metrics() : renderWithWorkers(registry, workers);
    },
  };
}

/** This registry's control-plane metrics and the workers' data-plane ones, summed (or their aggregator). */
async function renderWithWorkers(
  registry: Registry,
  workers: NonNullable<MetricsOptions['workers']>,
): Promise<string> {
  const own = (await registry.getMetricsAsJSON()).filter((m) => !DATA_PLANE_METRICS.has(m.name));
  const loops = (await workers.metrics()).map((metrics) =>
    metrics.filter((m) => DATA_PLANE_METRICS.has(m.name) || workers.processMetrics),
  );
  return promClient()
    .AggregatorRegistry.aggregate([own as WorkerMetrics, ...loops])
    .metrics();
}

/** ROJE_ERR_UPSTREAM_TIMEOUT -> "timeout"; SERVFAIL / REFUSED as they are. */
function failureKind(code: string): string {
  return code.startsWith('ROJE_ERR_UPSTREAM_') ? code.slice('ROJE_ERR_UPSTREAM_'.length).toLowerCase() : code;
}

/**
 * The statistics store: up (1/0; DNS answers either way), the spool waiting for it, batches dropped
 * from a full spool, and how long batch writes take. One store read per metric per scrape; the write
 * durations are taken (once) by the histogram's collect.
 */
function storeMetrics(sources: MetricsSources): Metric[] {
  const { Counter, Gauge, Histogram } = promClient();
  const gauge = (name: string, help: string, read: (s: StoreMetricsSource) => number) =>
    new Gauge({
      name,
      help,
      registers: [],
      collect() {
        this.reset();
        const s = sources.store?.() ?? null;
        if (s !== null) this.set(read(s));
      },
    });
  return [
    gauge(
      'roje_store_up',
      '1 while the statistics store takes writes; 0 while counts wait in the spool',
      (s) => (s.up ? 1 : 0),
    ),
    gauge(
      'roje_store_spool_batches',
      'Batches of counts waiting in the spool for the store',
      (s) => s.spooledBatches,
    ),
    gauge('roje_store_spool_bytes', 'Bytes of the batches waiting in the spool', (s) => s.spooledBytes),
    new Counter({
      name: 'roje_store_dropped_batches_total',
      help: 'Batches of counts dropped because the spool was full (store.spool.maxSize) or unreadable',
      registers: [],
      collect() {
        this.reset();
        const s = sources.store?.() ?? null;
        if (s !== null) this.inc(s.dropped);
      },
    }),
    new Histogram({
      name: 'roje_store_write_seconds',
      help: 'Duration of each batch write to the statistics store (one transaction)',
      buckets: STORE_WRITE_BUCKETS,
      registers: [],
      collect() {
        for (const seconds of sources.store?.()?.takeWriteSeconds() ?? []) this.observe(seconds);
      },
    }),
  ];
}
