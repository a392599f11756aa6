import type { Logger } from 'pino';
import { EDE, type ExtendedError, RCODE } from '../dns/constants.js';
import { buildUpstreamQuery, responseRcode } from '../dns/upstream-message.js';
import { RojeError, type RojeErrorCode } from '../errors.js';
import {
  type Admission,
  createFairShare,
  DEFAULT_JOSTLE_AFTER_MS,
  defaultPerClient,
  defaultPerVenue,
  NO_CLIENT,
  NO_VENUE,
  type PendingExchange,
} from './fair-share.js';
import { createTransport } from './transport.js';
import type { UpstreamHealth, UpstreamRequest, UpstreamResult, UpstreamTransport } from './types.js';
import { parseUpstreamUrl, redactUpstreamUrl } from './url.js';

export type { UpstreamHealth, UpstreamRequest, UpstreamResult } from './types.js';

export interface UpstreamPoolOptions {
  /** In order of preference; the order breaks ties between equally healthy, equally fast upstreams. */
  upstreams: Array<{ url: string; timeoutMs?: number; ca?: string }>;
  /** Per-attempt timeout; a whole resolve is bounded by 2 x this. */
  timeoutMs: number;
  /** The EDNS UDP payload size advertised upstream. */
  udpSize: number;
  /** Consecutive failures before an upstream is marked down. Default 3. */
  downAfter?: number;
  /** First wait before a down upstream is probed again; doubles up to maxBackoffMs. Default 5000. */
  backoffMs?: number;
  /** Default 60 000. */
  maxBackoffMs?: number;
  /**
   * Distinct exchanges in flight at most (coalesced duplicates share one). Past it a new one fails at
   * once (SERVFAIL with EDE 0 "upstream queue full", or a stale answer), so a flood of unique names
   * cannot pile up sockets and memory behind a slow upstream. Default 1024.
   */
  maxPending?: number;
  /** Exchanges in flight at most for one client (see UpstreamRequest.client). Default maxPending / 4. */
  maxPendingPerClient?: number;
  /** Exchanges in flight at most for one venue's clients together. Default maxPending / 2. */
  maxPendingPerVenue?: number;
  /** When the queue is full, an exchange older than this may give way to another client's (jostle). Default 200. */
  jostleAfterMs?: number;
}

export interface UpstreamPoolDeps {
  logger?: Logger;
  /** Builds the transport for one upstream; tests may substitute one. */
  createTransport?: typeof createTransport;
  /** Told of every exchange (metrics): the upstream's URL, its duration and its failure, if any. */
  onAttempt?: (upstream: string, seconds: number, failure: FailureCode | null) => void;
  /**
   * Told of every query refused a place in the queue (the queue, its client's or its venue's share
   * full) and of every exchange jostled out (metrics).
   */
  onQueueFull?: () => void;
}

export interface UpstreamPool {
  /**
   * Asks the upstreams, failing over in order of health. Identical requests in flight share one
   * exchange and therefore one `wire` Buffer: callers must not mutate it.
   */
  resolve(req: UpstreamRequest): Promise<UpstreamResult>;
  /** One entry per configured upstream, in config order. */
  health(): UpstreamHealth[];
  /** Rejects new resolves with ROJE_ERR_UPSTREAM_CLOSED, waits for those in flight, then closes transports. */
  close(): Promise<void>;
}

/** Every upstream failed and none gave even a SERVFAIL to pass on. */
export class UpstreamFailedError extends RojeError {
  /** For the client's SERVFAIL. Its text names the failure kind only, never an upstream address. */
  readonly ede: ExtendedError;
  /** Which upstream failed how, for logs (never for clients). */
  readonly attempts: ReadonlyArray<{ upstream: string; code: FailureCode }>;

  constructor(ede: ExtendedError, attempts: ReadonlyArray<{ upstream: string; code: FailureCode }>) {
    super('ROJE_ERR_UPSTREAM_ALL_FAILED', `every upstream failed: ${ede.text}`);
    this.ede = ede;
    this.attempts = attempts;
  }
}

