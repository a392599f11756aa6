/**
 * The scheduled self-test: its kept runs (each with a result per venue), one venue's signed report as
 * JSON or HTML, and a run on demand.
 */
import type { Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { Type } from '../../config/json-schema.js';
import { NAME_PATTERN } from '../../config/sections/common.js';
import type { SelfTestApi } from '../types.js';
import { as, audited, type RoutesOptions, responses, sendError } from './shared.js';

const SelfTestParams = Type.Object(
  { id: Type.String({ pattern: '^[0-9TZ-]{15,40}$', description: 'a run id from GET /api/v1/selftest' }) },
  { additionalProperties: false },
);
const SelfTestQuery = Type.Object(
  {
    format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('html')])),
    venue: Type.Optional(
      Type.String({
        pattern: NAME_PATTERN,
        description: 'the venue whose clients the report asked as; absent: clients of no venue',
      }),
    ),
  },
  { additionalProperties: false },
);

export const selfTestRoutes: FastifyPluginAsync<RoutesOptions<SelfTestApi>> = async (app, { api, audit }) => {
  app.get(
    '/api/v1/selftest',
    {
      ...as('auditor'),
      schema: {
        summary:
          'The kept self-test runs, newest first, each with its result per venue (venue null: clients of no venue)',
        response: responses(),
      },
    },
    async () => api.selfTests(),
  );
  app.get(
    '/api/v1/selftest/:id',
    {
      ...as('auditor'),
      schema: {
        summary:
          'One self-test report (signed when roje has a signing key) of a venue (?venue=) or of clients of no venue, as JSON or HTML',
        params: SelfTestParams,
        querystring: SelfTestQuery,
        response: responses(),
      },
    },
    async (req, reply) => {
      const { id } = req.params as Static<typeof SelfTestParams>;
      const query = req.query as Static<typeof SelfTestQuery>;
      const venue = query.venue ?? null;
      const found = api.selfTestReport(id, query.format ?? 'json', venue);
      if (found === null) {
        return sendError(
          reply,
          404,
          `no self-test report ${id}${venue === null ? '' : ` for venue ${venue}`}`,
        );
      }
      return reply.type(found.contentType).send(found.body);
    },
  );
  app.post(
    '/api/v1/selftest/run',
    { ...as('operator'), schema: { summary: 'Run the self-test now', response: responses() } },
    async (req) => audited(audit, req, undefined, () => api.runSelfTest()),
  );
};
