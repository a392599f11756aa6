/**
 * One conditional GET of a list feed into a file: If-None-Match / If-Modified-Since from the stored
 * copy, a bearer token read from its file, the body streamed to disk and hashed on the way, cut off
 * past maxBytes, gzip/br/deflate undone, and retried with exponential backoff on network errors,
 * timeouts, 5xx and 429. Messages name the source and what happened, never the token or the URL's
 * secrets.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type * as Undici from 'undici';
import type { Agent, Dispatcher } from 'undici';
import { RojeError, type RojeErrorCode } from '../errors.js';
import { lazyRequire } from '../lazy.js';
import { VERSION } from '../version.js';
import { type FeedTls, redactUrl } from './types.js';

const undici = lazyRequire<typeof Undici>('undici');

export interface DownloadRequest {
  /** Source name, for messages. */
  name: string;
  url: string;
  /** Where the body goes (a temp file the caller renames or removes). */
  dest: string;
  maxBytes: number;
  timeoutMs: number;
  bearerTokenFile: string | null;
  /** Client certificate / CA files for the TLS connection (read at each download), or none. */
  tls?: FeedTls | null;
  /**
   * A stage between the download and the file (the abuse feed's hasher: its clear entries never reach
   * the disk). Size and SHA-256 stay those of the body as served.
   */
  rewrite?: () => Transform;
  /** Validators of the stored copy, for a conditional request. */
  etag?: string | null;
  lastModified?: string | null;
  signal?: AbortSignal;
}

export interface DownloadOptions {
  /** Attempts after the first (bounded). */
  retries?: number;
  /** First backoff delay; doubled per attempt, with up to 50% jitter, capped at maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** undici dispatcher (a proxy agent, tests). */
  dispatcher?: Dispatcher;
  /** Overall deadline per attempt, as a multiple of timeoutMs (a server dripping bytes forever). */
  deadlineFactor?: number;
}

export type DownloadResult =
  | { status: 'not-modified'; attempts: number }
  | {
      status: 'ok';
      attempts: number;
      bytes: number;
      sha256: string;
      etag: string | null;
      lastModified: string | null;
    };

type AttemptResult =
  | { status: 'not-modified' }
  | { status: 'ok'; bytes: number; sha256: string; etag: string | null; lastModified: string | null };

export const DOWNLOAD_DEFAULTS = { retries: 3, backoffMs: 1000, maxBackoffMs: 60_000, deadlineFactor: 10 };

/**
 * Publishers move lists behind redirects (release assets, mirrors). undici's redirect handler drops the
 * Authorization header when a redirect leaves the origin, so a token is never sent to another host.
 */
export const MAX_REDIRECTS = 5;

let agent: Agent | null = null;
/**
 * roje's own undici Agent, not the global dispatcher: on Node 22 and 24 the global one may be the
 * copy of undici built into Node (set up by any fetch()), whose handler API the undici 7 interceptors
 * cannot drive ("invalid onError method").
 */
function feedAgent(): Agent {
  agent ??= new (undici().Agent)();
  return agent;
}

/** Fails the attempt; `retry` says whether another attempt may help. */
class AttemptError extends RojeError {
  constructor(
    code: RojeErrorCode,
    message: string,
    readonly retry: boolean,
    readonly retryAfterMs: number | null = null,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/**
 * Downloads `req.url` into `req.dest`. Resolves 'not-modified' on 304 (dest untouched), 'ok' with the
 * body's size, hash and validators; rejects with RojeError ROJE_ERR_FEED_* after the last attempt.
 * `dest` never holds a partial body after a rejection.
 */
export async function download(req: DownloadRequest, options: DownloadOptions = {}): Promise<DownloadResult> {
  const o = { ...DOWNLOAD_DEFAULTS, ...options };
  const label = `feed "${req.name}" (${redactUrl(req.url)})`;
  const token = req.bearerTokenFile === null ? null : await readToken(req.bearerTokenFile, label);
  // A client certificate needs a connection of its own: an Agent for this download, closed after it.
  const tlsAgent = req.tls == null || o.dispatcher !== undefined ? null : await tlsAgentFor(req.tls, label);
  const opts = tlsAgent === null ? o : { ...o, dispatcher: tlsAgent };
  try {
    return await downloadAttempts(req, token, label, opts);
  } finally {
    await tlsAgent?.close();
  }
}

async function downloadAttempts(
  req: DownloadRequest,
  token: string | null,
  label: string,
  o: typeof DOWNLOAD_DEFAULTS & DownloadOptions,
): Promise<DownloadResult> {
  const attempts = 1 + Math.max(0, Math.floor(o.retries));
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await attemptOnce(req, token, label, o);
      return { ...result, attempts: attempt };
    } catch (err) {
      await rm(req.dest, { force: true });
      if (req.signal?.aborted) throw aborted(label, err);
      const e = err instanceof AttemptError ? err : networkError(label, err);
      if (!e.retry || attempt >= attempts) {
        throw new RojeError(
          e.code,
          attempts > 1 && e.retry ? `${e.message} (after ${attempt} attempts)` : e.message,
          { cause: e.cause ?? e },
        );
      }
      const backoff = Math.min(o.maxBackoffMs, o.backoffMs * 2 ** (attempt - 1));
      const delay = Math.min(
        o.maxBackoffMs,
        Math.max(e.retryAfterMs ?? 0, backoff * (1 + Math.random() / 2)),
      );
      await sleep(delay, req.signal).catch((why) => {
        throw aborted(label, why);
      });
    }
  }
}

