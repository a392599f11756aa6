/**
 * Where the server's CompiledLists come from: on a fleet edge, the pulled and verified artifact
 * (`fleet.pull`; not ready until there is one); else a precompiled artifact (`compiled`), else the configured
 * `lists` compiled on a worker thread, else nothing (an empty artifact: a valid structure that blocks
 * nothing). The app holds the result and swaps it whole on reload; this module only produces it.
 * A URL source (a feed) compiles from its last good local copy; one without a copy yet is left out
 * and named in `missing`, so that the app can refuse to serve until every feed has one.
 */
import { stat } from 'node:fs/promises';
import type { RojeConfig } from '../config/schema.js';
import type { FileGuard } from '../feeds/files.js';
import { isFeedSource } from '../feeds/types.js';
import { whileGrowing } from '../young-generation.js';
import {
  type AbuseCompileOptions,
  type CompileReport,
  type CompileResult,
  compileSources,
} from './compile.js';
import { type CompileInWorkerOptions, type CompileProgress, compileInWorker } from './compile-worker.js';
import { createListBuilder, loadArtifact, readArtifact } from './compiled/index.js';
import type { CompiledCache } from './compiled-cache.js';
import { versionOfSources } from './lists-version.js';
import type { ParseCache } from './parse-cache/index.js';
import type { CompiledLists, ListSource } from './types.js';

export type ListsFrom = 'compiled' | 'lists' | 'fleet' | 'none';

/** What `missing` names while a fleet edge has no verified artifact yet. */
export const FLEET_MISSING = 'fleet artifact';

export interface LoadedListSet {
  lists: CompiledLists;
  from: ListsFrom;
  /** The compile report when the lists were compiled here (from `lists`), else null. */
  report: CompileReport | null;
  /** Wall time of the load or compile, milliseconds (for logs). */
  ms: number;
  /**
   * Feeds (URL sources) left out because they have no good copy yet. Not empty: the lists are
   * incomplete and the resolver must not answer (SERVFAIL, EDE 14 Not Ready) until a refresh fills them.
   */
  missing: string[];
}

/** Where the last good copy of each feed is (src/feeds: Feeds.localPath). */
export interface FeedCopies {
  localPath(name: string): string | null;
}

/** The verified artifact a fleet edge pulled (src/fleet: Fleet.current), or null: none yet. */
export interface FleetArtifacts {
  current(): { bytes: Buffer; source: string } | null;
}

/**
 * Sources smaller than this in total compile on the calling thread: a few thousand names take a few
 * milliseconds, less than starting a worker (which loads every module again: ~0.3 s from dist/, seconds
 * under a TypeScript loader). Bigger ones go to the worker, so the query loop never waits on them.
 */
export const IN_THREAD_MAX_BYTES = 64 * 1024;

export interface ListsLoaderDeps {
  /** Replaces the choice between this thread and the worker (tests). */
  compile?: (sources: readonly ListSource[], abuse?: AbuseCompileOptions) => Promise<CompileResult>;
  /** Parsed sources kept between compiles: a compile parses only the sources whose bytes changed. */
  cache?: ParseCache;
  /** Compiled lists kept by version (compiled-cache.ts): a start with the same sources compiles nothing. */
  compiled?: CompiledCache;
  readArtifact?: (path: string, abuse?: AbuseCompileOptions) => Promise<CompiledLists>;
  /** The abuse key and page entry setting (src/policy/abuse): needed for abuse sources and hashed artifacts. */
  abuse?: AbuseCompileOptions;
  /** The feed manager; without it every URL source counts as missing. */
  feeds?: FeedCopies;
  /** The fleet puller; without it a fleet edge's artifact counts as missing. */
  fleet?: FleetArtifacts;
  /** Told how far a long compile got (in the worker: compile-worker.ts), for the log. */
  onProgress?: (progress: CompileProgress) => void;
  /** Guards file sources (src/feeds/files.ts): an emptied or halved file is held, its good copy compiled. */
  files?: Pick<FileGuard, 'guard' | 'settle' | 'discard' | 'finalPath'>;
  /**
   * The lists in force: when the configured sources would compile to their version (same contents,
   * same settings), they are returned as they are, without a compile (a config-only reload, a refresh
   * that changed nothing).
   */
  inForce?: LoadedListSet | null;
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
  config: Pick<RojeConfig, 'lists' | 'compiled'> & { fleet?: Pick<RojeConfig['fleet'], 'pull'> },
  deps: ListsLoaderDeps = {},
): Promise<LoadedListSet> {
  const started = performance.now();
  const abuse = deps.abuse;
  const ms = () => performance.now() - started;
  if (config.fleet !== undefined && config.fleet.pull !== null) {
    // Verified by the puller (signature, checksum, abuse key) before it was offered: no second hash.
    const pulled = deps.fleet?.current() ?? null;
    if (pulled === null) {
      return { lists: emptyLists(), from: 'fleet', report: null, ms: ms(), missing: [FLEET_MISSING] };
    }
    const lists = loadArtifact(pulled.bytes, pulled.source, { trusted: true, abuseKey: abuse?.key ?? null });
    return { lists, from: 'fleet', report: null, ms: ms(), missing: [] };
  }
  if (config.compiled !== null) {
    const lists = await (deps.readArtifact ?? readArtifact)(config.compiled, abuse);
    return { lists, from: 'compiled', report: null, ms: ms(), missing: [] };
  }
  if (config.lists.length === 0) {
    return { lists: emptyLists(), from: 'none', report: null, ms: ms(), missing: [] };
  }
  const { sources, missing } = resolveSources(config.lists, deps.feeds);
  const files = deps.files;
  if (files === undefined) return loadSources(sources, missing, deps, ms);
  let loaded: LoadedListSet;
  try {
    const feeds = new Set(config.lists.filter(isFeedSource).map((s) => s.name));
    for (const [i, s] of sources.entries()) if (!feeds.has(s.name)) sources[i] = await files.guard(s);
    loaded = await loadSources(sources, missing, deps, ms);
  } catch (err) {
    await files.discard();
    throw err;
  }
  // The lists are made: the new copies of list files become the good ones, then the lists go in force.
  await files.settle(loaded.report);
  return loaded;
}

