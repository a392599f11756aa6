/**
 * The operations plane's listeners as a service: the admin API and the optional /metrics listener
 * (admin/listeners.ts). They bind once at start; a reload changes what they serve (tokens, status),
 * not where they listen.
 */
import type { Logger } from 'pino';
import type { AuditLog } from '../admin/audit.js';
import type { TokenEntry } from '../admin/auth.js';
import type { OpsListeners } from '../admin/listeners.js';
import type { AdminApi } from '../admin/server.js';
import type { RojeConfig } from '../config/schema.js';
import type { Service } from './lifecycle.js';

export interface OpsService extends Service {
  /** Bound addresses, e.g. { admin: "127.0.0.1:8053", metrics: null }. */
  addresses(): { admin: string | null; metrics: string | null };
}

export function createOpsService(options: {
  config: RojeConfig;
  tokens: () => readonly TokenEntry[];
  api: AdminApi;
  audit: AuditLog;
  logger: Logger;
}): OpsService {
  let ops: OpsListeners | null = null;
  return {
    name: 'admin and metrics listeners',
    async start() {
      // Loaded here, not at import: fastify and the routes' schemas are ~0.2 s that the first DNS
      // answer does not wait for (the lifecycle starts this after the listeners).
      const { createOpsListeners } = await import('../admin/listeners.js');
      const listeners = createOpsListeners({
        admin: options.config.admin.listen,
        metrics: options.config.metrics.listen,
        tokens: options.tokens,
        api: options.api,
        audit: options.audit,
        logger: options.logger,
      });
      ops = listeners;
      try {
        await listeners.start();
      } catch (err) {
        // The admin API may have bound before the metrics listener failed.
        await listeners.close();
        throw err;
      }
    },
    stop: async () => {
      await ops?.close();
    },
    addresses: () => ops?.addresses() ?? { admin: null, metrics: null },
  };
}
