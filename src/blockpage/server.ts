import { domainToASCII } from 'node:url';
import type { Static } from '@sinclair/typebox';
import type * as FastifyModule from 'fastify';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { Type } from '../config/json-schema.js';
import { httpStatusOf, RojeError } from '../errors.js';
import { lazyRequire } from '../lazy.js';
import { clientKey } from '../net/client-key.js';
import { CONFIDENTIAL_CATEGORIES } from '../policy/types.js';
import { unwrapMapped } from '../transport/address.js';
import type { BoundAddress, ListenAddress } from '../transport/types.js';
import { createConnectionGuard } from './connection-guard.js';
import { blockPageConnectionCap, openFilesSoftLimit } from './fd-limit.js';
import { type BlockPageHelpInput, resolveHelp } from './help.js';
import { type CategoryNames, type Lang, type LocalText, localText, negotiateLang } from './i18n.js';
import { BLOCK_PAGE_LIMITS, type BlockPageLimits } from './limits.js';
import { blockPageListenError, ipv6Only } from './listen.js';
import { createTlsRefuser } from './refuse-tls.js';
import { CONTENT_SECURITY_POLICY, renderAbuse, renderBlocked, renderMessage } from './render.js';
import { createReportLimiter } from './report-limit.js';

export { BLOCK_PAGE_LIMITS, type BlockPageLimits } from './limits.js';

const fastify = lazyRequire<typeof FastifyModule>('fastify');

/** Why a name is blocked for this client, as the app's lists and venue policy see it. */
export interface BlockExplanation {
  /** Category ids, in the order the page lists them. */
  categories: string[];
  /** The client's venue, or null when it belongs to none. */
  venue: string | null;
  /** True for the confidential (IWF-style) category: the page never shows the name. */
  confidential: boolean;
}

/** A "blocked in error" report, for the app to store and the admin API to review. */
export interface BlockReport {
  /** The blocked name; absent when the block was confidential (such reports are not taken anyway). */
  host?: string;
  /** The first category (the one the page names first). */
  category: string;
  categories: string[];
  venue: string | null;
  /** What the reporter wrote; may be empty. Control characters removed, trimmed. */
  message: string;
  lang: Lang;
}

export interface BlockPageOptions {
  /** HTTP listeners (normally the block page addresses, port 80). */
  listen: readonly ListenAddress[];
  /** Listeners that reset every connection (normally the same addresses, port 443). */
  refuseTls?: readonly ListenAddress[];
  /** Shown as "Provided by" on the page; null shows nothing. */
  operatorName?: LocalText | null;
  help?: BlockPageHelpInput;
  /** The page language when Accept-Language names neither sq nor en. */
  defaultLang?: Lang;
  /** Longest report message, in characters. */
  maxMessageLength?: number;
  /** Reports accepted per minute, all clients together (a flood must not fill the report store). */
  reportsPerMinute?: number;
  /** Display names of categories (config categoryNames), over the built-in ones. */
  categoryNames?: CategoryNames;
  /** What one hostile client may hold; each field defaults to BLOCK_PAGE_LIMITS. */
  limits?: Partial<BlockPageLimits>;
}

export interface BlockPageDeps {
  /** Why `host` is blocked for `clientAddress`; null when it is not blocked. */
  explain(host: string, clientAddress: string): BlockExplanation | null;
  /** Stores a report and answers the reporter's reference; without it the page offers no report form. */
  onReport?(report: BlockReport): string | undefined | Promise<string | undefined>;
  /** What became of the report with that reference (null: none has it); without it, no outcome page. */
  reportOutcome?(
    reference: string,
  ): 'open' | 'accepted' | 'rejected' | null | Promise<'open' | 'accepted' | 'rejected' | null>;
  logger: Logger;
}

