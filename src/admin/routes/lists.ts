/**
 * Lists: refresh now, accept or discard a held feed copy or list file, and the signed artifact that
 * fleet edges pull.
 */
import type { Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { Type } from '../../config/json-schema.js';
import type { ListsApi } from '../types.js';
import { as, audited, ErrorBody, Name, type RoutesOptions, responses, sendError } from './shared.js';

const RefreshBody = Type.Union([
  Type.Null(),
  Type.Object(
    { sources: Type.Optional(Type.Array(Name, { maxItems: 256 })) },
    { additionalProperties: false },
  ),
]);
const NameParams = Type.Object({ name: Name }, { additionalProperties: false });

export const listsRoutes: FastifyPluginAsync<RoutesOptions<ListsApi>> = async (app, { api, audit }) => {
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
      return audited(audit, req, sources?.join(','), () => api.refreshLists(sources));
    },
  );
  // Fleet: edges pull the signed artifact with an auditor token; ETag = the lists version, so an
  // unchanged artifact costs a 304. Not published (404) and lists incomplete (503) are RojeErrors that
  // the error handler answers.
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
          return sendError(reply, 404, 'this roje does not publish its lists');
        }
        const p = await api.listsArtifact();
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
          summary: `${verb === 'accept' ? 'Accept' : 'Discard'} a held feed copy or list file (it shrank or yields no rule)`,
          params: NameParams,
          response: responses(),
        },
      },
      async (req, reply) => {
        const { name } = req.params as Static<typeof NameParams>;
        const done = await audited(audit, req, name, () =>
          verb === 'accept' ? api.acceptList(name) : api.rejectList(name),
        );
        if (!done) return sendError(reply, 404, `no held copy of list source ${name}`);
        return { [verb === 'accept' ? 'accepted' : 'rejected']: name };
      },
    );
  }
};

/** If-None-Match against one strong ETag ("*" or a list; W/ compared weakly, as RFC 9110 asks). */
function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag === etag || tag === `W/${etag}`;
  });
}
