import { formatListenAddress } from '../net/address.js';
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
    `upstreams  ${cfg.upstreams
      .map(
        (u) =>
          `${u.url}${u.timeoutMs !== cfg.upstream.timeoutMs ? ` (timeout ${formatDuration(u.timeoutMs)})` : ''}${u.ca !== undefined ? ' (own CA)' : ''}`,
      )
      .join(', ')} ${from[cfg.upstreamsFrom]}, timeout ${formatDuration(cfg.upstream.timeoutMs)}`,
    `acl        serving ${cfg.acl.allow.join(', ')}`,
    `cache      ${cfg.cache.maxEntries} entries, ${formatBytes(cfg.cache.maxBytes)}, TTL ${s(cfg.cache.minTtl)}..${s(cfg.cache.maxTtl)}, negative up to ${s(cfg.cache.negativeMaxTtl)}, serve-stale ${stale.enabled ? `up to ${s(stale.maxStale)} past expiry (TTL ${s(stale.answerTtl)})` : 'off'}`,
    `log        ${cfg.log.level}${cfg.log.queries ? ', per-query logs ON' : ''}`,
  ];
}