export interface BlockPageServer {
  /** Binds every listener; on a failure closes those it opened and rejects with ROJE_ERR_LISTEN_FAILED. */
  start(): Promise<void>;
  close(): Promise<void>;
  /** The bound HTTP addresses (real ports when 0 was asked for). */
  addresses(): BoundAddress[];
  /** The bound TLS-refusing addresses. */
  refusing(): BoundAddress[];
}

const DEFAULT_MAX_MESSAGE = 1000;
const DEFAULT_REPORTS_PER_MINUTE = 30;
/** How often Node looks for requests past their header or request deadline. */
const CONNECTIONS_CHECK_MS = 1_000;
const HOST_RE = /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$/;
/** A report reference (src/stats/reports.ts): 16 random bytes, base64url. */
const REFERENCE_RE = /^[A-Za-z0-9_-]{22}$/;

/** Headers on every answer, error pages included. */
const HEADERS = {
  'cache-control': 'no-store',
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  vary: 'Accept-Language',
};

// long-function: the validated options, the report window and the Fastify instances are the server's
// state, shared by its handlers (showPage, takeReport) and build(), which makes one app per address.
export function createBlockPageServer(options: BlockPageOptions, deps: BlockPageDeps): BlockPageServer {
  const help = resolveHelp(options.help);
  const defaultLang = options.defaultLang ?? 'sq';
  const maxMessage = options.maxMessageLength ?? DEFAULT_MAX_MESSAGE;
  const perMinute = options.reportsPerMinute ?? DEFAULT_REPORTS_PER_MINUTE;
  if (!Number.isInteger(maxMessage) || maxMessage < 1 || maxMessage > 10_000) {
    throw new RojeError(
      'ROJE_ERR_BLOCKPAGE_OPTIONS',
      `blockPage.maxMessageLength ${maxMessage} must be 1..10000`,
    );
  }
  if (!Number.isInteger(perMinute) || perMinute < 0) {
    throw new RojeError(
      'ROJE_ERR_BLOCKPAGE_OPTIONS',
      `blockPage.reportsPerMinute ${perMinute} must be 0 or more`,
    );
  }
  const limits = checkedLimits(options.limits);
  // A message of maxMessage characters, each percent-encoded to at most 12 bytes, always fits.
  const bodyLimit = maxMessage * 12 + 1024;
  const operatorName = options.operatorName ?? null;
  const logger = deps.logger.child({ module: 'blockpage' });
  const reportsOn = deps.onReport !== undefined && perMinute > 0;
  const refuser = createTlsRefuser(options.refuseTls ?? []);
  const apps: FastifyInstance[] = [];
  const reportLimiter = createReportLimiter({
    perMinute,
    perClientPerMinute: limits.reportsPerClientPerMinute,
  });
  const softLimit = openFilesSoftLimit();
  let lastRefuseWarning = 0;
  const connectionGuard = createConnectionGuard(
    {
      maxTotal: blockPageConnectionCap(limits.maxConnections, softLimit),
      maxPerClient: limits.maxConnectionsPerClient,
    },
    (why) => {
      // At most one line a minute: a flood must not become a flood of logs. No address: not logged.
      const now = Date.now();
      if (now - lastRefuseWarning < 60_000) return;
      lastRefuseWarning = now;
      logger.warn({ limit: why, ...connectionGuard.stats() }, 'block page connection limit reached');
    },
  );

  const ReportBody = Type.Object(
    {
      message: Type.Optional(Type.String({ maxLength: maxMessage })),
      lang: Type.Optional(Type.Union([Type.Literal('sq'), Type.Literal('en')])),
    },
    { additionalProperties: false },
  );
  type ReportBody = Static<typeof ReportBody>;

  function langOf(request: FastifyRequest): Lang {
    const lang = (request.query as Record<string, unknown> | undefined)?.lang;
    return negotiateLang(
      typeof lang === 'string' ? lang : undefined,
      request.headers['accept-language'],
      defaultLang,
    );
  }

  function send(reply: FastifyReply, status: number, html: string): FastifyReply {
    return reply.code(status).type('text/html; charset=utf-8').send(html);
  }

  /** explain() behind a guard: a failure there is roje's bug, logged without the name, shown as 503. */
  function explainRequest(request: FastifyRequest): BlockExplanation | null | 'failed' {
    const host = hostOf(request.headers.host);
    if (host === null) return null;
    try {
      const found = deps.explain(host, unwrapMapped(request.socket.remoteAddress ?? ''));
      if (found === null) return null;
      // Belt and braces: a confidential category is treated as such even if the flag was forgotten.
      const confidential = found.confidential || found.categories.some((c) => CONFIDENTIAL_CATEGORIES.has(c));
      return { ...found, confidential };
    } catch (err) {
      logger.error(
        { code: (err as { code?: unknown }).code, name: (err as Error).name },
        'block page explain failed',
      );
      return 'failed';
    }
  }

  function neutral(reply: FastifyReply, lang: Lang): FastifyReply {
    // 404: the name is not blocked, so nothing here is about it (a stale DNS answer, an IP typed in,
    // a scanner). The page stays friendly; the status keeps crawlers and monitors from taking it as content.
    return send(reply, 404, renderMessage({ lang, title: 'neutralTitle', lead: 'neutralLead' }));
  }

  function failed(reply: FastifyReply, lang: Lang): FastifyReply {
    return send(reply, 503, renderMessage({ lang, title: 'errorTitle', lead: 'errorLead' }));
  }

  async function showPage(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const lang = langOf(request);
    const found = explainRequest(request);
    if (found === 'failed') return failed(reply, lang);
    if (found === null) return neutral(reply, lang);
    // 403 as the IWF recommends for its splash page; browsers show the body all the same.
    if (found.confidential) return send(reply, 403, renderAbuse({ lang, help }));
    return send(
      reply,
      403,
      renderBlocked({
        lang,
        host: hostOf(request.headers.host)!,
        categories: found.categories,
        venue: found.venue,
        operatorName: operatorName === null ? null : localText(operatorName, lang),
        help,
        reportForm: reportsOn,
        maxMessageLength: maxMessage,
        categoryNames: options.categoryNames ?? {},
      }),
    );
  }

  async function takeReport(
    request: FastifyRequest<{ Body: ReportBody }>,
    reply: FastifyReply,
  ): Promise<FastifyReply> {
    const lang = request.body.lang ?? langOf(request);
    const rejected = (status: number, title: 'badRequestTitle' | 'noReportTitle' | 'tooManyTitle') =>
      send(
        reply,
        status,
        renderMessage({
          lang,
          title,
          lead: title === 'tooManyTitle' ? 'tooManyLead' : 'badRequestLead',
          values: { max: String(maxMessage) },
          back: true,
        }),
      );
    if (!sameOrigin(request)) return rejected(403, 'badRequestTitle');
    const found = explainRequest(request);
    if (found === 'failed') return failed(reply, lang);
    if (found === null) return neutral(reply, lang);
    // No report is taken for the confidential category: appeals go to the contact its page names.
    if (found.confidential || !reportsOn) return rejected(403, 'noReportTitle');
    if (!reportLimiter.take(clientKey(request.socket.remoteAddress ?? ''))) {
      return rejected(429, 'tooManyTitle');
    }
    const report: BlockReport = {
      host: hostOf(request.headers.host)!,
      category: found.categories[0] ?? '',
      categories: found.categories,
      venue: found.venue,
      message: cleanMessage(request.body.message ?? ''),
      lang,
    };
    let reference: string | undefined;
    try {
      reference = await deps.onReport!(report);
    } catch (err) {
      logger.error(
        { code: (err as { code?: unknown }).code, name: (err as Error).name },
        'storing a block page report failed',
      );
      return failed(reply, lang);
    }
    return send(
      reply,
      200,
      renderMessage({
        lang,
        title: 'thanksTitle',
        lead: 'thanksLead',
        back: true,
        help,
        ...(reference !== undefined ? { reference } : {}),
      }),
    );
  }

  /**
   * The reporter's outcome page: the status of the report with that reference and nothing else (no
   * name, no note). Any other /report/... path is a page of the blocked site: the block page answers.
   */
  async function showOutcome(
    request: FastifyRequest<{ Params: { reference: string } }>,
    reply: FastifyReply,
  ): Promise<FastifyReply> {
    const { reference } = request.params;
    if (deps.reportOutcome === undefined || !REFERENCE_RE.test(reference)) return showPage(request, reply);
    const lang = langOf(request);
    let outcome: Awaited<ReturnType<NonNullable<BlockPageDeps['reportOutcome']>>>;
    try {
      outcome = await deps.reportOutcome(reference);
    } catch (err) {
      // The store is unreachable (a shared store down): say it failed, not that there is no such report.
      logger.error({ code: (err as { code?: unknown }).code }, 'reading a report outcome failed');
      return failed(reply, lang);
    }
    if (outcome === null) {
      return send(
        reply,
        404,
        renderMessage({ lang, title: 'outcomeUnknownTitle', lead: 'outcomeUnknownLead' }),
      );
    }
    const lead =
      outcome === 'open' ? 'outcomeOpen' : outcome === 'accepted' ? 'outcomeAccepted' : 'outcomeRejected';
    return send(reply, 200, renderMessage({ lang, title: 'outcomeTitle', lead }));
  }

  function build(): FastifyInstance {
    const app = fastify().fastify({
      // No Fastify request log: it would carry the URL and Host, a blocked (maybe confidential) name.
      logger: false,
      bodyLimit,
      // Idle sockets, whole requests and headers each have a deadline; Node checks the last two only
      // every connectionsCheckingInterval (30 s by default), far too late against a slow sender.
      connectionTimeout: limits.requestTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      http: {
        headersTimeout: limits.headersTimeoutMs,
        requestTimeout: limits.requestTimeoutMs,
        connectionsCheckingInterval: CONNECTIONS_CHECK_MS,
      },
      forceCloseConnections: true,
      return503OnClosing: true,
      trustProxy: false,
      // Fastify's defaults would drop unknown fields and coerce types; a report must match exactly.
      ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
    });
    // Only browser forms: no JSON or text parsers, so nothing else reaches the report route.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit },
      (_request, body, done) => done(null, parseForm(body as string)),
    );
    app.addHook('onSend', async (_request, reply) => {
      reply.headers(HEADERS);
    });
    app.get('/favicon.ico', async (_request, reply) => reply.code(404).send());
    app.post<{ Body: ReportBody }>('/report', { schema: { body: ReportBody } }, takeReport);
    app.get<{ Params: { reference: string } }>('/report/:reference', showOutcome);
    // Any path: the browser asked for some page of the blocked site; the answer is about the Host.
    app.get('/*', showPage);
    app.setNotFoundHandler((request, reply) =>
      send(reply, 404, renderMessage({ lang: langOf(request), title: 'neutralTitle', lead: 'neutralLead' })),
    );
    app.setErrorHandler((err: FastifyError, request, reply) => {
      const lang = langOf(request);
      const status = err.validation !== undefined ? 400 : (httpStatusOf(err) ?? 500);
      if (status === 413) {
        return send(
          reply,
          413,
          renderMessage({
            lang,
            title: 'tooLargeTitle',
            lead: 'badRequestLead',
            values: { max: String(maxMessage) },
            back: true,
          }),
        );
      }
      if (status >= 400 && status < 500) {
        return send(
          reply,
          status,
          renderMessage({
            lang,
            title: 'badRequestTitle',
            lead: 'badRequestLead',
            values: { max: String(maxMessage) },
            back: true,
          }),
        );
      }
      logger.error({ code: err.code, name: err.name }, 'block page request failed');
      return send(reply, 500, renderMessage({ lang, title: 'errorTitle', lead: 'errorLead' }));
    });
    connectionGuard.attach(app.server);
    return app;
  }

  async function closeAll(): Promise<void> {
    const all = apps.splice(0);
    await Promise.all([...all.map((app) => app.close()), refuser.close()]);
  }

  return {
    async start() {
      try {
        for (const address of options.listen) {
          const app = build();
          apps.push(app);
          try {
            await app.listen({
              host: address.host,
              port: address.port,
              ipv6Only: ipv6Only(address.host),
            });
          } catch (err) {
            throw blockPageListenError('http', address, err);
          }
        }
        await refuser.start();
      } catch (err) {
        await closeAll();
        throw err;
      }
      logger.info(
        {
          listen: apps.flatMap((a) => addressesOf(a)).map(format),
          refuseTls: refuser.addresses().map(format),
          maxConnections: blockPageConnectionCap(limits.maxConnections, softLimit),
          openFilesLimit: softLimit,
        },
        'block page listening',
      );
    },
    close: closeAll,
    addresses: () => apps.flatMap((a) => addressesOf(a)),
    refusing: () => refuser.addresses(),
  };
}

