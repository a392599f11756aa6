/**
 * The edge side of a fleet: pulls the compiled artifact and its detached signature from a central roje
 * (or any HTTP server), conditionally (ETag), verifies both against the trusted public keys, the
 * artifact's own checksum and the abuse key, and only then stores the pair in stateDir/fleet and hands
 * it over for a swap. Anything less (no signature, another key, changed or truncated bytes, a format
 * this roje cannot read) is refused: the last good artifact stays in force and on disk.
 *
 * On disk: `lists-<sha256 prefix>.rojebl` and its `.sig`, then `current.json` naming them, written last
 * and atomically: it is the commit point, so a crash leaves the old pair or the new one, never a mix.
 * The stored pair is verified again at every start (the folder is not trusted more than the network).
 */
import { type KeyObject, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { FleetPullConfig } from '../config/schema.js';
import { isRojeError, RojeError, type RojeErrorCode } from '../errors.js';
import { type DownloadOptions, download } from '../feeds/download.js';
import { redactUrl } from '../feeds/types.js';
import type { AbuseKey } from '../policy/abuse/format.js';
import { loadArtifact } from '../policy/compiled/index.js';
import { readPublicKey } from '../verify/sign.js';
import {
  type ArtifactSignature,
  MAX_SIGNATURE_BYTES,
  parseSignature,
  sha256Hex,
  trustedKeys,
  verifyArtifact,
} from './signature.js';

export const PULL_RESULTS = ['updated', 'unchanged', 'refused', 'failed'] as const;
export type PullResult = (typeof PULL_RESULTS)[number];

/** After a failed or refused pull, the next one comes this soon, doubling up to the interval. */
export const RETRY_AFTER_MS = 30_000;

/** Codes that mean "the server answered, and what it sent is not acceptable". */
const REFUSALS = new Set<RojeErrorCode>([
  'ROJE_ERR_FLEET_UNSIGNED',
  'ROJE_ERR_FLEET_UNTRUSTED_KEY',
  'ROJE_ERR_FLEET_SIGNATURE',
  'ROJE_ERR_FLEET_ARTIFACT',
]);

export interface PulledArtifact {
  bytes: Buffer;
  /** Hex SHA-256 of the whole file. */
  sha256: string;
  /** The lists version (the artifact's checksum trailer): what the central uses as ETag. */
  version: string;
  keyId: string;
  size: number;
  compiledAt: string;
  /** When this artifact was downloaded. */
  fetchedAt: string;
  /** When the server last said it is current (a download or a 304). */
  confirmedAt: string;
  etag: string | null;
}

export interface PullOutcome {
  result: PullResult;
  at: string;
  ms: number;
  /** The lists version in force after the pull, or null (none yet). */
  version: string | null;
  code: string | null;
  reason: string | null;
}

export interface FleetPullStatus {
  url: string;
  signatureUrl: string;
  intervalSeconds: number;
  publicKeys: string[];
  artifact: (Omit<PulledArtifact, 'bytes' | 'etag'> & { ageSeconds: number }) | null;
  lastPull: PullOutcome | null;
  lastRefusal: { at: string; code: string; reason: string } | null;
  pulls: Record<PullResult, number>;
}

export interface FleetPuller {
  /** The verified artifact in force, or null (none yet: the edge is not ready). */
  current(): PulledArtifact | null;
  /** Reads the trusted keys and the stored pair (verified again); call before the first loadLists. */
  open(): Promise<void>;
  /** One pull now (a pull already running is joined). Never rejects. */
  pull(): Promise<PullOutcome>;
  /** Pulls at once, then every interval (sooner after a failure). */
  start(): void;
  stop(): Promise<void>;
  status(): FleetPullStatus;
  /** Seconds since the artifact in force was last confirmed by the server, or null. */
  ageSeconds(): number | null;
  counts(): Record<PullResult, number>;
}

export interface FleetPullerDeps {
  stateDir: string;
  logger: Logger;
  /** The deployment's abuse key: an artifact with hashed entries needs the one they were made with. */
  abuseKey: () => AbuseKey | null;
  /** A new artifact was verified and stored: swap the lists. A rejection is logged, the artifact kept. */
  onUpdate: (artifact: PulledArtifact) => Promise<void>;
  /** Retries, backoff, dispatcher (tests). */
  downloadOptions?: DownloadOptions;
  now?: () => number;
}

/** What current.json records: the artifact in force, its bytes in `file`. */
type StoredState = Omit<PulledArtifact, 'bytes'> & { file: string };

// long-function: the artifact in force, the timer and the stored state are the puller's state, shared by
// its inner functions (open, fetch, store, attempt, pullOnce, schedule), none over 60 lines.
export function createFleetPuller(config: FleetPullConfig, deps: FleetPullerDeps): FleetPuller {
  const log = deps.logger;
  const now = deps.now ?? Date.now;
  const dir = join(deps.stateDir, 'fleet');
  const statePath = join(dir, 'current.json');
  const url = redactUrl(config.url);
  const sigUrl = redactUrl(config.signatureUrl);
  let keys = new Map<string, KeyObject>();
  let current: PulledArtifact | null = null;
  let lastPull: PullOutcome | null = null;
  let lastRefusal: FleetPullStatus['lastRefusal'] = null;
  const pulls: Record<PullResult, number> = { updated: 0, unchanged: 0, refused: 0, failed: 0 };
  let inflight: Promise<PullOutcome> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let running = false;
  let failures = 0;
  const abort = new AbortController();

  /** Signature, checksum trailer and a load with the abuse key: everything a swap would meet. */
  async function check(bytes: Buffer, sig: ArtifactSignature, source: string, sha256?: string) {
    const digest = await verifyArtifact(bytes, sig, keys, source, sha256);
    let lists: ReturnType<typeof loadArtifact>;
    try {
      // The checksum trailer, hashed on the thread pool; then the load may skip it (trusted).
      const trailer = bytes.length >= 32 ? bytes.subarray(bytes.length - 32) : null;
      if (
        trailer === null ||
        (await sha256Hex(bytes.subarray(0, bytes.length - 32))) !== trailer.toString('hex')
      ) {
        throw new RojeError('ROJE_ERR_LIST_ARTIFACT', `compiled lists ${source}: checksum mismatch`);
      }
      lists = loadArtifact(bytes, source, { trusted: true, abuseKey: deps.abuseKey() });
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'unknown';
      throw new RojeError(
        'ROJE_ERR_FLEET_ARTIFACT',
        `${source} is signed correctly but cannot be used: ${(err as Error).message} (${code})`,
        { cause: err },
      );
    }
    return { sha256: digest, version: lists.version, compiledAt: lists.compiledAt };
  }

  async function open(): Promise<void> {
    const loaded: KeyObject[] = [];
    for (const path of config.publicKeyFiles) loaded.push(await readPublicKey(path));
    keys = trustedKeys(loaded);
    let state: StoredState;
    try {
      state = JSON.parse(await readFile(statePath, 'utf8')) as StoredState;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        log.info({ url }, 'no stored fleet artifact yet: not serving until the first pull succeeds');
        return;
      }
      refuseStored('ROJE_ERR_FLEET_ARTIFACT', `${statePath} cannot be read: ${(err as Error).message}`);
      return;
    }
    try {
      if (typeof state.file !== 'string' || !/^lists-[0-9a-f]{16}\.rojebl$/.test(state.file)) {
        throw new RojeError('ROJE_ERR_FLEET_ARTIFACT', `${statePath} names no stored artifact`);
      }
      const path = join(dir, state.file);
      const [bytes, sigText] = await Promise.all([readFile(path), readFile(`${path}.sig`)]);
      const checked = await check(bytes, parseSignature(sigText, `${path}.sig`), path);
      current = {
        bytes,
        sha256: checked.sha256,
        version: checked.version,
        keyId: state.keyId,
        size: bytes.length,
        compiledAt: checked.compiledAt,
        fetchedAt: state.fetchedAt,
        confirmedAt: state.confirmedAt,
        etag: state.etag ?? null,
      };
      log.info(
        { version: current.version.slice(0, 16), keyId: current.keyId, fetchedAt: current.fetchedAt },
        'stored fleet artifact verified',
      );
    } catch (err) {
      const code = isRojeError(err) ? err.code : 'ROJE_ERR_FLEET_ARTIFACT';
      refuseStored(code, (err as Error).message);
    }
  }

  function refuseStored(code: string, reason: string): void {
    lastRefusal = { at: new Date(now()).toISOString(), code, reason };
    log.error({ code, err: reason }, 'stored fleet artifact refused: not serving until a pull succeeds');
  }

  function tmp(what: string): string {
    return join(dir, `.${what}-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  }

  async function fetchTo(
    what: 'artifact' | 'signature',
    dest: string,
    etag: string | null,
  ): Promise<{ modified: boolean; etag: string | null }> {
    try {
      const r = await download(
        {
          name: `fleet ${what}`,
          url: what === 'artifact' ? config.url : config.signatureUrl,
          dest,
          maxBytes: what === 'artifact' ? config.maxBytes : MAX_SIGNATURE_BYTES,
          timeoutMs: config.timeoutMs,
          bearerTokenFile: config.bearerTokenFile,
          tls: config.tls,
          etag,
          signal: abort.signal,
        },
        deps.downloadOptions,
      );
      return r.status === 'ok' ? { modified: true, etag: r.etag } : { modified: false, etag: null };
    } catch (err) {
      const message = (err as Error).message;
      // No signature where one should be: an unsigned artifact, not a network problem.
      if (what === 'signature' && /answered HTTP (404|410)\b/.test(message)) {
        throw new RojeError(
          'ROJE_ERR_FLEET_UNSIGNED',
          `the artifact ${url} has no signature: ${sigUrl} answered ${/HTTP (\d+)/.exec(message)?.[1] ?? 404}`,
          { cause: err },
        );
      }
      const code = (err as { code?: string }).code;
      throw new RojeError('ROJE_ERR_FLEET_FETCH', `${message}${code ? ` (${code})` : ''}`, { cause: err });
    }
  }

  async function store(bytes: Buffer, sigText: Buffer, state: StoredState): Promise<void> {
    try {
      await mkdir(dir, { recursive: true, mode: 0o750 });
      const path = join(dir, state.file);
      await atomicWrite(path, bytes);
      await atomicWrite(`${path}.sig`, sigText);
      await writeState(state);
      for (const name of await readdir(dir)) {
        if (/^lists-[0-9a-f]{16}\.rojebl(\.sig)?$/.test(name) && !name.startsWith(state.file)) {
          await rm(join(dir, name), { force: true });
        }
      }
    } catch (err) {
      throw new RojeError(
        'ROJE_ERR_FLEET_STORE',
        `cannot store the fleet artifact in ${dir}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  async function writeState(state: StoredState): Promise<void> {
    await atomicWrite(statePath, Buffer.from(`${JSON.stringify({ ...state, url }, null, 2)}\n`));
  }

  function stateOf(a: PulledArtifact): StoredState {
    return {
      file: `lists-${a.sha256.slice(0, 16)}.rojebl`,
      sha256: a.sha256,
      version: a.version,
      keyId: a.keyId,
      size: a.size,
      compiledAt: a.compiledAt,
      fetchedAt: a.fetchedAt,
      confirmedAt: a.confirmedAt,
      etag: a.etag,
    };
  }

  async function attempt(): Promise<Omit<PullOutcome, 'at' | 'ms' | 'version'>> {
    await mkdir(dir, { recursive: true, mode: 0o750 }).catch((err) => {
      throw new RojeError('ROJE_ERR_FLEET_STORE', `cannot create ${dir}: ${(err as Error).message}`);
    });
    const tmpArtifact = tmp('artifact');
    const tmpSig = tmp('signature');
    try {
      const prev = current;
      // Two rounds at most: when the central swaps its lists between our two downloads, the signature
      // is of the newer artifact; fetching the artifact once more gets the pair that belongs together.
      for (let round = 1; ; round++) {
        const got = await fetchTo('artifact', tmpArtifact, round === 1 ? (prev?.etag ?? null) : null);
        const at = new Date(now()).toISOString();
        if (!got.modified && prev !== null) {
          prev.confirmedAt = at;
          await writeState(stateOf(prev)).catch((err) =>
            log.warn({ err: (err as Error).message }, 'cannot record the fleet check time'),
          );
          return { result: 'unchanged', code: null, reason: null };
        }
        const bytes = await readFile(tmpArtifact);
        await fetchTo('signature', tmpSig, null);
        const sigText = await readFile(tmpSig);
        const sig = parseSignature(sigText, `the signature ${sigUrl}`);
        const sha256 = await sha256Hex(bytes);
        if (round === 1 && (sha256 !== sig.sha256 || bytes.length !== sig.size)) continue;
        const checked = await check(bytes, sig, `the fleet artifact ${url}`, sha256);
        const next: PulledArtifact = {
          bytes,
          sha256: checked.sha256,
          version: checked.version,
          keyId: sig.keyId,
          size: bytes.length,
          compiledAt: checked.compiledAt,
          fetchedAt: at,
          confirmedAt: at,
          etag: got.etag,
        };
        if (prev !== null && prev.sha256 === next.sha256) {
          prev.confirmedAt = at;
          prev.etag = next.etag;
          await writeState(stateOf(prev)).catch(() => {});
          return { result: 'unchanged', code: null, reason: null };
        }
        await store(bytes, sigText, stateOf(next));
        current = next;
        try {
          await deps.onUpdate(next);
        } catch (err) {
          log.error({ err: (err as Error).message }, 'fleet artifact stored, but the lists swap failed');
        }
        return { result: 'updated', code: null, reason: null };
      }
    } finally {
      await Promise.all([rm(tmpArtifact, { force: true }), rm(tmpSig, { force: true })]);
    }
  }

  async function pullOnce(): Promise<PullOutcome> {
    const started = performance.now();
    let outcome: Omit<PullOutcome, 'at' | 'ms' | 'version'>;
    try {
      outcome = await attempt();
    } catch (err) {
      const code = isRojeError(err) ? err.code : 'ROJE_ERR_FLEET_FETCH';
      const refused = REFUSALS.has(code);
      outcome = { result: refused ? 'refused' : 'failed', code, reason: (err as Error).message };
    }
    const full: PullOutcome = {
      ...outcome,
      at: new Date(now()).toISOString(),
      ms: Math.round(performance.now() - started),
      version: current?.version ?? null,
    };
    pulls[full.result]++;
    lastPull = full;
    if (full.result === 'refused') {
      lastRefusal = { at: full.at, code: full.code as string, reason: full.reason as string };
      log.error(
        { code: full.code, err: full.reason, version: full.version?.slice(0, 16) ?? null },
        'fleet artifact refused; keeping the last good lists',
      );
    } else if (full.result === 'failed') {
      if (!abort.signal.aborted) {
        log.error(
          { code: full.code, err: full.reason, version: full.version?.slice(0, 16) ?? null },
          'fleet pull failed; keeping the last good lists',
        );
      }
    } else if (full.result === 'updated') {
      log.info(
        {
          version: full.version?.slice(0, 16),
          keyId: current?.keyId,
          compiledAt: current?.compiledAt,
          ms: full.ms,
        },
        'fleet artifact updated',
      );
    } else log.debug({ version: full.version?.slice(0, 16), ms: full.ms }, 'fleet artifact unchanged');
    return full;
  }

  function pull(): Promise<PullOutcome> {
    inflight ??= pullOnce().finally(() => {
      inflight = null;
    });
    return inflight;
  }

  function schedule(ms: number): void {
    if (!running) return;
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      void pull().then((o) => {
        failures = o.result === 'failed' || o.result === 'refused' ? failures + 1 : 0;
        schedule(
          failures === 0
            ? config.intervalMs
            : Math.min(config.intervalMs, RETRY_AFTER_MS * 2 ** Math.min(failures - 1, 20)),
        );
      });
    }, ms);
    timer.unref();
  }

  return {
    current: () => current,
    open,
    pull,
    start() {
      if (running) return;
      running = true;
      schedule(0);
    },
    async stop() {
      running = false;
      if (timer !== null) clearTimeout(timer);
      timer = null;
      abort.abort(new Error('roje is stopping'));
      await inflight?.catch(() => {});
    },
    status: () => ({
      url,
      signatureUrl: sigUrl,
      intervalSeconds: config.intervalMs / 1000,
      publicKeys: [...keys.keys()],
      artifact:
        current === null
          ? null
          : {
              sha256: current.sha256,
              version: current.version,
              keyId: current.keyId,
              size: current.size,
              compiledAt: current.compiledAt,
              fetchedAt: current.fetchedAt,
              confirmedAt: current.confirmedAt,
              ageSeconds: ageOf(current),
            },
      lastPull,
      lastRefusal,
      pulls: { ...pulls },
    }),
    ageSeconds: () => (current === null ? null : ageOf(current)),
    counts: () => ({ ...pulls }),
  };

  function ageOf(a: PulledArtifact): number {
    return Math.max(0, Math.round((now() - Date.parse(a.confirmedAt)) / 1000));
  }
}

/** Writes to a temporary file beside `path`, then renames it over `path`. */
async function atomicWrite(path: string, bytes: Buffer): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, bytes, { flush: true, mode: 0o640 });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
