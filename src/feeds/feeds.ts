/**
 * The feed manager: refreshes each URL source on its own schedule, keeps its last good copy on disk
 * and tells the app when one changed, so the app recompiles off the query loop and swaps the lists
 * whole. A failed download or parse keeps the last good copy; a copy that lost more than maxShrink of
 * the rules is held until an operator accepts or rejects it.
 */
import { rm, stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import { RojeError, type RojeErrorCode } from '../errors.js';
import { type AbuseKey, createAbuseHashStream } from '../policy/abuse/format.js';
import { CONFIDENTIAL_CATEGORIES } from '../policy/types.js';
import { type DownloadOptions, download } from './download.js';
import { checkList, createFeedStore, type FeedMeta } from './store.js';
import { type FeedListSource, redactUrl } from './types.js';

export type FeedRefreshResult =
  | { name: string; result: 'updated'; rules: number; previousRules: number | null }
  | { name: string; result: 'not-modified' | 'unchanged'; rules: number }
  | { name: string; result: 'held'; rules: number; previousRules: number }
  | { name: string; result: 'failed'; code: RojeErrorCode; reason: string };

export type FeedResultKind = FeedRefreshResult['result'];

export interface FeedStatus {
  name: string;
  category: string;
  /** Without credentials; query values redacted. */
  url: string;
  refreshSeconds: number;
  /** The copy in force, or null (none yet: the resolver must not serve). */
  good: {
    fetchedAt: string;
    checkedAt: string;
    ageSeconds: number;
    format: string;
    rules: number;
    skipped: number;
    bytes: number;
    /** First 12 hex digits. */
    sha256: string;
  } | null;
  /** A shrunken copy waiting for accept/reject, or null. */
  held: { fetchedAt: string; rules: number; previousRules: number; bytes: number; sha256: string } | null;
  lastAttempt: { at: string; result: FeedResultKind; code?: RojeErrorCode; reason?: string } | null;
  /** Consecutive failed attempts. */
  failures: number;
  nextRefreshAt: string | null;
}

export interface FeedsOptions {
  sources: readonly FeedListSource[];
  /** Downloaded copies live under <stateDir>/feeds. */
  stateDir: string;
  logger: Logger;
  /**
   * The deployment's abuse key: a feed in a confidential category is hashed on its way to the disk
   * with it (such a feed fails without it).
   */
  abuseKey?: AbuseKey;
  /** Called with the names whose good copy changed (refresh or accept); the app recompiles. */
  onChange?: (names: string[]) => void | Promise<void>;
  download?: DownloadOptions;
  /** First delay after a failed scheduled refresh (doubled per failure, up to the refresh interval). */
  retryMs?: number;
  /** Downloads at once in one refresh() call. */
  concurrency?: number;
  now?: () => number;
}

export interface Feeds {
  /** Refreshes the named sources (all when omitted); rejects ROJE_ERR_FEED_UNKNOWN for a name not configured. */
  refresh(names?: readonly string[]): Promise<FeedRefreshResult[]>;
  status(): FeedStatus[];
  /** Promotes the held copy of `name` (ROJE_ERR_FEED_NOT_HELD when there is none) and fires onChange. */
  accept(name: string): Promise<void>;
  /** Discards the held copy of `name`; the good copy stays. */
  reject(name: string): Promise<void>;
  /** The good copy's path for the compiler, or null when there is none yet (or `name` is unknown). */
  localPath(name: string): string | null;
  /** Names of the sources without a good copy. */
  missing(): string[];
  /** Schedules every source: at once if it has no copy or its copy is due, else when it falls due. */
  start(): void;
  /** Clears the timers, cancels downloads in flight and waits for them. */
  stop(): Promise<void>;
}

interface FeedState {
  source: FeedListSource;
  good: FeedMeta | null;
  held: FeedMeta | null;
  last: FeedStatus['lastAttempt'];
  failures: number;
  timer: NodeJS.Timeout | null;
  nextAt: number | null;
  /** Every disk change of this source runs through this chain, one at a time. */
  queue: Promise<unknown>;
  /** A refresh queued or running: a second caller shares it. */
  pending: Promise<FeedRefreshResult> | null;
}

// long-function: the sources' states, timers and store are the feed manager's state, shared by its inner
// functions (attempt, fetchAndStore, schedule, refresh, accept).
export async function createFeeds(options: FeedsOptions): Promise<Feeds> {
  const log = options.logger;
  const now = options.now ?? Date.now;
  const retryMs = options.retryMs ?? 60_000;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const store = await createFeedStore(options.stateDir);
  const states = new Map<string, FeedState>();
  for (const source of options.sources) {
    states.set(source.name, {
      source,
      good: await store.read(source.name, 'good'),
      held: await store.read(source.name, 'held'),
      last: null,
      failures: 0,
      timer: null,
      nextAt: null,
      queue: Promise.resolve(),
      pending: null,
    });
  }
  let abort = new AbortController();
  let running = false;

  function get(name: string): FeedState {
    const s = states.get(name);
    if (s === undefined) {
      throw new RojeError(
        'ROJE_ERR_FEED_UNKNOWN',
        `no list feed is named "${name}" (feeds: ${[...states.keys()].join(', ') || 'none'})`,
      );
    }
    return s;
  }

  function exclusive<T>(s: FeedState, fn: () => Promise<T>): Promise<T> {
    const run = s.queue.then(fn, fn);
    s.queue = run.catch(() => {});
    return run;
  }

  function refreshOne(s: FeedState): Promise<FeedRefreshResult> {
    if (s.pending !== null) return s.pending;
    const p = exclusive(s, () => attempt(s)).finally(() => {
      s.pending = null;
    });
    s.pending = p;
    return p;
  }

  async function attempt(s: FeedState): Promise<FeedRefreshResult> {
    const { source } = s;
    const name = source.name;
    const label = `feed "${name}" (${redactUrl(source.feed.url)})`;
    const started = performance.now();
    const tmp = store.tempPath(name);
    let result: FeedRefreshResult;
    try {
      result = await fetchAndStore(s, tmp, label);
    } catch (err) {
      await rm(tmp, { force: true });
      const code = err instanceof RojeError ? err.code : 'ROJE_ERR_FEED_NETWORK';
      result = { name, result: 'failed', code, reason: (err as Error).message };
    }
    const at = new Date(now()).toISOString();
    const ms = Math.round(performance.now() - started);
    if (result.result === 'failed') {
      s.failures++;
      s.last = { at, result: 'failed', code: result.code, reason: result.reason };
      log.warn(
        { feed: name, code: result.code, err: result.reason, failures: s.failures, ms },
        s.good === null
          ? 'feed refresh failed; no good copy yet'
          : 'feed refresh failed; keeping the last good copy',
      );
    } else {
      s.failures = 0;
      s.last = { at, result: result.result };
      const fields = { feed: name, result: result.result, rules: result.rules, ms };
      if (result.result === 'held') {
        log.warn(
          { ...fields, previousRules: result.previousRules, maxShrink: source.feed.maxShrink },
          'feed shrank too much: new copy held until an operator accepts or rejects it',
        );
      } else if (result.result === 'updated') log.info(fields, 'feed updated');
      else log.debug(fields, 'feed checked');
    }
    return result;
  }

  async function fetchAndStore(s: FeedState, tmp: string, label: string): Promise<FeedRefreshResult> {
    const { source } = s;
    const { feed, name } = source;
    const abuseKey = CONFIDENTIAL_CATEGORIES.has(source.category) ? requireAbuseKey(label) : undefined;
    const got = await download(
      {
        name,
        url: feed.url,
        dest: tmp,
        maxBytes: feed.maxBytes,
        timeoutMs: feed.timeoutMs,
        bearerTokenFile: feed.bearerTokenFile,
        tls: feed.tls ?? null,
        ...(abuseKey !== undefined ? { rewrite: () => createAbuseHashStream(abuseKey, label) } : {}),
        etag: s.good?.etag ?? null,
        lastModified: s.good?.lastModified ?? null,
        signal: abort.signal,
      },
      options.download,
    );
    const at = new Date(now()).toISOString();
    if (got.status === 'not-modified') {
      const good = s.good;
      if (good === null)
        throw new RojeError('ROJE_ERR_FEED_HTTP', `${label} answered 304 to an unconditional request`);
      s.good = { ...good, checkedAt: at };
      await store.writeMeta(name, 'good', s.good);
      // The publisher is back to the copy in force: a held shrunken copy is moot.
      await dropHeld(s, 'the feed is back to the copy in force');
      return { name, result: 'not-modified', rules: good.rules };
    }
    const validators = { etag: got.etag, lastModified: got.lastModified };
    if (s.good !== null && got.sha256 === s.good.sha256) {
      await rm(tmp, { force: true });
      s.good = { ...s.good, ...validators, checkedAt: at };
      await store.writeMeta(name, 'good', s.good);
      await dropHeld(s, 'the feed is back to the copy in force');
      return { name, result: 'unchanged', rules: s.good.rules };
    }
    if (s.good !== null && s.held !== null && got.sha256 === s.held.sha256) {
      await rm(tmp, { force: true });
      s.held = { ...s.held, ...validators, checkedAt: at };
      await store.writeMeta(name, 'held', s.held);
      return { name, result: 'held', rules: s.held.rules, previousRules: s.good.rules };
    }
    const check = await checkList(source, tmp, label, abuseKey);
    const meta: FeedMeta = {
      url: redactUrl(feed.url),
      ...validators,
      sha256: got.sha256,
      // What is on disk: an abuse feed is stored hashed, not as served.
      bytes: abuseKey === undefined ? got.bytes : (await stat(tmp)).size,
      format: check.format,
      rules: check.rules,
      skipped: check.skipped,
      fetchedAt: at,
      checkedAt: at,
    };
    const previous = s.good;
    if (previous !== null && check.rules < (1 - feed.maxShrink) * previous.rules) {
      await store.commit(name, 'held', tmp, meta);
      s.held = meta;
      return { name, result: 'held', rules: meta.rules, previousRules: previous.rules };
    }
    await store.commit(name, 'good', tmp, meta);
    s.good = meta;
    await dropHeld(s, 'a newer good copy replaced it');
    return { name, result: 'updated', rules: meta.rules, previousRules: previous?.rules ?? null };
  }

  async function dropHeld(s: FeedState, why: string): Promise<void> {
    if (s.held === null) return;
    await store.discard(s.source.name, 'held');
    s.held = null;
    log.info({ feed: s.source.name }, `held copy discarded: ${why}`);
  }

  async function notify(names: string[]): Promise<void> {
    if (names.length === 0 || options.onChange === undefined) return;
    try {
      await options.onChange(names);
    } catch (err) {
      log.error({ feeds: names, err: (err as Error).message }, 'feed change handler failed');
    }
  }

  async function refresh(names?: readonly string[]): Promise<FeedRefreshResult[]> {
    const chosen = (names ?? [...states.keys()]).map(get);
    const results: FeedRefreshResult[] = new Array(chosen.length);
    let next = 0;
    const worker = async () => {
      while (next < chosen.length) {
        const i = next++;
        results[i] = await refreshOne(chosen[i]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, chosen.length) }, worker));
    await notify(results.filter((r) => r.result === 'updated').map((r) => r.name));
    return results;
  }

  function schedule(s: FeedState, delay: number): void {
    if (!running) return;
    if (s.timer !== null) clearTimeout(s.timer);
    s.nextAt = now() + delay;
    s.timer = setTimeout(() => {
      s.timer = null;
      s.nextAt = null;
      void refreshOne(s).then(async (r) => {
        schedule(s, nextDelay(s));
        if (r.result === 'updated') await notify([r.name]);
      });
    }, delay);
    s.timer.unref();
  }

  function nextDelay(s: FeedState): number {
    const every = s.source.feed.refreshMs;
    if (s.failures > 0) return Math.min(every, retryMs * 2 ** Math.min(s.failures - 1, 20));
    // Up to 10% early, so that many roje instances do not hit a publisher in the same second.
    return Math.round(every * (1 - Math.random() * 0.1));
  }

  return {
    refresh,
    status() {
      const t = now();
      return [...states.values()].map((s): FeedStatus => {
        const g = s.good;
        const h = s.held;
        return {
          name: s.source.name,
          category: s.source.category,
          url: redactUrl(s.source.feed.url),
          refreshSeconds: Math.round(s.source.feed.refreshMs / 1000),
          good:
            g === null
              ? null
              : {
                  fetchedAt: g.fetchedAt,
                  checkedAt: g.checkedAt,
                  ageSeconds: Math.max(0, Math.round((t - Date.parse(g.fetchedAt)) / 1000)),
                  format: g.format,
                  rules: g.rules,
                  skipped: g.skipped,
                  bytes: g.bytes,
                  sha256: g.sha256.slice(0, 12),
                },
          held:
            h === null
              ? null
              : {
                  fetchedAt: h.fetchedAt,
                  rules: h.rules,
                  previousRules: g?.rules ?? 0,
                  bytes: h.bytes,
                  sha256: h.sha256.slice(0, 12),
                },
          lastAttempt: s.last === null ? null : { ...s.last },
          failures: s.failures,
          nextRefreshAt: s.nextAt === null ? null : new Date(s.nextAt).toISOString(),
        };
      });
    },
    async accept(name) {
      const s = get(name);
      await exclusive(s, async () => {
        const held = s.held;
        if (held === null) throw notHeld(name);
        const meta = { ...held, checkedAt: new Date(now()).toISOString() };
        await store.promote(name, meta);
        log.info(
          { feed: name, rules: meta.rules, previousRules: s.good?.rules ?? null },
          'held copy accepted',
        );
        s.good = meta;
        s.held = null;
      });
      await notify([name]);
    },
    async reject(name) {
      const s = get(name);
      await exclusive(s, async () => {
        const held = s.held;
        if (held === null) throw notHeld(name);
        await store.discard(name, 'held');
        log.info({ feed: name, rules: held.rules }, 'held copy rejected');
        s.held = null;
      });
    },
    localPath(name) {
      const s = states.get(name);
      return s?.good ? store.path(name, 'good') : null;
    },
    missing: () => [...states.values()].filter((s) => s.good === null).map((s) => s.source.name),
    start() {
      if (running) return;
      running = true;
      abort = new AbortController();
      const t = now();
      for (const s of states.values()) {
        const due = s.good === null ? 0 : Date.parse(s.good.checkedAt) + s.source.feed.refreshMs - t;
        // A small spread so that a restart does not fire every due feed in the same tick.
        schedule(s, Math.max(0, due) + Math.round(Math.random() * 1000));
      }
    },
    async stop() {
      running = false;
      abort.abort(new Error('roje is stopping'));
      for (const s of states.values()) {
        if (s.timer !== null) clearTimeout(s.timer);
        s.timer = null;
        s.nextAt = null;
      }
      await Promise.all([...states.values()].map((s) => s.queue));
    },
  };

  function requireAbuseKey(label: string): AbuseKey {
    if (options.abuseKey === undefined) {
      throw new RojeError(
        'ROJE_ERR_ABUSE_KEY',
        `${label} is an abuse feed: it needs the deployment's abuse key`,
      );
    }
    return options.abuseKey;
  }

  function notHeld(name: string): RojeError {
    return new RojeError('ROJE_ERR_FEED_NOT_HELD', `feed "${name}" has no held copy to accept or reject`);
  }
}
