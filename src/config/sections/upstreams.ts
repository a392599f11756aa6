/** `upstreams`, `resolvConf` and `upstream`: where queries are forwarded, and the defaults for each. */
import { networkInterfaces } from 'node:os';
import { resolve } from 'node:path';
import type { Static } from '@sinclair/typebox';
import { addressKey, isLoopback, isUnspecified } from '../../net/address.js';
import type { ListenAddress } from '../../transport/types.js';
import { defaultPerClient, defaultPerVenue } from '../../upstream/fair-share.js';
import { parseUpstreamUrl, type UpstreamUrl } from '../../upstream/url.js';
import {
  ConfigError,
  durationWithin,
  invalidFlag,
  invalidKey,
  systemReason,
  wherePrefix,
} from '../config-error.js';
import { Type } from '../json-schema.js';
import { nameserverUrl, parseResolvConf } from '../resolv-conf.js';
import { duration, MINUTE, type SectionContext, section, VALUE_EXPECTED } from './common.js';

export const UPSTREAM_EXPECTED = {
  upstreamUrl:
    'an upstream URL such as "udp://127.0.0.1:53", "tcp://…", "tls://host:853#name" or "https://…"',
  upstream: 'an upstream URL string or an object with keys url, timeout, ca',
} as const;

const UpstreamUrlString = Type.String({
  format: 'upstream-url',
  'x-expected': UPSTREAM_EXPECTED.upstreamUrl,
});

const UpstreamObject = Type.Object(
  {
    url: UpstreamUrlString,
    timeout: Type.Optional(
      Type.Union([Type.Literal(0), Type.String({ format: 'duration' })], {
        'x-expected': VALUE_EXPECTED.duration,
      }),
    ),
    ca: Type.Optional(Type.String({ minLength: 1, 'x-expected': 'a path to a PEM file' })),
  },
  { additionalProperties: false },
);

export const UpstreamsSchema = Type.Array(
  Type.Union([UpstreamUrlString, UpstreamObject], { 'x-expected': UPSTREAM_EXPECTED.upstream }),
  { default: [], description: 'resolvers to forward to; empty means the nameservers of resolvConf' },
);

export const ResolvConfSchema = Type.String({
  minLength: 1,
  default: '/etc/resolv.conf',
  description: 'where upstreams come from when `upstreams` is empty',
  'x-expected': 'a file path',
});

export const UpstreamSchema = section(
  {
    timeout: duration('2s', 'default per-attempt timeout for each upstream'),
    maxPending: Type.Integer({
      minimum: 1,
      maximum: 1_000_000,
      default: 1024,
      description:
        'distinct upstream queries in flight at most; past it SERVFAIL (EDE 0 "upstream queue full") or a stale answer',
    }),
    maxPendingPerClient: Type.Integer({
      minimum: 0,
      maximum: 1_000_000,
      default: 0,
      description:
        'upstream queries in flight at most for one client (IPv4 address or IPv6 /64); 0: maxPending / 4',
    }),
    maxPendingPerVenue: Type.Integer({
      minimum: 0,
      maximum: 1_000_000,
      default: 0,
      description: "upstream queries in flight at most for one venue's clients together; 0: maxPending / 2",
    }),
    jostleAfter: duration(
      '200ms',
      "when the queue is full, a query in flight this long may give way to another client's (jostle)",
    ),
  },
  'defaults for every upstream',
);

/**
 * One upstream resolver, normalized. Written out rather than inferred: `ca` is there only for a
 * tls:// or https:// upstream given a CA file, and an optional key is what inference renders worst
 * (a union of two object shapes instead of one with `ca?`).
 */
export interface UpstreamConfig {
  /** The URL as parseUpstreamUrl normalized it, e.g. "udp://127.0.0.1:53". */
  url: string;
  /** Per-attempt timeout in milliseconds. */
  timeoutMs: number;
  /** PEM contents of the CA bundle to trust (tls:// and https:// only), read from the `ca` path. */
  ca?: string;
}

export type UpstreamsSection = Awaited<ReturnType<typeof normalizeUpstreams>>;

interface RawUpstreams {
  upstreams: Static<typeof UpstreamsSchema>;
  resolvConf: Static<typeof ResolvConfSchema>;
  upstream: Static<typeof UpstreamSchema>;
}

export interface UpstreamsOptions {
  /** Addresses of this host's interfaces, to spot a forwarding loop through a wildcard listener. */
  localAddresses?: () => string[];
  /** Leave `upstreams` empty when none are configured instead of reading resolv.conf. */
  skipResolvConf?: boolean;
}

/**
 * The upstreams from the --upstream flags, else from the file, else from resolv.conf (minus any that
 * would loop back to `listen`), with their CA contents read.
 */
