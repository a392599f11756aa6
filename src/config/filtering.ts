import { basename, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FEED_DEFAULTS, FEED_NAME_RE, type FeedListSource, type FeedTls, redactUrl } from '../feeds/types.js';
import { parseCidr } from '../net/cidr.js';
import { normalizeListName } from '../policy/name.js';
import { CONFIDENTIAL_CATEGORIES, type ListFormat, type ListSource } from '../policy/types.js';
import { invalidFlag, invalidKey, invalidValue } from './config-error.js';
import { CATEGORY_PATTERN, EXPECTED, type PolicyConfig, type RawConfig, type VenueConfig } from './schema.js';
import { formatDuration, MAX_DURATION_MS, parseByteSize, parseDuration } from './units.js';

/**
 * The filtering part of the config: list sources (from the file, from --list, or the bundled samples),
 * policies and venues, normalized and checked for what the schema cannot see (unique names, a venue's
 * policy exists, a network belongs to one venue, blockpage has an address).
 */

/**
 * The bundled demo lists (blocklists/samples), used when the config says nothing about lists. Resolved
 * from this module's own location: src/config/ and dist/config/ sit at the same depth under the package
 * root, so it works from a checkout, from dist/ and from the Docker image alike.
 */
export const SAMPLES_DIR = fileURLToPath(new URL('../../blocklists/samples/', import.meta.url));

export const SAMPLE_LISTS: readonly ListSource[] = [
  { name: 'sample-adult', category: 'adult', path: resolve(SAMPLES_DIR, 'adult.hosts'), format: 'hosts' },
  {
    name: 'sample-gambling',
    category: 'gambling',
    path: resolve(SAMPLES_DIR, 'gambling.adblock.txt'),
    format: 'adblock',
  },
  {
    name: 'sample-doh-bypass',
    category: 'doh-bypass',
    path: resolve(SAMPLES_DIR, 'doh-bypass.rpz'),
    format: 'rpz',
  },
  // Synthetic canary names (*.abuse.roje.test), so the demo shows the mandatory abuse category at work.
  { name: 'sample-abuse', category: 'abuse', path: resolve(SAMPLES_DIR, 'abuse-test.txt'), format: 'abuse' },
];

/** "nsfw.txt" -> "nsfw", "gambling.rpz.gz" -> "gambling": the default name of a source. */
export function defaultSourceName(path: string): string {
  let base = basename(path).replace(/\.(gz|xz)$/i, '');
  const dot = base.lastIndexOf('.');
  if (dot > 0) base = base.slice(0, dot);
  return base;
}

/**
 * Source names must be unique (the artifact and `roje compile` report by name). A defaulted name that
 * collides takes its category as a prefix ("gambling-domains" for UT1 folders, whose files are all
 * called "domains"); an explicit name that collides is an error.
 */
function uniqueName(
  taken: Set<string>,
  explicit: string | undefined,
  category: string,
  path: string,
): string | null {
  const candidates =
    explicit !== undefined ? [explicit] : [defaultSourceName(path), `${category}-${defaultSourceName(path)}`];
  const name = candidates.find((c) => c !== '' && !taken.has(c));
  if (name === undefined) return null;
  taken.add(name);
  return name;
}

const CATEGORY_RE = new RegExp(CATEGORY_PATTERN);

/**
 * One `lists` entry as the file has it (after schema checks). `path` or `url`, never both; the feed
 * keys (refresh, bearerTokenFile, maxBytes, maxShrink, timeout) only with `url`.
 */
export interface RawListEntry {
  category: string;
  path?: string;
  url?: string;
  name?: string;
  format?: string;
  refresh?: string | number;
  bearerTokenFile?: string;
  clientCertFile?: string;
  clientKeyFile?: string;
  caFile?: string;
  maxBytes?: string | number;
  maxShrink?: number;
  timeout?: string | number;
}

export const FEED_EXPECTED = {
  url: 'an http:// or https:// URL such as "https://lists.example/nsfw.txt"',
  source: 'either `path` (a file) or `url` (an http:// or https:// URL)',
  refresh: `a duration of at least "${formatDuration(FEED_DEFAULTS.minRefreshMs)}", such as "6h"`,
  timeout: 'a duration from "1s" to "10m", such as "30s"',
  maxBytes: 'a size from "1KiB" to "4GiB", such as "64MiB"',
  maxShrink: 'a fraction from 0 to 1, such as 0.5',
} as const;

