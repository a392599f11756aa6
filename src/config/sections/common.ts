/**
 * What the config sections share: the kinds of value the file holds (durations, TTLs, sizes,
 * addresses, networks) as schema builders with the wording error messages use for them, and what a
 * section's normalizer gets besides its own raw section.
 *
 * Custom string formats (registered in validate.ts):
 *   duration      "500ms", "30s", "5m", "6h", "1d", or compounds like "1h30m". A bare number is
 *                 rejected (is `timeout: 2` seconds or milliseconds?) except 0, which is unambiguous.
 *   ttl           a duration in whole seconds (DNS TTLs have no finer unit).
 *   byte-size     "64MiB", "1GB", "512KiB", "100kB", "10B"; an integer means bytes.
 *                 kB/MB/GB are powers of 1000, KiB/MiB/GiB powers of 1024; units are case-insensitive.
 *   listen        "host:port" or "[v6]:port", host an IP literal, port 0-65535 (0 = ephemeral).
 *   cidr          "10.0.0.0/8", "fc00::/7"; a bare address means one host (/32 or /128).
 *                 Host bits set ("10.0.0.1/8") are rejected: in an ACL they are almost always a typo.
 *   upstream-url  checked further by parseUpstreamUrl (src/upstream/url.ts) after schema validation.
 *
 * `x-expected` is the wording that error messages use for a value of that kind; the sections add
 * their own (schema.ts gathers them all as EXPECTED).
 */
import { resolve } from 'node:path';
import type { TProperties } from '@sinclair/typebox';
import { Type } from '../json-schema.js';

export const VALUE_EXPECTED = {
  duration: 'a duration such as "30s", "5m", "6h" or "1d"',
  ttl: 'a duration such as "30s", "5m", "6h" or "1d"',
  byteSize: 'a size such as "64MiB", "1GB" or a number of bytes',
  listen: 'host:port such as "127.0.0.1:53" or "[::1]:53"',
  cidr: 'a network such as "10.0.0.0/8", "fc00::/7" or a single address',
  category: 'a category name of lowercase letters, digits, "-" and "_" (at most 32), such as "adult"',
  feedUrl: 'an http:// or https:// URL such as "https://lists.example/nsfw.txt"',
} as const;

/** Category names end up in EDE texts, metrics labels and log keys: keep them plain. */
export const CATEGORY_PATTERN = '^[a-z0-9][a-z0-9_-]{0,31}$';
/** Names an operator gives (policies, venues, list sources). */
export const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$';

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
/** Longest TTL roje will hand out or keep; also the longest any duration can be (setTimeout limit). */
export const MAX_TTL_MS = 24 * DAY;

// ---- schema builders; `defaultValue` is the raw (file-form) default ---------------------------------

export function duration(defaultValue: string, description: string) {
  return Type.Union([Type.Literal(0), Type.String({ format: 'duration' })], {
    default: defaultValue,
    description,
    'x-expected': VALUE_EXPECTED.duration,
  });
}

/** A duration key that may be left out (its default lives with the code that applies it). */
export function optionalDuration(description?: string) {
  const options = description === undefined ? {} : { description };
  return Type.Optional(
    Type.Union([Type.Literal(0), Type.String({ format: 'duration' })], {
      ...options,
      'x-expected': VALUE_EXPECTED.duration,
    }),
  );
}

export function ttl(defaultValue: string, description: string) {
  return Type.Union([Type.Literal(0), Type.String({ format: 'ttl' })], {
    default: defaultValue,
    description,
    'x-expected': VALUE_EXPECTED.ttl,
  });
}

export function byteSize(defaultValue: string, description: string) {
  return Type.Union([Type.Integer({ minimum: 0 }), Type.String({ format: 'byte-size' })], {
    default: defaultValue,
    description,
    'x-expected': VALUE_EXPECTED.byteSize,
  });
}

/** A size key that may be left out (its default lives with the code that applies it). */
export function optionalByteSize(description: string) {
  return Type.Optional(
    Type.Union([Type.Integer({ minimum: 0 }), Type.String({ format: 'byte-size' })], {
      description,
      'x-expected': VALUE_EXPECTED.byteSize,
    }),
  );
}

/** A mapping of keys, each with its default, so that the whole section may be left out. */
export function section<T extends TProperties>(properties: T, description: string) {
  return Type.Object(properties, { additionalProperties: false, default: {}, description });
}

export const ListenString = Type.String({ format: 'listen', 'x-expected': VALUE_EXPECTED.listen });
export const CidrString = Type.String({ format: 'cidr', 'x-expected': VALUE_EXPECTED.cidr });
export const Category = Type.String({ pattern: CATEGORY_PATTERN, 'x-expected': VALUE_EXPECTED.category });

/** "a file path, or null" keys; `defaultValue` null. */
export function pathOrNull(description: string, expected = 'a file path, or null') {
  return Type.Union([Type.Null(), Type.String({ minLength: 1 })], {
    default: null,
    description,
    'x-expected': expected,
  });
}

/** A client certificate, its key and the CAs to trust, for a download from `server` (feeds, fleet pulls). */
export function clientTlsFiles(server: string) {
  const file = (description: string) =>
    Type.Optional(Type.String({ minLength: 1, description, 'x-expected': 'a file path' }));
  return {
    clientCertFile: file(`a PEM client certificate presented to ${server} (with clientKeyFile)`),
    clientKeyFile: file('the PEM private key of clientCertFile'),
    caFile: file(`PEM CA certificates to trust for ${server} (default: Node's bundled CAs)`),
  };
}

/** What a listen address lacks, when it can be told ("add the port"); for the file and --listen alike. */
export function listenHint(value: string): string | undefined {
  const v = value.trim();
  if (!v.includes(':') || /^[^:[]+$/.test(v)) return 'add the port, e.g. ":53"';
  if (!v.startsWith('[') && v.split(':').length > 2)
    return 'put an IPv6 address in brackets, e.g. "[::1]:53"';
  const m = /^\[?([^\]]*)\]?:(\d*)$/.exec(v);
  if (m !== null && m[2] !== '' && Number(m[2]) > 65535) return 'the port must be 0-65535';
  if (m !== null && !/^[\d.:a-f%]+$/i.test(m[1])) return 'the host must be an IP address, not a name';
  return undefined;
}

// ---- normalization ------------------------------------------------------------------------------

/** What every section normalizer gets besides its raw section. */
export interface SectionContext {
  /** The config file, named in messages; null for the embedded default. */
  readonly file: string | null;
  /** The file's folder (the working directory without a file): relative paths start here. */
  readonly baseDir: string;
  /** Reads a file the config names (a CA bundle, a tokens file, resolv.conf); replaced in tests. */
  readonly read: (path: string) => Promise<string>;
}

/**
 * A state file: `explicit` (relative to the config file) when set, else `name` in stateDir, else
 * `otherwise` (no stateDir: state kept in memory, or per process).
 */
export function statePath<T>(
  ctx: SectionContext,
  explicit: string | null,
  stateDir: string | null,
  name: string,
  otherwise: T,
): string | T {
  if (explicit !== null) return resolve(ctx.baseDir, explicit);
  return stateDir !== null ? resolve(ctx.baseDir, stateDir, name) : otherwise;
}
