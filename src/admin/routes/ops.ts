/**
 * Operations: liveness and readiness (open, for load balancers), the OpenAPI document, /metrics, who the
 * token is, status, the config view, the audit log and the cache flush.
 */
import type { Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { Type } from '../../config/json-schema.js';
import type { OpsApi } from '../types.js';
import { as, audited, open, type RoutesOptions, responses } from './shared.js';

const AuditQuery = Type.Object(
  { limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }) },
  { additionalProperties: false },
);

export const opsRoutes: FastifyPluginAsync<RoutesOptions<OpsApi>> = async (app, { api, audit }) => {
  // Health is DNS: a shared store that is down does not make roje unhealthy (counts wait in the spool),
  // but it is said here too, for whoever only looks at this.
  app.get('/health', { ...open, schema: { hide: true } }, async () =>
    api.storeUp() === false ? { status: 'ok', store: 'down' } : { status: 'ok' },
  );
  app.get('/ready', { ...open, schema: { hide: true } }, async (_req, reply) => {
    const r = api.ready();
    return reply.code(r.ready ? 200 : 503).send(r);
  });
  app.get('/api/v1/openapi.json', { ...open, schema: { hide: true } }, async () => app.swagger());
  app.get('/metrics', { ...as('auditor'), schema: { hide: true } }, async (_req, reply) => {
    const m = await api.metrics();
    return reply.type(m.contentType).send(m.body);
  });

  app.get(
    '/api/v1/whoami',
    {
      ...as('auditor'),
      schema: {
        summary: "The token's holder and role (what the console may offer)",
        response: responses(Type.Object({ name: Type.String(), role: Type.String() })),
      },
    },
    async (req) => ({ name: req.principal!.name, role: req.principal!.role }),
  );
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
    '/api/v1/audit',
    {
      ...as('admin'),
      schema: {
        summary: 'Recent admin actions, newest first',
        querystring: AuditQuery,
        response: responses(),
      },
    },
    async (req) => ({ entries: await audit.recent((req.query as Static<typeof AuditQuery>).limit) }),
  );
  app.post(
    '/api/v1/cache/flush',
    { ...as('operator'), schema: { summary: 'Empty the answer cache', response: responses() } },
    async (req) => audited(audit, req, undefined, () => api.flushCache()),
  );
};