export async function normalizeUpstreams(
  ctx: SectionContext,
  raw: RawUpstreams,
  flags: readonly string[] | undefined,
  listen: readonly ListenAddress[],
  options: UpstreamsOptions = {},
) {
  const timeoutMs = durationWithin(ctx.file, 'upstream.timeout', raw.upstream.timeout, 10, MINUTE);
  const fromFlags = flags !== undefined && flags.length > 0;
  const upstreams = fromFlags
    ? flags.map((text): UpstreamConfig => ({ url: flagUpstreamUrl(text), timeoutMs }))
    : await fileUpstreams(ctx, raw.upstreams, timeoutMs);
  let upstreamsFrom: 'config' | 'flags' | 'resolv.conf' = fromFlags ? 'flags' : 'config';
  const resolvConf = resolve(ctx.baseDir, raw.resolvConf);
  if (upstreams.length === 0) {
    upstreamsFrom = 'resolv.conf';
    if (options.skipResolvConf !== true) {
      const local = options.localAddresses ?? interfaceAddresses;
      upstreams.push(...(await upstreamsFromResolvConf(ctx, resolvConf, listen, timeoutMs, local)));
    }
  }
  return {
    /** Never empty (except for commands that skip resolv.conf): from the file, the flags, or resolvConf. */
    upstreams,
    /** Where `upstreams` came from, for the startup summary. */
    upstreamsFrom,
    /** Absolute path of the resolv.conf consulted when `upstreams` is empty. */
    resolvConf,
    upstream: upstreamQueue(ctx, raw.upstream, timeoutMs),
  };
}

/** `upstream`: the per-attempt timeout and the queue's bounds, with the shares' defaults filled in. */
function upstreamQueue(ctx: SectionContext, raw: RawUpstreams['upstream'], timeoutMs: number) {
  const { maxPending } = raw;
  return {
    timeoutMs,
    maxPending,
    maxPendingPerClient: Math.min(maxPending, raw.maxPendingPerClient || defaultPerClient(maxPending)),
    maxPendingPerVenue: Math.min(maxPending, raw.maxPendingPerVenue || defaultPerVenue(maxPending)),
    jostleAfterMs: durationWithin(ctx.file, 'upstream.jostleAfter', raw.jostleAfter, 0, MINUTE),
  };
}

function flagUpstreamUrl(text: string): string {
  try {
    return parseUpstreamUrl(text).url;
  } catch (err) {
    throw invalidFlag('--upstream', text, UPSTREAM_EXPECTED.upstreamUrl, (err as Error).message);
  }
}

async function fileUpstreams(
  ctx: SectionContext,
  entries: Static<typeof UpstreamsSchema>,
  defaultTimeoutMs: number,
): Promise<UpstreamConfig[]> {
  const upstreams: UpstreamConfig[] = [];
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    const key = typeof entry === 'string' ? `upstreams[${i}]` : `upstreams[${i}].url`;
    const text = typeof entry === 'string' ? entry : entry.url;
    let parsed: UpstreamUrl;
    try {
      parsed = parseUpstreamUrl(text);
    } catch (err) {
      throw invalidKey(ctx.file, key, (err as Error).message, UPSTREAM_EXPECTED.upstreamUrl);
    }
    const upstream: UpstreamConfig = { url: parsed.url, timeoutMs: defaultTimeoutMs };
    if (typeof entry !== 'string') {
      if (entry.timeout !== undefined) {
        upstream.timeoutMs = durationWithin(ctx.file, `upstreams[${i}].timeout`, entry.timeout, 10, MINUTE);
      }
      if (entry.ca !== undefined) {
        upstream.ca = await readCa(ctx, `upstreams[${i}].ca`, resolve(ctx.baseDir, entry.ca), parsed);
      }
    }
    upstreams.push(upstream);
  }
  return upstreams;
}

async function readCa(
  ctx: SectionContext,
  key: string,
  path: string,
  upstream: UpstreamUrl,
): Promise<string> {
  const { file } = ctx;
  if (upstream.protocol !== 'tls' && upstream.protocol !== 'https') {
    throw invalidKey(
      file,
      key,
      `a CA applies only to tls:// and https:// upstreams, not ${upstream.protocol}://`,
    );
  }
  let pem: string;
  try {
    pem = await ctx.read(path);
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
  ctx: SectionContext,
  path: string,
  listen: readonly ListenAddress[],
  timeoutMs: number,
  localAddresses: () => string[],
): Promise<UpstreamConfig[]> {
  const advice = 'set `upstreams` in the config file or pass --upstream URL';
  let text: string;
  try {
    text = await ctx.read(path);
  } catch (err) {
    throw noUpstream(
      ctx.file,
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
    throw noUpstream(ctx.file, `\`upstreams\` is empty and ${why}; ${advice}`);
  }
  return kept;
}

function noUpstream(file: string | null, why: string): ConfigError {
  return new ConfigError('ROJE_ERR_CONFIG_NO_UPSTREAM', `${wherePrefix(file)}no upstream resolver: ${why}`, {
    file,
    key: 'upstreams',
    expected: UPSTREAM_EXPECTED.upstream,
  });
}

function interfaceAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address));
}
