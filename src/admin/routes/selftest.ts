/** The scheduled self-test: its kept runs, one signed report as JSON or HTML, and a run on demand. */
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { SelfTestApi } from '../types.js';
import { as, audited, type RoutesOptions, responses, sendError } from './shared.js';

const SelfTestParams = Type.Object(
  { id: Type.String({ pattern: '^[0-9TZ-]{15,40}$', description: 'a run id from GET /api/v1/selftest' }) },
  { additionalProperties: false },
);
const SelfTestQuery = Type.Object(
  { format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('html')])) },
  { additionalProperties: false },
);

export const selfTestRoutes: FastifyPluginAsync<RoutesOptions<SelfTestApi>> = async (app, { api, audit }) => {
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
      if (found === null) return sendError(reply, 404, `no self-test report ${id}`);
      return reply.type(found.contentType).send(found.body);
    },
  );
  app.post(
    '/api/v1/selftest/run',
    { ...as('operator'), schema: { summary: 'Run the self-test now', response: responses() } },
    async (req) => audited(audit, req, undefined, () => api.runSelfTest()),
  );
};
