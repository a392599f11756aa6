import { readFileSync } from 'node:fs';

/** Node has no getrlimit; 1024 is the usual Linux soft limit when /proc cannot say. */
const FALLBACK_SOFT_LIMIT = 1024;

/** The process's soft limit on open files (RLIMIT_NOFILE), from /proc/self/limits on Linux. */
export function openFilesSoftLimit(
  read: () => string = () => readFileSync('/proc/self/limits', 'utf8'),
): number {
  try {
    const line = read()
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
    if (soft === 'unlimited') return Number.MAX_SAFE_INTEGER;
    const n = Number(soft);
    return Number.isInteger(n) && n > 0 ? n : FALLBACK_SOFT_LIMIT;
  } catch {
    return FALLBACK_SOFT_LIMIT;
  }
}

/**
 * The most connections the block page may hold: what the config asks, but never more than a quarter
 * of the descriptor limit, so that at least three quarters stay for what must not fail: DNS over TCP,
 * upstream sockets, lists, the statistics store and logs. A full block page refuses visitors; a
 * process out of descriptors answers SERVFAIL to every uncached name.
 */
export function blockPageConnectionCap(configured: number, softLimit: number): number {
  return Math.max(1, Math.min(configured, Math.floor(softLimit / 4)));
}
