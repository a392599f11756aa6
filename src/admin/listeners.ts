/**
 * The HTTP listeners of the operations plane: the admin API and, optionally, a /metrics listener of
 * its own (no token: for a Prometheus that scrapes over a private network). Both bind once at start;
 * a reload changes what they serve (tokens, status), not where they listen.
 */
import { createServer, type Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { RojeError } from '../errors.js';
import { formatListenAddress } from '../net/address.js';
import type { ListenAddress } from '../transport/types.js';
import type { AuditLog } from './audit.js';
import type { TokenEntry } from './auth.js';
import { type AdminApi, createAdminServer } from './server.js';

export interface OpsListenersOptions {
  admin: ListenAddress | null;
  metrics: ListenAddress | null;
  tokens: () => readonly TokenEntry[];
  api: AdminApi;
  audit: AuditLog;
  logger: Logger;
}

export interface OpsListeners {
  start(): Promise<void>;
  close(): Promise<void>;
  /** Bound addresses, e.g. { admin: "127.0.0.1:8053", metrics: null }. */
  addresses(): { admin: string | null; metrics: string | null };
}

export function createOpsListeners(options: OpsListenersOptions): OpsListeners {
  const { logger } = options;
  let admin: FastifyInstance | null = null;
  let metrics: Server | null = null;
  let adminAddress: string | null = null;
  let metricsAddress: string | null = null;

  return {
    async start() {
      if (options.admin !== null) {
        if (options.tokens().length === 0) {
          logger.warn('admin API: no tokens configured (admin.tokens); only /health and /ready answer');
        }
        admin = await createAdminServer({ ...options, logger: logger.child({ module: 'admin' }) });
        const a = options.admin;
        try {
          await admin.listen({ host: a.host, port: a.port });
        } catch (err) {
          await admin.close();
          admin = null;
          throw listenFailed('admin API', a, err);
        }
        adminAddress = boundAddress(admin.server);
      }
      if (options.metrics !== null) {
        const m = options.metrics;
        const server = createServer((req, res) => {
          if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
            res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
            return;
          }
          options.api.metrics().then(
            (r) => res.writeHead(200, { 'content-type': r.contentType }).end(r.body),
            (err: unknown) => {
              logger.error({ err }, 'metrics failed');
              res.writeHead(500).end();
            },
          );
        });
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(m.port, m.host, () => {
            server.off('error', reject);
            resolve();
          });
        }).catch((err: unknown) => {
          throw listenFailed('metrics', m, err);
        });
        metrics = server;
        metricsAddress = boundAddress(server);
      }
    },
    async close() {
      await admin?.close();
      if (metrics !== null) {
        const server = metrics;
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      admin = null;
      metrics = null;
      adminAddress = null;
      metricsAddress = null;
    },
    addresses: () => ({ admin: adminAddress, metrics: metricsAddress }),
  };
}

function boundAddress(server: Server): string {
  const a = server.address();
  if (a === null || typeof a === 'string') return String(a);
  return formatListenAddress({ host: a.address, port: a.port });
}

function listenFailed(what: string, address: ListenAddress, err: unknown): RojeError {
  const e = err as NodeJS.ErrnoException;
  return new RojeError(
    'ROJE_ERR_LISTEN_FAILED',
    `cannot listen for the ${what} on ${formatListenAddress(address)}: ${e.code ?? ''} ${e.message}`.trim(),
    { cause: err },
  );
}
