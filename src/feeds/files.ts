/**
 * File list sources guarded like feeds: an operator who empties a list file, or saves half of it, must
 * not switch its category off. Each file's last good copy is kept (in <stateDir>/files, or a private
 * temp folder without a stateDir) and compiled instead of a file that yields no rule or lost more than
 * the shrink share of its rules; that file is held until an operator accepts or rejects it through the
 * same routes as a held feed copy. A file that is back to the good content drops its held copy.
 *
 * Sources in a confidential category are not copied (their clear text must not be duplicated on
 * disk); the compile already refuses one that holds no entry.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { systemReason } from '../config/config-error.js';
import { RojeError } from '../errors.js';
import type { SourceReport } from '../policy/compile.js';
import { rememberDigest } from '../policy/lists-version.js';
import { CONFIDENTIAL_CATEGORIES, type ListSource } from '../policy/types.js';
import { checkList, createCopyStore, type FeedMeta } from './store.js';
import { FEED_DEFAULTS, FEED_NAME_RE } from './types.js';

export interface FileSourceStatus {
  name: string;
  category: string;
  path: string;
  good: { rules: number; sha256: string; checkedAt: string } | null;
  held: { rules: number; previousRules: number; sha256: string; heldAt: string; why: string } | null;
}

export interface FileGuard {
  /** The source to compile for a file source: its last good copy (a confidential one as it is). */
  guard(source: ListSource): Promise<ListSource>;
  /** Takes the rule counts of the files compiled from the compile's report (after a first check). */
  counted(report: { sources: readonly CompiledSource[] }): Promise<void>;
  /** Is `name` a file guarded so far? */
  has(name: string): boolean;
  status(): FileSourceStatus[];
  /** Promotes the held content; ROJE_ERR_FEED_NOT_HELD when nothing is held. */
  accept(name: string): Promise<void>;
  /** Discards the held content (the file is held again while it stays the same). */
  reject(name: string): Promise<void>;
  close(): Promise<void>;
}

export interface FileGuardOptions {
  stateDir: string | null;
  logger: Pick<Logger, 'info' | 'warn'>;
  /** Share of its rules a file may lose before it is held (default: the feeds' 0.5). */
  maxShrink?: number;
}

interface Held {
  meta: FeedMeta;
  previousRules: number;
  why: string;
}

