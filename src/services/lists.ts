/**
 * The lists service: everything about the lists in force. Their sources, the feeds and fleet links
 * that bring them, the abuse key, compiling (through one queue: services/compile-queue.ts), the swap,
 * status and history. The lists are loaded before any listener opens (fail closed) and swapped whole;
 * a compile that fails keeps the last good lists.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AuditLog } from '../admin/audit.js';
import { assertListsProvideCategories } from '../config/policy-categories.js';
import type { RojeConfig } from '../config/schema.js';
import { RojeError } from '../errors.js';
import { createFeeds, type FeedRefreshResult, type FeedStatus, type Feeds } from '../feeds/feeds.js';
import { createFileGuard, type FileGuard, type FileSourceStatus } from '../feeds/files.js';
import { isFeedSource } from '../feeds/types.js';
import { createFleet, type Fleet, type FleetChange } from '../fleet/fleet.js';
import type { PullOutcome } from '../fleet/pull.js';
import type { PolicyFacts } from '../pipeline/policy-strings.js';
import type { AbuseKey } from '../policy/abuse/format.js';
import { type AbuseStatus, abuseStatus } from '../policy/abuse/status.js';
import type { AbuseCompileOptions } from '../policy/compile.js';
import { createCompiledCache } from '../policy/compiled-cache.js';
import {
  type ListsLoaderDeps,
  type ListsStatus,
  type LoadedListSet,
  loadLists,
} from '../policy/lists-loader.js';
import { createParseCache } from '../policy/parse-cache/index.js';
import type { CompiledLists } from '../policy/types.js';
import { type AbuseKeys, createAbuseKeys } from './abuse-keys.js';
import { type CompileQueue, createCompileQueue } from './compile-queue.js';
import type { Change, Service } from './lifecycle.js';
import { createListsInForce, type ListsInForce, type SwapListener } from './lists-in-force.js';
import { createListParses, type ListParses } from './lists-parses.js';
import { type ListsView, listsView, refreshResults, sourceAges } from './lists-view.js';

export type { ListsView, SwapListener };

export interface ListsServiceOptions {
  config: RojeConfig;
  logger: Logger;
  audit: AuditLog;
  /** Replaces how lists are compiled or read (tests). */
  loader?: ListsLoaderDeps;
  /** Keep the artifact in a SharedArrayBuffer, so that every query loop thread reads one copy. */
  shareArtifact: boolean;
}

export interface RefreshOutcome {
  feeds: FeedRefreshResult[];
  fleet?: PullOutcome;
  lists: ListsStatus | null;
}

export interface ListsService extends Service {
  /** The lists in force; null only before the first load. */
  current(): LoadedListSet | null;
  lists(): CompiledLists | null;
  /** Fail closed: false while no lists are loaded or a feed has no good copy yet. */
  ready(): boolean;
  missing(): readonly string[];
  status(): ListsStatus | null;
  /** Counts, versions and ages for the status page; never entries. */
  view(): ListsView | null;
  abuseKey(): AbuseKey | null;
  abuseStatus(): AbuseStatus;
  /** When each feed's copy was last confirmed (downloaded or 304). */
  checkedAt(): Map<string, string | undefined>;
  /** What the CH TXT policy strings say. */
  facts(): PolicyFacts;
  feeds(): FeedStatus[];
  /** The guarded list files: their good copy and any held content (counts and hashes, never entries). */
  files(): FileSourceStatus[];
  fleet(): Fleet;
  /** Per source: entries and age, for the metrics. */
  sourceAges(): Array<{ name: string; category: string; entries: number; ageSeconds: number }>;
  /** Per feed: its last refresh, for the metrics. */
  refreshResults(): Array<{ name: string; ok: boolean; at: number | null }>;
  /** Recompiles through the queue; rejects (the running lists stay) when the compile fails. */
  recompile(reason: string): Promise<ListsStatus | null>;
  /** Refreshes feeds (all, or the named sources), pulls (an edge), and recompiles if nothing else did. */
  refresh(sources: readonly string[] | undefined): Promise<RefreshOutcome>;
  /** Accept or reject a held feed copy or list file: false when there is no such source or nothing is held. */
  accept(name: string): Promise<boolean>;
  reject(name: string): Promise<boolean>;
  /** Starts the refresh schedules (feeds, fleet pulls); stopSchedules() ends them. */
  startSchedules(): void;
  stopSchedules(): Promise<void>;
  onSwap(listener: SwapListener): void;
  /** Compiles started so far (tests). */
  compiles(): number;
  /** Sources the compiles parsed, and those they took from the parse cache (metrics, tests). */
  parses(): { parsed: number; cached: number };
}

