/**
 * The overrides as a service: the store (store.ts) loaded at start, before the data plane, so that the
 * first query already sees them. The data plane reads the overlay (and, with workers, subscribes to
 * changes to send it to the query loops).
 */
import { join } from 'node:path';
import type { RojeConfig } from '../config/schema.js';
import type { CompiledLists } from '../policy/types.js';
import type { Service } from '../services/lifecycle.js';
import { abuseBlocks } from './abuse-check.js';
import { createOverridesStore, type OverridesStore } from './store.js';

export interface OverridesService extends Service, OverridesStore {}

export function createOverridesService(options: {
  /** The config in force: its venues are what an override may name; stateDir is read once. */
  config: () => Pick<RojeConfig, 'stateDir' | 'venues'>;
  lists: () => CompiledLists | null;
}): OverridesService {
  const stateDir = options.config().stateDir;
  const store = createOverridesStore({
    path: stateDir === null ? null : join(stateDir, 'overrides.json'),
    venues: () => options.config().venues.map((v) => v.name),
    abuseBlocks: (name) => abuseBlocks(options.lists(), name),
  });
  return {
    ...store,
    name: 'overrides',
    async start() {
      store.load();
    },
    async stop() {},
  };
}