export async function createFileGuard(options: FileGuardOptions): Promise<FileGuard> {
  // The files seen by the last compiles, by name: a reload may add, move or drop some.
  const byName = new Map<string, ListSource>();
  const temp = options.stateDir === null ? await mkdtemp(join(tmpdir(), 'roje-files-')) : null;
  const store = await createCopyStore(temp ?? join(options.stateDir as string, 'files'));
  const maxShrink = options.maxShrink ?? FEED_DEFAULTS.maxShrink;
  const good = new Map<string, FeedMeta>();
  const held = new Map<string, Held>();

  /** Replaces a partial count (a file's first check stopped at its first rule) with the compile's. */
  async function counted(report: { sources: readonly CompiledSource[] }): Promise<void> {
    for (const r of report.sources) {
      const g = good.get(r.name);
      if (g === undefined || g.counted !== false || g.sha256 !== r.sha256) continue;
      const { counted: _, ...rest } = g;
      const next: FeedMeta = { ...rest, format: r.format, rules: r.rules, skipped: r.skippedTotal };
      await store.writeMeta(slotName(r.name), 'good', next);
      good.set(r.name, next);
    }
  }

  async function guard(source: ListSource): Promise<ListSource> {
    if (CONFIDENTIAL_CATEGORIES.has(source.category)) return source;
    const slot = slotName(source.name);
    if (byName.get(source.name)?.path !== source.path) {
      // New to this guard (a start, or a reload that added or moved it): its copy from an earlier run.
      byName.set(source.name, source);
      held.delete(source.name);
      const stored = await store.read(slot, 'good');
      if (stored !== null && stored.url === source.path) good.set(source.name, stored);
      else good.delete(source.name);
    }
    const last = good.get(source.name) ?? null;
    const { sha256, data } = await readDigest(source);
    const copy = { ...source, path: store.path(slot, 'good') };
    if (last !== null && sha256 === last.sha256) {
      if (held.delete(source.name))
        options.logger.info({ list: source.name }, 'the file is back to the copy in force');
      return copy;
    }
    if (last !== null && held.get(source.name)?.meta.sha256 === sha256) return copy;
    const at = new Date().toISOString();
    // A file with no good copy needs only to yield a rule; the compile counts the rest (counted()).
    const check = await checkList(source, source.path, `list "${source.name}" (${source.path})`, undefined, {
      firstRuleOnly: last === null,
    }).catch((err: unknown) => err as RojeError);
    const counted: Counted = check instanceof Error ? { rules: 0 } : check;
    const rules = counted.rules;
    const why =
      check instanceof Error
        ? 'it yields no rule'
        : `it lost ${Math.round((1 - rules / (last?.rules ?? 1)) * 100)} % of its rules`;
    if (last === null) {
      // No good copy to fall back on: a file that blocks nothing fails the compile (fail closed).
      if (check instanceof Error) throw emptyList(source);
    } else if (check instanceof Error || rules < (1 - maxShrink) * last.rules) {
      held.set(source.name, {
        meta: meta(source, sha256, data.length, counted, at),
        previousRules: last.rules,
        why,
      });
      options.logger.warn(
        { list: source.name, rules, previousRules: last.rules },
        `list file held: ${why}; the last good copy stays in force until an operator accepts or rejects it`,
      );
      return copy;
    }
    const tmp = store.tempPath(slot);
    await writeFile(tmp, data, { mode: 0o640 });
    const next = meta(source, sha256, data.length, counted, at);
    await store.commit(slot, 'good', tmp, next);
    // The version of the lists is taken from this copy next: its digest is the one just computed.
    await rememberDigest(copy.path, sha256);
    good.set(source.name, next);
    held.delete(source.name);
    return copy;
  }

  function heldOf(name: string): { source: ListSource; h: Held } {
    const source = byName.get(name);
    const h = held.get(name);
    if (source === undefined || h === undefined) {
      throw new RojeError('ROJE_ERR_FEED_NOT_HELD', `list "${name}" has no held copy`);
    }
    return { source, h };
  }

  return {
    guard,
    counted,
    has: (name) => byName.has(name),
    status: () =>
      [...byName.values()].map((s) => {
        const g = good.get(s.name);
        const h = held.get(s.name);
        return {
          name: s.name,
          category: s.category,
          path: s.path,
          good:
            g === undefined
              ? null
              : { rules: g.rules, sha256: g.sha256.slice(0, 12), checkedAt: g.checkedAt },
          held:
            h === undefined
              ? null
              : {
                  rules: h.meta.rules,
                  previousRules: h.previousRules,
                  sha256: h.meta.sha256.slice(0, 12),
                  heldAt: h.meta.fetchedAt,
                  why: h.why,
                },
        };
      }),
    async accept(name) {
      const { source, h } = heldOf(name);
      // The file as it is now: it may have changed again since it was held.
      const { sha256, data } = await readDigest(source);
      const tmp = store.tempPath(slotName(name));
      await writeFile(tmp, data, { mode: 0o640 });
      const counted: Counted =
        sha256 === h.meta.sha256 ? h.meta : await checkList(source, tmp, `list "${name}"`);
      const next = meta(source, sha256, data.length, counted, new Date().toISOString());
      await store.commit(slotName(name), 'good', tmp, next);
      good.set(name, next);
      held.delete(name);
      options.logger.info({ list: name, rules: next.rules }, 'held list file accepted');
    },
    async reject(name) {
      heldOf(name);
      held.delete(name);
      options.logger.info({ list: name }, 'held list file rejected');
    },
    async close() {
      if (temp !== null) await rm(temp, { recursive: true, force: true });
    },
  };
}

/** What a check of the file counted (ListCheck); a file that yields nothing has only its 0 rules. */
type Counted = Partial<Pick<FeedMeta, 'format' | 'skipped'>> & { rules: number; complete?: boolean };

/** What counted() reads of a compile report's source (policy/compile.ts SourceReport). */
type CompiledSource = Pick<SourceReport, 'name' | 'sha256' | 'format' | 'rules' | 'skippedTotal'>;

function meta(source: ListSource, sha256: string, bytes: number, counted: Counted, at: string): FeedMeta {
  return {
    url: source.path,
    etag: null,
    lastModified: null,
    sha256,
    bytes,
    // The format the parser detected; for a file that yields nothing, the one asked for (auto: domains).
    format:
      counted.format ?? (source.format === undefined || source.format === 'auto' ? 'domains' : source.format),
    rules: counted.rules,
    skipped: counted.skipped ?? 0,
    ...(counted.complete === false ? { counted: false as const } : {}),
    fetchedAt: at,
    checkedAt: at,
  };
}

function emptyList(source: ListSource): RojeError {
  return new RojeError(
    'ROJE_ERR_LIST_EMPTY',
    `list "${source.name}" (${source.path}) yields no rule: a list that blocks nothing would switch the category "${source.category}" off. Fix the file, or remove it from lists`,
  );
}

/** A slot file name: the source's name when it is a safe one, else a hash of it. */
function slotName(name: string): string {
  return FEED_NAME_RE.test(name)
    ? name
    : `list-${createHash('sha256').update(name).digest('hex').slice(0, 16)}`;
}

/** The file's bytes and digest; ROJE_ERR_LIST_READ worded as the compile words it. */
async function readDigest(source: ListSource): Promise<{ sha256: string; data: Buffer }> {
  try {
    const data = await readFile(source.path);
    return { sha256: createHash('sha256').update(data).digest('hex'), data };
  } catch (err) {
    throw new RojeError(
      'ROJE_ERR_LIST_READ',
      `list "${source.name}" (${source.path}) cannot be read: ${systemReason(err)}`,
      { cause: err },
    );
  }
}
