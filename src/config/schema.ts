import { type Static, type TSchema, Type } from '@sinclair/typebox';
import type { TokenEntry as Token } from '../admin/auth.js';
import type { BlockPageHelpInput } from '../blockpage/help.js';
import type { LocalText as LocalTextValue } from '../blockpage/i18n.js';
import type { ListSource } from '../policy/types.js';
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
  category: 'a category name of lowercase letters, digits, "-" and "_" (at most 32), such as "adult"',
  policyName: 'a name of letters, digits, "-" and "_" (at most 64), such as "default" or "library"',
  listFormat: 'one of auto, hosts, domains, adblock, rpz, squidguard, abuse',
  blockMode: 'one of blockpage, nxdomain, null, refused',
  listEntry:
    'a mapping with keys category, path or url, and optionally name, format (with url also refresh, bearerTokenFile, maxBytes, maxShrink, timeout)',
  feedUrl: 'an http:// or https:// URL such as "https://lists.example/nsfw.txt"',
  domain: 'a domain name such as "example.com"',
  ipv4: 'an IPv4 address such as "192.0.2.1", or null',
  ipv6: 'an IPv6 address such as "2001:db8::1", or null',
  safeSearch:
    'true, false, or a mapping with keys google, bing, duckduckgo (true or false) and youtube (strict, moderate or off)',
  safeSearchEngine: 'true or false',
  youtubeMode: 'one of strict, moderate, off',
  fleetPull:
    'a mapping with keys url, publicKeyFile (and signatureUrl, bearerTokenFile, interval, timeout, maxBytes, clientCertFile, clientKeyFile, caFile)',
} as const;

export const LIST_FORMATS = ['auto', 'hosts', 'domains', 'adblock', 'rpz', 'squidguard', 'abuse'] as const;
export const BLOCK_MODES = ['blockpage', 'nxdomain', 'null', 'refused'] as const;
export const YOUTUBE_MODES = ['strict', 'moderate', 'off'] as const;
export type YouTubeMode = (typeof YOUTUBE_MODES)[number];
export type BlockMode = (typeof BLOCK_MODES)[number];
/** Category names end up in EDE texts, metrics labels and log keys: keep them plain. */
export const CATEGORY_PATTERN = '^[a-z0-9][a-z0-9_-]{0,31}$';
const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$';

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

const ListenString = Type.String({ format: 'listen', 'x-expected': EXPECTED.listen });
/** Text shown on the block page: one string for both languages, or one per language. */
const LocalText = Type.Union(
  [
    Type.String({ minLength: 1, maxLength: 200 }),
    Type.Object(
      {
        sq: Type.String({ minLength: 1, maxLength: 200 }),
        en: Type.String({ minLength: 1, maxLength: 200 }),
      },
      { additionalProperties: false },
    ),
  ],
  { 'x-expected': 'a text, or { sq: ..., en: ... }' },
);

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

const Category = Type.String({ pattern: CATEGORY_PATTERN, 'x-expected': EXPECTED.category });
const PolicyName = Type.String({ pattern: NAME_PATTERN, 'x-expected': EXPECTED.policyName });
const Domain = Type.String({ minLength: 1, maxLength: 254, 'x-expected': EXPECTED.domain });

export const TokenEntry = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$', 'x-expected': 'who holds the token' }),
    role: Type.Union([Type.Literal('admin'), Type.Literal('operator'), Type.Literal('auditor')], {
      'x-expected': 'one of admin, operator, auditor',
    }),
    sha256: Type.String({
      pattern: '^[0-9a-f]{64}$',
      'x-expected': 'the hex SHA-256 of the token (roje token prints it)',
    }),
  },
  { additionalProperties: false, 'x-expected': 'a mapping with keys name, role, sha256' },
);

/** A client certificate, its key and the CAs to trust, for a download from `server` (feeds, fleet pulls). */
function clientTlsFiles(server: string) {
  const file = (description: string) =>
    Type.Optional(Type.String({ minLength: 1, description, 'x-expected': 'a file path' }));
  return {
    clientCertFile: file(`a PEM client certificate presented to ${server} (with clientKeyFile)`),
    clientKeyFile: file('the PEM private key of clientCertFile'),
    caFile: file(`PEM CA certificates to trust for ${server} (default: Node's bundled CAs)`),
  };
}

