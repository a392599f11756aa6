import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { assertCategoriesProvided } from './policy-categories.js';
import type { RawConfig, RojeConfig } from './schema.js';
import { normalizeAbuse } from './sections/abuse.js';
import { normalizeAcl } from './sections/acl.js';
import { normalizeAdmin, normalizeMetrics } from './sections/admin.js';
import { normalizeBlockPage } from './sections/block-page.js';
import { normalizeBypass } from './sections/bypass.js';
import { normalizeCache } from './sections/cache.js';
import { normalizeCategoryNames } from './sections/category-names.js';
import type { SectionContext } from './sections/common.js';
import { normalizeFleetSection } from './sections/fleet.js';
import { normalizeListen } from './sections/listen.js';
import { normalizeLists } from './sections/lists.js';
import { normalizeLog, normalizeShutdown, normalizeStateDir } from './sections/operations.js';
import { normalizeBlockTtl, normalizePolicies } from './sections/policies.js';
import { normalizeProfile } from './sections/profile.js';
import { normalizeRateLimit } from './sections/rate-limit.js';
import { normalizeChaos, normalizeSelfTest } from './sections/self-test.js';
import { normalizeStats } from './sections/stats.js';
import { normalizeStore } from './sections/store.js';
import { normalizeTimeZone } from './sections/time-zone.js';
import { normalizeEdns, normalizeTcp, normalizeUdp } from './sections/transport.js';
import { normalizeUpstreams } from './sections/upstreams.js';
import { normalizeVenues } from './sections/venues.js';
import { normalizeWorkers } from './sections/workers.js';

export { systemReason } from './config-error.js';

/** Command-line values that replace the file's lists. Empty arrays count as not given. */
export interface ConfigFlags {
  listen?: string[];
  upstreams?: string[];
  /** `--list CATEGORY=PATH` values (paths relative to the working directory); replace `lists`. */
  lists?: string[];
  /** `--compiled FILE`: replaces `compiled` (and wins over `lists`). */
  compiled?: string;
  /** `--admin HOST:PORT`: replaces `admin.listen`. */
  admin?: string;
  /** `--blockpage HOST:PORT` values: replace `blockPage.listen`. */
  blockpage?: string[];
}

export interface NormalizeDeps {
  readFile?: (path: string) => Promise<string>;
  /** Addresses of this host's interfaces, to spot a forwarding loop through a wildcard listener. */
  localAddresses?: () => string[];
  /**
   * For commands that never forward (roje compile): leave `upstreams` empty when none are configured
   * instead of reading resolv.conf, which may fail for reasons that do not concern them.
   */
  skipResolvConf?: boolean;
}

/**
 * Turns a schema-checked config into the form the app consumes: milliseconds, seconds for TTLs,
 * bytes, parsed addresses, upstreams with their CA contents, and upstreams from resolv.conf when
 * none are configured. `file` is the config file (relative paths in it are relative to its folder)
 * or null. Throws ConfigError.
 *
 * Each section normalizes itself (sections/*.ts). They run in this order, which is also the order a
 * config with several problems has them reported in: listen before upstreams (a resolv.conf
 * nameserver that is one of our own listen addresses would loop), lists and fleet together (an edge
 * takes its lists from the pulled artifact only), policies before venues and abuse (which check them),
 * and last each category a policy blocks against the lists' (policy-categories.ts).
 */
export async function normalizeConfig(
  raw: RawConfig,
  file: string | null,
  flags: ConfigFlags = {},
  deps: NormalizeDeps = {},
): Promise<RojeConfig> {
  const ctx: SectionContext = {
    file,
    baseDir: file === null ? process.cwd() : dirname(file),
    read: deps.readFile ?? ((path: string) => readFile(path, 'utf8')),
  };
  const listen = normalizeListen(ctx, raw.listen, flags.listen);
  const upstreams = await normalizeUpstreams(ctx, raw, flags.upstreams, listen, deps);
  const cache = normalizeCache(ctx, raw.cache);
  const lists = normalizeLists(ctx, raw, flags);
  const fleet = normalizeFleetSection(ctx, raw, lists.compiled, flags);
  const policies = normalizePolicies(ctx, raw.policies, raw.blockPage);
  const config: RojeConfig = {
    source: file,
    listen,
    ...upstreams,
    workers: normalizeWorkers(ctx, raw.workers, raw.workerMode),
    acl: normalizeAcl(raw.acl),
    rateLimit: normalizeRateLimit(raw.rateLimit),
    cache,
    edns: normalizeEdns(raw.edns),
    udp: normalizeUdp(raw.udp),
    tcp: normalizeTcp(ctx, raw.tcp),
    log: normalizeLog(raw.log),
    shutdown: normalizeShutdown(ctx, raw.shutdown),
    ...lists,
    fleet,
    blockTtl: normalizeBlockTtl(ctx, raw.blockTtl),
    blockPage: normalizeBlockPage(ctx, raw.blockPage, flags.blockpage),
    policies,
    venues: normalizeVenues(ctx, raw.venues, policies),
    bypass: normalizeBypass(raw.bypass),
    profile: normalizeProfile(raw.profile),
    abuse: normalizeAbuse(ctx, raw.abuse, raw.policies, raw.stateDir),
    chaos: normalizeChaos(raw.chaos),
    selfTest: normalizeSelfTest(ctx, raw.selfTest, raw.stateDir),
    stateDir: normalizeStateDir(ctx, raw.stateDir),
    admin: await normalizeAdmin(ctx, raw.admin, flags.admin),
    metrics: normalizeMetrics(ctx, raw.metrics),
    stats: normalizeStats(ctx, raw.stats, raw.stateDir),
    store: await normalizeStore(ctx, raw.store, raw.stateDir),
    timeZone: normalizeTimeZone(ctx, raw.timeZone),
    categoryNames: normalizeCategoryNames(raw.categoryNames),
  };
  // Last, so that a policy's own mistakes (abuse left out) are named first. The config's own lists
  // name their categories now; an artifact's or a pull's are checked when read (services/lists.ts).
  if (lists.compiled === null && fleet.pull === null) {
    const categories = [...new Set(lists.lists.map((l) => l.category))];
    assertCategoriesProvided(file, policies, categories, 'the configured lists');
  }
  return config;
}