const FEED_KEYS = [
  'refresh',
  'bearerTokenFile',
  'clientCertFile',
  'clientKeyFile',
  'caFile',
  'maxBytes',
  'maxShrink',
  'timeout',
] as const;

export function configLists(file: string | null, entries: readonly RawListEntry[], baseDir: string) {
  const taken = new Set<string>();
  return entries.map((entry, i): ListSource | FeedListSource => {
    const key = `lists[${i}]`;
    const hasPath = entry.path !== undefined;
    const hasUrl = entry.url !== undefined;
    if (hasPath === hasUrl) {
      throw invalidKey(
        file,
        `${key}.${hasPath ? 'url' : 'path'}`,
        hasPath
          ? 'give `path` or `url`, not both: a list comes from a file or from a URL'
          : 'is required: give `path` (a file) or `url` (an http:// or https:// URL)',
        FEED_EXPECTED.source,
      );
    }
    if (hasPath) {
      const extra = FEED_KEYS.find((k) => entry[k] !== undefined);
      if (extra !== undefined) {
        throw invalidKey(
          file,
          `${key}.${extra}`,
          `\`${extra}\` applies to a list fetched from a \`url\`, not to a file (\`path\`)`,
          FEED_EXPECTED.source,
        );
      }
    }
    // The abuse category has its own format (hashed as it is read), and no other category may use it.
    const confidential = CONFIDENTIAL_CATEGORIES.has(entry.category);
    if (
      entry.format !== undefined &&
      entry.format !== 'auto' &&
      (entry.format === 'abuse') !== confidential
    ) {
      throw invalidKey(
        file,
        `${key}.format`,
        confidential
          ? `the category "${entry.category}" is read as the abuse feed format (domains, URLs or roje hashes), not ${entry.format}`
          : `the abuse format is only for the category "abuse", not "${entry.category}"`,
        confidential ? 'auto or abuse (or leave it out)' : EXPECTED.listFormat,
      );
    }
    const url = hasUrl ? feedUrl(file, `${key}.url`, entry.url as string) : null;
    const path = url === null ? resolve(baseDir, entry.path as string) : new URL(url).pathname;
    const name = uniqueName(taken, entry.name, entry.category, url === null ? path : urlBaseName(url));
    if (name === null) {
      throw invalidKey(
        file,
        `${key}${entry.name !== undefined ? '.name' : ''}`,
        `the source name "${entry.name ?? defaultSourceName(path)}" is already used by another list: give each list a unique \`name\``,
        'a unique source name',
      );
    }
    if (url !== null && !FEED_NAME_RE.test(name)) {
      // The name is a file name under stateDir: a defaulted one from an odd URL may not be usable.
      throw invalidKey(
        file,
        `${key}${entry.name !== undefined ? '.name' : ''}`,
        `the source name "${name}" cannot name its downloaded copy: give the list a \`name\` of letters, digits, ".", "-" and "_"`,
        'a source name of letters, digits, "-" and "_"',
      );
    }
    if (url === null) {
      const source: ListSource = { name, category: entry.category, path };
      if (entry.format !== undefined) source.format = entry.format as ListFormat | 'auto';
      return source;
    }
    const feed: FeedListSource = {
      name,
      category: entry.category,
      // Until the lists loader substitutes the downloaded copy, messages that name the path name the URL.
      path: redactUrl(url),
      feed: {
        url,
        refreshMs: feedDuration(
          file,
          `${key}.refresh`,
          entry.refresh,
          CONFIDENTIAL_CATEGORIES.has(entry.category)
            ? FEED_DEFAULTS.abuseRefreshMs
            : FEED_DEFAULTS.refreshMs,
          FEED_DEFAULTS.minRefreshMs,
          MAX_DURATION_MS,
          FEED_EXPECTED.refresh,
        ),
        bearerTokenFile: entry.bearerTokenFile === undefined ? null : resolve(baseDir, entry.bearerTokenFile),
        tls: feedTls(file, key, entry, baseDir),
        maxBytes: feedMaxBytes(file, `${key}.maxBytes`, entry.maxBytes),
        maxShrink: feedShrink(file, `${key}.maxShrink`, entry.maxShrink),
        timeoutMs: feedDuration(
          file,
          `${key}.timeout`,
          entry.timeout,
          FEED_DEFAULTS.timeoutMs,
          1000,
          600_000,
          FEED_EXPECTED.timeout,
        ),
      },
    };
    if (entry.format !== undefined) feed.format = entry.format as ListFormat | 'auto';
    return feed;
  });
}

