/**
 * The admin API (Fastify) on its own listener, loopback by default: health and readiness, status,
 * statistics, list refresh, cache flush, config view, reports, audit log, /metrics and the dashboard
 * page, with the OpenAPI document at /api/v1/openapi.json.
 *
 * Every route declares its input schema (bad input: 400 with the reason, never a 500) and the least
 * role it needs; a bearer token picks the caller's role (auth.ts). Every change is written to the audit
 * log before it is acknowledged. The API sees the rest of roje only through AdminApi, which app.ts builds.
 */
import type * as FastifySwagger from '@fastify/swagger';
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import type * as FastifyModule from 'fastify';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { lazyRequire } from '../lazy.js';
import { reportCsp } from '../report/html.js';
import { renderReport } from '../report/render.js';
import type { TransparencyReport } from '../report/transparency.js';
import { VERSION } from '../version.js';
import type { AuditLog } from './audit.js';
import { allows, createAuthenticator, type Principal, type Role, type TokenEntry } from './auth.js';

const fastify = lazyRequire<typeof FastifyModule>('fastify');
const swagger = lazyRequire<typeof FastifySwagger>('@fastify/swagger');

/** What the admin API may ask of the running resolver. */
export interface AdminApi {
  status(): unknown;
  ready(): { ready: boolean; reason: string | null };
  /** The config in force, secrets redacted. */
  config(): unknown;
  /** Refreshes the named list sources (all when none are named) and swaps the lists if any changed. */
  refreshLists(sources: string[] | undefined): Promise<unknown>;
  /**
   * The lists in force as a signed artifact for fleet edges (src/fleet): rejects with a statusCode 404
   * when publishing is off, 503 while the lists are incomplete.
   */
  listsArtifact?(): Promise<{ etag: string; artifact: Buffer; signature: string }>;
  /** Promotes a held (suddenly shrunk) feed copy; false when nothing is held under that name. */
  acceptList(name: string): Promise<boolean>;
  rejectList(name: string): Promise<boolean>;
  flushCache(): { removed: number };
  statsSummary(query: StatsQuery): unknown;
  statsSeries(query: StatsQuery & { bucket: 'hour' | 'day' }): unknown;
  reports(query: { status?: ReportStatus; limit: number; offset: number }): unknown;
  /** The reviewed report; ROJE_ERR_STATS_REPORT_NOT_FOUND when there is none with that id. */
  reviewReport(id: number, status: 'accepted' | 'rejected', by: string): unknown;
  /** The kept self-test runs, newest first. */
  selfTests(): unknown;
  /** One kept self-test report as JSON or HTML, or null when there is none with that id. */
  selfTestReport(id: string, format: 'json' | 'html'): { contentType: string; body: string } | null;
  /** Runs the self-test now and returns its summary (409 when it is disabled). */
  runSelfTest(): Promise<unknown>;
  metrics(): Promise<{ contentType: string; body: string }>;
  /** The dashboard page and its Content-Security-Policy (hashes of its inline script and style). */
  dashboard(): { html: string; csp: string };
  /** The transparency report of a month ("2026-10"), of one venue or all; ROJE_ERR_STATS_RANGE for a bad month. */
  transparencyReport(query: { month: string; site?: string }): TransparencyReport;
}

export type ReportStatus = 'open' | 'accepted' | 'rejected';
export interface StatsQuery {
  from: string;
  to: string;
  venue?: string;
  category?: string;
  by?: 'venue' | 'category';
}

export interface AdminServerOptions {
  /** The tokens in force: read per request, so that a reload that changes them takes effect at once. */
  tokens: () => readonly TokenEntry[];
  api: AdminApi;
  audit: AuditLog;
  logger: Logger;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Least role a route needs; absent: open (health, readiness, the OpenAPI document, the dashboard shell). */
    role?: Role;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() });
