/**
 * The lists in force and their swap: numbered compiles (a result never replaces one that started
 * later), the listeners told before and after each swap, the last failure, and the log lines an
 * operator reads. The lists service (lists.ts) decides what to compile; this module holds the result.
 */
import type { Logger } from 'pino';
import type { AbuseKey } from '../policy/abuse/format.js';
import { loadArtifact } from '../policy/compiled/artifact.js';
import { type ListsStatus, type LoadedListSet, listsStatus } from '../policy/lists-loader.js';

/** Told of every swap: before (counts so far are named by the old lists) and after. */
export interface SwapListener {
  beforeSwap?(): void;
  afterSwap(set: LoadedListSet, reason: string): void;
}

export interface ListsInForce {
  current(): LoadedListSet | null;
  status(): ListsStatus | null;
  /** A number for a compile about to start; swaps are ordered by it. */
  nextCompile(): number;
  /** Compiles numbered so far. */
  compiles(): number;
  /**
   * Puts `loaded` in force unless a compile that started later already is, or it is the same lists
   * (same version, same missing feeds): then nothing is swapped, no listener is told, no history row.
   */
  swap(loaded: LoadedListSet, reason: string, seq: number, abuseKey: AbuseKey | null): void;
  /** A compile failed: the lists in force stay, the failure is kept for the status. */
  failed(err: unknown): void;
  onSwap(listener: SwapListener): void;
}

export function createListsInForce(options: { logger: Logger; shareArtifact: boolean }): ListsInForce {
  const log = options.logger;
  let set: LoadedListSet | null = null;
  let loadedAt = '';
  let lastError: { message: string; at: string } | null = null;
  let numbered = 0;
  let inForce = 0;
  const listeners: SwapListener[] = [];

  return {
    current: () => set,
    status: () => (set === null ? null : listsStatus(set, loadedAt, lastError)),
    nextCompile: () => ++numbered,
    compiles: () => numbered,
    swap(loaded, reason, seq, abuseKey) {
      if (seq < inForce) {
        log.warn(
          { version: loaded.lists.version.slice(0, 16) },
          'an older compile finished last: not swapped in',
        );
        return;
      }
      if (set !== null && sameLists(set, loaded)) {
        inForce = seq;
        lastError = null;
        log.info({ version: loaded.lists.version.slice(0, 16), reason }, 'lists unchanged: nothing to swap');
        return;
      }
      for (const l of listeners) l.beforeSwap?.();
      inForce = seq;
      set = options.shareArtifact ? shared(loaded, abuseKey) : loaded;
      loadedAt = new Date().toISOString();
      lastError = null;
      logSwap(log, loaded, reason);
      for (const l of listeners) l.afterSwap(set, reason);
    },
    failed(err) {
      lastError = { message: (err as Error).message, at: new Date().toISOString() };
      log.error(
        {
          err: lastError.message,
          code: (err as { code?: string }).code,
          version: set?.lists.version.slice(0, 16),
        },
        'lists reload failed; keeping the last good lists',
      );
    },
    onSwap: (listener) => {
      listeners.push(listener);
    },
  };
}

function sameLists(a: LoadedListSet, b: LoadedListSet): boolean {
  return (
    a.from === b.from && a.lists.version === b.lists.version && a.missing.join('\n') === b.missing.join('\n')
  );
}

function logSwap(log: Logger, loaded: LoadedListSet, message: string): void {
  const l = loaded.lists;
  log.info(
    {
      from: loaded.from,
      sources: l.sources.map(
        (s) => `${s.name} (${s.category}, ${s.format}, ${s.entries} rules, ${s.skipped} skipped)`,
      ),
      categories: l.categories,
      entries: l.entries,
      version: l.version.slice(0, 16),
      ms: Math.round(loaded.ms),
    },
    message,
  );
  if (loaded.from === 'none') log.warn('no lists: not filtering');
  if (loaded.missing.length > 0) {
    log.error(
      { missing: loaded.missing },
      'feeds without a good copy yet: answering SERVFAIL (EDE 14 Not Ready) until they are fetched',
    );
  }
}

/** The same lists over a SharedArrayBuffer, so that this thread and every query loop hold one copy. */
function shared(loaded: LoadedListSet, abuseKey: AbuseKey | null): LoadedListSet {
  const bytes = loaded.lists.artifact;
  if (bytes === undefined || bytes.buffer instanceof SharedArrayBuffer) return loaded;
  const sab = new SharedArrayBuffer(bytes.byteLength);
  new Uint8Array(sab).set(bytes);
  const lists = loadArtifact(Buffer.from(sab), 'shared lists', { trusted: true, abuseKey });
  return { ...loaded, lists };
}