/** Client certificate authentication (and a private CA), for feeds such as the IWF list. */
function feedTls(file: string | null, key: string, entry: RawListEntry, baseDir: string): FeedTls | null {
  const { clientCertFile: cert, clientKeyFile: pem, caFile: ca } = entry;
  if ((cert === undefined) !== (pem === undefined)) {
    throw invalidKey(
      file,
      `${key}.${cert === undefined ? 'clientCertFile' : 'clientKeyFile'}`,
      'is required with the other: a client certificate needs its key (clientCertFile and clientKeyFile)',
      'a file path',
    );
  }
  if (cert === undefined && ca === undefined) return null;
  return {
    certFile: cert === undefined ? null : resolve(baseDir, cert),
    keyFile: pem === undefined ? null : resolve(baseDir, pem),
    caFile: ca === undefined ? null : resolve(baseDir, ca),
  };
}

/** An http:// or https:// URL without credentials (feeds, fleet pulls), normalized; ConfigError naming `key`. */
export function feedUrl(file: string | null, key: string, text: string): string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw invalidValue(file, key, FEED_EXPECTED.url, text, 'not a URL');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    throw invalidValue(
      file,
      key,
      FEED_EXPECTED.url,
      redactUrl(text),
      `the scheme is ${u.protocol.slice(0, -1)}`,
    );
  }
  if (u.username !== '' || u.password !== '') {
    throw invalidValue(
      file,
      key,
      FEED_EXPECTED.url,
      redactUrl(text),
      'credentials in the URL end up in logs and process lists: put a token in a file and name it with `bearerTokenFile`',
    );
  }
  return u.toString();
}

/** The last non-empty path segment of a URL ("https://h/lists/nsfw.txt" -> "/lists/nsfw.txt"), else its host. */
function urlBaseName(url: string): string {
  const u = new URL(url);
  const segments = u.pathname.split('/').filter((p) => p !== '');
  const last = segments.at(-1);
  return last === undefined ? u.hostname : decodeURIComponent(last).replace(/[/\\]/g, '_');
}

function feedDuration(
  file: string | null,
  key: string,
  value: string | number | undefined,
  fallback: number,
  min: number,
  max: number,
  expected: string,
): number {
  if (value === undefined) return fallback;
  const ms = parseDuration(value);
  if (ms === null || ms < min || ms > max) throw invalidValue(file, key, expected, value);
  return ms;
}

function feedMaxBytes(file: string | null, key: string, value: string | number | undefined): number {
  if (value === undefined) return FEED_DEFAULTS.maxBytes;
  const bytes = parseByteSize(value);
  if (bytes === null || bytes < 1024 || bytes > 4 * 1024 ** 3) {
    throw invalidValue(file, key, FEED_EXPECTED.maxBytes, value);
  }
  return bytes;
}

function feedShrink(file: string | null, key: string, value: number | undefined): number {
  if (value === undefined) return FEED_DEFAULTS.maxShrink;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw invalidValue(file, key, FEED_EXPECTED.maxShrink, value);
  }
  return value;
}

/** `--list adult=/path/nsfw.txt` values -> sources (format detected from the content). */
export function parseListFlags(values: readonly string[]): ListSource[] {
  const expected = 'CATEGORY=PATH, e.g. adult=/var/lib/roje/nsfw.txt';
  const taken = new Set<string>();
  const seen = new Set<string>();
  return values.map((text) => {
    const eq = text.indexOf('=');
    if (eq === -1) throw invalidFlag('--list', text, expected);
    const category = text.slice(0, eq);
    const path = text.slice(eq + 1);
    if (!CATEGORY_RE.test(category)) {
      throw invalidFlag('--list', text, expected, `the category "${category}" is not ${EXPECTED.category}`);
    }
    if (path === '') throw invalidFlag('--list', text, expected, 'the path is empty');
    const abs = resolve(path);
    if (seen.has(`${category}=${abs}`))
      throw invalidFlag('--list', text, expected, `"${text}" is given twice`);
    seen.add(`${category}=${abs}`);
    const name = uniqueName(taken, undefined, category, abs);
    if (name === null) {
      throw invalidFlag('--list', text, expected, `no unique source name for "${path}": rename the file`);
    }
    return { name, category, path: abs };
  });
}

