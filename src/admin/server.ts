/**
 * The admin API (Fastify) on its own listener, loopback by default: health and readiness, status,
 * statistics, list refresh, cache flush, config view, reports, audit log, /metrics and the operator
 * console, with the OpenAPI document at /api/v1/openapi.json.
 *
 * Every route declares its input schema (bad input: 400 with the reason, never a 500) and the least
 * role it needs; a bearer token picks the caller's role (auth.ts). Every change is written to the audit
 * log before it is acknowledged. The routes live in routes/*.ts, one Fastify plugin per group, each seeing
 * the rest of roje only through its own slice of AdminApi (types.ts), which app.ts builds. This file holds
 * what they share at run time: authentication, the error handler and the OpenAPI document.
 */
import type * as FastifySwagger from '@fastify/swagger';
import type * as FastifyModule from 'fastify';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ERROR_CODES, httpStatusOf, isRojeError } from '../errors.js';
import { lazyRequire } from '../lazy.js';
import { VERSION } from '../version.js';
import type { AuditLog } from './audit.js';
import { allows, createAuthenticator, type TokenEntry } from './auth.js';
import { lazySchemaCompilers } from './lazy-compilers.js';
import { consoleRoutes } from './routes/console.js';
import { listsRoutes } from './routes/lists.js';
import { lookupRoutes } from './routes/lookup.js';
import { opsRoutes } from './routes/ops.js';
import { overridesRoutes } from './routes/overrides.js';
import { reportsRoutes } from './routes/reports.js';
import { selfTestRoutes } from './routes/selftest.js';
import { errorName, routeAction, sendError } from './routes/shared.js';
import { statsRoutes } from './routes/stats.js';
import type { AdminApi } from './types.js';

export type {
  AdminApi,
  ConsoleApi,
  ListsApi,
  LookupApi,
  OpsApi,
  OverridesApi,
  ReportStatus,
  ReportsApi,
  SelfTestApi,
  StatsApi,
  StatsQuery,
} from './types.js';

const fastify = lazyRequire<typeof FastifyModule>('fastify');
const swagger = lazyRequire<typeof FastifySwagger>('@fastify/swagger');

export interface AdminServerOptions {
  /** The tokens in force: read per request, so that a reload that changes them takes effect at once. */
  tokens: () => readonly TokenEntry[];
  api: AdminApi;
  audit: AuditLog;
  logger: Logger;
  /**
   * When each route's validators and serializers are compiled: at its first request (the default,
   * lazy-compilers.ts), or all at start as Fastify does by itself (the tests, to prove they all compile).
   */
  compileSchemas?: 'on first request' | 'at start';
}

/** Most a request body may weigh: the API takes small JSON documents only. */
const BODY_LIMIT = 16 * 1024;

export async function createAdminServer(options: AdminServerOptions): Promise<FastifyInstance> {
  const { api, audit } = options;
  const app = fastify().fastify({
    // No Fastify logger: no per-request log lines; failures are logged below with roje's logger.
    bodyLimit: BODY_LIMIT,
    ...(options.compileSchemas === 'at start' ? {} : { schemaController: lazySchemaCompilers() }),
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
  addAuth(app, options);
  setErrorHandlers(app, options.logger);

  // Registered after the hook and the handlers above, so that every plugin inherits them; each plugin
  // gets only its own slice of the API.
  await app.register(opsRoutes, { api, audit });
  await app.register(consoleRoutes, { api, audit });
  await app.register(listsRoutes, { api, audit });
  await app.register(statsRoutes, { api, audit });
  await app.register(reportsRoutes, { api, audit });
  await app.register(selfTestRoutes, { api, audit });
  await app.register(lookupRoutes, { api, audit });
  await app.register(overridesRoutes, { api, audit });
  return app;
}

/** The bearer token picks the caller's role; a route's config.role is the least it needs. */
function addAuth(app: FastifyInstance, options: AdminServerOptions): void {
  const { audit } = options;
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
}

/**
 * Bad input: 400 with the reason. A RojeError: the status of its code in the error table (src/errors.ts)
 * and `{ error: <the status in words>, code, message }`; for a 5xx the table's message only, its detail (a path, a list rule)
 * goes to the log. Fastify's own errors (413, 415 ...): their status. Anything else: 500, logged.
 */
function setErrorHandlers(app: FastifyInstance, logger: Logger): void {
  app.setErrorHandler((err: Error & { validation?: unknown }, req, reply) => {
    if (err.validation !== undefined) {
      return reply.code(400).send({ error: 'bad_request', message: err.message });
    }
    const status = httpStatusOf(err);
    if (isRojeError(err) && status !== undefined) {
      if (status < 500) {
        return reply.code(status).send({ error: errorName(status), code: err.code, message: err.message });
      }
      logger.warn({ err, route: req.routeOptions.url }, 'admin request failed');
      return reply
        .code(status)
        .send({ error: errorName(status), code: err.code, message: ERROR_CODES[err.code].message });
    }
    if (status !== undefined && status < 500) return sendError(reply, status, err.message);
    logger.error({ err, route: req.routeOptions.url }, 'admin request failed');
    return reply.code(500).send({ error: 'internal', message: 'internal error; see the server log' });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` }),
  );
}
