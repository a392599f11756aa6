import { readFile } from 'node:fs/promises';
import { availableParallelism, networkInterfaces } from 'node:os';
import { dirname, resolve } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';
import type { TokenEntry } from '../admin/auth.js';
import { type BlockPageHelpInput, resolveHelp } from '../blockpage/help.js';
import { isFeedSource } from '../feeds/types.js';
import { normalizeFleet } from '../fleet/config.js';
import {
  addressKey,
  formatListenAddress,
  isLoopback,
  isUnspecified,
  parseListenAddress,
} from '../net/address.js';
import type { ListSource } from '../policy/types.js';
import { supportsReusePort } from '../transport/reuse-port.js';
import type { ListenAddress } from '../transport/types.js';
import { parseUpstreamUrl, type UpstreamUrl } from '../upstream/url.js';
import { normalizeAbuse } from './abuse.js';
import {
  ConfigError,
  durationWithin,
  invalidFlag,
  invalidKey,
  invalidValue,
  wherePrefix,
} from './config-error.js';
import {
  configLists,
  normalizePolicies,
  normalizeVenues,
  parseListFlags,
  SAMPLE_LISTS,
} from './filtering.js';
import { nameserverUrl, parseResolvConf } from './resolv-conf.js';
import {
  EXPECTED,
  type RawConfig,
  type RojeConfig,
  TokenEntry as TokenEntrySchema,
  type UpstreamConfig,
} from './schema.js';
import { parseByteSize } from './units.js';
import { listenHint } from './validate.js';

/** Command-line values that replace the file's lists. Empty arrays count as not given. */
export interface ConfigFlags {
  listen?: string[];
  upstreams?: string[];
  /** `--list CATEGORY=PATH` values (paths relative to the working directory); replace `lists`. */
  lists?: string[];
  /** `--compiled FILE`: replaces `compiled` (and wins over `lists`). */
  compiled?: string;
  /** `--admin HOST:PORT`: replaces `admin.listen`. */
  admin?: string;
  /** `--blockpage HOST:PORT` values: replace `blockPage.listen`. */
  blockpage?: string[];
}

