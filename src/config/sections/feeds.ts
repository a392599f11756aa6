/**
 * The keys of a `lists` entry fetched from a URL (a feed): their schema, and their normalization into
 * the feed's settings. Defaults and bounds live in src/feeds/types.ts (FEED_DEFAULTS).
 */
import { resolve } from 'node:path';
import type { Static, TObject } from '@sinclair/typebox';
import { FEED_DEFAULTS, type FeedSettings, type FeedTls, redactUrl } from '../../feeds/types.js';
import { CONFIDENTIAL_CATEGORIES } from '../../policy/types.js';
import { invalidKey, invalidValue } from '../config-error.js';
import { Type } from '../json-schema.js';
import { redactUrlText } from '../redact.js';
import { formatDuration, MAX_DURATION_MS, parseByteSize, parseDuration } from '../units.js';
import { clientTlsFiles, optionalByteSize, optionalDuration, VALUE_EXPECTED } from './common.js';

export const FEED_EXPECTED = {
  url: VALUE_EXPECTED.feedUrl,
  source: 'either `path` (a file) or `url` (an http:// or https:// URL)',
  refresh: `a duration of at least "${formatDuration(FEED_DEFAULTS.minRefreshMs)}", such as "6h"`,
  timeout: 'a duration from "1s" to "10m", such as "30s"',
  maxBytes: 'a size from "1KiB" to "4GiB", such as "64MiB"',
  maxShrink: 'a fraction from 0 to 1, such as 0.5',
} as const;

/** The keys only a list entry with a `url` may have, in the order the schema lists them. */
export const FeedProperties = {
  refresh: optionalDuration('how often the URL is checked (at least 1m; default 6h)'),
  bearerTokenFile: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'a file holding a token sent as Authorization: Bearer',
      'x-expected': 'a file path',
    }),
  ),
  ...clientTlsFiles('the feed server'),
  maxBytes: optionalByteSize('largest download accepted (default 64MiB)'),
  maxShrink: Type.Optional(
    Type.Number({
      minimum: 0,
      maximum: 1,
      description: 'share of rules a new copy may lose before it is held for an operator (default 0.5)',
      'x-expected': FEED_EXPECTED.maxShrink,
    }),
  ),
  timeout: optionalDuration('longest wait for the headers and between body data (default 30s)'),
};

export const FEED_KEYS = Object.keys(FeedProperties) as Array<keyof typeof FeedProperties>;

type FeedKeys = Static<TObject<typeof FeedProperties>>;

/** A feed entry's settings, defaults filled in; `key` is the entry's ("lists[2]"), `url` checked. */
export function feedSettings(
  file: string | null,
  key: string,
  entry: FeedKeys & { category: string },
  url: string,
  baseDir: string,
): FeedSettings {
  const confidential = CONFIDENTIAL_CATEGORIES.has(entry.category);
  return {
    url,
    refreshMs: feedDuration(
      file,
      `${key}.refresh`,
      entry.refresh,
      confidential ? FEED_DEFAULTS.abuseRefreshMs : FEED_DEFAULTS.refreshMs,
      FEED_DEFAULTS.minRefreshMs,
      MAX_DURATION_MS,
      FEED_EXPECTED.refresh,
    ),
    bearerTokenFile: entry.bearerTokenFile === undefined ? null : resolve(baseDir, entry.bearerTokenFile),
    tls: feedTls(file, key, entry, baseDir),
    maxBytes: feedMaxBytes(file, `${key}.maxBytes`, entry.maxBytes),
    maxShrink: feedShrink(file, `${key}.maxShrink`, entry.maxShrink),
    timeoutMs: feedDuration(
      file,
      `${key}.timeout`,
      entry.timeout,
      FEED_DEFAULTS.timeoutMs,
      1000,
      600_000,
      FEED_EXPECTED.timeout,
    ),
  };
}

/** Client certificate authentication (and a private CA), for feeds such as the IWF list. */
function feedTls(file: string | null, key: string, entry: FeedKeys, baseDir: string): FeedTls | null {
  const { clientCertFile: cert, clientKeyFile: pem, caFile: ca } = entry;
  if ((cert === undefined) !== (pem === undefined)) {
    throw invalidKey(
      file,
      `${key}.${cert === undefined ? 'clientCertFile' : 'clientKeyFile'}`,
      'is required with the other: a client certificate needs its key (clientCertFile and clientKeyFile)',
      'a file path',
    );
  }
  if (cert === undefined && ca === undefined) return null;
  return {
    certFile: cert === undefined ? null : resolve(baseDir, cert),
    keyFile: pem === undefined ? null : resolve(baseDir, pem),
    caFile: ca === undefined ? null : resolve(baseDir, ca),
  };
}

/** An http:// or https:// URL without credentials (feeds, fleet pulls), normalized; ConfigError naming `key`. */
export function feedUrl(file: string | null, key: string, text: string): string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw invalidValue(file, key, FEED_EXPECTED.url, redactUrlText(text), 'not a URL');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    throw invalidValue(
      file,
      key,
      FEED_EXPECTED.url,
      redactUrl(text),
      `the scheme is ${u.protocol.slice(0, -1)}`,
    );
  }
  if (u.username !== '' || u.password !== '') {
    throw invalidValue(
      file,
      key,
      FEED_EXPECTED.url,
      redactUrl(text),
      'credentials in the URL end up in logs and process lists: put a token in a file and name it with `bearerTokenFile`',
    );
  }
  return u.toString();
}

function feedDuration(
  file: string | null,
  key: string,
  value: string | number | undefined,
  fallback: number,
  min: number,
  max: number,
  expected: string,
): number {
  if (value === undefined) return fallback;
  const ms = parseDuration(value);
  if (ms === null || ms < min || ms > max) throw invalidValue(file, key, expected, value);
  return ms;
}

function feedMaxBytes(file: string | null, key: string, value: string | number | undefined): number {
  if (value === undefined) return FEED_DEFAULTS.maxBytes;
  const bytes = parseByteSize(value);
  if (bytes === null || bytes < 1024 || bytes > 4 * 1024 ** 3) {
    throw invalidValue(file, key, FEED_EXPECTED.maxBytes, value);
  }
  return bytes;
}

function feedShrink(file: string | null, key: string, value: number | undefined): number {
  if (value === undefined) return FEED_DEFAULTS.maxShrink;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw invalidValue(file, key, FEED_EXPECTED.maxShrink, value);
  }
  return value;
}