const Name = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' });
/** ISO 8601 UTC date or hour: "2026-11-01" or "2026-11-01T13:00:00Z". */
const Instant = Type.String({
  pattern: '^\\d{4}-\\d{2}-\\d{2}(T\\d{2}(:\\d{2}(:\\d{2}(\\.\\d{1,3})?)?)?Z)?$',
});
const StatsQuerySchema = Type.Object(
  {
    from: Instant,
    to: Instant,
    venue: Type.Optional(Name),
    category: Type.Optional(Name),
    bucket: Type.Optional(Type.Union([Type.Literal('hour'), Type.Literal('day')])),
    by: Type.Optional(Type.Union([Type.Literal('venue'), Type.Literal('category')])),
  },
  { additionalProperties: false },
);
const RefreshBody = Type.Union([
  Type.Null(),
  Type.Object(
    { sources: Type.Optional(Type.Array(Name, { maxItems: 256 })) },
    { additionalProperties: false },
  ),
]);
const NameParams = Type.Object({ name: Name }, { additionalProperties: false });
const SelfTestParams = Type.Object(
  { id: Type.String({ pattern: '^[0-9TZ-]{15,40}$', description: 'a run id from GET /api/v1/selftest' }) },
  { additionalProperties: false },
);
const SelfTestQuery = Type.Object(
  { format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('html')])) },
  { additionalProperties: false },
);
const ReportsQuery = Type.Object(
  {
    status: Type.Optional(
      Type.Union([Type.Literal('open'), Type.Literal('accepted'), Type.Literal('rejected')]),
    ),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
    offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }),
  },
  { additionalProperties: false },
);
const ReviewBody = Type.Object(
  { status: Type.Union([Type.Literal('accepted'), Type.Literal('rejected')]) },
  { additionalProperties: false },
);
const AuditQuery = Type.Object(
  { limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }) },
  { additionalProperties: false },
);
const TransparencyQuery = Type.Object(
  {
    month: Type.String({
      pattern: '^\\d{4}-(0[1-9]|1[0-2])$',
      description: 'a calendar month, YYYY-MM (UTC)',
    }),
    site: Type.Optional(Name),
    format: Type.Union([Type.Literal('json'), Type.Literal('html'), Type.Literal('csv')], {
      default: 'json',
    }),
  },
  { additionalProperties: false },
);
const AnyJson = Type.Unknown();

/** roje error codes that mean the request, not the server, was wrong (or the server is busy). */
const STATUS_OF_CODE: Record<string, number> = {
  ROJE_ERR_STATS_RANGE: 400,
  ROJE_ERR_STATS_REPORT_INVALID: 400,
  ROJE_ERR_STATS_REPORT_NOT_FOUND: 404,
  ROJE_ERR_FEED_UNKNOWN: 404,
  ROJE_ERR_FEED_NOT_HELD: 404,
  ROJE_ERR_STATS_REPORTS_FULL: 429,
  ROJE_ERR_STATS_WRITE: 503,
  ROJE_ERR_LIST_READ: 502,
  ROJE_ERR_LIST_FORMAT: 502,
  ROJE_ERR_LIST_COMPILE: 502,
};

/** Most a request body may weigh: the API takes small JSON documents only. */
const BODY_LIMIT = 16 * 1024;