type FailureCode = RojeErrorCode | 'SERVFAIL' | 'REFUSED';

export const DEFAULT_MAX_PENDING = 1024;
/** What a client is told when the queue has no room for its query; fixed words, never an address. */
const REFUSALS: Record<Exclude<Admission, 'ok'>, ExtendedError> = {
  'queue-full': { code: EDE.OTHER, text: 'upstream queue full' },
  'client-full': { code: EDE.OTHER, text: 'upstream queue full for this client' },
  'venue-full': { code: EDE.OTHER, text: 'upstream queue full for this venue' },
};
/** The waiters of an exchange that gave way to another client's query (the queue is full). */
const JOSTLED: ExtendedError = { code: EDE.OTHER, text: 'upstream queue full' };

interface Upstream {
  url: string;
  timeoutMs: number;
  transport: UpstreamTransport;
  index: number;
  down: boolean;
  /** performance.now() after which a down upstream may be probed again. */
  retryAt: number;
  backoffMs: number;
  consecutiveFailures: number;
  srttMs: number | null;
  queries: number;
  failures: number;
  lastError: FailureCode | null;
}

/**
 * Upstream selection, health, coalescing and the fair share of the queue (fair-share.ts). Health is
 * passive (real queries only): an upstream is marked down after `downAfter` consecutive timeouts,
 * network errors or malformed answers (never for an answer's RCODE), then left alone for a backoff; once the backoff has passed, the next
 * query is also sent to it in the background as a probe, so a recovering upstream comes back without
 * a client waiting on it. When every upstream is down, they are all tried in the foreground.
 *
 * long-function: the upstreams' health and the coalescing map are the pool's state, shared by its inner
 * functions (track, attempt, run, resolve, health, close).
 */