const ListEntry = Type.Object(
  {
    category: Category,
    // Exactly one of path and url (checked in filtering.ts, which names the key).
    path: Type.Optional(Type.String({ minLength: 1, 'x-expected': 'a file path' })),
    url: Type.Optional(Type.String({ minLength: 1, 'x-expected': EXPECTED.feedUrl })),
    name: Type.Optional(
      Type.String({ pattern: NAME_PATTERN, 'x-expected': 'a source name of letters, digits, "-" and "_"' }),
    ),
    format: Type.Optional(
      Type.Union(
        LIST_FORMATS.map((f) => Type.Literal(f)),
        { 'x-expected': EXPECTED.listFormat },
      ),
    ),
    // Feed keys (only with url); defaults and bounds in src/feeds/types.ts FEED_DEFAULTS.
    refresh: Type.Optional(
      Type.Union([Type.Literal(0), Type.String({ format: 'duration' })], {
        description: 'how often the URL is checked (at least 1m; default 6h)',
        'x-expected': EXPECTED.duration,
      }),
    ),
    bearerTokenFile: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'a file holding a token sent as Authorization: Bearer',
        'x-expected': 'a file path',
      }),
    ),
    ...clientTlsFiles('the feed server'),
    maxBytes: Type.Optional(
      Type.Union([Type.Integer({ minimum: 0 }), Type.String({ format: 'byte-size' })], {
        description: 'largest download accepted (default 64MiB)',
        'x-expected': EXPECTED.byteSize,
      }),
    ),
    maxShrink: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 1,
        description: 'share of rules a new copy may lose before it is held for an operator (default 0.5)',
        'x-expected': 'a fraction from 0 to 1, such as 0.5',
      }),
    ),
    timeout: Type.Optional(
      Type.Union([Type.Literal(0), Type.String({ format: 'duration' })], {
        description: 'longest wait for the headers and between body data (default 30s)',
        'x-expected': EXPECTED.duration,
      }),
    ),
  },
  { additionalProperties: false, 'x-expected': EXPECTED.listEntry },
);

/** fleet.pull: optional keys have their defaults in src/fleet/config.ts (FLEET_PULL_DEFAULTS). */
const FleetPull = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      description: 'the artifact: http(s)://central:8053/api/v1/lists/artifact, or any static file',
      'x-expected': EXPECTED.feedUrl,
    }),
    signatureUrl: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'its detached signature (default: url + ".sig")',
        'x-expected': EXPECTED.feedUrl,
      }),
    ),
    publicKeyFile: Type.Union(
      [
        Type.String({ minLength: 1 }),
        Type.Array(Type.String({ minLength: 1 }), { minItems: 1, maxItems: 16 }),
      ],
      {
        description:
          'the Ed25519 public key(s) (PEM) an artifact must be signed with; several during a key change',
        'x-expected': 'a file path, or a list of file paths',
      },
    ),
    bearerTokenFile: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'a file holding an API token (auditor role) sent as Authorization: Bearer',
        'x-expected': 'a file path',
      }),
    ),
    interval: Type.Optional(
      Type.Union([Type.Literal(0), Type.String({ format: 'duration' })], {
        description: 'how often the artifact is checked (ETag; from 10s to 1d; default 5m)',
        'x-expected': EXPECTED.duration,
      }),
    ),
    timeout: Type.Optional(
      Type.Union([Type.Literal(0), Type.String({ format: 'duration' })], {
        description: 'longest wait for the headers and between body data (default 30s)',
        'x-expected': EXPECTED.duration,
      }),
    ),
    maxBytes: Type.Optional(
      Type.Union([Type.Integer({ minimum: 0 }), Type.String({ format: 'byte-size' })], {
        description: 'largest artifact accepted (default 256MiB)',
        'x-expected': EXPECTED.byteSize,
      }),
    ),
    ...clientTlsFiles('the server'),
  },
  { additionalProperties: false, 'x-expected': EXPECTED.fleetPull },
);

