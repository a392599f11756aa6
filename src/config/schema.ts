import { type Static, type TSchema, Type } from '@sinclair/typebox';
import type { ListenAddress } from '../transport/types.js';

/**
 * The config file's schema: plain JSON Schema (built with TypeBox, validated by ajv in validate.ts),
 * with every default written here and nowhere else. `additionalProperties: false` everywhere, because
 * a misspelt key silently falling back to its default is the worst kind of config bug.
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
 * `x-expected` is the wording that error messages use for a value of that kind.
 */

export const EXPECTED = {
  duration: 'a duration such as "30s", "5m", "6h" or "1d"',
  ttl: 'a duration such as "30s", "5m", "6h" or "1d"',
  byteSize: 'a size such as "64MiB", "1GB" or a number of bytes',
  listen: 'host:port such as "127.0.0.1:53" or "[::1]:53"',
  cidr: 'a network such as "10.0.0.0/8", "fc00::/7" or a single address',
  upstreamUrl:
    'an upstream URL such as "udp://127.0.0.1:53", "tcp://…", "tls://host:853#name" or "https://…"',
  upstream: 'an upstream URL string or an object with keys url, timeout, ca',
} as const;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Schema builders; `defaultValue` is the raw (file-form) default. */
function duration(defaultValue: string, description: string): TSchema {
  return Type.Union([Type.Literal(0), Type.String({ format: 'duration' })], {
    default: defaultValue,
    description,
    'x-expected': EXPECTED.duration,
  });
}

function ttl(defaultValue: string, description: string): TSchema {
  return Type.Union([Type.Literal(0), Type.String({ format: 'ttl' })], {
    default: defaultValue,
    description,
    'x-expected': EXPECTED.ttl,
  });
}

function byteSize(defaultValue: string, description: string): TSchema {
  return Type.Union([Type.Integer({ minimum: 0 }), Type.String({ format: 'byte-size' })], {
    default: defaultValue,
    description,
    'x-expected': EXPECTED.byteSize,
  });
}

function section<T extends Parameters<typeof Type.Object>[0]>(properties: T, description: string) {
  return Type.Object(properties, { additionalProperties: false, default: {}, description });
}

const UpstreamUrl = Type.String({ format: 'upstream-url', 'x-expected': EXPECTED.upstreamUrl });

const UpstreamObject = Type.Object(
  {
    url: UpstreamUrl,
    timeout: Type.Optional(
      Type.Union([Type.Literal(0), Type.String({ format: 'duration' })], { 'x-expected': EXPECTED.duration }),
    ),
    ca: Type.Optional(Type.String({ minLength: 1, 'x-expected': 'a path to a PEM file' })),
  },
  { additionalProperties: false },
);

/** Defaults suit a hotspot gateway: serve only local networks, bounded memory, no per-query logs. */
export const DEFAULT_ACL_ALLOW = [
  '127.0.0.0/8',
  '::1/128',
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  'fc00::/7',
  'fe80::/10',
];

