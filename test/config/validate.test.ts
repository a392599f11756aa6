import { availableParallelism } from 'node:os';
import t from 'tap';
import { ConfigError } from '../../src/config/config-error.js';
import { SAMPLE_LISTS } from '../../src/config/filtering.js';
import { validateConfig } from '../../src/config/load.js';
import { defaultInstance } from '../../src/config/sections/store.js';
import { checkSchema, keyPath, schemaKeyPaths } from '../../src/config/validate.js';
import { supportsReusePort } from '../../src/transport/reuse-port.js';

const FILE = '/etc/roje/roje.yaml';
const UP = ['udp://127.0.0.1:5300'];

/** Validates `raw` (with a loopback upstream unless it sets its own) and returns the thrown error. */
async function fail(raw: Record<string, unknown>): Promise<ConfigError> {
  try {
    await validateConfig({ upstreams: UP, ...raw }, FILE);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`expected ${JSON.stringify(raw)} to be rejected`);
}

t.test('the example error from the spec, word for word', async (t) => {
  const err = await fail({ cache: { maxTtl: 'forever' } });
  t.equal(
    err.message,
    'config error in /etc/roje/roje.yaml: cache.maxTtl: expected a duration such as "30s", "5m", "6h" or "1d", got "forever"',
  );
  t.equal(err.code, 'ROJE_ERR_CONFIG_INVALID');
  t.equal(err.file, FILE);
  t.equal(err.key, 'cache.maxTtl');
  t.equal(err.expected, 'a duration such as "30s", "5m", "6h" or "1d"');
  t.equal(err.name, 'ConfigError');
});

t.test('rateLimit values are checked', async (t) => {
  await t.rejects(validateConfig({ upstreams: UP, rateLimit: { slip: 11 } }, FILE), {
    code: 'ROJE_ERR_CONFIG_INVALID',
    message: /rateLimit\.slip/,
  });
  await t.rejects(validateConfig({ upstreams: UP, rateLimit: { exempt: ['10.0.0.1/8'] } }, FILE), {
    message: /rateLimit\.exempt\[0\]/,
  });
});

