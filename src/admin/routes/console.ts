/**
 * The operator console (src/console): its HTML shell and static assets, open like /health (they hold
 * no data; every number and action is an API call with the token), each with the console's CSP.
 * /dashboard, the statistics page's former address, and / lead to it.
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { CONSOLE_CSP, consoleAsset } from '../../console/page.js';
import type { ConsoleApi } from '../types.js';
import { open, type RoutesOptions, sendError } from './shared.js';

const hidden = { ...open, schema: { hide: true } };

function secured(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer');
}

export const consoleRoutes: FastifyPluginAsync<RoutesOptions<ConsoleApi>> = async (app, { api }) => {
  app.get('/console/', hidden, async (_req, reply) =>
    secured(reply)
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(await api.console()),
  );
  for (const from of ['/console', '/dashboard', '/']) {
    app.get(from, hidden, async (_req, reply) => reply.redirect('/console/', 302));
  }
  app.get<{ Params: { '*': string } }>('/console/assets/*', hidden, async (req, reply) => {
    const asset = consoleAsset(req.params['*']);
    if (asset === null) return sendError(reply, 404, `no console asset ${req.params['*']}`);
    // Revalidated on every load (cheap: a 304), so that an upgrade never mixes old and new modules.
    secured(reply).header('etag', asset.etag).header('cache-control', 'no-cache');
    if (req.headers['if-none-match'] === asset.etag) return reply.code(304).send();
    return reply.type(asset.type).send(asset.body);
  });
};
