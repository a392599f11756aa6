/**
 * Every error roje raises carries a stable ROJE_ERR_<AREA>_<WHAT> code from this table, with its default
 * message and, for an error an HTTP client can meet (the admin API), the status it answers with, as
 * fastify's lib/errors.js does. docs/errors.md documents each one;
 * test/errors.test.ts keeps the two in step.
 */
export interface ErrorSpec {
  /** The default message: what was wrong. A throw usually gives a more precise one (where, what to do). */
  readonly message: string;
  /** The HTTP status: 4xx the request was wrong, 5xx the server cannot do it now. Absent: 500. */
  readonly statusCode?: number;
}

export const ERROR_CODES = {
  // cli (also the bench/ command lines)
  ROJE_ERR_CLI_USAGE: { message: 'the command line is not valid' },
  // config
  ROJE_ERR_CONFIG_READ: { message: 'the config file cannot be read' },
  ROJE_ERR_CONFIG_PARSE: { message: 'the config file is not valid YAML' },
  ROJE_ERR_CONFIG_INVALID: { message: 'a config value is not valid' },
  ROJE_ERR_CONFIG_NO_UPSTREAM: { message: 'no upstream resolver is configured or found in resolv.conf' },
  ROJE_ERR_CONFIG_CATEGORY_MISSING: { message: 'a policy blocks a category that no list provides' },
  // net
  ROJE_ERR_NET_CIDR: { message: 'a network (CIDR) is not valid' },
  // cache
  ROJE_ERR_CACHE_OPTIONS: { message: 'the cache options (maxEntries, maxBytes, serveStale) are not valid' },
  // lists and policy
  ROJE_ERR_LIST_READ: { message: 'a list source cannot be read', statusCode: 502 },
  ROJE_ERR_LIST_FORMAT: {
    message: 'the format of a list cannot be detected or is not known',
    statusCode: 502,
  },
  ROJE_ERR_LIST_EMPTY: {
    message: 'a list file yields no rule and has no good copy to fall back on',
    statusCode: 502,
  },
  ROJE_ERR_LIST_CATEGORIES: { message: 'more categories than a compiled artifact can hold (32)' },
  ROJE_ERR_LIST_ARTIFACT: { message: 'a compiled list artifact is not valid (version, size or checksum)' },
  ROJE_ERR_LIST_COMPILE: { message: 'compiling the lists failed', statusCode: 502 },
  ROJE_ERR_LIST_SOURCE_UNKNOWN: { message: 'no list source has that name', statusCode: 404 },
  // dns wire format
  ROJE_ERR_DNS_MALFORMED: { message: 'a DNS message cannot be parsed' },
  // transport
  ROJE_ERR_LISTEN_FAILED: { message: 'a listener cannot bind its address' },
  ROJE_ERR_WORKER_FAILED: { message: 'a query loop (workers) failed to start' },
  // upstream
  ROJE_ERR_UPSTREAM_URL: { message: 'an upstream URL is not valid' },
  ROJE_ERR_UPSTREAM_TIMEOUT: { message: 'an upstream did not answer in time' },
  ROJE_ERR_UPSTREAM_NETWORK: { message: 'an upstream connection failed' },
  ROJE_ERR_UPSTREAM_BAD_RESPONSE: { message: 'an upstream answer was malformed or did not match the query' },
  ROJE_ERR_UPSTREAM_ALL_FAILED: { message: 'every upstream failed for a query' },
  ROJE_ERR_UPSTREAM_CLOSED: { message: 'the upstream pool was closed' },
  // block page
  ROJE_ERR_BLOCKPAGE_OPTIONS: { message: 'the block page options (help links, limits) are not valid' },
  // list feeds (URL sources)
  ROJE_ERR_FEED_HTTP: { message: 'a list feed answered with an HTTP error status' },
  ROJE_ERR_FEED_TIMEOUT: { message: 'a list feed did not answer in time' },
  ROJE_ERR_FEED_NETWORK: { message: 'a list feed cannot be reached' },
  ROJE_ERR_FEED_TOO_LARGE: { message: 'a list feed is larger than its maxBytes' },
  ROJE_ERR_FEED_TOKEN: { message: "a list feed's bearer token file cannot be read" },
  ROJE_ERR_FEED_INVALID: { message: 'a downloaded list does not parse or holds no rules' },
  ROJE_ERR_FEED_STORE: { message: 'a downloaded list cannot be stored in the state folder' },
  ROJE_ERR_FEED_MISSING: { message: 'a list feed has no good copy yet' },
  ROJE_ERR_FEED_UNKNOWN: { message: 'no list feed has that name', statusCode: 404 },
  ROJE_ERR_FEED_NOT_HELD: { message: 'a list feed has no held copy to accept or reject', statusCode: 404 },
  ROJE_ERR_FEED_TLS: { message: "a list feed's client certificate, key or CA file cannot be read" },
  ROJE_ERR_ABUSE_KEY: {
    message: 'the abuse feed key is missing, unreadable, or not the key its hashes were made with',
  },
  // fleet: a signed artifact published centrally, pulled by edges
  ROJE_ERR_FLEET_FETCH: { message: 'the fleet artifact or its signature cannot be downloaded' },
  ROJE_ERR_FLEET_UNSIGNED: { message: 'a fleet artifact comes without a valid signature file' },
  ROJE_ERR_FLEET_UNTRUSTED_KEY: { message: 'a fleet artifact is signed with a key the edge does not trust' },
  ROJE_ERR_FLEET_SIGNATURE: {
    message: 'a fleet artifact does not match its signature (changed or truncated)',
  },
  ROJE_ERR_FLEET_ARTIFACT: {
    message: 'a signed fleet artifact cannot be loaded (format, checksum or abuse key)',
  },
  ROJE_ERR_FLEET_STORE: { message: 'a fleet artifact cannot be stored in the state folder' },
  ROJE_ERR_FLEET_NOT_PUBLISHED: { message: 'this roje does not publish its lists', statusCode: 404 },
  ROJE_ERR_FLEET_NOT_READY: { message: 'this roje has no complete lists to publish yet', statusCode: 503 },
  // statistics store and wrong-block reports
  ROJE_ERR_STATS_OPEN: { message: 'the statistics database cannot be opened or has a newer schema' },
  ROJE_ERR_STATS_WRITE: {
    message: 'the statistics database cannot be written (disk full or read-only)',
    statusCode: 503,
  },
  ROJE_ERR_STATS_RANGE: {
    message: 'a statistics query (from, to, bucket, by) is not valid',
    statusCode: 400,
  },
  ROJE_ERR_STATS_REPORT_INVALID: {
    message: 'a wrong-block report or its review is not valid',
    statusCode: 400,
  },
  ROJE_ERR_STATS_REPORTS_FULL: {
    message: 'too many wrong-block reports are waiting for review',
    statusCode: 429,
  },
  ROJE_ERR_STATS_REPORT_NOT_FOUND: { message: 'no wrong-block report has that id', statusCode: 404 },
  ROJE_ERR_STORE_UNAVAILABLE: {
    message: 'the shared store (PostgreSQL) cannot be reached; counts are spooled, reports and reviews wait',
    statusCode: 503,
  },
  ROJE_ERR_STORE_OPEN: {
    message: 'the shared store cannot be opened, migrated, or has a newer schema than this roje',
  },
  // overrides (run-time allow and deny entries)
  ROJE_ERR_OVERRIDE_INVALID: { message: 'an override is not valid (name, action or note)', statusCode: 400 },
  ROJE_ERR_OVERRIDE_VENUE_UNKNOWN: { message: 'an override names a venue the config lacks', statusCode: 400 },
  ROJE_ERR_OVERRIDE_ABUSE: {
    message: 'an allow override cannot pass a name the abuse category blocks',
    statusCode: 400,
  },
  ROJE_ERR_OVERRIDE_CONFLICT: {
    message: 'the name already has the opposite override for that venue',
    statusCode: 409,
  },
  ROJE_ERR_OVERRIDE_NOT_FOUND: { message: 'no override has that id', statusCode: 404 },
  ROJE_ERR_OVERRIDE_FULL: { message: 'too many overrides', statusCode: 429 },
  ROJE_ERR_OVERRIDE_WRITE: { message: 'the overrides file cannot be written', statusCode: 503 },
  ROJE_ERR_OVERRIDE_READ: { message: 'the overrides file cannot be read or is not valid' },
  ROJE_ERR_STATS_DISABLED: {
    message: 'statistics are disabled (stats.enabled, or the database could not be opened)',
    statusCode: 503,
  },
  // lookup: why is a name blocked (src/lookup)
  ROJE_ERR_LOOKUP_NAME: { message: 'the name to look up is not a domain name', statusCode: 400 },
  ROJE_ERR_LOOKUP_VENUE: { message: 'no venue has that name', statusCode: 404 },
  ROJE_ERR_LOOKUP_NOT_READY: { message: 'no lists are loaded yet', statusCode: 503 },
  ROJE_ERR_LOOKUP_BUSY: { message: 'another lookup is reading the lists', statusCode: 429 },
  ROJE_ERR_LOOKUP_TIMEOUT: { message: 'reading the lists for a lookup took too long', statusCode: 503 },
  // the scheduled self-test
  ROJE_ERR_SELFTEST_DISABLED: { message: 'the self-test is disabled (selfTest.enabled)', statusCode: 409 },
  // roje verify: suites, signed reports
  ROJE_ERR_VERIFY_SUITE: { message: 'a verify suite cannot be read or is not valid' },
  ROJE_ERR_VERIFY_KEY: { message: 'a signing or public key cannot be read, created or parsed' },
  ROJE_ERR_VERIFY_REPORT: { message: 'a verify report cannot be read or holds no signed report' },
  ROJE_ERR_VERIFY_SAMPLE: {
    message: "a certifier's sample list or sample key cannot be read, created or holds no usable name",
  },
} as const satisfies Record<`ROJE_ERR_${string}`, ErrorSpec>;

export type RojeErrorCode = keyof typeof ERROR_CODES;

export class RojeError extends Error {
  readonly code: RojeErrorCode;
  /**
   * The table's HTTP status of the code, under Fastify's name for it, so that any Fastify error handler
   * (the admin API's, the block page's) answers with it; undefined: 500.
   */
  readonly statusCode: number | undefined;

  constructor(code: RojeErrorCode, message?: string, options?: { cause?: unknown }) {
    const spec: ErrorSpec = ERROR_CODES[code];
    super(message ?? spec.message, options);
    this.name = 'RojeError';
    this.code = code;
    this.statusCode = spec.statusCode;
  }
}

export function isRojeError(err: unknown, code?: RojeErrorCode): err is RojeError {
  return err instanceof RojeError && (code === undefined || err.code === code);
}

/**
 * The HTTP status an error asks for: a RojeError's from the table, or the statusCode that Fastify's own
 * errors carry (413 body too large, 415 media type ...); undefined when it names none (answer 500).
 */
export function httpStatusOf(err: unknown): number | undefined {
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && Number.isInteger(status) && status >= 400 && status <= 599
    ? status
    : undefined;
}