t.test('workers: auto is one loop per core; the mode follows what Node.js can do', async (t) => {
  const auto = await validateConfig({ upstreams: UP, workers: 'auto' }, FILE);
  t.equal(auto.workers.count, availableParallelism());
  const processes = await validateConfig({ upstreams: UP, workers: 3, workerMode: 'processes' }, FILE);
  t.same(processes.workers, { count: 3, mode: 'processes' });
  for (const workers of [0, 257, 1.5, 'all', null]) {
    await t.rejects(validateConfig({ upstreams: UP, workers }, FILE), {
      code: 'ROJE_ERR_CONFIG_INVALID',
      message: /workers/,
    });
  }
  await t.rejects(validateConfig({ upstreams: UP, workerMode: 'fibers' }, FILE), { message: /workerMode/ });
  if (supportsReusePort()) {
    const threads = await validateConfig({ upstreams: UP, workers: 2, workerMode: 'threads' }, FILE);
    t.same(threads.workers, { count: 2, mode: 'threads' });
  } else {
    await t.rejects(validateConfig({ upstreams: UP, workers: 2, workerMode: 'threads' }, FILE), {
      code: 'ROJE_ERR_CONFIG_INVALID',
      message:
        /workerMode: expected processes or auto on this Node\.js, got "threads" \(threads need SO_REUSEPORT/,
    });
  }
});

t.test('an empty config gets every default, normalized', async (t) => {
  const cfg = await validateConfig({ upstreams: UP }, FILE);
  t.same(cfg, {
    source: FILE,
    listen: [
      { host: '127.0.0.1', port: 5353 },
      { host: '::1', port: 5353 },
    ],
    upstreams: [{ url: 'udp://127.0.0.1:5300', timeoutMs: 2000 }],
    upstreamsFrom: 'config',
    resolvConf: '/etc/resolv.conf',
    upstream: {
      timeoutMs: 2000,
      maxPending: 1024,
      maxPendingPerClient: 256,
      maxPendingPerVenue: 512,
      jostleAfterMs: 200,
    },
    workers: { count: 1, mode: supportsReusePort() ? 'threads' : 'processes' },
    acl: {
      allow: [
        '127.0.0.0/8',
        '::1/128',
        '10.0.0.0/8',
        '172.16.0.0/12',
        '192.168.0.0/16',
        '100.64.0.0/10',
        'fc00::/7',
        'fe80::/10',
      ],
    },
    rateLimit: {
      enabled: true,
      responsesPerSecond: 1000,
      burst: 2000,
      slip: 2,
      exempt: [],
      venueResponsesPerSecond: 20_000,
      venueBurst: 40_000,
    },
    cache: {
      maxEntries: 100000,
      maxBytes: 64 * 1024 * 1024,
      minTtl: 0,
      maxTtl: 86400,
      negativeMaxTtl: 3600,
      serveStale: { enabled: true, maxStale: 86400, answerTtl: 30 },
    },
    edns: { udpSize: 1232 },
    udp: { batchedIo: true },
    tcp: {
      idleTimeoutMs: 10000,
      firstQueryTimeoutMs: 3000,
      maxConnections: 1000,
      maxConnectionsPerClient: 16,
      maxPipelined: 100,
    },
    log: { level: 'info', queries: false },
    shutdown: { drainTimeoutMs: 5000 },
    lists: SAMPLE_LISTS,
    listsFrom: 'samples',
    compiled: null,
    fleet: { publish: { signingKeyFile: null }, pull: null },
    blockTtl: 60,
    blockPage: {
      ipv4: null,
      ipv6: null,
      listen: [],
      refuseTls: [],
      operatorName: null,
      defaultLang: 'sq',
      maxMessageLength: 1000,
      reportsPerMinute: 30,
      limits: {
        maxConnections: 256,
        maxConnectionsPerClient: 16,
        headersTimeoutMs: 5000,
        requestTimeoutMs: 10000,
        keepAliveTimeoutMs: 5000,
        reportsPerClientPerMinute: 5,
      },
      help: {},
    },
    policies: {
      default: {
        block: 'all',
        blockMode: 'nxdomain',
        optionalCategories: [],
        allow: [],
        deny: [],
        safeSearch: { google: true, bing: true, duckduckgo: true, youtube: 'moderate' },
      },
    },
    venues: [],
    bypass: { firefoxCanary: true, privateRelay: true, ddr: true },
    profile: 'friendly-wifi',
    abuse: { keyFile: null, pageEntries: 'count', maxAgeMs: 12 * 3_600_000 },
    chaos: { enabled: true },
    selfTest: {
      enabled: true,
      suite: 'friendly-wifi',
      intervalMs: 86_400_000,
      afterSwap: true,
      keep: 30,
      signingKeyFile: null,
    },
    stateDir: null,
    admin: { listen: { host: '127.0.0.1', port: 8053 }, tokens: [] },
    metrics: { listen: null },
    stats: {
      enabled: true,
      path: ':memory:',
      retentionDays: 400,
      flushIntervalMs: 60_000,
      maxOpenReports: 10_000,
    },
    store: {
      url: null,
      instance: defaultInstance(),
      spool: { path: null, maxBytes: 256 * 1024 * 1024 },
      pollIntervalMs: 30_000,
      poolSize: 4,
    },
    timeZone: 'UTC',
    categoryNames: {},
  });
});

t.test('good values for every key are normalized to their units', async (t) => {
  const cfg = await validateConfig(
    {
      listen: ['0.0.0.0:53', '[::]:53', '10.1.2.3:0'],
      upstreams: [
        'udp://127.0.0.1',
        'tcp://[::1]:5300',
        { url: 'udp://127.0.0.2:5301', timeout: '750ms' },
        { url: 'https://127.0.0.1:8443/dns-query' },
      ],
      resolvConf: 'resolv.conf',
      upstream: { timeout: '1500ms' },
      acl: { allow: ['192.168.10.0/24', '2001:db8::/32', '198.51.100.7'] },
      cache: {
        maxEntries: 5000,
        maxBytes: 1048576,
        minTtl: '5s',
        maxTtl: '6h',
        negativeMaxTtl: 0,
        serveStale: { enabled: false, maxStale: '1h30m', answerTtl: '1m' },
      },
      edns: { udpSize: 4096 },
      tcp: { idleTimeout: '1m', maxConnections: 10, maxPipelined: 1 },
      log: { level: 'debug', queries: true },
      shutdown: { drainTimeout: 0 },
    },
    FILE,
  );
  t.same(cfg.listen, [
    { host: '0.0.0.0', port: 53 },
    { host: '::', port: 53 },
    { host: '10.1.2.3', port: 0 },
  ]);
  t.same(cfg.upstreams, [
    { url: 'udp://127.0.0.1:53', timeoutMs: 1500 },
    { url: 'tcp://[::1]:5300', timeoutMs: 1500 },
    { url: 'udp://127.0.0.2:5301', timeoutMs: 750 },
    { url: 'https://127.0.0.1:8443/dns-query', timeoutMs: 1500 },
  ]);
  t.equal(cfg.resolvConf, '/etc/roje/resolv.conf', 'relative to the config file');
  t.same(cfg.cache, {
    maxEntries: 5000,
    maxBytes: 1048576,
    minTtl: 5,
    maxTtl: 21600,
    negativeMaxTtl: 0,
    serveStale: { enabled: false, maxStale: 5400, answerTtl: 60 },
  });
  t.same(cfg.edns, { udpSize: 4096 });
  t.same(cfg.tcp, {
    idleTimeoutMs: 60000,
    firstQueryTimeoutMs: 3000,
    maxConnections: 10,
    maxConnectionsPerClient: 16,
    maxPipelined: 1,
  });
  t.same(cfg.log, { level: 'debug', queries: true });
  t.same(cfg.shutdown, { drainTimeoutMs: 0 });
});

t.test('bad values name the key and the expected form', async (t) => {
  const cases: [Record<string, unknown>, string, RegExp][] = [
    // durations
    [
      { upstream: { timeout: 2 } },
      'upstream.timeout',
      /expected a duration .* got 2 \(a bare number is ambiguous/,
    ],
    [{ upstream: { timeout: '2' } }, 'upstream.timeout', /got "2" \(add a unit/],
    [{ upstream: { timeout: '2S' } }, 'upstream.timeout', /units are lowercase/],
    [{ upstream: { timeout: '1.5s' } }, 'upstream.timeout', /use whole numbers/],
    [
      { upstream: { timeout: '5m' } },
      'upstream.timeout',
      /expected a duration from "10ms" to "1m", got "5m"/,
    ],
    [{ tcp: { idleTimeout: '30m1h' } }, 'tcp.idleTimeout', /largest first/],
    [{ tcp: { idleTimeout: '100ms' } }, 'tcp.idleTimeout', /from "1s" to "1h"/],
    [{ shutdown: { drainTimeout: '1h' } }, 'shutdown.drainTimeout', /from "0s" to "10m"/],
    [{ cache: { maxTtl: '500ms' } }, 'cache.maxTtl', /DNS TTLs are whole seconds/],
    [{ cache: { minTtl: 'soon' } }, 'cache.minTtl', /expected a duration/],
    [{ cache: { negativeMaxTtl: true } }, 'cache.negativeMaxTtl', /expected a duration .* got true/],
    [{ cache: { maxTtl: '30d' } }, 'cache.maxTtl', /expected a duration/],
    [{ cache: { minTtl: '2h', maxTtl: '1h' } }, 'cache.minTtl', /longer than cache\.maxTtl/],
    [{ cache: { serveStale: { maxStale: 'x' } } }, 'cache.serveStale.maxStale', /expected a duration/],
    [{ cache: { serveStale: { answerTtl: '2h' } } }, 'cache.serveStale.answerTtl', /from "0s" to "1h"/],
    [
      { cache: { serveStale: { enabled: 'yes' } } },
      'cache.serveStale.enabled',
      /expected true or false, got "yes"/,
    ],
    // sizes and counts
    [{ cache: { maxBytes: 'lots' } }, 'cache.maxBytes', /expected a size such as "64MiB"/],
    [{ cache: { maxBytes: -1 } }, 'cache.maxBytes', /expected a size/],
    [{ cache: { maxBytes: '1KiB' } }, 'cache.maxBytes', /at least "64KiB"/],
    [{ cache: { maxEntries: 0 } }, 'cache.maxEntries', /expected a whole number from 1 to 100000000, got 0/],
    [{ cache: { maxEntries: 1.5 } }, 'cache.maxEntries', /whole number/],
    [{ cache: { maxEntries: '100' } }, 'cache.maxEntries', /whole number .* got "100"/],
    [{ edns: { udpSize: 511 } }, 'edns.udpSize', /from 512 to 4096, got 511/],
    [{ edns: { udpSize: 4097 } }, 'edns.udpSize', /from 512 to 4096, got 4097/],
    [{ udp: { batchedIo: 'yes' } }, 'udp.batchedIo', /true or false/],
    [{ tcp: { maxConnections: 0 } }, 'tcp.maxConnections', /whole number/],
    [{ tcp: { maxPipelined: 70000 } }, 'tcp.maxPipelined', /from 1 to 65535/],
    // addresses and networks
    [{ listen: ['127.0.0.1'] }, 'listen[0]', /expected host:port .* \(add the port/],
    [{ listen: ['127.0.0.1:53', '::1:53'] }, 'listen[1]', /put an IPv6 address in brackets/],
    [{ listen: ['localhost:53'] }, 'listen[0]', /must be an IP address/],
    [{ listen: ['127.0.0.1:70000'] }, 'listen[0]', /port must be 0-65535/],
    [{ listen: ['127.0.0.1:53', '127.0.0.1:53'] }, 'listen[1]', /listed twice/],
    [{ listen: [] }, 'listen', /needs at least 1 entry/],
    [{ listen: '127.0.0.1:53' }, 'listen', /expected a list, got "127\.0\.0\.1:53"/],
    [{ acl: { allow: ['10.0.0.0/33'] } }, 'acl.allow[0]', /expected a network .*\(prefix length 33/],
    [{ acl: { allow: ['10.0.0.0/8', '10.0.0.1/8'] } }, 'acl.allow[1]', /host bits are set/],
    [{ acl: { allow: ['nope'] } }, 'acl.allow[0]', /expected a network/],
    [{ acl: { allow: [] } }, 'acl.allow', /at least 1 entry/],
    // upstreams
    [
      { upstreams: ['dns://127.0.0.1'] },
      'upstreams[0]',
      /upstream URL "dns:\/\/127\.0\.0\.1" is not valid: scheme/,
    ],
    [{ upstreams: ['udp://resolver.example'] }, 'upstreams[0]', /is not an IP address/],
    [{ upstreams: [{ url: 'tcp://::1' }] }, 'upstreams[0].url', /brackets/],
    [{ upstreams: [42] }, 'upstreams[0]', /expected an upstream URL string or an object/],
    [{ upstreams: [{ timeout: '1s' }] }, 'upstreams[0].url', /is required/],
    [
      { upstreams: [{ url: 'udp://127.0.0.1', timeout: 'x' }] },
      'upstreams[0].timeout',
      /expected a duration/,
    ],
    [
      { upstreams: [{ url: 'udp://127.0.0.1', ca: '/x.pem' }] },
      'upstreams[0].ca',
      /only to tls:\/\/ and https:\/\//,
    ],
    [{ upstreams: 'udp://127.0.0.1' }, 'upstreams', /expected a list/],
    // types and the rest
    [{ cache: 5 }, 'cache', /expected a mapping of keys/],
    [{ cache: ['a'] }, 'cache', /expected a mapping of keys .* got a list/],
    [
      { log: { level: 'verbose' } },
      'log.level',
      /expected one of fatal, error, warn, info, debug, trace, silent/,
    ],
    [{ log: { queries: 1 } }, 'log.queries', /expected true or false/],
    [{ resolvConf: '' }, 'resolvConf', /expected a file path/],
    [{ edns: null }, 'edns', /got null/],
  ];
  for (const [raw, key, message] of cases) {
    const err = await fail(raw);
    t.equal(err.key, key, `${JSON.stringify(raw)} -> key`);
    t.match(err.message, message, `${JSON.stringify(raw)} -> message`);
    t.match(
      err.message,
      new RegExp(`^config error in /etc/roje/roje\\.yaml: ${key.replace(/[[\].]/g, '\\$&')}`),
    );
  }
});

t.test('unknown keys are errors, with the closest known key', async (t) => {
  const cases: [Record<string, unknown>, string, string | null][] = [
    [{ cache: { maxTTL: '1d' } }, 'cache.maxTTL', 'cache.maxTtl'],
    [{ cache: { maxTll: '1d' } }, 'cache.maxTll', 'cache.maxTtl'],
    [{ cache: { serveStale: { maxstale: '1d' } } }, 'cache.serveStale.maxstale', 'cache.serveStale.maxStale'],
    [
      { upstreams: [{ url: 'udp://127.0.0.1', timeot: '1s' }] },
      'upstreams[0].timeot',
      'upstreams[0].timeout',
    ],
    [{ maxTtl: '1d' }, 'maxTtl', 'cache.maxTtl'],
    [{ listens: [] }, 'listens', 'listen'],
    [{ upstream: { timeout: '1s', retries: 3 } }, 'upstream.retries', null],
    [{ blocklists: [] }, 'blocklists', null],
  ];
  for (const [raw, key, guess] of cases) {
    const err = await fail(raw);
    t.equal(err.key, key);
    t.match(err.message, `unknown key "${key}"`);
    if (guess === null) t.match(err.message, /\(known keys here: /);
    else t.match(err.message, `(did you mean "${guess}"?)`);
  }
  // A misspelt key is reported even when other errors exist: it usually explains them.
  const err = await fail({ edns: { udpSize: 1 }, tcp: { idletimeout: '5s' } });
  t.equal(err.key, 'tcp.idletimeout');
});

t.test('the top level must be a mapping; null means empty', async (t) => {
  await t.rejects(validateConfig(['a'], FILE), {
    code: 'ROJE_ERR_CONFIG_INVALID',
    message: 'config error in /etc/roje/roje.yaml: expected a mapping of config keys, got a list',
  });
  await t.rejects(validateConfig('listen: x', FILE), {
    message: /expected a mapping of config keys, got "listen: x"/,
  });
  t.same(checkSchema(null, FILE).cache.maxTtl, '1d');
  t.same(checkSchema(undefined, null).listen, ['127.0.0.1:5353', '[::1]:5353']);
  const raw = { cache: { maxTtl: '2h' } };
  checkSchema(raw, FILE);
  t.same(raw, { cache: { maxTtl: '2h' } }, 'input is not modified by defaults');
});

t.test('a source of null speaks of the config without a file', async (t) => {
  try {
    await validateConfig({ edns: { udpSize: 1 } }, null);
    t.fail('should throw');
  } catch (err) {
    t.match((err as Error).message, /^config error: edns\.udpSize: /);
    t.equal((err as ConfigError).file, null);
  }
});

t.test('helpers', async (t) => {
  t.equal(keyPath('/upstreams/1/url'), 'upstreams[1].url');
  t.equal(keyPath('', 'cache'), 'cache');
  t.equal(keyPath('/a~1b'), 'a/b');
  const paths = schemaKeyPaths();
  t.ok(paths.includes('cache.serveStale.answerTtl'));
  t.ok(paths.includes('upstreams[].ca'));
});
