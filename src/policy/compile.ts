/**
 * Sources -> one artifact: each list is opened (streamed, hashed, its format detected), every rule goes
 * into the builder under its source's category, and the builder lays out the immutable structure. This
 * runs wherever it is called: `roje compile` calls it directly, the server through compile-worker.ts so
 * that a big compile never blocks the query loop.
 */
import { stat } from 'node:fs/promises';
import { RojeError } from '../errors.js';
import { ABUSE_CANARY } from './abuse/canary.js';
import type { AbuseKey } from './abuse/format.js';
import { createListBuilder, type ListBuilder } from './compiled/index.js';
import { listsVersion } from './lists-version.js';
import { type CachedList, openCachedList, type ParseCache } from './parse-cache/index.js';
import { type NameSink, type OpenedNames, openDomainNames } from './parsers/domains-bytes.js';
import {
  CONFIDENTIAL_CATEGORIES,
  type ListFormat,
  type ListSource,
  type ParseNote,
  type ParseStats,
  type SkipReason,
} from './types.js';

/** What `roje compile` prints and the server logs about one source. */
export interface SourceReport {
  name: string;
  category: string;
  path: string;
  format: ListFormat;
  /** Lines read, comments and blanks included. */
  lines: number;
  /** Rules compiled from it. */
  rules: number;
  /** Lines skipped, all reasons. */
  skippedTotal: number;
  skipped: Partial<Record<SkipReason, number>>;
  /** The first skipped lines with their line numbers (at most 20). */
  samples: ParseStats['samples'];
  notes: Partial<Record<ParseNote, number>>;
  /** Abuse sources: page-level entries read, and whether their hosts are blocked (else only counted). */
  pages?: number;
  pagesBlocked?: boolean;
  /** Hex SHA-256 of the source bytes (as read: compressed bytes for a .gz file). */
  sha256: string;
  bytes: number;
  readAt: string;
  /** Taken from the parse cache (hashed, not parsed); absent when it was parsed. */
  cached?: boolean;
}

export interface CompileReport {
  sources: SourceReport[];
  categories: string[];
  /** Rules across all sources. */
  entries: number;
  artifactBytes: number;
  /** What decides answers, hashed (lists-version.ts): the same inputs give the same version anywhere. */
  version: string;
  compiledAt: string;
  /** Wall time of the compile, milliseconds (for the report; never asserted on). */
  ms: number;
}

export interface CompileResult {
  artifact: Buffer;
  report: CompileReport;
}

export interface CompileOptions {
  /** The clock, for readAt and compiledAt (tests). */
  now?: () => Date;
  /** The deployment's abuse key and page entry setting: needed when a source is in a confidential category. */
  abuse?: AbuseCompileOptions;
  /** Parsed sources kept between compiles (parse-cache/): only the sources whose bytes changed are parsed. */
  cache?: ParseCache;
  /**
   * Called during a long compile, at most every `progressEveryMs`, with the rules compiled so far (all
   * sources) and the name of the source being read: counts only, never a name from a list.
   */
  onProgress?: (rules: number, source: string) => void;
  /** Least time between two onProgress calls; default PROGRESS_EVERY_MS. */
  progressEveryMs?: number;
}

/** A compile of millions of names says how far it got this often (the server logs it, `roje compile` prints it). */
export const PROGRESS_EVERY_MS = 2_000;

export interface AbuseCompileOptions {
  key: AbuseKey;
  /**
   * Page-level entries (a URL on a host that also serves other content): `count` reports them as not
   * enforceable by DNS; `block-host` blocks their whole host (an explicit operator choice).
   */
  pageEntries: PageEntries;
}

export type PageEntries = 'count' | 'block-host';

/**
 * Compiles `sources` in order; categories get their bits in order of first appearance. Throws RojeError:
 * ROJE_ERR_LIST_READ / _FORMAT from a source (the message names it), ROJE_ERR_LIST_CATEGORIES past 32
 * categories, ROJE_ERR_LIST_COMPILE for anything else (duplicate source names, a builder failure).
 * An empty `sources` gives a valid, empty artifact: nothing is blocked.
 */
