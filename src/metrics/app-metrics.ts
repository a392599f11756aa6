/**
 * The app's Prometheus registry: the lists' and self-test's figures from the services, the query loops'
 * from the data plane (summed over the loops in workers mode).
 */
import type { RojeConfig } from '../config/schema.js';
import type { DataPlane } from '../dataplane/types.js';
import type { WorkersPlane } from '../dataplane/workers.js';
import { complianceInForce } from '../policy/compliance.js';
import type { ListsService } from '../services/lists.js';
import {
  createMetrics,
  type RojeMetrics,
  type SelfTestMetricsSource,
  type StoreMetricsSource,
} from './metrics.js';

/** The registry of one app; `plane` is read at scrape time only (it is created after the metrics). */
export function appMetrics(
  config: RojeConfig,
  lists: ListsService,
  plane: () => DataPlane | WorkersPlane,
  lastSelfTest: () => SelfTestMetricsSource | null,
  inForce: () => RojeConfig,
  store: () => StoreMetricsSource | null = () => null,
): RojeMetrics {
  const loops = () => plane() as WorkersPlane;
  return createMetrics(
    {
      cache: () => plane().cacheStats(),
      upstreams: () => plane().upstreamHealth(),
      listSources: () => lists.sourceAges(),
      listRefreshes: () => lists.refreshResults(),
      listParses: () => lists.parses(),
      serving: () => lists.ready(),
      abuse: () => lists.abuseStatus(),
      selfTest: lastSelfTest,
      fleet: () => lists.fleet().metrics(),
      compliance: () => complianceInForce(inForce(), lists.lists(), lists.abuseStatus()),
      store,
    },
    { categories: [], venues: config.venues.map((v) => v.name) },
    config.workers.count > 1
      ? {
          workers: {
            metrics: () => loops().loopMetrics(),
            processMetrics: config.workers.mode === 'processes',
            status: () => {
              const s = plane().workers();
              return { configured: s?.configured ?? 0, running: s?.running ?? 0, restarts: s?.restarts ?? 0 };
            },
          },
        }
      : {},
  );
}