export async function createAdminServer(options: AdminServerOptions): Promise<FastifyInstance> {
  const { api, audit } = options;
  // Rebuilt only when the config's token list is another array (a reload), not per request.
  let tokens = options.tokens();
  let authenticator = createAuthenticator(tokens);
  const authenticate = (header: string | undefined) => {
    const current = options.tokens();
    if (current !== tokens) {
      tokens = current;
      authenticator = createAuthenticator(current);
    }
    return authenticator(header);
  };
  const app = fastify().fastify({
    // No Fastify logger: no per-request log lines; failures are logged below with roje's logger.
    bodyLimit: BODY_LIMIT,
    // Unknown properties are refused (additionalProperties: false), not silently dropped.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, allErrors: false } },
  });

  await app.register(swagger().fastifySwagger, {
    openapi: {
      info: {
        title: 'roje admin API',
        version: VERSION,
        description: 'Status, statistics and operations of a roje resolver',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (req, reply) => {
    const needed = req.routeOptions.config.role;
    if (needed === undefined) return;
    const principal = authenticate(req.headers.authorization);
    if (principal === null) {
      reply.header('www-authenticate', 'Bearer realm="roje"');
      return reply.code(401).send({
        error: 'unauthorized',
        message: 'a valid API token is required (Authorization: Bearer <token>)',
      });
    }
    req.principal = principal;
    if (!allows(principal.role, needed)) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        audit.record({
          who: principal.name,
          role: principal.role,
          action: routeAction(req),
          result: 'denied',
        });
      }
      return reply.code(403).send({
        error: 'forbidden',
        message: `this needs the ${needed} role; the token has ${principal.role}`,
      });
    }
  });

  app.setErrorHandler(
    (err: Error & { validation?: unknown; statusCode?: number; code?: string }, req, reply) => {
      if (err.validation !== undefined) {
        return reply.code(400).send({ error: 'bad_request', message: err.message });
      }
      const status = err.statusCode ?? (err.code !== undefined ? (STATUS_OF_CODE[err.code] ?? 500) : 500);
      if (status < 500) return reply.code(status).send({ error: errorName(status), message: err.message });
      options.logger.error({ err, route: req.routeOptions.url }, 'admin request failed');
      return reply.code(500).send({ error: 'internal', message: 'internal error; see the server log' });
    },
  );
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` }),
  );

  const open = { config: {} };
  const as = (role: Role) => ({ config: { role } });
  const responses = (ok: TSchema = AnyJson) => ({ 200: ok, '4xx': ErrorBody });

  /** Runs a change, writing the audit entry (ok or failed) before the answer goes out. */
  async function audited<T>(
    req: FastifyRequest,
    target: string | undefined,
    change: () => Promise<T> | T,
  ): Promise<T> {
    const who = req.principal as Principal;
    try {
      const result = await change();
      audit.record({ who: who.name, role: who.role, action: routeAction(req), target, result: 'ok' });
      return result;
    } catch (err) {
      audit.record({
        who: who.name,
        role: who.role,
        action: routeAction(req),
        target,
        result: 'failed',
        detail: (err as Error).message,
      });
      throw err;
    }
  }

  app.get('/health', { ...open, schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/ready', { ...open, schema: { hide: true } }, async (_req, reply) => {
    const r = api.ready();
    return reply.code(r.ready ? 200 : 503).send(r);
  });
  app.get('/api/v1/openapi.json', { ...open, schema: { hide: true } }, async () => app.swagger());
  app.get('/dashboard', { ...open, schema: { hide: true } }, async (_req, reply) => {
    const page = api.dashboard();
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('content-security-policy', page.csp)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .send(page.html);
  });
  app.get('/metrics', { ...as('auditor'), schema: { hide: true } }, async (_req, reply) => {
    const m = await api.metrics();
    return reply.type(m.contentType).send(m.body);
  });

  app.get(
    '/api/v1/status',
    {
      ...as('auditor'),
      schema: { summary: 'Version, uptime, listeners, upstreams, lists, cache', response: responses() },
    },
    async () => api.status(),
  );
  app.get(
    '/api/v1/config',
    {
      ...as('operator'),
      schema: { summary: 'The config in force, secrets redacted', response: responses() },
    },
    async () => api.config(),
  );
  app.get(
    '/api/v1/stats/summary',
    {
      ...as('auditor'),
      schema: { summary: 'Totals over a period', querystring: StatsQuerySchema, response: responses() },
    },
    async (req) => api.statsSummary(req.query as Static<typeof StatsQuerySchema>),
  );
  app.get(
    '/api/v1/stats/series',
    {
      ...as('auditor'),
      schema: {
        summary: 'Hourly or daily counts over a period',
        querystring: StatsQuerySchema,
        response: responses(),
      },
    },
    async (req) => {
      const q = req.query as Static<typeof StatsQuerySchema>;
      return api.statsSeries({ ...q, bucket: q.bucket ?? 'hour' });
    },
  );
  app.get(
    '/api/v1/reports',
    {
      ...as('auditor'),
      schema: {
        summary: 'Reports of wrongly blocked sites from the block page',
        querystring: ReportsQuery,
        response: responses(),
      },
    },
    async (req) => api.reports(req.query as Static<typeof ReportsQuery>),
  );
  app.get(
    '/api/v1/reports/transparency',
    {
      ...as('auditor'),
      schema: {
        summary:
          'Transparency report of a month: counts per venue and category, estimates, uptime, list and self-test history; never a name',
        querystring: TransparencyQuery,
      },
    },
    async (req, reply) => {
      const { month, site, format } = req.query as Static<typeof TransparencyQuery>;
      const report = api.transparencyReport({ month, ...(site !== undefined ? { site } : {}) });
      const out = renderReport(report, format);
      reply
        .type(out.contentType)
        .header('cache-control', 'no-store')
        .header('x-content-type-options', 'nosniff');
      if (format === 'html') reply.header('content-security-policy', reportCsp());
      if (format === 'csv') {
        reply.header(
          'content-disposition',
          `attachment; filename="roje-transparency-${month}${site !== undefined ? `-${site}` : ''}.csv"`,
        );
      }
      return reply.send(out.body);
    },
  );
  app.get(
    '/api/v1/audit',
    {
      ...as('admin'),
      schema: {
        summary: 'Recent admin actions, newest first',
        querystring: AuditQuery,
        response: responses(),
      },
    },
    async (req) => ({ entries: audit.recent((req.query as Static<typeof AuditQuery>).limit) }),
  );

  app.post(
    '/api/v1/lists/refresh',
    {
      ...as('operator'),
      schema: {
        summary: 'Refresh list sources now and swap in the result',
        body: RefreshBody,
        response: responses(),
      },
    },
    async (req) => {
      const sources = (req.body as Static<typeof RefreshBody>)?.sources;
      return audited(req, sources?.join(','), () => api.refreshLists(sources));
    },
  );
  // Fleet: edges pull the signed artifact with an auditor token; ETag = the lists version, so an
  // unchanged artifact costs a 304.
  for (const [path, part] of [
    ['/api/v1/lists/artifact', 'artifact'],
    ['/api/v1/lists/artifact.sig', 'signature'],
  ] as const) {
    app.get(
      path,
      {
        ...as('auditor'),
        schema: {
          summary:
            part === 'artifact'
              ? 'The compiled lists in force, for fleet edges (with fleet.publish.signingKeyFile)'
              : 'The detached Ed25519 signature of /api/v1/lists/artifact',
          response: { '4xx': ErrorBody, '5xx': ErrorBody },
        },
      },
      async (req, reply) => {
        if (api.listsArtifact === undefined) {
          return reply
            .code(404)
            .send({ error: 'not_found', message: 'this roje does not publish its lists' });
        }
        let p: Awaited<ReturnType<NonNullable<AdminApi['listsArtifact']>>>;
        try {
          p = await api.listsArtifact();
        } catch (err) {
          const e = err as Error & { code?: string; statusCode?: number };
          if (e.code !== 'ROJE_ERR_FLEET_NOT_PUBLISHED') throw err;
          const status = e.statusCode ?? 404;
          return reply.code(status).send({ error: errorName(status), message: e.message });
        }
        reply.header('etag', p.etag).header('cache-control', 'no-cache');
        if (etagMatches(req.headers['if-none-match'], p.etag)) return reply.code(304).send();
        return part === 'artifact'
          ? reply.type('application/octet-stream').send(p.artifact)
          : reply.type('application/json; charset=utf-8').send(p.signature);
      },
    );
  }
  for (const verb of ['accept', 'reject'] as const) {
    app.post(
      `/api/v1/lists/:name/${verb}`,
      {
        ...as('operator'),
        schema: {
          summary: `${verb === 'accept' ? 'Accept' : 'Discard'} a held (suddenly shrunk) feed copy`,
          params: NameParams,
          response: responses(),
        },
      },
      async (req, reply) => {
        const { name } = req.params as Static<typeof NameParams>;
        const done = await audited(req, name, () =>
          verb === 'accept' ? api.acceptList(name) : api.rejectList(name),
        );
        if (!done)
          return reply.code(404).send({ error: 'not_found', message: `no held copy of list source ${name}` });
        return { [verb === 'accept' ? 'accepted' : 'rejected']: name };
      },
    );
  }
  app.get(
    '/api/v1/selftest',
    {
      ...as('auditor'),
      schema: { summary: 'The kept self-test runs, newest first', response: responses() },
    },
    async () => api.selfTests(),
  );
  app.get(
    '/api/v1/selftest/:id',
    {
      ...as('auditor'),
      schema: {
        summary: 'One self-test report (signed when roje has a signing key), as JSON or HTML',
        params: SelfTestParams,
        querystring: SelfTestQuery,
        response: responses(),
      },
    },
    async (req, reply) => {
      const { id } = req.params as Static<typeof SelfTestParams>;
      const format = (req.query as Static<typeof SelfTestQuery>).format ?? 'json';
      const found = api.selfTestReport(id, format);
      if (found === null)
        return reply.code(404).send({ error: 'not_found', message: `no self-test report ${id}` });
      return reply.type(found.contentType).send(found.body);
    },
  );
  app.post(
    '/api/v1/selftest/run',
    { ...as('operator'), schema: { summary: 'Run the self-test now', response: responses() } },
    async (req) => audited(req, undefined, () => api.runSelfTest()),
  );
  app.post(
    '/api/v1/cache/flush',
    { ...as('operator'), schema: { summary: 'Empty the answer cache', response: responses() } },
    async (req) => audited(req, undefined, () => api.flushCache()),
  );
  app.post(
    '/api/v1/reports/:id',
    {
      ...as('operator'),
      schema: {
        summary: 'Review a wrongly-blocked report',
        params: Type.Object({ id: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
        body: ReviewBody,
        response: responses(),
      },
    },
    async (req) => {
      const { id } = req.params as { id: number };
      const { status } = req.body as Static<typeof ReviewBody>;
      const who = (req.principal as Principal).name;
      return audited(req, String(id), () => api.reviewReport(id, status, who));
    },
  );

  return app;
}

/** If-None-Match against one strong ETag ("*" or a list; W/ compared weakly, as RFC 9110 asks). */
function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag === etag || tag === `W/${etag}`;
  });
}

/** The audit log's action: method and route pattern, e.g. "POST /api/v1/lists/:name/accept". */
function routeAction(req: FastifyRequest): string {
  const url = req.routeOptions.url ?? req.url.split('?')[0];
  return `${req.method} ${url}`;
}

function errorName(status: number): string {
  if (status === 400) return 'bad_request';
  if (status === 404) return 'not_found';
  if (status === 413) return 'payload_too_large';
  if (status === 415) return 'unsupported_media_type';
  if (status === 429) return 'too_many_requests';
  if (status === 502) return 'list_failed';
  if (status === 503) return 'unavailable';
  return 'error';
}
