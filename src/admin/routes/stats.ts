/** Statistics: totals, and hourly or daily counts, over a period. */
import type { Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { Type } from '../../config/json-schema.js';
import { INSTANCE_PATTERN } from '../../config/sections/store.js';
import type { StatsApi } from '../types.js';
import { as, Instant, Name, type RoutesOptions, responses } from './shared.js';

/** One instance of a shared store (its store.instance); absent: the whole city. */
export const InstanceName = Type.String({
  pattern: INSTANCE_PATTERN,
  description: 'one instance of a shared store; absent: the whole city',
});

const StatsQuerySchema = Type.Object(
  {
    from: Instant,
    to: Instant,
    venue: Type.Optional(Name),
    category: Type.Optional(Name),
    bucket: Type.Optional(Type.Union([Type.Literal('hour'), Type.Literal('day')])),
    by: Type.Optional(Type.Union([Type.Literal('venue'), Type.Literal('category')])),
    instance: Type.Optional(InstanceName),
  },
  { additionalProperties: false },
);

export const statsRoutes: FastifyPluginAsync<RoutesOptions<StatsApi>> = async (app, { api }) => {
  app.get(
    '/api/v1/stats/summary',
    {
      ...as('auditor'),
      schema: {
        summary:
          "Totals over a period: queries, blocked, per venue and category (with venue: that venue's queries)",
        querystring: StatsQuerySchema,
        response: responses(),
      },
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
    '/api/v1/stats/instances',
    {
      ...as('auditor'),
      schema: {
        summary:
          'The statistics store (sqlite or postgres), this instance, and every instance writing to it (first start, last seen)',
        response: responses(),
      },
    },
    async () => api.statsInstances(),
  );
};
