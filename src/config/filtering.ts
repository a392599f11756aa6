import { basename, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCidr } from '../net/cidr.js';
import { normalizeListName } from '../policy/name.js';
import type { ListFormat, ListSource } from '../policy/types.js';
import { invalidFlag, invalidKey, invalidValue } from './config-error.js';
import { CATEGORY_PATTERN, EXPECTED, type PolicyConfig, type RawConfig, type VenueConfig } from './schema.js';

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

export function configLists(file: string | null, entries: NonNullable<RawConfig['lists']>, baseDir: string) {
  const taken = new Set<string>();
  return entries.map((entry, i): ListSource => {
    const path = resolve(baseDir, entry.path);
    const name = uniqueName(taken, entry.name, entry.category, path);
    if (name === null) {
      throw invalidKey(
        file,
        `lists[${i}]${entry.name !== undefined ? '.name' : ''}`,
        `the source name "${entry.name ?? defaultSourceName(path)}" is already used by another list: give each list a unique \`name\``,
        'a unique source name',
      );
    }
    const source: ListSource = { name, category: entry.category, path };
    if (entry.format !== undefined) source.format = entry.format as ListFormat | 'auto';
    return source;
  });
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
    entries.unshift(['default', { block: 'all', blockMode: 'nxdomain', allow: [], deny: [] }]);
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
    };
  }
  return out;
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