export interface NormalizeDeps {
  readFile?: (path: string) => Promise<string>;
  /** Addresses of this host's interfaces, to spot a forwarding loop through a wildcard listener. */
  localAddresses?: () => string[];
  /**
   * For commands that never forward (roje compile): leave `upstreams` empty when none are configured
   * instead of reading resolv.conf, which may fail for reasons that do not concern them.
   */
  skipResolvConf?: boolean;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Longest TTL roje will hand out or keep; also the longest any duration can be (setTimeout limit). */
const MAX_TTL_MS = 24 * DAY;

/**
 * Turns a schema-checked config into the form the app consumes: milliseconds, seconds for TTLs,
 * bytes, parsed addresses, upstreams with their CA contents, and upstreams from resolv.conf when
 * none are configured. `file` is the config file (relative paths in it are relative to its folder)
 * or null. Throws ConfigError.
 */
export async function normalizeConfig(
  raw: RawConfig,
  file: string | null,
  flags: ConfigFlags = {},
  deps: NormalizeDeps = {},
): Promise<RojeConfig> {
  const read = deps.readFile ?? ((path: string) => readFile(path, 'utf8'));
  const baseDir = file === null ? process.cwd() : dirname(file);

  const duration = (key: string, value: unknown, min: number, max: number): number =>
    durationWithin(file, key, value, min, max);
  const ttl = (key: string, value: unknown, max = MAX_TTL_MS) => duration(key, value, 0, max) / SECOND;

  // listen
  const listenFromFlags = flags.listen !== undefined && flags.listen.length > 0;
  const listen: ListenAddress[] = [];
  const seen = new Set<string>();
  (listenFromFlags ? flags.listen! : raw.listen).forEach((text, i) => {
    const address = parseListenAddress(text);
    if (address === null) {
      const hint = listenHint(text);
      throw listenFromFlags
        ? invalidFlag('--listen', text, hint === undefined ? EXPECTED.listen : `${EXPECTED.listen} (${hint})`)
        : invalidValue(file, `listen[${i}]`, EXPECTED.listen, text);
    }
    const id = `${addressKey(address.host)}|${address.port}`;
    if (address.port !== 0 && seen.has(id)) {
      const why = `"${formatListenAddress(address)}" is listed twice`;
      throw listenFromFlags
        ? invalidFlag('--listen', text, EXPECTED.listen, why)
        : invalidKey(file, `listen[${i}]`, why);
    }
    seen.add(id);
    listen.push(address);
  });

  const defaultTimeoutMs = duration('upstream.timeout', raw.upstream.timeout, 10, MINUTE);

  // upstreams: flags, else the file, else resolv.conf
  const upstreams: UpstreamConfig[] = [];
  let upstreamsFrom: RojeConfig['upstreamsFrom'] = 'config';
  if (flags.upstreams !== undefined && flags.upstreams.length > 0) {
    upstreamsFrom = 'flags';
    for (const text of flags.upstreams) {
      let parsed: UpstreamUrl;
      try {
        parsed = parseUpstreamUrl(text);
      } catch (err) {
        throw invalidFlag('--upstream', text, EXPECTED.upstreamUrl, (err as Error).message);
      }
      upstreams.push({ url: parsed.url, timeoutMs: defaultTimeoutMs });
    }
  } else {
    for (let i = 0; i < raw.upstreams.length; i++) {
      const entry = raw.upstreams[i];
      const key = typeof entry === 'string' ? `upstreams[${i}]` : `upstreams[${i}].url`;
      const text = typeof entry === 'string' ? entry : entry.url;
      let parsed: UpstreamUrl;
      try {
        parsed = parseUpstreamUrl(text);
      } catch (err) {
        throw invalidKey(file, key, (err as Error).message, EXPECTED.upstreamUrl);
      }
      const upstream: UpstreamConfig = { url: parsed.url, timeoutMs: defaultTimeoutMs };
      if (typeof entry !== 'string') {
        if (entry.timeout !== undefined) {
          upstream.timeoutMs = duration(`upstreams[${i}].timeout`, entry.timeout, 10, MINUTE);
        }
        if (entry.ca !== undefined) {
          upstream.ca = await readCa(file, `upstreams[${i}].ca`, resolve(baseDir, entry.ca), parsed, read);
        }
      }
      upstreams.push(upstream);
    }
  }

  const resolvConf = resolve(baseDir, raw.resolvConf);
  if (upstreams.length === 0 && deps.skipResolvConf === true) {
    upstreamsFrom = 'resolv.conf';
  } else if (upstreams.length === 0) {
    upstreamsFrom = 'resolv.conf';
    const local = deps.localAddresses ?? interfaceAddresses;
    upstreams.push(
      ...(await upstreamsFromResolvConf(file, resolvConf, listen, defaultTimeoutMs, read, local)),
    );
  }

  // cache
  const c = raw.cache;
  const maxBytes = parseByteSize(c.maxBytes);
  if (maxBytes === null) throw invalidValue(file, 'cache.maxBytes', EXPECTED.byteSize, c.maxBytes);
  if (maxBytes < 64 * 1024) {
    throw invalidValue(file, 'cache.maxBytes', 'a size of at least "64KiB"', c.maxBytes);
  }
  const minTtl = ttl('cache.minTtl', c.minTtl);
  const maxTtl = ttl('cache.maxTtl', c.maxTtl);
  if (minTtl > maxTtl) {
    throw invalidKey(file, 'cache.minTtl', `"${c.minTtl}" is longer than cache.maxTtl "${c.maxTtl}"`);
  }

  // lists: --list flags, else --compiled alone, else the file; null in the file means the samples
  const listFlags = flags.lists ?? [];
  if (listFlags.length > 0 && flags.compiled !== undefined) {
    throw invalidFlag(
      '--compiled',
      flags.compiled,
      'a file path',
      '--compiled and --list exclude each other: the artifact replaces the lists',
    );
  }
  let lists: ListSource[];
  let listsFrom: RojeConfig['listsFrom'];
  if (listFlags.length > 0) {
    listsFrom = 'flags';
    lists = parseListFlags(listFlags);
  } else if (raw.lists === null) {
    listsFrom = 'samples';
    lists = SAMPLE_LISTS.map((l) => ({ ...l }));
  } else {
    listsFrom = 'config';
    lists = configLists(file, raw.lists, baseDir);
  }
  // Feeds keep their downloaded copies (the last good one survives a restart) under stateDir.
  const firstFeed = lists.findIndex(isFeedSource);
  if (firstFeed !== -1 && raw.stateDir === null) {
    throw invalidKey(
      file,
      'stateDir',
      `lists[${firstFeed}] is fetched from a URL and its downloaded copies need a folder: set stateDir, e.g. /var/lib/roje`,
      'a directory path',
    );
  }
  let compiled: string | null = null;
  if (flags.compiled !== undefined) compiled = resolve(flags.compiled);
  else if (listFlags.length === 0 && raw.compiled !== null) compiled = resolve(baseDir, raw.compiled);
  const fleet = normalizeFleet(file, raw, baseDir, {
    compiled,
    compiledFromFlag: flags.compiled !== undefined,
    listFlags: listFlags.length > 0,
  });

  const policies = normalizePolicies(file, raw.policies, raw.blockPage);

  return {
    source: file,
    listen,
    upstreams,
    upstreamsFrom,
    resolvConf,
    upstream: { timeoutMs: defaultTimeoutMs, maxPending: raw.upstream.maxPending },
    workers: normalizeWorkers(file, raw.workers, raw.workerMode),
    acl: { allow: [...raw.acl.allow] },
    rateLimit: { ...raw.rateLimit, exempt: [...raw.rateLimit.exempt] },
    cache: {
      maxEntries: c.maxEntries,
      maxBytes,
      minTtl,
      maxTtl,
      negativeMaxTtl: ttl('cache.negativeMaxTtl', c.negativeMaxTtl),
      serveStale: {
        enabled: c.serveStale.enabled,
        maxStale: ttl('cache.serveStale.maxStale', c.serveStale.maxStale),
        answerTtl: ttl('cache.serveStale.answerTtl', c.serveStale.answerTtl, HOUR),
      },
    },
    edns: { udpSize: raw.edns.udpSize },
    tcp: {
      idleTimeoutMs: duration('tcp.idleTimeout', raw.tcp.idleTimeout, SECOND, HOUR),
      maxConnections: raw.tcp.maxConnections,
      maxPipelined: raw.tcp.maxPipelined,
    },
    log: { level: raw.log.level, queries: raw.log.queries },
    shutdown: {
      drainTimeoutMs: duration('shutdown.drainTimeout', raw.shutdown.drainTimeout, 0, 10 * MINUTE),
    },
    // An edge's lists come from the pulled artifact (the embedded samples are not used).
    lists: fleet.pull !== null ? [] : lists,
    listsFrom,
    compiled,
    fleet,
    blockTtl: ttl('blockTtl', raw.blockTtl, DAY),
    blockPage: normalizeBlockPage(file, raw.blockPage, flags.blockpage),
    policies,
    venues: normalizeVenues(file, raw.venues, policies),
    bypass: { ...raw.bypass },
    abuse: normalizeAbuse(file, raw, baseDir),
    chaos: { enabled: raw.chaos.enabled },
    selfTest: {
      enabled: raw.selfTest.enabled,
      suite: raw.selfTest.suite === 'friendly-wifi' ? 'friendly-wifi' : resolve(baseDir, raw.selfTest.suite),
      intervalMs: duration('selfTest.interval', raw.selfTest.interval, MINUTE, 31 * DAY),
      afterSwap: raw.selfTest.afterSwap,
      keep: raw.selfTest.keep,
      signingKeyFile:
        raw.selfTest.signingKeyFile !== null
          ? resolve(baseDir, raw.selfTest.signingKeyFile)
          : raw.stateDir !== null
            ? resolve(baseDir, raw.stateDir, 'signing.key')
            : null,
    },
    stateDir: raw.stateDir === null ? null : resolve(baseDir, raw.stateDir),
    admin: {
      listen:
        flags.admin !== undefined
          ? listenFlag('--admin', flags.admin)
          : raw.admin.listen === null
            ? null
            : listenValue(file, 'admin.listen', raw.admin.listen),
      tokens: [
        ...raw.admin.tokens,
        ...(raw.admin.tokensFile === null
          ? []
          : await readTokensFile(file, resolve(baseDir, raw.admin.tokensFile), read)),
      ],
    },
    metrics: {
      listen: raw.metrics.listen === null ? null : listenValue(file, 'metrics.listen', raw.metrics.listen),
    },
    stats: {
      enabled: raw.stats.enabled,
      path:
        raw.stats.path !== null
          ? resolve(baseDir, raw.stats.path)
          : raw.stateDir !== null
            ? resolve(baseDir, raw.stateDir, 'stats.db')
            : ':memory:',
      retentionDays: raw.stats.retentionDays,
      flushIntervalMs: duration('stats.flushInterval', raw.stats.flushInterval, SECOND, HOUR),
      maxOpenReports: raw.stats.maxOpenReports,
    },
  };
}

function normalizeBlockPage(
  file: string | null,
  raw: RawConfig['blockPage'],
  flagListen: string[] | undefined,
): RojeConfig['blockPage'] {
  const help = raw.help as BlockPageHelpInput;
  try {
    resolveHelp(help);
  } catch (err) {
    // The check names the key (help.helpline.number...); say which file it is in.
    throw invalidKey(file, 'blockPage.help', (err as Error).message.replace(/^blockPage\.help\.\S+ /, ''));
  }
  return {
    ipv4: raw.ipv4,
    ipv6: raw.ipv6,
    listen:
      flagListen !== undefined && flagListen.length > 0
        ? flagListen.map((text) => listenFlag('--blockpage', text))
        : raw.listen.map((text, i) => listenValue(file, `blockPage.listen[${i}]`, text)),
    refuseTls: raw.refuseTls.map((text, i) => listenValue(file, `blockPage.refuseTls[${i}]`, text)),
    operatorName: raw.operatorName,
    defaultLang: raw.defaultLang,
    maxMessageLength: raw.maxMessageLength,
    reportsPerMinute: raw.reportsPerMinute,
    help,
  };
}

function listenValue(file: string | null, key: string, text: string): ListenAddress {
  const address = parseListenAddress(text);
  if (address === null) throw invalidValue(file, key, EXPECTED.listen, text);
  return address;
}

function listenFlag(flag: string, text: string): ListenAddress {
  const address = parseListenAddress(text);
  if (address === null) throw invalidFlag(flag, text, EXPECTED.listen);
  return address;
}

const TOKEN_ENTRY_CHECK = (e: unknown) => Value.Check(TokenEntrySchema, e);

/** A secrets file of token entries: a YAML list of { name, role, sha256 }. */
async function readTokensFile(
  file: string | null,
  path: string,
  read: (path: string) => Promise<string>,
): Promise<TokenEntry[]> {
  let text: string;
  try {
    text = await read(path);
  } catch (err) {
    throw invalidKey(
      file,
      'admin.tokensFile',
      `cannot read "${path}": ${systemReason(err)}`,
      'a readable file',
    );
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw invalidKey(file, 'admin.tokensFile', `"${path}" is not valid YAML: ${(err as Error).message}`);
  }
  const entries = Array.isArray(doc) ? doc : [];
  if (!Array.isArray(doc) || !entries.every((e) => TOKEN_ENTRY_CHECK(e))) {
    throw invalidKey(
      file,
      'admin.tokensFile',
      `"${path}" must be a YAML list of { name, role: admin|operator|auditor, sha256: <64 hex> }`,
    );
  }
  return entries as TokenEntry[];
}

async function readCa(
  file: string | null,
  key: string,
  path: string,
  upstream: UpstreamUrl,
  read: (path: string) => Promise<string>,
): Promise<string> {
  if (upstream.protocol !== 'tls' && upstream.protocol !== 'https') {
    throw invalidKey(
      file,
      key,
      `a CA applies only to tls:// and https:// upstreams, not ${upstream.protocol}://`,
    );
  }
  let pem: string;
  try {
    pem = await read(path);
  } catch (err) {
    throw invalidKey(file, key, `cannot read CA file "${path}": ${systemReason(err)}`, 'a readable PEM file');
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw invalidKey(
      file,
      key,
      `"${path}" holds no PEM certificate ("-----BEGIN CERTIFICATE-----")`,
      'a PEM file',
    );
  }
  return pem;
}

/**
 * The nameservers of resolv.conf as UDP upstreams, minus any that would send queries back to roje
 * itself: a nameserver equal to one of our port-53 listen addresses, or, behind a wildcard listener
 * on port 53, a loopback or local interface address.
 */
async function upstreamsFromResolvConf(
  file: string | null,
  path: string,
  listen: readonly ListenAddress[],
  timeoutMs: number,
  read: (path: string) => Promise<string>,
  localAddresses: () => string[],
): Promise<UpstreamConfig[]> {
  const advice = 'set `upstreams` in the config file or pass --upstream URL';
  let text: string;
  try {
    text = await read(path);
  } catch (err) {
    throw noUpstream(
      file,
      `\`upstreams\` is empty and ${path} cannot be read (${systemReason(err)}); ${advice}`,
    );
  }
  const own = new Set<string>();
  let wildcard4 = false;
  let wildcard6 = false;
  for (const l of listen) {
    if (l.port !== 53) continue;
    if (isUnspecified(l.host)) {
      if (l.host.includes(':')) wildcard6 = true;
      else wildcard4 = true;
    } else {
      own.add(addressKey(l.host) ?? l.host);
    }
  }
  const local = wildcard4 || wildcard6 ? new Set(localAddresses().map((a) => addressKey(a) ?? a)) : new Set();

  const kept: UpstreamConfig[] = [];
  const skipped: string[] = [];
  const nameservers = parseResolvConf(text);
  for (const ns of nameservers) {
    const id = addressKey(ns) ?? ns;
    const v6 = ns.includes(':');
    // On Linux a "::" listener also takes IPv4 (dual stack), so it covers both families.
    const behindWildcard = (wildcard6 || (wildcard4 && !v6)) && (isLoopback(ns) || local.has(id));
    if (own.has(id) || behindWildcard) skipped.push(ns);
    else kept.push({ url: parseUpstreamUrl(nameserverUrl(ns)).url, timeoutMs });
  }
  if (kept.length === 0) {
    const why =
      nameservers.length === 0
        ? `${path} lists no nameserver`
        : `the nameservers of ${path} (${skipped.join(', ')}) are roje's own listen addresses and would loop`;
    throw noUpstream(file, `\`upstreams\` is empty and ${why}; ${advice}`);
  }
  return kept;
}

function noUpstream(file: string | null, why: string): ConfigError {
  return new ConfigError('ROJE_ERR_CONFIG_NO_UPSTREAM', `${wherePrefix(file)}no upstream resolver: ${why}`, {
    file,
    key: 'upstreams',
    expected: EXPECTED.upstream,
  });
}

function interfaceAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address));
}

/** "no such file or directory (ENOENT)" from a Node system error. */
export function systemReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code === 'string') {
    const text: Record<string, string> = {
      ENOENT: 'no such file or directory',
      EACCES: 'permission denied',
      EISDIR: 'it is a directory',
      ENOTDIR: 'a parent is not a directory',
    };
    return `${text[e.code] ?? e.message} (${e.code})`;
  }
  return e instanceof Error ? e.message : String(err);
}

/** `workers: auto` is one query loop per core; `workerMode: auto` is threads where SO_REUSEPORT is there. */
function normalizeWorkers(
  file: string | null,
  count: 'auto' | number,
  mode: 'auto' | 'threads' | 'processes',
): RojeConfig['workers'] {
  if (mode === 'threads' && !supportsReusePort()) {
    throw invalidValue(
      file,
      'workerMode',
      'processes or auto on this Node.js',
      mode,
      `threads need SO_REUSEPORT (reusePort), which Node.js ${process.versions.node} lacks: it arrived in 22.12`,
    );
  }
  return {
    count: count === 'auto' ? availableParallelism() : count,
    mode: mode === 'auto' ? (supportsReusePort() ? 'threads' : 'processes') : mode,
  };
}
