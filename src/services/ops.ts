/**
 * The operations plane's listeners as a service: the admin API and the optional /metrics listener
 * (admin/listeners.ts). They bind once at start; a reload changes what they serve (tokens, status),
 * not where they listen.
 */
import type { Logger } from 'pino';
import type { AuditLog } from '../admin/audit.js';
import type { TokenEntry } from '../admin/auth.js';
import { createOpsListeners } from '../admin/listeners.js';
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
  const ops = createOpsListeners({
    admin: options.config.admin.listen,
    metrics: options.config.metrics.listen,
    tokens: options.tokens,
    api: options.api,
    audit: options.audit,
    logger: options.logger,
  });
  return {
    name: 'admin and metrics listeners',
    async start() {
      try {
        await ops.start();
      } catch (err) {
        // The admin API may have bound before the metrics listener failed.
        await ops.close();
        throw err;
      }
    },
    stop: () => ops.close(),
    addresses: () => ops.addresses(),
  };
}
