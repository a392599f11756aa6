/**
 * `store`: where statistics, wrong-block reports and list history are kept. Without a URL: the embedded
 * SQLite file (stats.path), as on one box. With a postgres:// URL: a PostgreSQL shared by every
 * instance of a city, each instance's rows carrying its name. The URL holds a password: it comes from
 * url, a file (urlFile, a Kubernetes Secret) or ROJE_STORE_URL, and is never shown (redact.ts).
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { Static } from '@sinclair/typebox';
import { durationWithin, invalidKey, invalidValue, systemReason } from '../config-error.js';
import { Type } from '../json-schema.js';
import { redactUrlText } from '../redact.js';
import { parseByteSize } from '../units.js';
import { byteSize, duration, pathOrNull, SECOND, type SectionContext, section } from './common.js';

/** An instance name: what shared rows and the `?instance=` filter carry. */
export const INSTANCE_PATTERN = '^[A-Za-z0-9._-]{1,64}$';
const INSTANCE_EXPECTED = '1-64 letters, digits, ".", "_" or "-"';
/** The environment variable read when neither url nor urlFile is set. */
export const STORE_URL_ENV = 'ROJE_STORE_URL';

export const StoreSchema = section(
  {
    url: Type.Union([Type.Null(), Type.String({ minLength: 1 })], {
      default: null,
      description: `a postgres:// URL of the shared store; null: urlFile, ${STORE_URL_ENV}, or the embedded SQLite (stats.path)`,
      'x-expected': 'a postgres:// or postgresql:// URL, or null',
    }),
    urlFile: pathOrNull('a file whose first line is the store URL (a Kubernetes Secret); read at start'),
    instance: Type.Union([Type.Null(), Type.String({ pattern: INSTANCE_PATTERN })], {
      default: null,
      description: "this instance's name in shared rows; null: the host name",
      'x-expected': `an instance name of ${INSTANCE_EXPECTED}, or null`,
    }),
    spool: section(
      {
        path: pathOrNull(
          'where batches wait while the store is unreachable; null: <stateDir>/store-spool, memory only without a stateDir',
        ),
        maxSize: byteSize('256MiB', 'past this the oldest spooled batches are dropped (and counted)'),
      },
      'batches of counts waiting for the store',
    ),
    pollInterval: duration('30s', 'overrides are re-read at least this often when no notification arrives'),
    poolSize: Type.Integer({ minimum: 1, maximum: 64, default: 4, description: 'connections to the store' }),
  },
  'the statistics store: embedded SQLite, or a PostgreSQL shared by a city',
);

export interface StoreConfig {
  /** The postgres URL (with its credentials: never log it, redactUrl it), or null: SQLite. */
  url: string | null;
  instance: string;
  spool: { path: string | null; maxBytes: number };
  pollIntervalMs: number;
  poolSize: number;
}

/** The host name as an instance name (characters outside the pattern become "-"). */
export function defaultInstance(host = hostname()): string {
  const name = host.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64);
  return name === '' ? 'roje' : name;
}

function checkUrl(file: string | null, key: string, url: string): string {
  if (!/^postgres(ql)?:\/\//i.test(url)) {
    throw invalidValue(file, key, 'a postgres:// or postgresql:// URL', redactUrlText(url));
  }
  try {
    new URL(url);
  } catch {
    throw invalidValue(file, key, 'a postgres:// or postgresql:// URL', redactUrlText(url));
  }
  return url;
}

async function readUrlFile(ctx: SectionContext, urlFile: string): Promise<string> {
  const path = resolve(ctx.baseDir, urlFile);
  let text: string;
  try {
    text = await ctx.read(path);
  } catch (err) {
    throw invalidKey(
      ctx.file,
      'store.urlFile',
      `cannot read "${path}": ${systemReason(err)}`,
      'a readable file',
    );
  }
  const line = text.split(/\r?\n/, 1)[0]?.trim() ?? '';
  if (line === '')
    throw invalidKey(ctx.file, 'store.urlFile', `"${path}" is empty`, 'a postgres:// URL on its first line');
  return checkUrl(ctx.file, `store.urlFile ("${path}")`, line);
}

export async function normalizeStore(
  ctx: SectionContext,
  raw: Static<typeof StoreSchema>,
  stateDir: string | null,
  env: NodeJS.ProcessEnv = process.env,
): Promise<StoreConfig> {
  const { file } = ctx;
  if (raw.url !== null && raw.urlFile !== null) {
    throw invalidKey(file, 'store.url', 'url and urlFile are both set; give one', 'url or urlFile');
  }
  let url: string | null = null;
  if (raw.url !== null) url = checkUrl(file, 'store.url', raw.url);
  else if (raw.urlFile !== null) url = await readUrlFile(ctx, raw.urlFile);
  else if ((env[STORE_URL_ENV] ?? '') !== '')
    url = checkUrl(file, STORE_URL_ENV, env[STORE_URL_ENV] as string);
  const maxBytes = parseByteSize(raw.spool.maxSize);
  if (maxBytes === null || maxBytes < 1) {
    throw invalidValue(file, 'store.spool.maxSize', 'a size such as "256MiB"', raw.spool.maxSize);
  }
  return {
    url,
    instance: raw.instance ?? defaultInstance(),
    spool: {
      path:
        raw.spool.path !== null
          ? resolve(ctx.baseDir, raw.spool.path)
          : stateDir !== null
            ? resolve(ctx.baseDir, stateDir, 'store-spool')
            : null,
      maxBytes,
    },
    pollIntervalMs: durationWithin(file, 'store.pollInterval', raw.pollInterval, 5 * SECOND, 60 * SECOND),
    poolSize: raw.poolSize,
  };
}