async function attemptOnce(
  req: DownloadRequest,
  token: string | null,
  label: string,
  o: typeof DOWNLOAD_DEFAULTS & DownloadOptions,
): Promise<AttemptResult> {
  const headers: Record<string, string> = {
    'accept-encoding': 'gzip, br, deflate',
    'user-agent': `roje/${VERSION} (list feed refresh)`,
  };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (req.etag) headers['if-none-match'] = req.etag;
  if (req.lastModified) headers['if-modified-since'] = req.lastModified;

  const deadline = AbortSignal.timeout(req.timeoutMs * o.deadlineFactor);
  const signal = req.signal === undefined ? deadline : AbortSignal.any([req.signal, deadline]);
  let res: Dispatcher.ResponseData<unknown>;
  try {
    res = await undici().request(req.url, {
      method: 'GET',
      headers,
      signal,
      headersTimeout: req.timeoutMs,
      bodyTimeout: req.timeoutMs,
      dispatcher: (o.dispatcher ?? feedAgent()).compose(
        undici().interceptors.redirect({ maxRedirections: MAX_REDIRECTS }),
      ),
    } as Parameters<typeof Undici.request>[1]);
  } catch (err) {
    throw classify(err, label, req.timeoutMs, deadline.aborted ? req.timeoutMs * o.deadlineFactor : null);
  }

  const status = res.statusCode;
  if (status === 304) {
    res.body.resume();
    return { status: 'not-modified' };
  }
  if (status !== 200) {
    res.body.resume();
    const retry = status >= 500 || status === 429;
    const hint =
      status === 401 || status === 403
        ? ': check the bearerTokenFile'
        : status >= 300 && status < 400
          ? `: more than ${MAX_REDIRECTS} redirects, or one without a Location`
          : '';
    throw new AttemptError(
      'ROJE_ERR_FEED_HTTP',
      `${label} answered HTTP ${status}${hint}`,
      retry,
      status === 429 || status === 503 ? retryAfter(res.headers['retry-after']) : null,
    );
  }

  const declared = Number(res.headers['content-length']);
  const encoding = String(res.headers['content-encoding'] ?? 'identity').toLowerCase();
  // Destroying an undici body emits an abort error: swallowed here, the attempt reports its own.
  const discard = () => {
    res.body.on('error', () => {});
    res.body.destroy();
  };
  if (encoding === 'identity' && Number.isFinite(declared) && declared > req.maxBytes) {
    discard();
    throw new AttemptError(
      'ROJE_ERR_FEED_TOO_LARGE',
      `${label} is ${declared} bytes (Content-Length), more than its maxBytes ${req.maxBytes}`,
      false,
    );
  }

  const hash = createHash('sha256');
  let bytes = 0;
  const cap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (bytes > req.maxBytes) {
        done(
          new AttemptError(
            'ROJE_ERR_FEED_TOO_LARGE',
            `${label} sent more than its maxBytes ${req.maxBytes} bytes: download cut off`,
            false,
          ),
        );
        return;
      }
      hash.update(chunk);
      done(null, chunk);
    },
  });
  const stages: Array<Readable | Transform> = [res.body];
  const decoder = decoderFor(encoding);
  if (decoder === undefined) {
    discard();
    throw new AttemptError(
      'ROJE_ERR_FEED_HTTP',
      `${label} sent an unknown Content-Encoding "${encoding}"`,
      false,
    );
  }
  if (decoder !== null) stages.push(decoder);
  try {
    await pipeline([...stages, cap, ...(req.rewrite ? [req.rewrite()] : []), createWriteStream(req.dest)]);
  } catch (err) {
    if (err instanceof AttemptError) throw err;
    // The rewrite stage refused the content (an abuse feed hashed with another key, an overlong line):
    // its own code, and final: another attempt would get the same bytes.
    if (err instanceof RojeError) throw new AttemptError(err.code, err.message, false, null, { cause: err });
    const code = (err as { code?: unknown })?.code;
    if (typeof code === 'string' && code.startsWith('Z_')) {
      throw new AttemptError(
        'ROJE_ERR_FEED_HTTP',
        `${label} sent a body that is not valid ${encoding}`,
        true,
      );
    }
    if (isFileError(err)) {
      throw new AttemptError(
        'ROJE_ERR_FEED_STORE',
        `${label}: cannot write ${req.dest}: ${(err as Error).message}`,
        false,
      );
    }
    throw classify(
      err,
      label,
      req.timeoutMs,
      deadline.aborted ? req.timeoutMs * o.deadlineFactor : null,
      bytes,
    );
  }
  return {
    status: 'ok',
    bytes,
    sha256: hash.digest('hex'),
    etag: header(res.headers.etag),
    lastModified: header(res.headers['last-modified']),
  };
}

