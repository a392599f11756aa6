import { formatListenAddress } from '../net/address.js';
import { CONFIDENTIAL_CATEGORIES } from '../policy/types.js';
import { redactUpstreamUrl } from '../upstream/url.js';
import { redactUrl } from './redact.js';
import type { RojeConfig } from './schema.js';
import { formatBytes, formatDuration } from './units.js';

/**
 * A few lines summing up what a config will do, for `roje check-config` and the startup log:
 * the things an operator gets wrong (where it listens, where it forwards, who it serves, memory).
 */
export function describeConfig(cfg: RojeConfig): string[] {
  const s = (seconds: number) => formatDuration(seconds * 1000);
  const from = {
    config: 'from the config file',
    flags: 'from --upstream',
    'resolv.conf': `from ${cfg.resolvConf}`,
  };
  const stale = cfg.cache.serveStale;
  return [
    `source     ${cfg.source ?? 'embedded default'}`,
    `listen     ${cfg.listen.map(formatListenAddress).join(', ')} (UDP and TCP)`,
    `workers    ${cfg.workers.count === 1 ? '1 query loop (the main thread)' : `${cfg.workers.count} query loops (${cfg.workers.mode === 'threads' ? 'threads, one shared copy of the lists' : 'processes, a copy of the lists each'})`}`,
    `upstreams  ${cfg.upstreams
      .map(
        (u) =>
          `${redactUpstreamUrl(u.url)}${u.timeoutMs !== cfg.upstream.timeoutMs ? ` (timeout ${formatDuration(u.timeoutMs)})` : ''}${u.ca !== undefined ? ' (own CA)' : ''}`,
      )
      .join(', ')} ${from[cfg.upstreamsFrom]}, timeout ${formatDuration(cfg.upstream.timeoutMs)}`,
    `acl        serving ${cfg.acl.allow.join(', ')}`,
    `cache      ${cfg.cache.maxEntries} entries, ${formatBytes(cfg.cache.maxBytes)}, TTL ${s(cfg.cache.minTtl)}..${s(cfg.cache.maxTtl)}, negative up to ${s(cfg.cache.negativeMaxTtl)}, serve-stale ${stale.enabled ? `up to ${s(stale.maxStale)} past expiry (TTL ${s(stale.answerTtl)})` : 'off'}`,
    `lists      ${describeLists(cfg)}`,
    `policies   ${Object.entries(cfg.policies)
      .map(
        ([name, p]) =>
          `${name}: block ${p.block === 'all' ? 'all' : p.block.length === 0 ? 'nothing' : p.block.join(', ')} (${p.blockMode})${p.allow.length > 0 ? `, ${p.allow.length} allowed` : ''}${p.deny.length > 0 ? `, ${p.deny.length} denied` : ''}`,
      )
      .join(
        '; ',
      )}; blocked answers TTL ${s(cfg.blockTtl)}${cfg.blockPage.ipv4 !== null || cfg.blockPage.ipv6 !== null ? `, block page ${[cfg.blockPage.ipv4, cfg.blockPage.ipv6].filter((a) => a !== null).join(' ')}` : ''}`,
    `abuse      ${describeAbuse(cfg)}`,
    `venues     ${[...cfg.venues.map((v) => `${v.name} (${v.networks.join(', ')}) -> ${v.policy}`), 'other clients -> default'].join('; ')}`,
    `log        ${cfg.log.level}${cfg.log.queries ? ', per-query logs ON' : ''}`,
    `admin      ${cfg.admin.listen === null ? 'off' : `${formatListenAddress(cfg.admin.listen)}, ${cfg.admin.tokens.length} token${cfg.admin.tokens.length === 1 ? '' : 's'}`}${cfg.metrics.listen !== null ? `; metrics also on ${formatListenAddress(cfg.metrics.listen)}` : ''}`,
    `state      ${cfg.stateDir ?? 'memory only'}; statistics ${cfg.stats.enabled ? `${cfg.store.url === null ? cfg.stats.path : 'in the shared store'}, kept ${cfg.stats.retentionDays} days; reports in ${cfg.timeZone}` : 'off'}`,
    `store      ${describeStore(cfg)}`,
    `blockpage  ${cfg.blockPage.listen.length === 0 ? 'off' : cfg.blockPage.listen.map(formatListenAddress).join(', ')}${cfg.blockPage.refuseTls.length > 0 ? `; TLS refused on ${cfg.blockPage.refuseTls.map(formatListenAddress).join(', ')}` : ''}`,
  ];
}

/** The store line: the shared PostgreSQL (never its password) or the embedded SQLite. */
function describeStore(cfg: RojeConfig): string {
  const st = cfg.store;
  if (st.url === null) return 'embedded SQLite (one box); overrides in stateDir';
  const spool = st.spool.path ?? (cfg.stateDir === null ? 'memory' : 'stateDir/store-spool');
  return `shared PostgreSQL ${redactUrl(st.url)} as instance ${st.instance}; spool ${spool} up to ${formatBytes(st.spool.maxBytes)}; overrides re-read every ${formatDuration(st.pollIntervalMs)} at most`;
}

/** The abuse feed line: mandatory, so its absence is said plainly. */
function describeAbuse(cfg: RojeConfig): string {
  const sources = cfg.lists.filter((l) => CONFIDENTIAL_CATEGORIES.has(l.category)).map((l) => l.name);
  const a = cfg.abuse;
  const how = `key ${a.keyFile ?? 'for this process only'}, page entries ${a.pageEntries === 'count' ? 'counted (not enforced)' : 'block their host'}, stale after ${formatDuration(a.maxAgeMs)}`;
  if (sources.length > 0) return `${sources.join(', ')}; ${how}`;
  return cfg.compiled !== null || cfg.fleet.pull !== null
    ? `from the compiled artifact; ${how}`
    : 'NO ABUSE FEED (Friendly WiFi requires one)';
}

function describeLists(cfg: RojeConfig): string {
  if (cfg.fleet.pull !== null)
    return `pulled from the fleet: ${redactUrl(cfg.fleet.pull.url)} (signed, checked every ${formatDuration(cfg.fleet.pull.intervalMs)})`;
  if (cfg.compiled !== null) return `the compiled artifact ${cfg.compiled}`;
  if (cfg.lists.length === 0) return 'none: NOT FILTERING';
  const from = { config: 'from the config file', flags: 'from --list', samples: 'the bundled demo samples' };
  const categories = [...new Set(cfg.lists.map((l) => l.category))];
  return `${cfg.lists.length} source${cfg.lists.length === 1 ? '' : 's'} in ${categories.length} categor${categories.length === 1 ? 'y' : 'ies'} (${categories.join(', ')}) ${from[cfg.listsFrom]}: ${cfg.lists.map((l) => `${l.name} ${l.path}`).join(', ')}`;
}
