/**
 * Inputs of the store benchmark, written into its temp directory: synthetic names (no shared data needed),
 * one list file per category, the dnsperf query files, the venues of the 100-venue city, and roje's config
 * for either store. Both stores get the same config but for the `store` section, so a difference in the
 * figures is the store's.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';

/** Categories of the synthetic lists: each venue's blocked counts spread over all of them. */
export const CATEGORIES = ['adult', 'gambling', 'malware', 'doh-bypass'] as const;
/** Listed names per category. */
const LISTED_PER_CATEGORY = 1000;
/** Names answered by the upstream (cached by roje after the first query). */
const HIT_NAMES = 1000;

export interface Workload {
  /** One list file per category (format domains). */
  lists: Array<{ category: string; path: string }>;
  /** dnsperf files: names the upstream answers, and names of the lists. */
  hitsFile: string;
  blockedFile: string;
  hitNames: string[];
  /** Per category, the names listed in it. */
  blockedNames: Map<string, string[]>;
}

export const hitName = (i: number): string => `h${i}.hits.store-bench.example`;
export const blockedName = (category: string, i: number): string => `b${i}.${category}.store-bench.example`;

export async function writeWorkload(dir: string): Promise<Workload> {
  const lists: Workload['lists'] = [];
  const blockedNames = new Map<string, string[]>();
  for (const category of CATEGORIES) {
    const names = Array.from({ length: LISTED_PER_CATEGORY }, (_, i) => blockedName(category, i));
    const file = path.join(dir, `${category}.txt`);
    await writeFile(file, `${names.join('\n')}\n`);
    lists.push({ category, path: file });
    blockedNames.set(category, names);
  }
  const hitNames = Array.from({ length: HIT_NAMES }, (_, i) => hitName(i));
  const hitsFile = path.join(dir, 'hits.txt');
  await writeFile(hitsFile, hitNames.map((n) => `${n} A\n`).join(''));
  // Every category in turn, so each flush carries every category's counts.
  const blocked: string[] = [];
  for (let i = 0; i < LISTED_PER_CATEGORY; i++) for (const c of CATEGORIES) blocked.push(blockedName(c, i));
  const blockedFile = path.join(dir, 'blocked.txt');
  await writeFile(blockedFile, blocked.map((n) => `${n} A\n`).join(''));
  return { lists, hitsFile, blockedFile, hitNames, blockedNames };
}

/** The source address of venue `i` (0-based): one /32 each on 127.0.1.0/24, all loopback. */
export function venueAddress(i: number): string {
  if (!Number.isInteger(i) || i < 0 || i > 253) throw new Error(`venue index ${i} is outside 0..253`);
  return `127.0.1.${i + 1}`;
}

export interface ConfigOptions {
  stateDir: string;
  lists: Workload['lists'];
  flushIntervalSeconds: number;
  /** Number of venues (each venueAddress(i)/32); 0: none, every client is of no venue. */
  venues: number;
  /** null: the embedded SQLite store (stats.path under stateDir); else the PostgreSQL URL. */
  storeUrl: string | null;
  /** Names this instance in shared rows. */
  instance: string;
}

/**
 * roje's config for one run. Per-query logging off and response rate limiting off (one loopback client at
 * full speed is what it exists to stop), no scheduled self-test (its queries would be counted too), one
 * query loop (the benchmark pins roje to one core), `profile: none` (no Friendly WiFi warnings).
 */
export function rojeConfig(options: ConfigOptions): string {
  const config: Record<string, unknown> = {
    log: { level: 'warn' },
    rateLimit: { enabled: false },
    profile: 'none',
    workers: 1,
    selfTest: { enabled: false },
    // Two roje run at once (one per store): neither may take the default admin port.
    admin: { listen: null },
    stateDir: options.stateDir,
    lists: options.lists.map((l) => ({ category: l.category, path: l.path, format: 'domains' })),
    stats: { flushInterval: `${options.flushIntervalSeconds}s` },
    venues: Array.from({ length: options.venues }, (_, i) => ({
      name: `venue-${String(i + 1).padStart(3, '0')}`,
      networks: [`${venueAddress(i)}/32`],
      policy: 'default',
    })),
  };
  // Only the PostgreSQL half names the section: the SQLite half runs on a tree without it too.
  if (options.storeUrl !== null) config['store'] = { url: options.storeUrl, instance: options.instance };
  return stringify(config);
}
