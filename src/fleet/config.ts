/**
 * The `fleet` config section, normalized: paths absolute, durations and sizes in numbers, and the
 * rules that keep an edge's lists from one place only. An edge (fleet.pull) takes its lists from the
 * pulled artifact, so `compiled`, `lists` and --list/--compiled are refused beside it, naming the key;
 * its last good artifact lives in stateDir/fleet, so a stateDir is required.
 */
import { resolve } from 'node:path';
import { durationWithin, invalidKey, invalidValue } from '../config/config-error.js';
import { feedUrl } from '../config/filtering.js';
import type { FleetConfig, FleetPullConfig, RawConfig } from '../config/schema.js';
import { parseByteSize } from '../config/units.js';

export const FLEET_PULL_DEFAULTS = {
  intervalMs: 5 * 60_000,
  timeoutMs: 30_000,
  maxBytes: 256 * 1024 * 1024,
} as const;

const MIN_INTERVAL_MS = 10_000;
const MAX_INTERVAL_MS = 24 * 3_600_000;

/** What else the command line and the rest of the file chose for the lists. */
export interface FleetContext {
  /** `compiled` after flags (absolute), or null. */
  compiled: string | null;
  /** --compiled was given (so the message names the flag, not the key). */
  compiledFromFlag: boolean;
  /** --list flags were given. */
  listFlags: boolean;
}

export function normalizeFleet(
  file: string | null,
  raw: RawConfig,
  baseDir: string,
  context: FleetContext,
): FleetConfig {
  const f = raw.fleet;
  const publish = {
    signingKeyFile: f.publish.signingKeyFile === null ? null : resolve(baseDir, f.publish.signingKeyFile),
  };
  if (f.pull === null) return { publish, pull: null };
  const p = f.pull;
  const why = 'an edge takes its lists from the pulled artifact only';
  if (context.compiled !== null) {
    throw invalidKey(
      file,
      context.compiledFromFlag ? '--compiled' : 'compiled',
      `cannot be set together with fleet.pull: ${why} (set compiled: null, or fleet.pull: null)`,
      'null',
    );
  }
  if (context.listFlags) {
    throw invalidKey(file, '--list', `cannot be given together with fleet.pull: ${why}`);
  }
  if (raw.lists !== null && raw.lists.length > 0) {
    throw invalidKey(
      file,
      'lists',
      `cannot be set together with fleet.pull: ${why} (leave out \`lists\`; the central roje compiles them)`,
      'no `lists` key',
    );
  }
  if (raw.stateDir === null) {
    throw invalidKey(
      file,
      'stateDir',
      'fleet.pull keeps the last good artifact in stateDir/fleet (it survives restarts and failed pulls): set stateDir, e.g. /var/lib/roje',
      'a directory path',
    );
  }
  const url = feedUrl(file, 'fleet.pull.url', p.url);
  const signatureUrl =
    p.signatureUrl === undefined
      ? defaultSignatureUrl(url)
      : feedUrl(file, 'fleet.pull.signatureUrl', p.signatureUrl);
  const keys = typeof p.publicKeyFile === 'string' ? [p.publicKeyFile] : p.publicKeyFile;
  if ((p.clientCertFile === undefined) !== (p.clientKeyFile === undefined)) {
    throw invalidKey(
      file,
      p.clientCertFile === undefined ? 'fleet.pull.clientCertFile' : 'fleet.pull.clientKeyFile',
      'a client certificate needs its key: give both clientCertFile and clientKeyFile, or neither',
      'a file path',
    );
  }
  const abs = (path: string | undefined) => (path === undefined ? null : resolve(baseDir, path));
  const tls =
    p.clientCertFile === undefined && p.caFile === undefined
      ? null
      : { certFile: abs(p.clientCertFile), keyFile: abs(p.clientKeyFile), caFile: abs(p.caFile) };
  const pull: FleetPullConfig = {
    url,
    signatureUrl,
    publicKeyFiles: keys.map((k) => resolve(baseDir, k)),
    bearerTokenFile: abs(p.bearerTokenFile),
    intervalMs: duration(
      file,
      'fleet.pull.interval',
      p.interval,
      FLEET_PULL_DEFAULTS.intervalMs,
      MIN_INTERVAL_MS,
      MAX_INTERVAL_MS,
    ),
    timeoutMs: duration(
      file,
      'fleet.pull.timeout',
      p.timeout,
      FLEET_PULL_DEFAULTS.timeoutMs,
      1000,
      10 * 60_000,
    ),
    maxBytes: size(file, 'fleet.pull.maxBytes', p.maxBytes),
    tls,
  };
  return { publish, pull };
}

/** url + ".sig", before any query string ("…/artifact?x=1" -> "…/artifact.sig?x=1"). */
export function defaultSignatureUrl(url: string): string {
  const u = new URL(url);
  u.pathname = `${u.pathname}.sig`;
  return u.toString();
}

function duration(
  file: string | null,
  key: string,
  value: unknown,
  fallback: number,
  min: number,
  max: number,
): number {
  return value === undefined ? fallback : durationWithin(file, key, value, min, max);
}

function size(file: string | null, key: string, value: unknown): number {
  if (value === undefined) return FLEET_PULL_DEFAULTS.maxBytes;
  const bytes = parseByteSize(value);
  if (bytes === null || bytes < 1024) {
    throw invalidValue(file, key, 'a size of at least "1KiB", such as "256MiB"', value);
  }
  return bytes;
}
