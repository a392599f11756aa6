/**
 * `lists` and `compiled`: where the blocklists come from. A source is a file (`path`) or a feed
 * (`url`, src/config/sections/feeds.ts); --list flags replace the file's lists, --compiled an
 * artifact; with neither and no `lists` key, the bundled demo samples.
 */
import { basename, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Static } from '@sinclair/typebox';
import { FEED_NAME_RE, type FeedListSource, isFeedSource, redactUrl } from '../../feeds/types.js';
import { LIST_FORMATS as PARSED_FORMATS } from '../../policy/parsers/index.js';
import { CONFIDENTIAL_CATEGORIES, type ListSource } from '../../policy/types.js';
import { invalidFlag, invalidKey } from '../config-error.js';
import { Type } from '../json-schema.js';
import {
  CATEGORY_PATTERN,
  Category,
  NAME_PATTERN,
  pathOrNull,
  type SectionContext,
  VALUE_EXPECTED,
} from './common.js';
import { FEED_EXPECTED, FEED_KEYS, FeedProperties, feedSettings, feedUrl } from './feeds.js';

/** The formats a source may name: those the parsers read, `auto` (detect) and `abuse`. */
export const LIST_FORMATS = ['auto', ...PARSED_FORMATS, 'abuse'] as const;

export const LIST_EXPECTED = {
  listFormat: `one of ${LIST_FORMATS.join(', ')}`,
  listEntry:
    'a mapping with keys category, path or url, and optionally name, format (with url also refresh, bearerTokenFile, maxBytes, maxShrink, timeout)',
} as const;

const ListEntry = Type.Object(
  {
    category: Category,
    // Exactly one of path and url (checked below, naming the key).
    path: Type.Optional(Type.String({ minLength: 1, 'x-expected': 'a file path' })),
    url: Type.Optional(Type.String({ minLength: 1, 'x-expected': VALUE_EXPECTED.feedUrl })),
    name: Type.Optional(
      Type.String({ pattern: NAME_PATTERN, 'x-expected': 'a source name of letters, digits, "-" and "_"' }),
    ),
    format: Type.Optional(
      Type.Union(
        LIST_FORMATS.map((f) => Type.Literal(f)),
        { 'x-expected': LIST_EXPECTED.listFormat },
      ),
    ),
    ...FeedProperties,
  },
  { additionalProperties: false, 'x-expected': LIST_EXPECTED.listEntry },
);

/** One `lists` entry as the file has it (after schema checks). */
export type RawListEntry = Static<typeof ListEntry>;

export const ListsSchema = Type.Union([Type.Null(), Type.Array(ListEntry)], {
  default: null,
  description: 'list sources, each one category; null: the bundled demo samples; []: no lists',
  'x-expected': 'a list of mappings with keys category, path or url (and name, format), or null',
});

export const CompiledSchema = pathOrNull(
  'a precompiled artifact (roje compile --out), used instead of `lists`',
);

/**
 * The bundled demo lists (blocklists/samples), used when the config says nothing about lists. Resolved
 * from this module's own location: src/config/sections/ and dist/config/sections/ sit at the same depth
 * under the package root, so it works from a checkout, from dist/ and from the Docker image alike.
 */
export const SAMPLES_DIR = fileURLToPath(new URL('../../../blocklists/samples/', import.meta.url));

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

export type ListsSection = ReturnType<typeof normalizeLists>;

interface RawLists {
  lists: Static<typeof ListsSchema>;
  compiled: Static<typeof CompiledSchema>;
  stateDir: string | null;
  /** Only whether it is set: an edge (fleet.pull) takes its lists from the pulled artifact. */
  fleet: { pull: unknown };
}

/** --list flags, else --compiled alone, else the file; null in the file means the samples. */
export function normalizeLists(
  ctx: SectionContext,
  raw: RawLists,
  flags: { lists?: readonly string[]; compiled?: string },
) {
  const { file, baseDir } = ctx;
  const listFlags = flags.lists ?? [];
  if (listFlags.length > 0 && flags.compiled !== undefined) {
    throw invalidFlag(
      '--compiled',
      flags.compiled,
      'a file path',
      '--compiled and --list exclude each other: the artifact replaces the lists',
    );
  }
  let lists: ListSource[];
  let listsFrom: 'config' | 'flags' | 'samples';
  if (listFlags.length > 0) {
    listsFrom = 'flags';
    lists = parseListFlags(listFlags);
  } else if (raw.lists === null) {
    listsFrom = 'samples';
    lists = SAMPLE_LISTS.map((l) => ({ ...l }));
  } else {
    listsFrom = 'config';
    lists = configLists(file, raw.lists, baseDir);
  }
  // Feeds keep their downloaded copies (the last good one survives a restart) under stateDir.
  const firstFeed = lists.findIndex(isFeedSource);
  if (firstFeed !== -1 && raw.stateDir === null) {
    throw invalidKey(
      file,
      'stateDir',
      `lists[${firstFeed}] is fetched from a URL and its downloaded copies need a folder: set stateDir, e.g. /var/lib/roje`,
      'a directory path',
    );
  }
  let compiled: string | null = null;
  if (flags.compiled !== undefined) compiled = resolve(flags.compiled);
  else if (listFlags.length === 0 && raw.compiled !== null) compiled = resolve(baseDir, raw.compiled);
  return {
    /** List sources (paths absolute). Empty: no filtering; an edge's come from the pulled artifact. */
    lists: raw.fleet.pull !== null ? [] : lists,
    /** Where `lists` came from, for the startup summary. */
    listsFrom,
    /** Absolute path of a precompiled artifact used instead of `lists`, or null. */
    compiled,
  };
}

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

/** The file's `lists` entries as sources: `path` or `url`, never both; feed keys only with `url`. */
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
        confidential ? 'auto or abuse (or leave it out)' : LIST_EXPECTED.listFormat,
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
      if (entry.format !== undefined) source.format = entry.format;
      return source;
    }
    const feed: FeedListSource = {
      name,
      category: entry.category,
      // Until the lists loader substitutes the downloaded copy, messages that name the path name the URL.
      path: redactUrl(url),
      feed: feedSettings(file, key, entry, url, baseDir),
    };
    if (entry.format !== undefined) feed.format = entry.format;
    return feed;
  });
}

/** The last non-empty path segment of a URL ("https://h/lists/nsfw.txt" -> "/lists/nsfw.txt"), else its host. */
function urlBaseName(url: string): string {
  const u = new URL(url);
  const segments = u.pathname.split('/').filter((p) => p !== '');
  const last = segments.at(-1);
  return last === undefined ? u.hostname : decodeURIComponent(last).replace(/[/\\]/g, '_');
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
      throw invalidFlag(
        '--list',
        text,
        expected,
        `the category "${category}" is not ${VALUE_EXPECTED.category}`,
      );
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