export const ConfigSchema = Type.Object(
  {
    listen: Type.Array(Type.String({ format: 'listen', 'x-expected': EXPECTED.listen }), {
      minItems: 1,
      default: ['127.0.0.1:5353', '[::1]:5353'],
      description: 'addresses to answer on, UDP and TCP on each',
    }),
    upstreams: Type.Array(Type.Union([UpstreamUrl, UpstreamObject], { 'x-expected': EXPECTED.upstream }), {
      default: [],
      description: 'resolvers to forward to; empty means the nameservers of resolvConf',
    }),
    resolvConf: Type.String({
      minLength: 1,
      default: '/etc/resolv.conf',
      description: 'where upstreams come from when `upstreams` is empty',
      'x-expected': 'a file path',
    }),
    upstream: section(
      { timeout: duration('2s', 'default per-attempt timeout for each upstream') },
      'defaults for every upstream',
    ),
    acl: section(
      {
        allow: Type.Array(Type.String({ format: 'cidr', 'x-expected': EXPECTED.cidr }), {
          minItems: 1,
          default: DEFAULT_ACL_ALLOW,
          description: 'client networks that are served; everyone else gets REFUSED',
        }),
      },
      'who may query',
    ),
    cache: section(
      {
        maxEntries: Type.Integer({ minimum: 1, maximum: 100_000_000, default: 100_000 }),
        maxBytes: byteSize('64MiB', 'upper bound of the memory the cached answers take'),
        minTtl: ttl('0s', 'lower bound of the TTL of cached answers'),
        maxTtl: ttl('1d', 'upper bound of the TTL of cached answers'),
        negativeMaxTtl: ttl('1h', 'upper bound of the TTL of NXDOMAIN/NODATA answers (RFC 2308)'),
        serveStale: section(
          {
            enabled: Type.Boolean({ default: true }),
            maxStale: ttl('1d', 'how long past expiry an answer may still be served when upstreams fail'),
            answerTtl: ttl('30s', 'TTL given to stale answers (RFC 8767 recommends 30 s)'),
          },
          'RFC 8767: answer from expired cache entries when every upstream fails',
        ),
      },
      'the answer cache',
    ),
    edns: section(
      {
        udpSize: Type.Integer({
          minimum: 512,
          maximum: 4096,
          default: 1232,
          description: 'the EDNS UDP payload size roje advertises and accepts (DNS Flag Day 2020: 1232)',
        }),
      },
      'EDNS(0)',
    ),
    tcp: section(
      {
        idleTimeout: duration('10s', 'close a client TCP connection idle for this long'),
        maxConnections: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1000 }),
        maxPipelined: Type.Integer({ minimum: 1, maximum: 65535, default: 100 }),
      },
      'DNS over TCP from clients',
    ),
    log: section(
      {
        level: Type.Union(
          LOG_LEVELS.map((l) => Type.Literal(l)),
          { default: 'info', 'x-expected': `one of ${LOG_LEVELS.join(', ')}` },
        ),
        queries: Type.Boolean({ default: false, description: 'one log line per query: off for privacy' }),
      },
      'logging',
    ),
    shutdown: section(
      { drainTimeout: duration('5s', 'how long in-flight queries may finish after SIGTERM') },
      'graceful shutdown',
    ),
  },
  { additionalProperties: false, 'x-expected': 'a mapping of config keys' },
);

/** The config as written in the file, after defaults were applied (durations and sizes still text). */
export type RawConfig = Static<typeof ConfigSchema>;

/** One upstream resolver, normalized. */
export interface UpstreamConfig {
  /** The URL as parseUpstreamUrl normalized it, e.g. "udp://127.0.0.1:53". */
  url: string;
  /** Per-attempt timeout in milliseconds. */
  timeoutMs: number;
  /** PEM contents of the CA bundle to trust (tls:// and https:// only), read from the `ca` path. */
  ca?: string;
}

/**
 * The normalized config the app consumes. Units are in the names or documented:
 * `...Ms` fields are milliseconds; DNS TTL fields (minTtl, maxTtl, negativeMaxTtl, maxStale,
 * answerTtl) are whole seconds; sizes are bytes.
 */
export interface RojeConfig {
  /** The file it was loaded from (absolute path), or null for the embedded default. */
  source: string | null;
  listen: ListenAddress[];
  /** Never empty: from the file, the --upstream flags, or resolvConf. */
  upstreams: UpstreamConfig[];
  /** Where `upstreams` came from, for the startup summary. */
  upstreamsFrom: 'config' | 'flags' | 'resolv.conf';
  /** Absolute path of the resolv.conf consulted when `upstreams` is empty. */
  resolvConf: string;
  upstream: { timeoutMs: number };
  /** Client networks that are served, as written (validated CIDRs); feed to createCidrMatcher. */
  acl: { allow: string[] };
  cache: {
    maxEntries: number;
    maxBytes: number;
    /** Seconds. */
    minTtl: number;
    /** Seconds. */
    maxTtl: number;
    /** Seconds. */
    negativeMaxTtl: number;
    serveStale: {
      enabled: boolean;
      /** Seconds past expiry. */
      maxStale: number;
      /** Seconds. */
      answerTtl: number;
    };
  };
  edns: { udpSize: number };
  tcp: { idleTimeoutMs: number; maxConnections: number; maxPipelined: number };
  log: { level: LogLevel; queries: boolean };
  shutdown: { drainTimeoutMs: number };
}