/** What the service holds, shared with the reload and refresh paths below. */
interface ListsState {
  config: RojeConfig;
  abuse: AbuseCompileOptions | undefined;
  feeds: Feeds | null;
  /** The guarded list files (an emptied or halved file is held); null when the lists have none. */
  files: FileGuard | null;
  /** Refresh schedules are running: a reload's new feeds start theirs at commit. */
  scheduling: boolean;
}

interface ListsParts {
  state: ListsState;
  inForce: ListsInForce;
  keys: AbuseKeys;
  fleet: Fleet;
  queue: CompileQueue<ListsStatus | null>;
  openFeeds(config: RojeConfig, abuse: AbuseCompileOptions | undefined): Promise<Feeds | null>;
  loader: ListsLoaderDeps;
  parses: ListParses;
}

export function createListsService(options: ListsServiceOptions): ListsService {
  const feedsLogger = options.logger.child({ module: 'feeds' });
  const listsLogger = options.logger.child({ module: 'lists' });
  const inForce = createListsInForce({ logger: listsLogger, shareArtifact: options.shareArtifact });
  const state: ListsState = {
    config: options.config,
    abuse: undefined,
    feeds: null,
    files: null,
    scheduling: false,
  };
  const loader = compileDeps(options.config, options.loader, listsLogger);
  const keys = createAbuseKeys({ logger: options.logger, audit: options.audit });
  const parses = createListParses(listsLogger);
  const fleet = createFleet({
    logger: options.logger.child({ module: 'fleet' }),
    abuseKey: () => state.abuse?.key ?? null,
    onUpdate: () => queue.request('lists reloaded (fleet artifact)'),
  });
  // Every compile but a reload's: the config, feeds and key in force when the run starts.
  const queue = createCompileQueue(async (reasons) => {
    const seq = inForce.nextCompile();
    try {
      const previous = inForce.current();
      const loaded = await loadLists(state.config, loaderDeps(loader, state, fleet, previous));
      parses.note(loaded, previous);
      // A new artifact or pull that lacks a category a policy blocks is refused like a broken one.
      assertListsProvideCategories(state.config, loaded);
      inForce.swap(loaded, reasons.join('; '), seq, state.abuse?.key ?? null);
      return inForce.status();
    } catch (err) {
      inForce.failed(err);
      throw err;
    }
  });

  async function openFeeds(c: RojeConfig, a: AbuseCompileOptions | undefined): Promise<Feeds | null> {
    const sources = c.compiled === null ? c.lists.filter(isFeedSource) : [];
    if (sources.length === 0) return null;
    return createFeeds({
      sources,
      stateDir: c.stateDir as string, // the config requires one when a feed is configured
      logger: feedsLogger,
      ...(a !== undefined ? { abuseKey: a.key } : {}),
      onChange: async (names) => {
        // A failed compile is logged and kept in status; the feed's good copy stays for the next one.
        await queue.request(`lists recompiled (feeds: ${names.join(', ')})`).catch(() => {});
      },
    });
  }

  const parts: ListsParts = { state, inForce, keys, fleet, queue, openFeeds, loader, parses };

  function checkedAt(): Map<string, string | undefined> {
    return new Map((state.feeds?.status() ?? []).map((f) => [f.name, f.good?.checkedAt]));
  }

  function currentAbuseStatus(): AbuseStatus {
    return abuseStatus({
      lists: inForce.current()?.lists ?? null,
      confirmedAt: checkedAt(),
      pageEntries: state.config.abuse.pageEntries,
      maxAgeMs: state.config.abuse.maxAgeMs,
      keyId: state.abuse?.key.id ?? null,
      now: Date.now(),
    });
  }

  return {
    name: 'lists',
    async start() {
      // Lists first: a resolver that cannot load its lists must not start answering (fail closed). Feeds
      // compile from their copies on disk; one that has none yet keeps roje answering SERVFAIL.
      try {
        state.abuse = await keys.load(state.config, undefined);
        state.files = await createFileGuard({
          stateDir: state.config.stateDir,
          logger: options.logger.child({ module: 'lists' }),
        });
        state.feeds = await openFeeds(state.config, state.abuse);
        await fleet.configure(state.config);
        await queue.request('lists loaded');
        keys.noteChoice(state.config);
      } catch (err) {
        await state.feeds?.stop();
        await fleet.stop();
        await state.files?.close();
        throw err;
      }
    },
    async stop() {
      await stopSchedules();
      await letGo(parts);
    },
    prepare: (next) => prepareReload(parts, next),
    current: inForce.current,
    lists: () => inForce.current()?.lists ?? null,
    // Ready: lists in force, none of them waiting for a first good copy.
    ready: () => inForce.current()?.missing.length === 0,
    missing: () => inForce.current()?.missing ?? [],
    status: inForce.status,
    view: () => listsView(inForce.current(), inForce.status()),
    abuseKey: () => state.abuse?.key ?? null,
    abuseStatus: currentAbuseStatus,
    checkedAt,
    facts: () => ({
      lists: inForce.current()?.lists ?? null,
      missing: inForce.current()?.missing ?? [],
      checkedAt: checkedAt(),
      abuse: currentAbuseStatus(),
      now: Date.now(),
    }),
    feeds: () => state.feeds?.status() ?? [],
    fleet: () => fleet,
    sourceAges: () => sourceAges(inForce.current(), state.feeds?.status() ?? []),
    refreshResults: () => [
      ...refreshResults(state.feeds?.status() ?? []),
      // A held list file reads as a failed refresh: the category runs on an older copy.
      ...(state.files?.status() ?? []).map((f) => ({
        name: f.name,
        ok: f.held === null,
        at: f.good === null ? null : Date.parse(f.good.checkedAt),
      })),
    ],
    recompile: (reason) => queue.request(reason),
    refresh: (sources) => refreshSources(parts, sources),
    files: () => state.files?.status() ?? [],
    accept: (name) => decideHeld(parts, name, 'accept'),
    reject: (name) => decideHeld(parts, name, 'reject'),
    startSchedules() {
      state.scheduling = true;
      // Fetches the feeds without a copy at once; each change recompiles and swaps the lists.
      state.feeds?.start();
      fleet.start();
    },
    stopSchedules,
    onSwap: inForce.onSwap,
    compiles: inForce.compiles,
    parses: parses.counts,
  };

  async function stopSchedules(): Promise<void> {
    state.scheduling = false;
    await state.feeds?.stop();
    await fleet.stop();
  }
}

