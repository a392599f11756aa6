/**
 * Reports: the wrong-block reports sent from the block page (list, review) and the monthly transparency
 * report (JSON, HTML or CSV; counts only, never a name).
 */
import type { Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { Type } from '../../config/json-schema.js';
import { reportCsp } from '../../report/html.js';
import { renderReport } from '../../report/render.js';
import type { Principal } from '../auth.js';
import type { ReportsApi } from '../types.js';
import { as, audited, Name, type RoutesOptions, responses } from './shared.js';
import { InstanceName } from './stats.js';

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
const ReviewParams = Type.Object({ id: Type.Integer({ minimum: 1 }) }, { additionalProperties: false });
const ReviewBody = Type.Object(
  {
    status: Type.Union([Type.Literal('accepted'), Type.Literal('rejected')]),
    allow: Type.Optional(
      Type.Union([Type.Literal('venue'), Type.Literal('all')], {
        description: "with accepted: allow the reported name for the report's venue, or for every client",
      }),
    ),
    note: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);
const TransparencyQuery = Type.Object(
  {
    month: Type.String({
      pattern: '^\\d{4}-(0[1-9]|1[0-2])$',
      description: "a calendar month, YYYY-MM, in the config's timeZone",
    }),
    site: Type.Optional(Name),
    instance: Type.Optional(InstanceName),
    format: Type.Union([Type.Literal('json'), Type.Literal('html'), Type.Literal('csv')], {
      default: 'json',
    }),
  },
  { additionalProperties: false },
);

export const reportsRoutes: FastifyPluginAsync<RoutesOptions<ReportsApi>> = async (app, { api, audit }) => {
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
          "Transparency report of a month in the config's timeZone: queries and blocks per venue and category, estimates, uptime since the first start, list changes, self-tests per venue, wrong-block reports; never a name",
        querystring: TransparencyQuery,
      },
    },
    async (req, reply) => {
      const { month, site, instance, format } = req.query as Static<typeof TransparencyQuery>;
      const report = await api.transparencyReport({
        month,
        ...(site !== undefined ? { site } : {}),
        ...(instance !== undefined ? { instance } : {}),
      });
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
  app.post(
    '/api/v1/reports/:id',
    {
      ...as('operator'),
      schema: {
        summary:
          'Review a wrongly-blocked report; accepted with allow, the site is allowed (an override) within seconds',
        params: ReviewParams,
        body: ReviewBody,
        response: responses(),
      },
    },
    async (req) => {
      const { id } = req.params as Static<typeof ReviewParams>;
      const review = req.body as Static<typeof ReviewBody>;
      const who = (req.principal as Principal).name;
      const target =
        review.allow !== undefined
          ? `${id} ${review.status}, allow for ${review.allow}`
          : `${id} ${review.status}`;
      return audited(audit, req, target, () => api.reviewReport(id, review, who));
    },
  );
};
