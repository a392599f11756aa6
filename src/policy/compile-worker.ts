/**
 * compileSources in a worker thread, so that compiling millions of names (seconds of CPU) never blocks
 * the query loop. This one module is both sides: imported, it exports compileInWorker; run as a worker
 * (its own URL, marked by workerData), it compiles and posts the artifact back, transferring the bytes
 * rather than copying them. The worker resolves its URL like any module, so it runs from dist/ (.js) and
 * under tap's TypeScript loader (.ts: workers inherit the parent's execArgv and NODE_OPTIONS hooks).
 * While it runs, the worker posts its progress (compile.ts onProgress: counts only) before the reply.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { ERROR_CODES, RojeError, type RojeErrorCode } from '../errors.js';
import { abuseKey, keyBytes } from './abuse/key.js';
import {
  type AbuseCompileOptions,
  type CompileOptions,
  type CompileResult,
  compileSources,
} from './compile.js';
import { createParseCache, type ParseCache } from './parse-cache/index.js';
import type { ListSource } from './types.js';

const MARK = 'rojeCompileWorker';

type Reply =
  | { ok: true; artifact: ArrayBuffer; report: CompileResult['report']; cache: CacheReply | null }
  | { ok: false; code: string; message: string };

/** The worker's parse cache after a compile: what it parsed, and what the compile used (to keep). */
interface CacheReply {
  added: Array<[string, Uint8Array]>;
  keys: string[];
}

/** How far a compile got: rules so far (all sources), the source being read, ms since the compile began. */
export interface CompileProgress {
  rules: number;
  source: string;
  ms: number;
}

type Message = Reply | ({ progress: true } & CompileProgress);

export interface CompileInWorkerOptions {
  /** Parsed sources kept between compiles (parse-cache/): the worker parses only what is not in it. */
  cache?: ParseCache;
  /** Called about every PROGRESS_EVERY_MS of a long compile (compile.ts), on the calling thread. */
  onProgress?: (progress: CompileProgress) => void;
  /** Least time between two progress messages (tests); default compile.ts's PROGRESS_EVERY_MS. */
  progressEveryMs?: number;
}

/**
 * Compiles `sources` on a worker thread. Resolves with the artifact and the report; rejects with the
 * RojeError the compile raised (same code and message), or ROJE_ERR_LIST_COMPILE if the worker died.
 * With a parse cache, the worker gets a copy of its entries (a Map cannot be shared), reads and writes
 * its folder, and hands back what it parsed: the cache here then holds what the compile used.
 */
export function compileInWorker(
  sources: readonly ListSource[],
  abuse?: AbuseCompileOptions,
  options: CompileInWorkerOptions = {},
): Promise<CompileResult> {
  const cache = options.cache;
  return new Promise<CompileResult>((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
    };
    let worker: Worker;
    try {
      worker = new Worker(new URL(import.meta.url), {
        workerData: {
          [MARK]: true,
          sources: sources.map((s) => ({ ...s })),
          abuse: abuse === undefined ? null : { key: keyBytes(abuse.key), pageEntries: abuse.pageEntries },
          cache: cache === undefined ? null : { dir: cache.dir, seed: cache.entries() },
          progress: options.onProgress !== undefined,
          progressEveryMs: options.progressEveryMs ?? null,
        },
      });
    } catch (err) {
      reject(
        new RojeError('ROJE_ERR_LIST_COMPILE', `cannot start the compile worker: ${(err as Error).message}`, {
          cause: err,
        }),
      );
      return;
    }
    worker.on('message', (reply: Message) => {
      if ('progress' in reply) {
        if (!settled) options.onProgress?.({ rules: reply.rules, source: reply.source, ms: reply.ms });
        return;
      }
      settle(() => {
        if (reply.ok) {
          if (reply.cache !== null) cache?.adopt(reply.cache.added, reply.cache.keys);
          resolve({ artifact: Buffer.from(reply.artifact), report: reply.report });
        } else reject(new RojeError(knownCode(reply.code), reply.message));
      });
    });
    worker.once('error', (err) => {
      settle(() =>
        reject(
          new RojeError('ROJE_ERR_LIST_COMPILE', `the compile worker failed: ${err.message}`, { cause: err }),
        ),
      );
    });
    worker.once('exit', (code) => {
      settle(() =>
        reject(
          new RojeError('ROJE_ERR_LIST_COMPILE', `the compile worker exited (code ${code}) without a result`),
        ),
      );
    });
  });
}

/** The entries' own buffers, moved rather than copied (never a shared pool: that would detach others). */
function transferable(entries: ReadonlyArray<[string, Uint8Array]>): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const [, e] of entries) {
    if (e.byteOffset === 0 && e.byteLength === e.buffer.byteLength && e.buffer instanceof ArrayBuffer) {
      out.add(e.buffer);
    }
  }
  return [...out];
}

function knownCode(code: string): RojeErrorCode {
  return Object.hasOwn(ERROR_CODES, code) ? (code as RojeErrorCode) : 'ROJE_ERR_LIST_COMPILE';
}

interface WorkerInput {
  sources: ListSource[];
  abuse: { key: Uint8Array; pageEntries: AbuseCompileOptions['pageEntries'] } | null;
  cache: { dir: string | null; seed: Array<[string, Uint8Array]> } | null;
  progress: boolean;
  progressEveryMs: number | null;
}

async function runWorker(port: NonNullable<typeof parentPort>, input: WorkerInput): Promise<void> {
  let reply: Reply;
  let transfer: ArrayBuffer[] = [];
  try {
    const abuse = input.abuse;
    const cache = input.cache === null ? undefined : createParseCache(input.cache);
    const options: CompileOptions =
      abuse === null ? {} : { abuse: { key: abuseKey(abuse.key), pageEntries: abuse.pageEntries } };
    if (cache !== undefined) options.cache = cache;
    if (input.progress) {
      const started = performance.now();
      options.onProgress = (rules, source) => {
        const progress: Message = {
          progress: true,
          rules,
          source,
          ms: Math.round(performance.now() - started),
        };
        port.postMessage(progress);
      };
      if (input.progressEveryMs !== null) options.progressEveryMs = input.progressEveryMs;
    }
    const { artifact, report } = await compileSources(input.sources, options);
    // Transfer needs an ArrayBuffer of its own: a Buffer may be a view into a larger (pooled) one.
    const whole = artifact.byteOffset === 0 && artifact.byteLength === artifact.buffer.byteLength;
    const bytes = whole
      ? (artifact.buffer as ArrayBuffer)
      : artifact.buffer.slice(artifact.byteOffset, artifact.byteOffset + artifact.byteLength);
    const added = cache?.added() ?? [];
    reply = {
      ok: true,
      artifact: bytes as ArrayBuffer,
      report,
      // After the compile the worker's cache holds exactly the entries it used.
      cache: cache === undefined ? null : { added, keys: cache.entries().map(([key]) => key) },
    };
    transfer = [bytes as ArrayBuffer, ...transferable(added)];
  } catch (err) {
    reply =
      err instanceof RojeError
        ? { ok: false, code: err.code, message: err.message }
        : {
            ok: false,
            code: 'ROJE_ERR_LIST_COMPILE',
            message: `compiling the lists: ${(err as Error).message}`,
          };
  }
  port.postMessage(reply, transfer);
}

if (!isMainThread && parentPort !== null && (workerData as Record<string, unknown> | null)?.[MARK] === true) {
  await runWorker(parentPort, workerData as WorkerInput);
}
