/**
 * One lifecycle for every service roje runs, as CoreDNS's OnStartup/OnShutdown hooks and Fastify's
 * onClose order: start in the listed order, stop in reverse, and a start that fails half way stops what
 * already started, in reverse. One teardown list, never two.
 *
 * A reload is two-phase: every service prepares the new config without changing what is in force,
 * then all commit in order; if any prepare fails, those already prepared abort in reverse and nothing
 * changed. A commit must not fail (it only swaps what prepare built).
 */
import type { Logger } from 'pino';
import type { RojeConfig } from '../config/schema.js';

/** What a prepared reload of one service does next. */
export interface Change {
  commit(): void | Promise<void>;
  abort(): void | Promise<void>;
}

export interface Service {
  /** For logs: "lists", "data plane" ... */
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Builds what `config` needs without putting it in force; null when this service has nothing to change. */
  prepare?(config: RojeConfig): Promise<Change | null>;
}

export interface Lifecycle {
  start(): Promise<void>;
  /** All prepare, then all commit; rejects (having changed nothing) when any prepare fails. */
  reload(config: RojeConfig): Promise<void>;
  stop(): Promise<void>;
}

/** The do-nothing change, for services that take a config slice by reference. */
export const NO_CHANGE: Change = { commit() {}, abort() {} };

export function createLifecycle(services: readonly Service[], logger: Logger): Lifecycle {
  const started: Service[] = [];
  // Start, reload and stop never overlap: a SIGHUP during start waits for it.
  let tail: Promise<unknown> = Promise.resolve();
  const serial = <T>(f: () => Promise<T>): Promise<T> => {
    const run = tail.then(f, f);
    tail = run.catch(() => {});
    return run;
  };

  async function stopStarted(): Promise<void> {
    while (started.length > 0) {
      const service = started.pop() as Service;
      try {
        await service.stop();
      } catch (err) {
        // One service failing to stop must not leave the ones before it running.
        logger.error({ service: service.name, err: (err as Error).message }, 'service failed to stop');
      }
    }
  }

  return {
    start: () =>
      serial(async () => {
        for (const service of services) {
          try {
            await service.start();
          } catch (err) {
            // A service that fails its own start has released what it took; the others stop here.
            await stopStarted();
            throw err;
          }
          started.push(service);
        }
      }),

    reload: (config) =>
      serial(async () => {
        const prepared: Array<{ service: Service; change: Change }> = [];
        try {
          for (const service of started) {
            const change = (await service.prepare?.(config)) ?? null;
            if (change !== null) prepared.push({ service, change });
          }
        } catch (err) {
          for (const { service, change } of prepared.reverse()) {
            try {
              await change.abort();
            } catch (abortErr) {
              logger.error(
                { service: service.name, err: (abortErr as Error).message },
                'service failed to abort a reload',
              );
            }
          }
          throw err;
        }
        for (const { service, change } of prepared) {
          try {
            await change.commit();
          } catch (err) {
            // A commit only swaps what prepare built: failing here is a bug. The rest still commit, so
            // that the services do not end up on two different configs.
            logger.error({ service: service.name, err }, 'service failed to commit a reload');
          }
        }
      }),

    stop: () => serial(stopStarted),
  };
}