const Policy = Type.Object(
  {
    block: Type.Union([Type.Literal('all'), Type.Array(Category)], {
      default: 'all',
      'x-expected': '"all" or a list of category names',
    }),
    blockMode: Type.Union(
      BLOCK_MODES.map((m) => Type.Literal(m)),
      { default: 'nxdomain', 'x-expected': EXPECTED.blockMode },
    ),
    allow: Type.Array(Domain, { default: [], description: 'names (and their subdomains) never blocked' }),
    deny: Type.Array(Domain, { default: [], description: 'names (and their subdomains) always blocked' }),
    safeSearch: Type.Union(
      [
        Type.Boolean(),
        Type.Object(
          {
            google: Type.Optional(Type.Boolean({ 'x-expected': EXPECTED.safeSearchEngine })),
            bing: Type.Optional(Type.Boolean({ 'x-expected': EXPECTED.safeSearchEngine })),
            duckduckgo: Type.Optional(Type.Boolean({ 'x-expected': EXPECTED.safeSearchEngine })),
            youtube: Type.Optional(
              Type.Union(
                YOUTUBE_MODES.map((m) => Type.Literal(m)),
                { 'x-expected': EXPECTED.youtubeMode },
              ),
            ),
          },
          { additionalProperties: false },
        ),
      ],
      {
        default: true,
        description:
          'search engines answered with their SafeSearch host: true (all; YouTube moderate), false, or per engine',
        'x-expected': EXPECTED.safeSearch,
      },
    ),
  },
  {
    additionalProperties: false,
    'x-expected': 'a mapping with keys block, blockMode, allow, deny, safeSearch',
  },
);

