/**
 * Overrides: allow and deny entries managed at run time, per venue or for every client (src/overrides).
 * Auditors read them; operators add and delete. Every change is audited, refused ones too; an abuse
 * refusal's audit entry does not name the name (it would list an abuse entry).
 */
import type { Static } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type } from '../../config/json-schema.js';
import { RojeError } from '../../errors.js';
import type { AuditLog } from '../audit.js';
import type { Principal } from '../auth.js';
import type { OverridesApi } from '../types.js';
import { as, Name, type RoutesOptions, responses, routeAction } from './shared.js';

const ListQuery = Type.Object(
  { format: Type.Union([Type.Literal('json'), Type.Literal('yaml')], { default: 'json' }) },
  { additionalProperties: false },
);
const NewBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 300, description: 'a domain name: it and its subdomains' }),
    action: Type.Union([Type.Literal('allow'), Type.Literal('deny')]),
    venue: Type.Optional(
      Type.Union([Name, Type.Null()], { description: "a venue's name; absent or null: every client" }),
    ),
    note: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);
const IdParams = Type.Object(
  { id: Type.String({ pattern: '^o-[0-9a-f]{12}$' }) },
  { additionalProperties: false },
);

/** Runs a change and writes its audit entry; a refusal for the abuse category leaves the name out. */
export async function auditedOverride<T>(
  audit: AuditLog,
  req: FastifyRequest,
  target: string,
  change: () => Promise<T> | T,
): Promise<T> {
  const who = req.principal as Principal;
  const base = { who: who.name, role: who.role, action: routeAction(req) };
  try {
    const result = await change();
    audit.record({ ...base, target, result: 'ok' });
    return result;
  } catch (err) {
    const code = err instanceof RojeError ? err.code : undefined;
    const abuse = code === 'ROJE_ERR_OVERRIDE_ABUSE';
    audit.record({
      ...base,
      target: abuse ? 'allow (name withheld: abuse category)' : target,
      result: 'failed',
      detail: (err as Error).message,
      ...(code !== undefined ? { code } : {}),
    });
    throw err;
  }
}

export const overridesRoutes: FastifyPluginAsync<RoutesOptions<OverridesApi>> = async (
  app,
  { api, audit },
) => {
  app.get(
    '/api/v1/overrides',
    {
      ...as('auditor'),
      schema: {
        summary: 'Run-time allow and deny overrides (format=yaml: as the config would hold them)',
        querystring: ListQuery,
      },
    },
    async (req, reply) => {
      const { format } = req.query as Static<typeof ListQuery>;
      reply.header('cache-control', 'no-store');
      if (format === 'yaml') return reply.type('application/yaml; charset=utf-8').send(api.overridesYaml());
      return reply.send({ overrides: api.overrides() });
    },
  );
  app.post(
    '/api/v1/overrides',
    {
      ...as('operator'),
      schema: {
        summary:
          'Add an allow or deny override, live within seconds (the same name, venue and action again: the existing entry)',
        body: NewBody,
        response: { 200: Type.Unknown(), 201: Type.Unknown(), '4xx': responses()['4xx'] },
      },
    },
    async (req, reply) => {
      const body = req.body as Static<typeof NewBody>;
      const venue = body.venue ?? null;
      const who = (req.principal as Principal).name;
      const { override, created } = await auditedOverride(
        audit,
        req,
        `${body.action} ${body.name} for ${venue ?? 'all'}`,
        () => api.addOverride({ name: body.name, action: body.action, venue, note: body.note, who }),
      );
      return reply.code(created ? 201 : 200).send(override);
    },
  );
  app.delete(
    '/api/v1/overrides/:id',
    {
      ...as('operator'),
      schema: { summary: 'Delete an override, live within seconds', params: IdParams, response: responses() },
    },
    async (req) => {
      const { id } = req.params as Static<typeof IdParams>;
      // The audit entry names what was deleted, not only its id.
      const entry = api.overrides().find((o) => o.id === id);
      const target =
        entry === undefined ? id : `${id}: ${entry.action} ${entry.name} for ${entry.venue ?? 'all'}`;
      return auditedOverride(audit, req, target, () => api.removeOverride(id));
    },
  );
};