/**
 * The loader's helpers: parsed sources kept (in memory, and under stateDir) so that a compile parses
 * only what changed; under stateDir, the compiled lists by version, so that a restart with the same lists
 * compiles nothing; and the progress of a long compile (seconds for millions of names) in the log.
 */
function compileDeps(config: RojeConfig, base: ListsLoaderDeps | undefined, log: Logger): ListsLoaderDeps {
  const dir = config.stateDir === null ? null : join(config.stateDir, 'parsed');
  const compiled =
    config.stateDir === null ? {} : { compiled: createCompiledCache(join(config.stateDir, 'compiled')) };
  return {
    onProgress: (progress) => log.info(progress, 'compiling lists'),
    cache: createParseCache({ dir }),
    ...compiled,
    ...base,
  };
}

/** A reload's lists: compiled from the new config while holding the queue, swapped at commit. */
async function prepareReload(p: ListsParts, next: RojeConfig): Promise<Change> {
  const { state, inForce, keys, fleet, queue } = p;
  const release = await queue.hold();
  let nextFeeds: Feeds | null = null;
  let fleetChange: FleetChange | null = null;
  try {
    const nextAbuse = await keys.load(next, state.abuse);
    fleetChange = await fleet.prepare(next);
    nextFeeds = await p.openFeeds(next, nextAbuse);
    const seq = inForce.nextCompile();
    const previous = inForce.current();
    // A compile failure does not fail the reload: the running lists stay, the rest of the config applies.
    const loaded = await loadLists(
      next,
      loaderDeps(p.loader, { feeds: nextFeeds, abuse: nextAbuse, files: state.files }, fleetChange, previous),
    ).catch((err: unknown) => ({ err }));
    if (!('err' in loaded)) p.parses.note(loaded, previous);
    // Unlike a compile failure, a policy blocking a category the lists in force would lack refuses the
    // whole reload: applying the rest would leave that category unfiltered.
    assertListsProvideCategories(next, 'err' in loaded ? inForce.current() : loaded);
    const change = fleetChange;
    const candidate = nextFeeds;
    return {
      async commit() {
        state.config = next;
        state.abuse = nextAbuse;
        keys.noteChoice(next);
        await change.commit();
        const previous = state.feeds;
        state.feeds = candidate;
        if ('err' in loaded) inForce.failed(loaded.err);
        else inForce.swap(loaded, 'lists reloaded', seq, nextAbuse?.key ?? null);
        release();
        await previous?.stop();
        if (state.scheduling) state.feeds?.start();
      },
      async abort() {
        await candidate?.stop();
        await change.abort();
        release();
      },
    };
  } catch (err) {
    await nextFeeds?.stop();
    await fleetChange?.abort();
    release();
    throw err;
  }
}

