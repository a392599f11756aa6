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
import { copyFile, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { systemReason } from '../config/config-error.js';
import { RojeError } from '../errors.js';
import type { SourceReport } from '../policy/compile.js';
import { rememberDigest } from '../policy/lists-version.js';
import { CONFIDENTIAL_CATEGORIES, type ListSource } from '../policy/types.js';
import { checkList, createCopyStore, type FeedMeta, type FeedStore } from './store.js';
import { FEED_DEFAULTS, FEED_NAME_RE } from './types.js';

export interface FileSourceStatus {
  name: string;
  category: string;
  path: string;
  good: { rules: number; sha256: string; checkedAt: string } | null;
  held: { rules: number; previousRules: number; sha256: string; heldAt: string; why: string } | null;
}

export interface FileGuard {
  /**
   * The source to compile for a file source: its last good copy (a confidential one as it is), or the
   * new copy just written, which becomes the good one at settle().
   */
  guard(source: ListSource): Promise<ListSource>;
  /**
   * The lists compiled from the guarded sources are made: the new copies become the good ones (synced,
   * moved into place), and the compile's report (null: none, the lists in force were kept) gives the
   * rule counts of files seen only up to their first rule. Rejects when a copy cannot be stored.
   */
  settle(report: { sources: readonly CompiledSource[] } | null): Promise<void>;
  /** The compile failed: the new copies are dropped, the good ones stay as they were. */
  discard(): Promise<void>;
  /** Where a source compiled from `path` is once settled: its good copy's path for a new copy, else `path`. */
  finalPath(path: string): string;
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

/** A new copy written for the compile, not yet the good one. */
interface Pending {
  slot: string;
  tmp: string;
  meta: FeedMeta;
  /** Its flush to disk, started when it was written: null once done, else why it failed. */
  synced: Promise<unknown>;
}

/** The new copies of one load, by source name: made good together once the lists are made, or dropped. */
function createPendingCopies(store: FeedStore) {
  const pending = new Map<string, Pending>();
  return {
    async add(name: string, slot: string, tmp: string, next: FeedMeta): Promise<void> {
      await rememberDigest(tmp, next.sha256);
      const synced = store.flush(tmp).then(
        () => null,
        (err: unknown) => err,
      );
      pending.set(name, { slot, tmp, meta: next, synced });
    },
    /** Each copy synced, moved into place with its metadata, then handed to `made`. */
    async commit(made: (name: string, next: FeedMeta) => void): Promise<void> {
      for (const [name, p] of pending) {
        pending.delete(name);
        const failed = await p.synced;
        if (failed !== null) {
          await rm(p.tmp, { force: true });
          throw new RojeError('ROJE_ERR_FEED_STORE', `cannot store ${p.tmp}: ${systemReason(failed)}`, {
            cause: failed,
          });
        }
        await store.commit(p.slot, 'good', p.tmp, p.meta);
        // The version of the lists is taken from this copy next: its digest is the one already known.
        await rememberDigest(store.path(p.slot, 'good'), p.meta.sha256);
        made(name, p.meta);
      }
    },
    finalPath(tmp: string): string | null {
      for (const p of pending.values()) if (p.tmp === tmp) return store.path(p.slot, 'good');
      return null;
    },
    async drop(): Promise<void> {
      for (const p of pending.values()) {
        await p.synced;
        await rm(p.tmp, { force: true });
      }
      pending.clear();
    },
  };
}

export async function createFileGuard(options: FileGuardOptions): Promise<FileGuard> {
  // The files seen by the last compiles, by name: a reload may add, move or drop some.
  const byName = new Map<string, ListSource>();
  const temp = options.stateDir === null ? await mkdtemp(join(tmpdir(), 'roje-files-')) : null;
  const store = await createCopyStore(temp ?? join(options.stateDir as string, 'files'));
  const maxShrink = options.maxShrink ?? FEED_DEFAULTS.maxShrink;
  const good = new Map<string, FeedMeta>();
  const held = new Map<string, Held>();
  const pending = createPendingCopies(store);

  async function settle(report: { sources: readonly CompiledSource[] } | null): Promise<void> {
    await pending.commit((name, next) => {
      good.set(name, next);
      held.delete(name);
    });
    if (report !== null) await counted(report);
  }

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
    // A snapshot of the file as it is now: what is hashed is what is checked and compiled, whatever
    // happens to the file meanwhile. It is dropped unless it becomes the new copy.
    const tmp = store.tempPath(slot);
    const { sha256, bytes } = await snapshot(source, tmp);
    const copy = { ...source, path: store.path(slot, 'good') };
    const keepGood = async (): Promise<ListSource> => {
      await rm(tmp, { force: true });
      return copy;
    };
    if (last !== null && sha256 === last.sha256) {
      if (held.delete(source.name))
        options.logger.info({ list: source.name }, 'the file is back to the copy in force');
      return keepGood();
    }
    if (last !== null && held.get(source.name)?.meta.sha256 === sha256) return keepGood();
    const at = new Date().toISOString();
    // A file with no good copy needs only to yield a rule; the compile counts the rest (counted()).
    const check = await checkList(source, tmp, `list "${source.name}" (${source.path})`, undefined, {
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
      if (check instanceof Error) {
        await rm(tmp, { force: true });
        throw emptyList(source);
      }
    } else if (check instanceof Error || rules < (1 - maxShrink) * last.rules) {
      held.set(source.name, {
        meta: meta(source, sha256, bytes, counted, at),
        previousRules: last.rules,
        why,
      });
      options.logger.warn(
        { list: source.name, rules, previousRules: last.rules },
        `list file held: ${why}; the last good copy stays in force until an operator accepts or rejects it`,
      );
      return keepGood();
    }
    // The compile reads the snapshot where it is while it is flushed to disk (tens of ms for a million
    // names: time the first answer would otherwise wait for); settle() moves it into place once the
    // lists are made, so a crash before then leaves the good copy as it was.
    await pending.add(source.name, slot, tmp, meta(source, sha256, bytes, counted, at));
    return { ...source, path: tmp };
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
    settle,
    discard: pending.drop,
    finalPath: (path) => pending.finalPath(path) ?? path,
    has: (name) => byName.has(name),
    status: () => [...byName.values()].map((s) => sourceStatus(s, good.get(s.name), held.get(s.name))),
    async accept(name) {
      const { source, h } = heldOf(name);
      // The file as it is now: it may have changed again since it was held.
      const tmp = store.tempPath(slotName(name));
      const { sha256, bytes } = await snapshot(source, tmp);
      const counted: Counted =
        sha256 === h.meta.sha256 ? h.meta : await checkList(source, tmp, `list "${name}"`);
      const next = meta(source, sha256, bytes, counted, new Date().toISOString());
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
      await pending.drop();
      if (temp !== null) await rm(temp, { recursive: true, force: true });
    },
  };
}

function sourceStatus(s: ListSource, g: FeedMeta | undefined, h: Held | undefined): FileSourceStatus {
  return {
    name: s.name,
    category: s.category,
    path: s.path,
    good: g === undefined ? null : { rules: g.rules, sha256: g.sha256.slice(0, 12), checkedAt: g.checkedAt },
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

/**
 * Copies the file to `tmp` (in the kernel: no 20 MB buffer to fault in) and hashes the copy, which no
 * one else writes. ROJE_ERR_LIST_READ worded as the compile words it; a copy that cannot be written is
 * the store's error.
 */
async function snapshot(source: ListSource, tmp: string): Promise<{ sha256: string; bytes: number }> {
  try {
    await copyFile(source.path, tmp);
  } catch (err) {
    await rm(tmp, { force: true });
    if (STORE_ERRORS.has((err as NodeJS.ErrnoException).code ?? '')) {
      throw new RojeError(
        'ROJE_ERR_FEED_STORE',
        `cannot copy ${source.path} to ${tmp}: ${systemReason(err)}`,
        {
          cause: err,
        },
      );
    }
    throw new RojeError(
      'ROJE_ERR_LIST_READ',
      `list "${source.name}" (${source.path}) cannot be read: ${systemReason(err)}`,
      { cause: err },
    );
  }
  const fh = await open(tmp, 'r');
  try {
    await fh.chmod(0o640);
    const hash = createHash('sha256');
    const buffer = Buffer.allocUnsafe(1 << 20);
    let bytes = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return { sha256: hash.digest('hex'), bytes };
      hash.update(buffer.subarray(0, bytesRead));
      bytes += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

/** Failures of the copy's side (the state folder), not of the operator's file. */
const STORE_ERRORS = new Set(['ENOSPC', 'EDQUOT', 'EROFS']);
