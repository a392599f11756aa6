import { isIP } from 'node:net';
import { redactUrlIn, redactUrlText } from '../config/redact.js';
import { RojeError } from '../errors.js';

export type UpstreamProtocol = 'udp' | 'tcp' | 'tls' | 'https';

/** An upstream resolver address, checked once at config time. */
export interface UpstreamUrl {
  protocol: UpstreamProtocol;
  /** An IP address without brackets for udp/tcp/tls; a hostname or IP (no brackets) for https. */
  host: string;
  port: number;
  /** The name the TLS certificate must carry (tls: the #fragment, else the IP; https: the host). */
  servername?: string;
  /**
   * The canonical form, e.g. `udp://[::1]:5300`, `tls://192.0.2.1:853#dns.example`,
   * `https://dns.example/dns-query`. For https this is the URL requests are sent to.
   */
  url: string;
}

const DEFAULT_PORT: Record<UpstreamProtocol, number> = { udp: 53, tcp: 53, tls: 853, https: 443 };

const EXPECTED =
  'expected udp://IP[:port], tcp://IP[:port], tls://IP[:port][#servername] or https://host[:port]/path ' +
  '(IPv6 in brackets, e.g. udp://[::1]:5300)';

// Our own grammar for the non-special schemes: WHATWG URL treats their hosts as opaque strings and
// would happily accept things like `udp://1.2.3` that we want to reject with a clear message.
const PLAIN_RE = /^(udp|tcp|tls):\/\/(\[[^\]]*\]|[^:/?#[\]@]*)(?::([^/?#]*))?(\/)?(?:#(.*))?$/i;

/**
 * Parses an upstream URL. udp/tcp/tls need an IP address: roje is the resolver, so it cannot look
 * up its own upstream's name without a bootstrap resolver (tls carries the name to verify in
 * `#servername` instead). https may name a host; undici resolves it with the system resolver.
 */
export function parseUpstreamUrl(url: string): UpstreamUrl {
  if (typeof url !== 'string' || url.trim() === '') throw urlError(url, 'it is empty');
  const text = url.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1]?.toLowerCase();
  if (scheme === undefined) throw urlError(url, 'it has no scheme');
  if (scheme === 'https') return parseHttps(url, text);
  if (scheme !== 'udp' && scheme !== 'tcp' && scheme !== 'tls') {
    throw urlError(url, `scheme "${scheme}:" is not supported`);
  }
  const authority = text.slice(scheme.length + 3).split(/[/#?]/, 1)[0];
  if (!authority.startsWith('[') && authority.split(':').length > 2) {
    throw urlError(url, 'an IPv6 address must be in brackets, e.g. udp://[::1]:53');
  }
  const m = PLAIN_RE.exec(text);
  if (m === null) throw urlError(url, 'it is not of the form scheme://IP[:port]');
  const protocol = scheme as UpstreamProtocol;
  const rawHost = m[2];
  const bracketed = rawHost.startsWith('[');
  const host = bracketed ? rawHost.slice(1, -1) : rawHost;
  if (host === '') throw urlError(url, 'the host is missing');
  const family = isIP(host);
  if (family === 0) {
    throw urlError(
      url,
      protocol === 'tls'
        ? `"${host}" is not an IP address; give the IP and the certificate name as tls://IP#${host}`
        : `"${host}" is not an IP address (roje cannot resolve its own upstream's name)`,
    );
  }
  if (family === 6 && !bracketed) throw urlError(url, 'an IPv6 address must be in brackets');
  if (family === 4 && bracketed) throw urlError(url, 'only IPv6 addresses go in brackets');
  const port = parsePort(url, m[3], DEFAULT_PORT[protocol]);
  const fragment = m[5];
  let servername: string | undefined;
  if (fragment !== undefined) {
    if (protocol !== 'tls') throw urlError(url, 'only tls:// takes a #servername');
    servername = fragment.trim().toLowerCase().replace(/\.$/, '');
    if (!/^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/.test(servername)) {
      throw urlError(url, `"${fragment}" is not a valid TLS server name`);
    }
  } else if (protocol === 'tls') {
    servername = host;
  }
  const hostPart = family === 6 ? `[${host}]` : host;
  const canonical = `${protocol}://${hostPart}:${port}${fragment !== undefined ? `#${servername}` : ''}`;
  const result: UpstreamUrl = { protocol, host, port, url: canonical };
  if (servername !== undefined) result.servername = servername;
  return result;
}

function parseHttps(original: string, text: string): UpstreamUrl {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw urlError(original, 'it is not a valid https URL');
  }
  if (u.username !== '' || u.password !== '') throw urlError(original, 'credentials are not allowed');
  if (u.hash !== '') throw urlError(original, 'a #fragment is not allowed in an https URL');
  let host = u.hostname;
  if (host.startsWith('[')) host = host.slice(1, -1);
  if (host === '') throw urlError(original, 'the host is missing');
  const port = u.port === '' ? 443 : Number(u.port);
  if (u.pathname === '/' && !text.replace(/^https:\/\/[^/]*/i, '').startsWith('/')) {
    throw urlError(original, 'the path is missing (usually /dns-query)');
  }
  const result: UpstreamUrl = { protocol: 'https', host, port, url: u.href };
  if (isIP(host) === 0) result.servername = host;
  return result;
}

function parsePort(url: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d{1,5}$/.test(raw)) throw urlError(url, `port "${raw}" is not a number`);
  const port = Number(raw);
  if (port < 1 || port > 65535) throw urlError(url, `port ${port} is out of range 1-65535`);
  return port;
}

function urlError(url: unknown, why: string): RojeError {
  return new RojeError(
    'ROJE_ERR_UPSTREAM_URL',
    `upstream URL ${JSON.stringify(typeof url === 'string' ? redactUrlText(url) : url)} is not valid: ${why}; ${EXPECTED}`,
  );
}

/**
 * An upstream URL for display (status, metrics, logs, check-config): the config's one URL redaction,
 * so a DoH URL's query values (an API key) never show; udp/tcp/tls URLs carry no secret and keep their
 * #servername.
 */
export function redactUpstreamUrl(url: string): string {
  return redactUrlIn(url);
}
