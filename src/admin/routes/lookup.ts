/**
 * "Why is this name blocked?": the decision per venue with its categories, sources and rules
 * (src/lookup). Read only, for auditors and up. The name is checked by the lookup itself, so that a bad
 * one is answered with its code (ROJE_ERR_LOOKUP_NAME), as the CLI prints it.
 */
import type { Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { Type } from '../../config/json-schema.js';
import { NAME_PATTERN } from '../../config/sections/common.js';
import type { LookupApi } from '../types.js';
import { as, type RoutesOptions, responses } from './shared.js';

const LookupQuery = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 300, description: 'the domain name, e.g. example.com' }),
    venue: Type.Optional(
      Type.String({
        pattern: NAME_PATTERN,
        description: 'one venue; absent: every venue and clients of no venue',
      }),
    ),
  },
  { additionalProperties: false },
);

export const lookupRoutes: FastifyPluginAsync<RoutesOptions<LookupApi>> = async (app, { api }) => {
  app.get(
    '/api/v1/lookup',
    {
      ...as('auditor'),
      schema: {
        summary:
          'Why a name is blocked or not, per venue: the decision, block mode, categories, and the source, rule and line that list it (the abuse category only by name)',
        querystring: LookupQuery,
        response: responses(),
      },
    },
    async (req) => {
      const q = req.query as Static<typeof LookupQuery>;
      return api.lookup(q.name, q.venue);
    },
  );
};