const Venue = Type.Object(
  {
    name: PolicyName,
    networks: Type.Array(Type.String({ format: 'cidr', 'x-expected': EXPECTED.cidr }), { minItems: 1 }),
    policy: PolicyName,
  },
  { additionalProperties: false, 'x-expected': 'a mapping with keys name, networks, policy' },
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
    workers: Type.Union([Type.Literal('auto'), Type.Integer({ minimum: 1, maximum: 256 })], {
      default: 1,
      description: 'query loops: one per core with auto; 1 answers on the main thread',
      'x-expected': 'auto, or a whole number from 1 to 256',
    }),
    workerMode: Type.Union([Type.Literal('auto'), Type.Literal('threads'), Type.Literal('processes')], {
      default: 'auto',
      description:
        'threads share one copy of the lists (needs SO_REUSEPORT support: Node 22.12+); processes work everywhere; auto picks threads when it can',
      'x-expected': 'auto, threads or processes',
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
      {
        timeout: duration('2s', 'default per-attempt timeout for each upstream'),
        maxPending: Type.Integer({
          minimum: 1,
          maximum: 1_000_000,
          default: 1024,
          description:
            'distinct upstream queries in flight at most; past it SERVFAIL (EDE 0 "upstream queue full") or a stale answer',
        }),
      },
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
    rateLimit: section(
      {
        enabled: Type.Boolean({ default: true }),
        responsesPerSecond: Type.Integer({
          minimum: 1,
          maximum: 1_000_000,
          default: 1000,
          description:
            'UDP answers per second to one client address (IPv4, or IPv6 /64): sized for a NAT gateway with hundreds of phones',
        }),
        burst: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 2000 }),
        venueResponsesPerSecond: Type.Integer({
          minimum: 0,
          maximum: 10_000_000,
          default: 20_000,
          description: "UDP answers per second to all of one venue's clients together; 0: no venue limit",
        }),
        venueBurst: Type.Integer({ minimum: 1, maximum: 10_000_000, default: 40_000 }),
        slip: Type.Integer({
          minimum: 0,
          maximum: 10,
          default: 2,
          description: 'every slip-th answer over the limit goes out empty with TC set; 0 drops all',
        }),
        exempt: Type.Array(Type.String({ format: 'cidr', 'x-expected': EXPECTED.cidr }), {
          default: [],
          description: 'clients never limited, e.g. a NAT gateway speaking for a whole venue',
        }),
      },
      'response rate limiting over UDP',
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
    lists: Type.Union([Type.Null(), Type.Array(ListEntry)], {
      default: null,
      description: 'list sources, each one category; null: the bundled demo samples; []: no lists',
      'x-expected': 'a list of mappings with keys category, path or url (and name, format), or null',
    }),
    compiled: Type.Union([Type.Null(), Type.String({ minLength: 1 })], {
      default: null,
      description: 'a precompiled artifact (roje compile --out), used instead of `lists`',
      'x-expected': 'a file path, or null',
    }),
    fleet: section(
      {
        publish: section(
          {
            signingKeyFile: Type.Union([Type.Null(), Type.String({ minLength: 1 })], {
              default: null,
              description:
                'Ed25519 private key (PEM, from roje keygen) that signs the lists this roje serves to edges at GET /api/v1/lists/artifact; null: not published',
              'x-expected': 'a file path, or null',
            }),
          },
          'publishing the compiled lists to edge instances',
        ),
        pull: Type.Union([Type.Null(), FleetPull], {
          default: null,
          description:
            'pull the lists from a central roje (or any HTTP server) as a signed artifact, instead of `lists` and `compiled`; null: off',
          'x-expected': `${EXPECTED.fleetPull}, or null`,
        }),
      },
      'fleet: a central roje publishes its compiled lists signed; edge instances pull and verify them',
    ),
    blockTtl: ttl('60s', 'TTL of blocked answers'),
    blockPage: section(
      {
        ipv4: Type.Union([Type.Null(), Type.String({ format: 'ipv4' })], {
          default: null,
          'x-expected': EXPECTED.ipv4,
        }),
        ipv6: Type.Union([Type.Null(), Type.String({ format: 'ipv6' })], {
          default: null,
          'x-expected': EXPECTED.ipv6,
        }),
        listen: Type.Array(ListenString, {
          default: [],
          description: 'HTTP listeners of the block page (the addresses above, port 80); empty: no page',
        }),
        refuseTls: Type.Array(ListenString, {
          default: [],
          description: 'listeners that reset every connection at once (port 443), so HTTPS fails fast',
        }),
        operatorName: Type.Union([Type.Null(), LocalText], {
          default: null,
          description: 'who runs the WiFi, shown on the page',
          'x-expected': 'a name, or { sq, en }, or null',
        }),
        defaultLang: Type.Union([Type.Literal('sq'), Type.Literal('en')], {
          default: 'sq',
          description: 'the language when Accept-Language names neither',
          'x-expected': 'sq or en',
        }),
        maxMessageLength: Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 }),
        reportsPerMinute: Type.Integer({
          minimum: 0,
          maximum: 100_000,
          default: 30,
          description: 'wrong-block reports taken per minute from all clients together; 0: no report form',
        }),
        help: Type.Object(
          {
            reportPortal: Type.Optional(
              Type.Object(
                { name: Type.Optional(LocalText), url: Type.Optional(Type.String()) },
                { additionalProperties: false },
              ),
            ),
            helpline: Type.Optional(
              Type.Object(
                {
                  name: Type.Optional(LocalText),
                  number: Type.Optional(Type.String()),
                  url: Type.Optional(Type.Union([Type.Null(), Type.String()])),
                },
                { additionalProperties: false },
              ),
            ),
            abuseAppeals: Type.Optional(
              Type.Object(
                {
                  text: Type.Optional(LocalText),
                  url: Type.Optional(Type.Union([Type.Null(), Type.String()])),
                },
                { additionalProperties: false },
              ),
            ),
            worriedHelp: Type.Optional(
              Type.Object(
                { name: Type.Optional(LocalText), url: Type.Optional(Type.String()) },
                { additionalProperties: false },
              ),
            ),
          },
          {
            additionalProperties: false,
            default: {},
            description:
              'help links on the page (national reporting portal, child helpline...); defaults suit Albania',
          },
        ),
      },
      'the block page server, for blockMode blockpage',
    ),
    policies: Type.Record(Type.String({ pattern: NAME_PATTERN }), Policy, {
      additionalProperties: false,
      default: { default: { block: 'all', blockMode: 'nxdomain', allow: [], deny: [], safeSearch: true } },
      description: 'policy name -> what it blocks and how',
      'x-expected': 'a mapping of policy names to policies',
    }),
    venues: Type.Array(Venue, {
      default: [],
      description: 'client networks -> venue -> policy; other clients get policy "default"',
    }),
    bypass: section(
      {
        firefoxCanary: Type.Boolean({
          default: true,
          description:
            'use-application-dns.net -> NXDOMAIN, so that Firefox keeps its own DNS-over-HTTPS off',
        }),
        privateRelay: Type.Boolean({
          default: true,
          description:
            'mask.icloud.com, mask-h2.icloud.com -> NXDOMAIN, so that iCloud Private Relay stays off',
        }),
        ddr: Type.Boolean({
          default: true,
          description: 'resolver.arpa -> NODATA, so that clients discover no encrypted resolver (RFC 9462)',
        }),
      },
      'bypass prevention: answers that keep devices on this filtering resolver',
    ),
    selfTest: section(
      {
        enabled: Type.Boolean({
          default: true,
          description: 'run a verify suite against roje itself on a schedule and after list swaps',
        }),
        suite: Type.String({
          minLength: 1,
          default: 'friendly-wifi',
          description: 'the built-in suite name or a suite file',
          'x-expected': 'friendly-wifi or a file path',
        }),
        interval: duration('24h', 'how often the self-test runs'),
        afterSwap: Type.Boolean({ default: true, description: 'also run shortly after every list swap' }),
        keep: Type.Integer({
          minimum: 1,
          maximum: 1000,
          default: 30,
          description: 'reports kept for auditors',
        }),
        signingKeyFile: Type.Union([Type.Null(), Type.String({ minLength: 1 })], {
          default: null,
          description:
            'Ed25519 private key (PEM) that signs the reports; null: <stateDir>/signing.key (created), unsigned without a stateDir',
          'x-expected': 'a file path, or null',
        }),
      },
      'the scheduled self-test (roje verify against its own listener)',
    ),
    chaos: section(
      {
        enabled: Type.Boolean({
          default: true,
          description:
            'answer version.roje. and policy.roje. CH TXT (version, list versions and ages; never entries)',
        }),
      },
      'policy status over DNS, for certifiers on the network',
    ),
    abuse: section(
      {
        enabled: Type.Boolean({
          default: true,
          description: 'always true: the abuse category is mandatory and cannot be switched off',
        }),
        keyFile: Type.Union([Type.Null(), Type.String({ minLength: 1 })], {
          default: null,
          description:
            'the HMAC key abuse entries are hashed with; null: <stateDir>/abuse.key (created on first start)',
          'x-expected': 'a file path, or null',
        }),
        pageEntries: Type.Union([Type.Literal('count'), Type.Literal('block-host')], {
          default: 'count',
          description: 'page-level entries: count them as not enforceable by DNS, or block their whole host',
          'x-expected': 'count or block-host',
        }),
        maxAge: duration('12h', 'an abuse feed not confirmed for this long raises a status warning'),
      },
      'the confidential abuse feed (IWF-style): hashed, mandatory',
    ),
    stateDir: Type.Union([Type.Null(), Type.String({ minLength: 1 })], {
      default: null,
      description: 'where roje keeps its state (downloaded lists, statistics, audit log); null: memory only',
      'x-expected': 'a directory path, or null',
    }),
    admin: section(
      {
        listen: Type.Union([Type.Null(), Type.String({ format: 'listen' })], {
          default: '127.0.0.1:8053',
          description: 'the admin API address (loopback unless you put a TLS proxy in front); null: off',
          'x-expected': `${EXPECTED.listen}, or null`,
        }),
        tokens: Type.Array(TokenEntry, {
          default: [],
          description: 'API tokens (hashed; make one with `roje token`)',
        }),
        tokensFile: Type.Union([Type.Null(), Type.String({ minLength: 1 })], {
          default: null,
          description: 'a YAML file with more token entries (a secrets file, kept out of the config)',
          'x-expected': 'a file path, or null',
        }),
      },
      'the admin API',
    ),
    stats: section(
      {
        enabled: Type.Boolean({ default: true, description: 'hourly counts per venue and category' }),
        path: Type.Union([Type.Null(), Type.String({ minLength: 1 })], {
          default: null,
          description: 'the SQLite file; null: <stateDir>/stats.db, or memory only without a stateDir',
          'x-expected': 'a file path, or null',
        }),
        retentionDays: Type.Integer({ minimum: 1, maximum: 3650, default: 400 }),
        flushInterval: duration('60s', 'how often counts are written to the database'),
        maxOpenReports: Type.Integer({
          minimum: 1,
          maximum: 1_000_000,
          default: 10_000,
          description: 'wrong-block reports waiting for review, beyond which new ones are refused',
        }),
      },
      'statistics (no per-client data)',
    ),
    metrics: section(
      {
        listen: Type.Union([Type.Null(), Type.String({ format: 'listen' })], {
          default: null,
          description: 'a listener of its own for /metrics, without a token (the admin API serves it too)',
          'x-expected': `${EXPECTED.listen}, or null`,
        }),
      },
      'Prometheus metrics',
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
  upstream: { timeoutMs: number; maxPending: number };
  /** Query loops and how they run (src/workers): count 1 answers on the main thread; 'auto' resolved here. */
  workers: { count: number; mode: 'threads' | 'processes' };
  /** Client networks that are served, as written (validated CIDRs); feed to createCidrMatcher. */
  acl: { allow: string[] };
  rateLimit: {
    enabled: boolean;
    responsesPerSecond: number;
    burst: number;
    slip: number;
    exempt: string[];
    venueResponsesPerSecond: number;
    venueBurst: number;
  };
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
  /** List sources (paths absolute). Empty: no filtering. */
  lists: ListSource[];
  /** Where `lists` came from, for the startup summary. */
  listsFrom: 'config' | 'flags' | 'samples';
  /** Absolute path of a precompiled artifact used instead of `lists`, or null. */
  compiled: string | null;
  /** Signed artifacts between a central roje and its edges (src/fleet). */
  fleet: FleetConfig;
  /** TTL of blocked answers, seconds. */
  blockTtl: number;
  blockPage: {
    ipv4: string | null;
    ipv6: string | null;
    listen: ListenAddress[];
    refuseTls: ListenAddress[];
    operatorName: LocalTextValue | null;
    defaultLang: 'sq' | 'en';
    maxMessageLength: number;
    reportsPerMinute: number;
    help: BlockPageHelpInput;
  };
  /** Always holds "default" (added with the defaults when the file does not define it). */
  policies: Record<string, PolicyConfig>;
  venues: VenueConfig[];
  bypass: { firefoxCanary: boolean; privateRelay: boolean; ddr: boolean };
  abuse: AbuseConfig;
  chaos: { enabled: boolean };
  selfTest: {
    enabled: boolean;
    /** 'friendly-wifi' or an absolute suite file path. */
    suite: string;
    intervalMs: number;
    afterSwap: boolean;
    keep: number;
    /** Absolute path, or null: unsigned reports. */
    signingKeyFile: string | null;
  };
  /** Absolute path of the state directory, or null (state kept in memory only). */
  stateDir: string | null;
  admin: { listen: ListenAddress | null; tokens: Token[] };
  metrics: { listen: ListenAddress | null };
  /** path: absolute, or ':memory:' when there is no stateDir and no path. */
  stats: {
    enabled: boolean;
    path: string;
    retentionDays: number;
    flushIntervalMs: number;
    maxOpenReports: number;
  };
}