export async function compileSources(
  sources: readonly ListSource[],
  options: CompileOptions = {},
): Promise<CompileResult> {
  const now = options.now ?? (() => new Date());
  const started = performance.now();
  // A source compiled alone gains nothing from a parse cache entry: the compiled lists kept by version
  // (compiled-cache.ts) already cover a restart, and a change to it is parsed anyway. Recording its rules
  // would cost a quarter of a first compile.
  const cache = sources.length > 1 ? options.cache : undefined;
  cache?.begin();
  const names = new Set<string>();
  for (const s of sources) {
    if (names.has(s.name)) {
      throw new RojeError(
        'ROJE_ERR_LIST_COMPILE',
        `two list sources are named "${s.name}": give each a unique name`,
      );
    }
    names.add(s.name);
  }

  const builder = createListBuilder({ expectedNames: await expectedNames(sources) });
  const reports: SourceReport[] = [];
  let entries = 0;
  const progressEvery = options.progressEveryMs ?? PROGRESS_EVERY_MS;
  let progressAt = performance.now();
  for (const source of sources) {
    const bit = builder.category(source.category);
    const readAt = now().toISOString();
    const confidential = CONFIDENTIAL_CATEGORIES.has(source.category);
    // A lone uncompressed domains list (the big ones) is read as bytes, without a string and a rule object
    // a line (parsers/domains-bytes.ts); the same artifact. Any other source goes through openList.
    const names = cache === undefined && !confidential ? await openDomainNames(source) : null;
    const opened =
      names ??
      (await openCachedList(
        { ...source, format: abuseFormat(source, confidential) },
        options.abuse !== undefined ? { abuseKey: options.abuse.key } : {},
        cache,
      ));
    const blockPages = options.abuse?.pageEntries === 'block-host';
    let rules = 0;
    let pages = 0;
    const progress = (added: number) => {
      if (options.onProgress !== undefined && performance.now() - progressAt >= progressEvery) {
        progressAt = performance.now();
        options.onProgress(entries + added, source.name);
      }
    };
    try {
      ({ rules, pages } =
        names !== null
          ? await addNames(builder, names, bit, progress)
          : await addRules(builder, opened as CachedList, bit, blockPages, progress));
    } catch (err) {
      throw wrap(err, `list "${source.name}" (${source.path})`);
    } finally {
      opened.close();
    }
    const stats = opened.stats;
    const skippedTotal = Object.values(stats.skipped).reduce((a, b) => a + (b ?? 0), 0);
    if (confidential && stats.rules === 0) {
      // An abuse list that matches nothing must not pass for a working one (fail closed).
      throw new RojeError(
        'ROJE_ERR_LIST_FORMAT',
        `list "${source.name}" (${source.path}) is in the category "${source.category}" but holds no entry (${stats.lines} lines, ${skippedTotal} skipped): expected one domain or URL a line, or roje hashes`,
      );
    }
    const sha256 = opened.sha256();
    builder.addSource({
      name: source.name,
      category: source.category,
      format: opened.format,
      entries: rules,
      skipped: skippedTotal,
      sha256,
      readAt,
      ...(confidential ? { pages, pagesBlocked: blockPages } : {}),
    });
    entries += rules;
    reports.push({
      name: source.name,
      category: source.category,
      path: source.path,
      format: opened.format,
      lines: stats.lines,
      rules,
      skippedTotal,
      skipped: { ...stats.skipped },
      // Line numbers and reasons only for a confidential feed: even a malformed line can name a page.
      samples: stats.samples.map((s) =>
        CONFIDENTIAL_CATEGORIES.has(source.category) ? { ...s, text: '[confidential]' } : { ...s },
      ),
      notes: { ...(stats.notes ?? {}) },
      sha256,
      bytes: opened.bytes(),
      readAt,
      ...(confidential ? { pages, pagesBlocked: blockPages } : {}),
      ...(names === null && (opened as CachedList).cached ? { cached: true } : {}),
    });
  }

  // The abuse canary blocks wherever an abuse list is in force, so that `roje verify` and certifiers can
  // test the whole path with a name that is safe to publish (README "Abuse feed").
  const abuseSource = sources.find((s) => CONFIDENTIAL_CATEGORIES.has(s.category));
  if (abuseSource !== undefined && options.abuse !== undefined) {
    builder.addHashed(
      options.abuse.key.hmac.digest(ABUSE_CANARY),
      'subtree',
      builder.category(abuseSource.category),
    );
  }
  const compiledAt = now().toISOString();
  const version = listsVersion(
    sources.map((s, i) => ({ ...s, sha256: reports[i]?.sha256 ?? '' })),
    options.abuse === undefined
      ? null
      : { keyId: options.abuse.key.id, pageEntries: options.abuse.pageEntries },
  );
  let artifact: Buffer;
  try {
    artifact = builder.finish({ compiledAt, version, hashedKeyId: options.abuse?.key.id ?? null });
  } catch (err) {
    throw wrap(err, 'building the artifact');
  }
  await cache?.commit();
  const categories: string[] = [];
  for (const s of sources) if (!categories.includes(s.category)) categories.push(s.category);
  return {
    artifact,
    report: {
      sources: reports,
      categories,
      entries,
      artifactBytes: artifact.length,
      version,
      compiledAt,
      ms: performance.now() - started,
    },
  };
}

