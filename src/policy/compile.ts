/**
 * Sources -> one artifact: each list is opened (streamed, hashed, its format detected), every rule goes
 * into the builder under its source's category, and the builder lays out the immutable structure. This
 * runs wherever it is called: `roje compile` calls it directly, the server through compile-worker.ts so
 * that a big compile never blocks the query loop.
 */
import { RojeError } from '../errors.js';
import { createListBuilder } from './compiled/index.js';
import { openList } from './parsers/index.js';
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
  /** Hex SHA-256 of the source bytes (as read: compressed bytes for a .gz file). */
  sha256: string;
  bytes: number;
  readAt: string;
}

export interface CompileReport {
  sources: SourceReport[];
  categories: string[];
  /** Rules across all sources. */
  entries: number;
  artifactBytes: number;
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
}

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

  const builder = createListBuilder();
  const reports: SourceReport[] = [];
  let entries = 0;
  for (const source of sources) {
    const bit = builder.category(source.category);
    const readAt = now().toISOString();
    const opened = await openList(source);
    let rules = 0;
    try {
      for await (const rule of opened.rules) {
        builder.add(rule, bit);
        rules++;
      }
    } catch (err) {
      throw wrap(err, `list "${source.name}" (${source.path})`);
    } finally {
      opened.close();
    }
    const stats = opened.stats;
    const skippedTotal = Object.values(stats.skipped).reduce((a, b) => a + (b ?? 0), 0);
    const sha256 = opened.sha256();
    builder.addSource({
      name: source.name,
      category: source.category,
      format: opened.format,
      entries: rules,
      skipped: skippedTotal,
      sha256,
      readAt,
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
    });
  }

  const compiledAt = now().toISOString();
  let artifact: Buffer;
  try {
    artifact = builder.finish({ compiledAt });
  } catch (err) {
    throw wrap(err, 'building the artifact');
  }
  const categories: string[] = [];
  for (const s of sources) if (!categories.includes(s.category)) categories.push(s.category);
  return {
    artifact,
    report: {
      sources: reports,
      categories,
      entries,
      artifactBytes: artifact.length,
      compiledAt,
      ms: performance.now() - started,
    },
  };
}

function wrap(err: unknown, where: string): RojeError {
  if (err instanceof RojeError) return err;
  return new RojeError('ROJE_ERR_LIST_COMPILE', `compiling ${where}: ${(err as Error)?.message ?? err}`, {
    cause: err,
  });
}