export function normalizePolicies(
  file: string | null,
  raw: RawConfig['policies'],
  blockPage: RawConfig['blockPage'],
): Record<string, PolicyConfig> {
  const out: Record<string, PolicyConfig> = {};
  // Unknown clients get "default": when the file defines other policies only, the default one still
  // exists and blocks every category (failing closed).
  const entries = Object.entries(raw);
  if (raw.default === undefined) {
    entries.unshift([
      'default',
      { block: 'all', blockMode: 'nxdomain', allow: [], deny: [], safeSearch: true },
    ]);
  }
  for (const [name, p] of entries) {
    const key = `policies.${name}`;
    if (p.blockMode === 'blockpage' && blockPage.ipv4 === null && blockPage.ipv6 === null) {
      throw invalidKey(
        file,
        `${key}.blockMode`,
        'blockMode "blockpage" needs the block page address: set blockPage.ipv4 or blockPage.ipv6',
        EXPECTED.blockMode,
      );
    }
    let block: PolicyConfig['block'] = 'all';
    if (p.block !== 'all') {
      const seen = new Set<string>();
      block = [];
      for (const category of p.block) {
        if (!seen.has(category)) block.push(category);
        seen.add(category);
      }
    }
    out[name] = {
      block,
      blockMode: p.blockMode,
      allow: domainList(file, `${key}.allow`, p.allow),
      deny: domainList(file, `${key}.deny`, p.deny),
      safeSearch: safeSearchOf(p.safeSearch),
    };
  }
  return out;
}

/**
 * `true` (the default): every engine, YouTube moderate; `false`: none; a mapping: the engines it
 * names as it says, the others as under `true`. The schema has already checked the values.
 */
function safeSearchOf(raw: RawConfig['policies'][string]['safeSearch']): PolicyConfig['safeSearch'] {
  const on: PolicyConfig['safeSearch'] = { google: true, bing: true, duckduckgo: true, youtube: 'moderate' };
  if (raw === true || raw === undefined) return on;
  if (raw === false) return { google: false, bing: false, duckduckgo: false, youtube: 'off' };
  return {
    google: raw.google ?? on.google,
    bing: raw.bing ?? on.bing,
    duckduckgo: raw.duckduckgo ?? on.duckduckgo,
    youtube: raw.youtube ?? on.youtube,
  };
}

function domainList(file: string | null, key: string, names: readonly string[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  names.forEach((text, i) => {
    const n = normalizeListName(text.trim());
    if (n.name === undefined) {
      throw invalidValue(file, `${key}[${i}]`, EXPECTED.domain, text, `${n.reason.replace(/-/g, ' ')}`);
    }
    if (!seen.has(n.name)) out.push(n.name);
    seen.add(n.name);
  });
  return out;
}

export function normalizeVenues(
  file: string | null,
  raw: RawConfig['venues'],
  policies: Record<string, PolicyConfig>,
): VenueConfig[] {
  const names = new Set<string>();
  const networks = new Map<string, string>();
  return raw.map((v, i) => {
    if (names.has(v.name)) {
      throw invalidKey(
        file,
        `venues[${i}].name`,
        `the venue name "${v.name}" is used twice`,
        'a unique name',
      );
    }
    names.add(v.name);
    if (!Object.hasOwn(policies, v.policy)) {
      throw invalidKey(
        file,
        `venues[${i}].policy`,
        `no policy "${v.policy}" (policies: ${Object.keys(policies).join(', ')})`,
        'the name of a policy under `policies`',
      );
    }
    const canonical = v.networks.map((text, j) => {
      const net = parseCidr(text).text;
      const owner = networks.get(net);
      if (owner !== undefined) {
        throw invalidKey(
          file,
          `venues[${i}].networks[${j}]`,
          `${net} is already a network of venue "${owner}": a client network belongs to one venue (a longer prefix inside it may go to another)`,
          'a network no other venue lists',
        );
      }
      networks.set(net, v.name);
      return net;
    });
    return { name: v.name, networks: canonical, policy: v.policy };
  });
}