/** Refreshes feeds (all, or the named sources), pulls, and recompiles if neither swapped the lists. */
async function refreshSources(
  p: ListsParts,
  sources: readonly string[] | undefined,
): Promise<RefreshOutcome> {
  const { state, inForce, fleet, queue } = p;
  const known = new Set(state.config.lists.map((s) => s.name));
  const unknown = (sources ?? []).filter((n) => !known.has(n));
  if (unknown.length > 0) {
    throw new RojeError('ROJE_ERR_LIST_SOURCE_UNKNOWN', `no list source named ${unknown.join(', ')}`);
  }
  const feedNames = new Set(state.config.lists.filter(isFeedSource).map((s) => s.name));
  const wanted = (sources ?? [...feedNames]).filter((n) => feedNames.has(n));
  const feeds = state.feeds;
  const results = feeds === null || wanted.length === 0 ? [] : await feeds.refresh(wanted);
  // An edge pulls now; a new artifact recompiles through the queue itself (onUpdate).
  const pulled = await fleet.pullNow();
  // A changed feed already recompiled (onChange); otherwise recompile for the files.
  if (!results.some((r) => r.result === 'updated') && pulled?.result !== 'updated') {
    await queue.request('lists reloaded');
  }
  return { feeds: results, ...(pulled !== null ? { fleet: pulled } : {}), lists: inForce.status() };
}

function loaderDeps(
  base: ListsLoaderDeps,
  inputs: Pick<ListsState, 'feeds' | 'abuse' | 'files'>,
  artifacts: Pick<Fleet, 'current'>,
  inForce: LoadedListSet | null,
): ListsLoaderDeps {
  const { feeds, abuse, files } = inputs;
  return {
    ...base,
    ...(feeds !== null ? { feeds } : {}),
    ...(abuse !== undefined ? { abuse } : {}),
    ...(files !== null ? { files } : {}),
    fleet: artifacts,
    inForce,
  };
}

/** A held feed copy or list file accepted (then compiled in) or rejected (the good copy stays). */
async function decideHeld(p: ListsParts, name: string, verb: 'accept' | 'reject'): Promise<boolean> {
  const files = p.state.files;
  if (files === null || !files.has(name)) return held(p.state.feeds, (f) => f[verb](name));
  try {
    await files[verb](name);
  } catch (err) {
    if ((err as { code?: string }).code === 'ROJE_ERR_FEED_NOT_HELD') return false;
    throw err;
  }
  if (verb === 'accept') await p.queue.request(`lists recompiled (list file ${name} accepted)`);
  return true;
}

/** Accept or reject a held feed copy: false when there is no such feed or nothing is held. */
async function held(feeds: Feeds | null, run: (f: Feeds) => Promise<void>): Promise<boolean> {
  if (feeds === null) return false;
  try {
    await run(feeds);
    return true;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ROJE_ERR_FEED_NOT_HELD' || code === 'ROJE_ERR_FEED_UNKNOWN') return false;
    throw err;
  }
}

/**
 * The end of a stop: a compile under way (a feed's first copy came just before it) ends before the state
 * it writes (parse cache, kept copy) is let go, bounded so that a stuck one cannot hold the stop; then the
 * file guard closes, and the compiled lists kept for the next start (written after their swap) settle.
 */
async function letGo(parts: ListsParts): Promise<void> {
  await compilesDone(parts.queue, STOP_WAIT_MS);
  await parts.state.files?.close();
  await parts.loader.compiled?.settled();
}

/** How long a stop waits for a compile under way. */
const STOP_WAIT_MS = 10_000;

/** Resolves when the compile under way (if any) has ended, or after `ms`. */
async function compilesDone(queue: CompileQueue<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref();
  });
  await Promise.race([queue.hold().then((release) => release()), waited]);
  clearTimeout(timer);
}