/** Feeds a plain list read as bytes into the builder (parsers/domains-bytes.ts); the rules it added. */
async function addNames(
  builder: ListBuilder,
  names: OpenedNames,
  bit: number,
  progress: (rules: number) => void,
): Promise<{ rules: number; pages: number }> {
  let rules = 0;
  const sink: NameSink = {
    name(bytes, start, end, scope, line) {
      builder.addName(bytes, start, end, scope, bit, line);
      rules++;
    },
    rule(rule) {
      builder.add(rule, bit);
      rules++;
    },
  };
  for await (const _ of names.chunks(sink)) progress(rules);
  return { rules, pages: 0 };
}

/**
 * Feeds a parsed list into the builder, a batch at a time (an await per rule would cost more than
 * parsing it); an abuse feed's page entries are counted, and kept as hashes unless they block the host.
 */
async function addRules(
  builder: ListBuilder,
  opened: CachedList,
  bit: number,
  blockPages: boolean,
  progress: (rules: number) => void,
): Promise<{ rules: number; pages: number }> {
  let rules = 0;
  let pages = 0;
  for await (const batch of opened.batches) {
    for (const rule of batch) {
      if (rule.page === true) {
        pages++;
        if (!blockPages && rule.digest !== undefined) {
          builder.addHashed(rule.digest, 'listed', bit);
          continue;
        }
      }
      builder.add(rule, bit);
      rules++;
    }
    progress(rules);
  }
  return { rules, pages };
}

/** Bytes of a list per name, about (real lists: 19 to 29; RPZ 47): a guess of the names from the sizes. */
const BYTES_PER_NAME = 18;

/** How many names the sources hold, about, from their sizes (a gzip file counts as its compressed size). */
async function expectedNames(sources: readonly ListSource[]): Promise<number> {
  let bytes = 0;
  for (const s of sources) {
    // An unreadable source fails properly when it is opened: here it only counts for nothing.
    bytes += await stat(s.path).then(
      (st) => st.size,
      () => 0,
    );
  }
  return Math.ceil(bytes / BYTES_PER_NAME);
}

/**
 * Sources in a confidential category are read as the abuse feed format (hashed as they are read), and
 * only they: a clear-text format there would put the names in the artifact.
 */
function abuseFormat(source: ListSource, confidential: boolean): ListSource['format'] {
  const format = source.format ?? 'auto';
  if (confidential && format !== 'auto' && format !== 'abuse') {
    throw new RojeError(
      'ROJE_ERR_LIST_FORMAT',
      `list "${source.name}" is in the confidential category "${source.category}": it is read as the abuse feed format (domains, URLs or roje hashes), not ${format}`,
    );
  }
  if (!confidential && format === 'abuse') {
    throw new RojeError(
      'ROJE_ERR_LIST_FORMAT',
      `list "${source.name}": the abuse format is only for the confidential category "abuse", not "${source.category}"`,
    );
  }
  return confidential ? 'abuse' : format;
}

function wrap(err: unknown, where: string): RojeError {
  if (err instanceof RojeError) return err;
  return new RojeError('ROJE_ERR_LIST_COMPILE', `compiling ${where}: ${(err as Error)?.message ?? err}`, {
    cause: err,
  });
}