/** The lists of plain sources: those in force when the version is the same, else kept or compiled. */
async function loadSources(
  sources: ListSource[],
  missing: string[],
  deps: ListsLoaderDeps,
  ms: () => number,
): Promise<LoadedListSet> {
  const abuse = deps.abuse;
  // What the sources would compile to, from their bytes (null: one cannot be read; the compile says why).
  const version = await versionOfSources(
    sources,
    abuse === undefined ? null : { keyId: abuse.key.id, pageEntries: abuse.pageEntries },
  );
  const inForce = deps.inForce ?? null;
  if (version !== null && unchanged(inForce, version, missing)) return inForce as LoadedListSet;
  const kept = version === null ? null : ((await deps.compiled?.get(version, abuse?.key ?? null)) ?? null);
  if (kept !== null) return { lists: kept.lists, from: 'lists', report: kept.report, ms: ms(), missing };
  // The first load of a server (nothing in force: no listener answers yet, and none waits on this thread)
  // compiles here: a worker would load every module again, and on one core that is time before the first
  // answer. Every later compile goes to the worker, so the query loop never waits on it.
  const inThread = deps.inForce === null;
  const compile =
    deps.compile ??
    ((s, a) => compileLists(s, a, { cache: deps.cache, onProgress: deps.onProgress, inThread }));
  const { artifact, report } = await compile(sources, abuse);
  // A guarded file is reported (and kept with the compiled lists) by its good copy's path, where a
  // lookup reads its lines once the lists are settled, not by the snapshot's.
  const files = deps.files;
  if (files !== undefined) for (const s of report.sources) s.path = files.finalPath(s.path);
  const lists = loadArtifact(artifact, 'compiled from the configured lists', {
    trusted: true,
    abuseKey: abuse?.key ?? null,
  });
  // Written (and flushed to disk: tens to hundreds of ms for a million names) while the lists are already
  // in force: only the next start reads it, and the cache's get() and the service's stop wait for it.
  void deps.compiled?.put(report, artifact);
  return { lists, from: 'lists', report, ms: ms(), missing };
}

/** True when the sources' version is the lists already in force (and the same feeds are missing). */
function unchanged(inForce: LoadedListSet | null, version: string, missing: readonly string[]): boolean {
  if (inForce === null || inForce.from !== 'lists') return false;
  if (inForce.missing.join('\n') !== missing.join('\n')) return false;
  return version === inForce.lists.version;
}

/**
 * Plain file sources for the compiler: a feed becomes its last good local copy (so the compile reads
 * what was downloaded, never the network); a feed without one is left out and named in `missing`.
 */
export function resolveSources(
  lists: readonly ListSource[],
  feeds: FeedCopies | undefined,
): { sources: ListSource[]; missing: string[] } {
  const sources: ListSource[] = [];
  const missing: string[] = [];
  for (const source of lists) {
    if (!isFeedSource(source)) {
      sources.push(source);
      continue;
    }
    const path = feeds?.localPath(source.name) ?? null;
    if (path === null) {
      missing.push(source.name);
      continue;
    }
    const plain: ListSource = { name: source.name, category: source.category, path };
    if (source.format !== undefined) plain.format = source.format;
    sources.push(plain);
  }
  return { sources, missing };
}

/**
 * Compiles on this thread when the sources are small (see IN_THREAD_MAX_BYTES) or `inThread` asks for it
 * (nothing answers yet), else in the worker; V8's young generation may grow meanwhile (young-generation.ts).
 */
export function compileLists(
  sources: readonly ListSource[],
  abuse?: AbuseCompileOptions,
  worker: CompileInWorkerOptions & { inThread?: boolean } = {},
): Promise<CompileResult> {
  return whileGrowing(() => compileHereOrInWorker(sources, abuse, worker));
}

async function compileHereOrInWorker(
  sources: readonly ListSource[],
  abuse: AbuseCompileOptions | undefined,
  worker: CompileInWorkerOptions & { inThread?: boolean },
): Promise<CompileResult> {
  const cache = worker.cache;
  const options = { ...(abuse === undefined ? {} : { abuse }), ...(cache === undefined ? {} : { cache }) };
  if (worker.inThread === true) {
    const started = performance.now();
    const onProgress = worker.onProgress;
    return compileSources(sources, {
      ...options,
      ...(onProgress === undefined
        ? {}
        : { onProgress: (rules, source) => onProgress({ rules, source, ms: performance.now() - started }) }),
      ...(worker.progressEveryMs === undefined ? {} : { progressEveryMs: worker.progressEveryMs }),
    });
  }
  let total = 0;
  for (const source of sources) {
    try {
      total += (await stat(source.path)).size;
    } catch {
      // Unreadable: compileSources raises the proper ROJE_ERR_LIST_READ, and quickly.
      return compileSources(sources, options);
    }
    if (total >= IN_THREAD_MAX_BYTES) return compileInWorker(sources, abuse, worker);
  }
  return compileSources(sources, options);
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
