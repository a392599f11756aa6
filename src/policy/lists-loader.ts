/**
 * Where the server's CompiledLists come from: a precompiled artifact (`compiled`), else the configured
 * `lists` compiled on a worker thread, else nothing (an empty artifact: a valid structure that blocks
 * nothing). The app holds the result and swaps it whole on reload; this module only produces it.
 */
import { stat } from 'node:fs/promises';
import type { RojeConfig } from '../config/schema.js';
import { type CompileReport, type CompileResult, compileSources } from './compile.js';
import { compileInWorker } from './compile-worker.js';
import { createListBuilder, loadArtifact, readArtifact } from './compiled/index.js';
import type { CompiledLists, ListSource } from './types.js';

export type ListsFrom = 'compiled' | 'lists' | 'none';

export interface LoadedListSet {
  lists: CompiledLists;
  from: ListsFrom;
  /** The compile report when the lists were compiled here (from `lists`), else null. */
  report: CompileReport | null;
  /** Wall time of the load or compile, milliseconds (for logs). */
  ms: number;
}

/**
 * Sources smaller than this in total compile on the calling thread: a few thousand names take a few
 * milliseconds, less than starting a worker (which loads every module again: ~0.3 s from dist/, seconds
 * under a TypeScript loader). Bigger ones go to the worker, so the query loop never waits on them.
 */
export const IN_THREAD_MAX_BYTES = 64 * 1024;

export interface ListsLoaderDeps {
  /** Replaces the choice between this thread and the worker (tests). */
  compile?: (sources: readonly ListSource[]) => Promise<CompileResult>;
  readArtifact?: (path: string) => Promise<CompiledLists>;
}

/** What the app reports about its current lists (ready line, admin API later). */
export interface ListsStatus {
  from: ListsFrom;
  /** The artifact checksum: changes whenever the lists do. */
  version: string;
  entries: number;
  sources: number;
  sourceNames: string[];
  categories: string[];
  compiledAt: string;
  /** When the app started using these lists. */
  loadedAt: string;
  /** Why the last reload of the lists failed (the running lists were kept), or null. */
  lastError: string | null;
  lastErrorAt: string | null;
}

/**
 * Loads the lists `config` asks for. Rejects with the RojeError of the failure (ROJE_ERR_LIST_READ,
 * _FORMAT, _ARTIFACT, _CATEGORIES, _COMPILE); the caller decides what failing means (at start: do not
 * start; on reload: keep the last good lists).
 */
export async function loadLists(
  config: Pick<RojeConfig, 'lists' | 'compiled'>,
  deps: ListsLoaderDeps = {},
): Promise<LoadedListSet> {
  const started = performance.now();
  if (config.compiled !== null) {
    const lists = await (deps.readArtifact ?? readArtifact)(config.compiled);
    return { lists, from: 'compiled', report: null, ms: performance.now() - started };
  }
  if (config.lists.length === 0) {
    return { lists: emptyLists(), from: 'none', report: null, ms: performance.now() - started };
  }
  const { artifact, report } = await (deps.compile ?? compileLists)(config.lists);
  const lists = loadArtifact(artifact, 'compiled from the configured lists');
  return { lists, from: 'lists', report, ms: performance.now() - started };
}

/** Compiles on this thread when the sources are small (see IN_THREAD_MAX_BYTES), else in the worker. */
export async function compileLists(sources: readonly ListSource[]): Promise<CompileResult> {
  let total = 0;
  for (const source of sources) {
    try {
      total += (await stat(source.path)).size;
    } catch {
      // Unreadable: compileSources raises the proper ROJE_ERR_LIST_READ, and quickly.
      return compileSources(sources);
    }
    if (total >= IN_THREAD_MAX_BYTES) return compileInWorker(sources);
  }
  return compileSources(sources);
}

/** An artifact with no sources: blocks nothing. Small and fast enough to build on the main thread. */
export function emptyLists(): CompiledLists {
  return loadArtifact(createListBuilder().finish(), '(empty)');
}

export function listsStatus(
  set: Pick<LoadedListSet, 'lists' | 'from'>,
  loadedAt: string,
  lastError: { message: string; at: string } | null = null,
): ListsStatus {
  const l = set.lists;
  return {
    from: set.from,
    version: l.version,
    entries: l.entries,
    sources: l.sources.length,
    sourceNames: l.sources.map((s) => s.name),
    categories: [...l.categories],
    compiledAt: l.compiledAt,
    loadedAt,
    lastError: lastError?.message ?? null,
    lastErrorAt: lastError?.at ?? null,
  };
}