export interface FleetConfig {
  /** Absolute path of the Ed25519 private key that signs the published lists, or null: not published. */
  publish: { signingKeyFile: string | null };
  /** Where an edge pulls its lists from, or null: the lists come from `lists` / `compiled`. */
  pull: FleetPullConfig | null;
}

export interface FleetPullConfig {
  /** http(s) URLs as configured (may hold query secrets: log them through redactUrl). */
  url: string;
  signatureUrl: string;
  /** Absolute paths of the trusted public keys (at least one). */
  publicKeyFiles: string[];
  bearerTokenFile: string | null;
  intervalMs: number;
  timeoutMs: number;
  maxBytes: number;
  /** Client certificate and CA files (absolute), or null. */
  tls: { certFile: string | null; keyFile: string | null; caFile: string | null } | null;
}

export interface AbuseConfig {
  /** Absolute path of the key file, or null: a key for this process only (no stateDir). */
  keyFile: string | null;
  pageEntries: 'count' | 'block-host';
  /** An abuse feed older than this (since last confirmed) is stale: status warning and metric. */
  maxAgeMs: number;
}

export interface PolicyConfig {
  /** "all" or category names (validated names; categories the lists lack are the policy stage's concern). */
  block: 'all' | string[];
  blockMode: BlockMode;
  /** Normalized names (lowercase A-labels, no trailing dot); each covers its subtree. */
  allow: string[];
  deny: string[];
  /** Per engine (src/policy/safesearch.ts): whether its names are answered with its SafeSearch host. */
  safeSearch: { google: boolean; bing: boolean; duckduckgo: boolean; youtube: YouTubeMode };
}

export interface VenueConfig {
  name: string;
  /** Canonical CIDR texts. */
  networks: string[];
  /** A key of `policies`. */
  policy: string;
}
