/**
 * The block page as a service (blockpage/server.ts), from the config at start: it explains a block
 * through the data plane and keeps wrong-block reports in the statistics store (no store: no form).
 */
import type { Logger } from 'pino';
import type { BlockPageServer, BlockReport } from '../blockpage/server.js';
import type { RojeConfig } from '../config/schema.js';
import type { DataPlane } from '../dataplane/types.js';
import { RojeError } from '../errors.js';
import { NO_VENUE } from '../stats/recorder.js';
import type { BoundAddress } from '../transport/types.js';
import type { Service } from './lifecycle.js';
import type { StatsService } from './stats.js';

export interface BlockPageService extends Service {
  /** The bound HTTP addresses, or null when the block page is off. */
  addresses(): BoundAddress[] | null;
}

export function createBlockPageService(options: {
  config: RojeConfig;
  logger: Logger;
  plane: Pick<DataPlane, 'explain'>;
  stats: Pick<StatsService, 'store'>;
}): BlockPageService {
  const b = options.config.blockPage;
  let server: BlockPageServer | null = null;

  // A report needs the store: when it cannot take it (a shared store down), the reporter is told it
  // failed (the page answers 503) rather than thanked for a report that went nowhere.
  async function onReport(r: BlockReport): Promise<string | undefined> {
    const store = options.stats.store();
    if (store === null) throw new RojeError('ROJE_ERR_STORE_UNAVAILABLE');
    const report = await store.addReport({
      venue: r.venue ?? NO_VENUE,
      category: r.categories.join(','),
      ...(r.host !== undefined ? { name: r.host } : {}),
      message: r.message,
    });
    return report.reference ?? undefined;
  }

  return {
    name: 'block page',
    async start() {
      if (b.listen.length === 0) return;
      // Loaded at start, after the DNS listeners: the first answers do not wait for fastify.
      const { createBlockPageServer } = await import('../blockpage/server.js');
      const s = createBlockPageServer(
        {
          listen: b.listen,
          refuseTls: b.refuseTls,
          operatorName: b.operatorName,
          help: b.help,
          defaultLang: b.defaultLang,
          maxMessageLength: b.maxMessageLength,
          reportsPerMinute: b.reportsPerMinute,
          limits: b.limits,
          categoryNames: options.config.categoryNames,
        },
        {
          explain: (host, client) => options.plane.explain(host, client),
          // Without a statistics store there is nowhere to keep reports: no form. A shared store that
          // was unreachable at start is still being opened: the form is there, and fails until it is.
          ...(options.stats.store() !== null ||
          (options.config.stats.enabled && options.config.store.url !== null)
            ? {
                onReport,
                reportOutcome: async (ref: string) =>
                  (await options.stats.store()?.reportOutcome(ref)) ?? null,
              }
            : {}),
          logger: options.logger.child({ module: 'blockpage' }),
        },
      );
      // start() closes what it opened when one address fails.
      await s.start();
      server = s;
    },
    async stop() {
      await server?.close();
      server = null;
    },
    addresses: () => server?.addresses() ?? null,
  };
}