function decoderFor(encoding: string): Transform | null | undefined {
  if (encoding === 'identity' || encoding === '') return null;
  if (encoding === 'gzip' || encoding === 'x-gzip') return createGunzip();
  if (encoding === 'br') return createBrotliDecompress();
  if (encoding === 'deflate') return createInflate();
  return undefined;
}

async function tlsAgentFor(tls: FeedTls, label: string): Promise<Agent> {
  const read = async (key: keyof FeedTls): Promise<Buffer | undefined> => {
    const path = tls[key];
    if (path === null) return undefined;
    try {
      return await readFile(path);
    } catch (err) {
      const what = key === 'certFile' ? 'clientCertFile' : key === 'keyFile' ? 'clientKeyFile' : 'caFile';
      throw new RojeError(
        'ROJE_ERR_FEED_TLS',
        `${label}: the ${what} ${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        { cause: err },
      );
    }
  };
  const [cert, key, ca] = [await read('certFile'), await read('keyFile'), await read('caFile')];
  return new (undici().Agent)({
    connect: { ...(cert ? { cert } : {}), ...(key ? { key } : {}), ...(ca ? { ca } : {}) },
  });
}

async function readToken(path: string, label: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new RojeError(
      'ROJE_ERR_FEED_TOKEN',
      `${label}: the bearerTokenFile ${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      { cause: err },
    );
  }
  const token = text.trim();
  // A token with a line break or control character would corrupt the request (header injection).
  if (token === '' || /[\s\0-\x1f\x7f]/.test(token)) {
    throw new RojeError(
      'ROJE_ERR_FEED_TOKEN',
      `${label}: the bearerTokenFile ${path} must hold one token on one line (it is ${token === '' ? 'empty' : 'not one line'})`,
    );
  }
  return token;
}

function classify(
  err: unknown,
  label: string,
  timeoutMs: number,
  /** The per-attempt deadline when it is what fired, else null. */
  deadlineMs: number | null,
  bytes?: number,
): AttemptError {
  const after = bytes === undefined ? '' : ` after ${bytes} bytes`;
  if (
    deadlineMs !== null ||
    err instanceof undici().errors.HeadersTimeoutError ||
    err instanceof undici().errors.BodyTimeoutError ||
    (err as Error)?.name === 'TimeoutError'
  ) {
    const what = err instanceof undici().errors.BodyTimeoutError ? 'sent no data' : 'did not answer';
    return new AttemptError(
      'ROJE_ERR_FEED_TIMEOUT',
      deadlineMs !== null
        ? `${label} did not finish within ${deadlineMs} ms${after}`
        : `${label} ${what} within its timeout of ${timeoutMs} ms${after}`,
      true,
      null,
      { cause: err },
    );
  }
  if ((err as { code?: unknown })?.code === 'UND_ERR_INVALID_ARG') {
    // undici refuses the request itself (a redirect loop, a bad Location): trying again cannot help.
    return new AttemptError(
      'ROJE_ERR_FEED_HTTP',
      `${label} cannot be fetched: ${(err as Error).message}`,
      false,
      null,
      {
        cause: err,
      },
    );
  }
  return networkError(label, err, after);
}

function networkError(label: string, err: unknown, after = ''): AttemptError {
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = e?.code ?? e?.cause?.code;
  const why = code === undefined ? (e?.message ?? String(err)) : `${e.cause?.message ?? e.message} (${code})`;
  return new AttemptError('ROJE_ERR_FEED_NETWORK', `${label} cannot be fetched${after}: ${why}`, true, null, {
    cause: err,
  });
}

function aborted(label: string, err: unknown): RojeError {
  return new RojeError('ROJE_ERR_FEED_NETWORK', `${label}: download cancelled (roje is stopping)`, {
    cause: err,
  });
}

function isFileError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === 'ENOENT' || code === 'EACCES' || code === 'ENOSPC' || code === 'EROFS' || code === 'EISDIR';
}

function header(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? (value[0] ?? null) : value;
}

function retryAfter(value: string | string[] | undefined): number | null {
  const v = header(value);
  if (v === null) return null;
  const seconds = Number(v);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