/**
 * The Host header as a name: lowercase, port and trailing dot removed, IDNs in A-label form. null for
 * an IP literal, a missing header or anything that is not a DNS name (such a request has no block).
 */
export function hostOf(header: string | undefined): string | null {
  if (header === undefined || header.length === 0 || header.length > 260 || header.startsWith('['))
    return null;
  const colon = header.indexOf(':');
  let name = (colon === -1 ? header : header.slice(0, colon)).toLowerCase();
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (!/^[\x21-\x7e]+$/.test(name)) name = domainToASCII(name);
  if (name.length === 0 || name.length > 253 || !HOST_RE.test(name)) return null;
  if (/^[0-9.]+$/.test(name)) return null;
  return name;
}

/**
 * Cross-site report forgery guard. Browsers send Sec-Fetch-Site on every form post (same-origin for
 * our own form); Origin is "null" under Referrer-Policy no-referrer, so it only counts when it names
 * an origin, which must then be the same Host. Clients that send neither (curl) could forge both.
 */
function sameOrigin(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return false;
  const origin = request.headers.origin;
  if (origin === undefined || origin === 'null') return true;
  try {
    return new URL(origin).host === new URL(`http://${request.headers.host ?? ''}`).host;
  } catch {
    return false;
  }
}

/** Form fields; a repeated field becomes an array so that the schema rejects it. */
function parseForm(body: string): Record<string, string | string[]> {
  const fields: Record<string, string | string[]> = Object.create(null);
  for (const [key, value] of new URLSearchParams(body)) {
    const seen = fields[key];
    fields[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return fields;
}

/** Control characters out (they would garble a review screen or a log), line ends kept, trimmed. */
function cleanMessage(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(/[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/g, '')
    .trim();
}

function addressesOf(app: FastifyInstance): BoundAddress[] {
  return app.addresses().flatMap((a) =>
    typeof a === 'string'
      ? []
      : [
          {
            host: a.address,
            port: a.port,
            family: a.family === 'IPv6' ? ('IPv6' as const) : ('IPv4' as const),
          },
        ],
  );
}

function format(a: BoundAddress): string {
  return a.family === 'IPv6' ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** The limits with defaults filled in; a bad value is roje's bug or a bad config: refuse to start. */
function checkedLimits(given: Partial<BlockPageLimits> | undefined): BlockPageLimits {
  const limits = { ...BLOCK_PAGE_LIMITS, ...given };
  for (const [key, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value < 1) {
      throw new RojeError('ROJE_ERR_BLOCKPAGE_OPTIONS', `blockPage limit ${key} ${value} must be 1 or more`);
    }
  }
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new RojeError(
      'ROJE_ERR_BLOCKPAGE_OPTIONS',
      `blockPage.headersTimeout (${limits.headersTimeoutMs} ms) must not exceed blockPage.requestTimeout (${limits.requestTimeoutMs} ms)`,
    );
  }
  return limits;
}