export function createUpstreamPool(options: UpstreamPoolOptions, deps: UpstreamPoolDeps = {}): UpstreamPool {
  if (options.upstreams.length === 0) {
    throw new RojeError('ROJE_ERR_CONFIG_NO_UPSTREAM', 'the upstream pool needs at least one upstream');
  }
  const logger = deps.logger;
  const makeTransport = deps.createTransport ?? createTransport;
  const downAfter = options.downAfter ?? 3;
  const backoffMs = options.backoffMs ?? 5_000;
  const maxBackoffMs = options.maxBackoffMs ?? 60_000;
  // Parse every URL before opening anything, so a bad config leaves nothing behind.
  const targets = options.upstreams.map((u) => ({ target: parseUpstreamUrl(u.url), config: u }));
  const upstreams: Upstream[] = targets.map(({ target, config }, index) => ({
    // What logs, metrics, status and answers name it by: never a credential or a DoH key.
    url: redactUpstreamUrl(target.url),
    timeoutMs: config.timeoutMs ?? options.timeoutMs,
    transport: makeTransport(target, { ca: config.ca }),
    index,
    down: false,
    retryAt: 0,
    backoffMs,
    consecutiveFailures: 0,
    srttMs: null,
    queries: 0,
    failures: 0,
    lastError: null,
  }));
  const coalesce = new Map<string, Promise<UpstreamResult>>();
  const inFlight = new Set<Promise<unknown>>();
  const maxPending = options.maxPending ?? DEFAULT_MAX_PENDING;
  const fair = createFairShare({
    maxPending,
    maxPerClient: options.maxPendingPerClient ?? defaultPerClient(maxPending),
    maxPerVenue: options.maxPendingPerVenue ?? defaultPerVenue(maxPending),
    jostleAfterMs: options.jostleAfterMs ?? DEFAULT_JOSTLE_AFTER_MS,
  });
  let closed = false;

  function track<T>(p: Promise<T>): Promise<T> {
    inFlight.add(p);
    const drop = () => inFlight.delete(p);
    p.then(drop, drop);
    return p;
  }

  function byPreference(a: Upstream, b: Upstream): number {
    if (a.down !== b.down) return a.down ? 1 : -1;
    if (a.down) return a.retryAt - b.retryAt || a.index - b.index;
    const sa = a.srttMs ?? Number.POSITIVE_INFINITY;
    const sb = b.srttMs ?? Number.POSITIVE_INFINITY;
    return sa === sb ? a.index - b.index : sa - sb;
  }

  function onSuccess(u: Upstream, rttMs: number): void {
    u.consecutiveFailures = 0;
    u.backoffMs = backoffMs;
    u.srttMs = u.srttMs === null ? rttMs : u.srttMs + (rttMs - u.srttMs) / 8;
    if (u.down) {
      u.down = false;
      logger?.info({ upstream: u.url }, 'upstream is up again');
    }
  }

  function onFailure(u: Upstream, code: FailureCode): void {
    u.failures++;
    u.lastError = code;
    // An answer, whatever its RCODE, shows the upstream alive: a SERVFAIL is usually about one name
    // (often DNSSEC) and a REFUSED about one odd query (class HS, say), so neither counts against its
    // health, or one packet from a client could mark every upstream down. Health is judged only by
    // timeouts, network errors and malformed answers.
    if (code === 'SERVFAIL' || code === 'REFUSED') return;
    u.consecutiveFailures++;
    const now = performance.now();
    if (u.down) {
      // A failed probe: wait longer before the next one.
      u.backoffMs = Math.min(u.backoffMs * 2, maxBackoffMs);
      u.retryAt = now + u.backoffMs;
    } else if (u.consecutiveFailures >= downAfter) {
      u.down = true;
      u.retryAt = now + u.backoffMs;
      logger?.warn({ upstream: u.url, code, failures: u.consecutiveFailures }, 'upstream marked down');
    }
  }

  /** One attempt on one upstream; never rejects. */
  async function attempt(
    u: Upstream,
    query: Buffer,
    timeoutMs: number,
  ): Promise<{ ok: true; wire: Buffer; rttMs: number; rcode: number } | { ok: false; code: FailureCode }> {
    u.queries++;
    const started = performance.now();
    try {
      const wire = await u.transport.exchange(query, timeoutMs);
      const rttMs = performance.now() - started;
      const rcode = responseRcode(wire);
      if (rcode === RCODE.SERVFAIL || rcode === RCODE.REFUSED) {
        const code = rcode === RCODE.SERVFAIL ? 'SERVFAIL' : 'REFUSED';
        onFailure(u, code);
        deps.onAttempt?.(u.url, rttMs / 1000, code);
      } else {
        onSuccess(u, rttMs);
        deps.onAttempt?.(u.url, rttMs / 1000, null);
      }
      return { ok: true, wire, rttMs, rcode };
    } catch (err) {
      const code: FailureCode = err instanceof RojeError ? err.code : 'ROJE_ERR_UPSTREAM_NETWORK';
      onFailure(u, code);
      deps.onAttempt?.(u.url, (performance.now() - started) / 1000, code);
      logger?.debug({ upstream: u.url, code, err: (err as Error).message }, 'upstream attempt failed');
      return { ok: false, code };
    }
  }

  async function run(req: UpstreamRequest): Promise<UpstreamResult> {
    const query = buildUpstreamQuery(req, 0, options.udpSize);
    const deadline = performance.now() + 2 * options.timeoutMs;
    const now = performance.now();
    const order = upstreams.slice().sort(byPreference);
    const anyUp = !order[0].down;
    if (anyUp) {
      // Backoff over: probe with this very query, off the client's path.
      for (const u of order) {
        if (u.down && u.retryAt <= now) {
          u.retryAt = now + u.backoffMs; // one probe per backoff period
          track(attempt(u, query, u.timeoutMs));
        }
      }
    }
    // All down: try them all in the foreground, soonest-due first; that doubles as their probe.
    const candidates = anyUp ? order.filter((u) => !u.down) : order;
    let servfail: UpstreamResult | null = null;
    const attempts: Array<{ upstream: string; code: FailureCode }> = [];
    for (const u of candidates) {
      const left = deadline - performance.now();
      if (left < 1) break;
      const r = await attempt(u, query, Math.min(u.timeoutMs, left));
      if (!r.ok) {
        attempts.push({ upstream: u.url, code: r.code });
        continue;
      }
      if (r.rcode === RCODE.SERVFAIL) {
        servfail ??= { wire: r.wire, upstream: u.url, rttMs: r.rttMs };
        attempts.push({ upstream: u.url, code: 'SERVFAIL' });
        continue;
      }
      if (r.rcode === RCODE.REFUSED) {
        attempts.push({ upstream: u.url, code: 'REFUSED' });
        continue;
      }
      return { wire: r.wire, upstream: u.url, rttMs: r.rttMs };
    }
    if (servfail !== null) return servfail;
    throw new UpstreamFailedError(describe(attempts), attempts);
  }

  function resolve(req: UpstreamRequest): Promise<UpstreamResult> {
    if (closed)
      return Promise.reject(new RojeError('ROJE_ERR_UPSTREAM_CLOSED', 'the upstream pool is closed'));
    const key = `${req.qtype}/${req.qclass}/${req.do ? 1 : 0}${req.cd ? 1 : 0}/${req.name}`;
    const shared = coalesce.get(key);
    if (shared !== undefined) return shared;
    // The waiters' promise is separate from the exchange so that a jostled exchange can fail them at
    // once and free its place while its socket runs out to its timeout in the background.
    let fail!: (err: Error) => void;
    let succeed!: (r: UpstreamResult) => void;
    const p = new Promise<UpstreamResult>((res, rej) => {
      succeed = res;
      fail = rej;
    });
    const entry: PendingExchange = {
      client: req.client ?? NO_CLIENT,
      venue: req.venue ?? NO_VENUE,
      startedAt: performance.now(),
      onJostled: () => {
        deps.onQueueFull?.();
        if (coalesce.get(key) === p) coalesce.delete(key);
        fail(new UpstreamFailedError(JOSTLED, []));
      },
      state: 'pending',
    };
    const admission = fair.admit(entry, entry.startedAt);
    if (admission !== 'ok') {
      deps.onQueueFull?.();
      return Promise.reject(new UpstreamFailedError(REFUSALS[admission], []));
    }
    coalesce.set(key, p);
    const settle = () => {
      fair.release(entry);
      if (coalesce.get(key) === p) coalesce.delete(key);
    };
    track(run(req)).then(
      (r) => {
        settle();
        succeed(r);
      },
      (err: Error) => {
        settle();
        fail(err);
      },
    );
    return p;
  }

  function health(): UpstreamHealth[] {
    return upstreams.map((u) => ({
      url: u.url,
      state: u.down ? 'down' : 'up',
      consecutiveFailures: u.consecutiveFailures,
      srttMs: u.srttMs,
      queries: u.queries,
      failures: u.failures,
      lastError: u.lastError,
    }));
  }

  async function close(): Promise<void> {
    closed = true;
    // In-flight resolves are bounded by their deadline (2 x timeoutMs), so this wait is bounded too.
    await Promise.allSettled([...inFlight]);
    await Promise.all(upstreams.map((u) => u.transport.close()));
  }

  return { resolve, health, close };
}

/** EDE for the client: what kind of failure, in fixed words; never an address. */
function describe(attempts: ReadonlyArray<{ code: FailureCode }>): ExtendedError {
  if (attempts.length === 0 || attempts.every((a) => a.code === 'ROJE_ERR_UPSTREAM_TIMEOUT')) {
    return { code: EDE.NO_REACHABLE_AUTHORITY, text: 'upstreams timed out' };
  }
  const kinds = new Set<string>();
  for (const a of attempts) {
    if (a.code === 'ROJE_ERR_UPSTREAM_TIMEOUT') kinds.add('timeout');
    else if (a.code === 'REFUSED') kinds.add('refused');
    else if (a.code === 'ROJE_ERR_UPSTREAM_BAD_RESPONSE') kinds.add('bad answer');
    else kinds.add('network error');
  }
  if (kinds.size === 1 && kinds.has('refused')) {
    return { code: EDE.NO_REACHABLE_AUTHORITY, text: 'upstreams refused the query' };
  }
  return { code: EDE.NETWORK_ERROR, text: `upstreams failed: ${[...kinds].join(', ')}` };
}
