import { isIP } from 'node:net';
import type * as Undici from 'undici';
import { checkUpstreamResponse, setId } from '../dns/upstream-message.js';
import { RojeError } from '../errors.js';
import { lazyRequire } from '../lazy.js';
import { checkServerIdentity } from './server-identity.js';
import type { UpstreamTransport } from './types.js';
import type { UpstreamUrl } from './url.js';

const undici = lazyRequire<typeof Undici>('undici');

export interface DohTransportOptions {
  /** Extra trusted CA certificates (PEM), for private resolvers. */
  ca?: string;
  /** HTTP/1.1 connections (HTTP/2 multiplexes on fewer). Default 4. */
  connections?: number;
  /** Keep an unused connection open this long. Default 10 000 ms. */
  keepAliveMs?: number;
}

const CONTENT_TYPE = 'application/dns-message';
const MAX_MESSAGE = 65535;

/**
 * DNS over HTTPS (RFC 8484) with one undici Pool per upstream: keep-alive connections, HTTP/2 when the
 * server offers it over ALPN. Queries are POSTed with ID 0, as RFC 8484 §4.1 recommends for HTTP
 * caching; the server answers with ID 0 too, so the usual check against our (ID 0) copy still holds.
 * TLS and HTTP already keep off-path forgeries out, so a wrong answer is an error, not ignored.
 */
export function createDohTransport(
  target: UpstreamUrl,
  options: DohTransportOptions = {},
): UpstreamTransport {
  const u = new URL(target.url);
  const path = `${u.pathname}${u.search}`;
  const pool = new (undici().Pool)(u.origin, {
    allowH2: true,
    connections: options.connections ?? 4,
    keepAliveTimeout: options.keepAliveMs ?? 10_000,
    maxResponseSize: MAX_MESSAGE,
    connect: {
      ca: options.ca,
      servername: isIP(target.host) === 0 ? target.host : undefined,
      checkServerIdentity,
    },
  });
  let closed = false;

  async function exchange(query: Buffer, timeoutMs: number): Promise<Buffer> {
    if (closed) throw new RojeError('ROJE_ERR_UPSTREAM_NETWORK', `${target.url}: transport closed`);
    const msg = Buffer.from(query);
    setId(msg, 0);
    const abort = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, timeoutMs);
    try {
      const res = await pool.request({
        path,
        method: 'POST',
        headers: { 'content-type': CONTENT_TYPE, accept: CONTENT_TYPE },
        body: msg,
        signal: abort.signal,
      });
      const type = String(res.headers['content-type'] ?? '').toLowerCase();
      if (res.statusCode !== 200 || !type.startsWith(CONTENT_TYPE)) {
        await res.body.dump().catch(() => {});
        throw new RojeError(
          'ROJE_ERR_UPSTREAM_BAD_RESPONSE',
          `${target.url}: HTTP ${res.statusCode} ${type === '' ? 'without content-type' : type}`,
        );
      }
      const response = Buffer.from(await res.body.arrayBuffer());
      const check = checkUpstreamResponse(msg, response);
      if (check !== 'ok') {
        throw new RojeError('ROJE_ERR_UPSTREAM_BAD_RESPONSE', `${target.url}: ${check} answer`);
      }
      return response;
    } catch (err) {
      if (err instanceof RojeError) throw err;
      if (timedOut) {
        throw new RojeError('ROJE_ERR_UPSTREAM_TIMEOUT', `${target.url}: no answer within ${timeoutMs} ms`);
      }
      const code = (err as { code?: string }).code;
      if (code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') {
        throw new RojeError(
          'ROJE_ERR_UPSTREAM_BAD_RESPONSE',
          `${target.url}: answer larger than 65535 bytes`,
        );
      }
      const message = err instanceof Error ? err.message : String(err);
      throw new RojeError('ROJE_ERR_UPSTREAM_NETWORK', `${target.url}: ${message}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    // destroy, not close: close() would wait for in-flight requests, which the pool lets fail.
    await pool.destroy().catch(() => {});
  }

  return { url: target.url, exchange, close };
}
