/**
 * Every error roje raises carries a stable ROJE_ERR_<AREA>_<WHAT> code from this table.
 * The README's "Error codes" section documents each one; test/errors.test.ts keeps the two in step.
 */
export const ERROR_CODES = {
  // cli (also the bench/ command lines)
  ROJE_ERR_CLI_USAGE: 'the command line is not valid',
  // config
  ROJE_ERR_CONFIG_READ: 'the config file cannot be read',
  ROJE_ERR_CONFIG_PARSE: 'the config file is not valid YAML',
  ROJE_ERR_CONFIG_INVALID: 'a config value is not valid',
  ROJE_ERR_CONFIG_NO_UPSTREAM: 'no upstream resolver is configured or found in resolv.conf',
  // net
  ROJE_ERR_NET_CIDR: 'a network (CIDR) is not valid',
  // cache
  ROJE_ERR_CACHE_OPTIONS: 'the cache options (maxEntries, maxBytes, serveStale) are not valid',
  // lists and policy
  ROJE_ERR_LIST_READ: 'a list source cannot be read',
  ROJE_ERR_LIST_FORMAT: 'the format of a list cannot be detected or is not known',
  ROJE_ERR_LIST_CATEGORIES: 'more categories than a compiled artifact can hold (32)',
  ROJE_ERR_LIST_ARTIFACT: 'a compiled list artifact is not valid (version, size or checksum)',
  ROJE_ERR_LIST_COMPILE: 'compiling the lists failed',
  ROJE_ERR_LIST_SOURCE_UNKNOWN: 'no list source has that name',
  // dns wire format
  ROJE_ERR_DNS_MALFORMED: 'a DNS message cannot be parsed',
  // transport
  ROJE_ERR_LISTEN_FAILED: 'a listener cannot bind its address',
  ROJE_ERR_WORKER_FAILED: 'a query loop (workers) failed to start',
  // upstream
  ROJE_ERR_UPSTREAM_URL: 'an upstream URL is not valid',
  ROJE_ERR_UPSTREAM_TIMEOUT: 'an upstream did not answer in time',
  ROJE_ERR_UPSTREAM_NETWORK: 'an upstream connection failed',
  ROJE_ERR_UPSTREAM_BAD_RESPONSE: 'an upstream answer was malformed or did not match the query',
  ROJE_ERR_UPSTREAM_ALL_FAILED: 'every upstream failed for a query',
  ROJE_ERR_UPSTREAM_CLOSED: 'the upstream pool was closed',
  // block page
  ROJE_ERR_BLOCKPAGE_OPTIONS: 'the block page options (help links, limits) are not valid',
  // list feeds (URL sources)
  ROJE_ERR_FEED_HTTP: 'a list feed answered with an HTTP error status',
  ROJE_ERR_FEED_TIMEOUT: 'a list feed did not answer in time',
  ROJE_ERR_FEED_NETWORK: 'a list feed cannot be reached',
  ROJE_ERR_FEED_TOO_LARGE: 'a list feed is larger than its maxBytes',
  ROJE_ERR_FEED_TOKEN: "a list feed's bearer token file cannot be read",
  ROJE_ERR_FEED_INVALID: 'a downloaded list does not parse or holds no rules',
  ROJE_ERR_FEED_STORE: 'a downloaded list cannot be stored in the state folder',
  ROJE_ERR_FEED_MISSING: 'a list feed has no good copy yet',
  ROJE_ERR_FEED_UNKNOWN: 'no list feed has that name',
  ROJE_ERR_FEED_NOT_HELD: 'a list feed has no held copy to accept or reject',
  ROJE_ERR_FEED_TLS: "a list feed's client certificate, key or CA file cannot be read",
  ROJE_ERR_ABUSE_KEY: 'the abuse feed key is missing, unreadable, or not the key its hashes were made with',
  // fleet: a signed artifact published centrally, pulled by edges
  ROJE_ERR_FLEET_FETCH: 'the fleet artifact or its signature cannot be downloaded',
  ROJE_ERR_FLEET_UNSIGNED: 'a fleet artifact comes without a valid signature file',
  ROJE_ERR_FLEET_UNTRUSTED_KEY: 'a fleet artifact is signed with a key the edge does not trust',
  ROJE_ERR_FLEET_SIGNATURE: 'a fleet artifact does not match its signature (changed or truncated)',
  ROJE_ERR_FLEET_ARTIFACT: 'a signed fleet artifact cannot be loaded (format, checksum or abuse key)',
  ROJE_ERR_FLEET_STORE: 'a fleet artifact cannot be stored in the state folder',
  ROJE_ERR_FLEET_NOT_PUBLISHED:
    'this roje does not publish its lists, or has no complete lists to publish yet',
  // statistics store and wrong-block reports
  ROJE_ERR_STATS_DISABLED: 'statistics are disabled (stats.enabled, or the database could not be opened)',
  ROJE_ERR_STATS_OPEN: 'the statistics database cannot be opened or has a newer schema',
  ROJE_ERR_STATS_WRITE: 'the statistics database cannot be written (disk full or read-only)',
  ROJE_ERR_STATS_RANGE: 'a statistics query (from, to, bucket, by) is not valid',
  ROJE_ERR_STATS_REPORT_INVALID: 'a wrong-block report or its review is not valid',
  ROJE_ERR_STATS_REPORTS_FULL: 'too many wrong-block reports are waiting for review',
  ROJE_ERR_STATS_REPORT_NOT_FOUND: 'no wrong-block report has that id',
  ROJE_ERR_SELFTEST_DISABLED: 'the self-test is disabled (selfTest.enabled)',
  // roje verify: suites, signed reports
  ROJE_ERR_VERIFY_SUITE: 'a verify suite cannot be read or is not valid',
  ROJE_ERR_VERIFY_KEY: 'a signing or public key cannot be read, created or parsed',
  ROJE_ERR_VERIFY_REPORT: 'a verify report cannot be read or holds no signed report',
} as const;

export type RojeErrorCode = keyof typeof ERROR_CODES;

export class RojeError extends Error {
  readonly code: RojeErrorCode;

  constructor(code: RojeErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ERROR_CODES[code], options);
    this.name = 'RojeError';
    this.code = code;
  }
}

export function isRojeError(err: unknown, code?: RojeErrorCode): err is RojeError {
  return err instanceof RojeError && (code === undefined || err.code === code);
}
