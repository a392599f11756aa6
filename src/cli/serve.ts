import { parseArgs } from 'node:util';
import { type App, createApp } from '../app.js';
import { loadConfig } from '../config/load.js';
import type { RojeConfig } from '../config/schema.js';
import { isRojeError } from '../errors.js';
import { createLogger } from '../log.js';
import { VERSION } from '../version.js';
import type { Io } from './index.js';

const OPTIONS = {
  config: { type: 'string' },
  listen: { type: 'string', multiple: true },
  upstream: { type: 'string', multiple: true },
  list: { type: 'string', multiple: true },
  compiled: { type: 'string' },
  admin: { type: 'string' },
  blockpage: { type: 'string', multiple: true },
} as const;

/** `roje serve`: runs until SIGTERM/SIGINT; SIGHUP reloads the config. Resolves with the exit code. */
export async function serve(argv: readonly string[], io: Io): Promise<number> {
  let values: {
    config?: string;
    listen?: string[];
    upstream?: string[];
    list?: string[];
    compiled?: string;
    admin?: string;
    blockpage?: string[];
  };
  try {
    ({ values } = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (err) {
    io.stderr.write(`roje serve: ${(err as Error).message}\nRun "roje help" for usage.\n`);
    return 2;
  }
  const load = () =>
    loadConfig({
      file: values.config,
      flags: {
        listen: values.listen,
        upstreams: values.upstream,
        lists: values.list,
        compiled: values.compiled,
        admin: values.admin,
        blockpage: values.blockpage,
      },
    });

  let config: RojeConfig;
  try {
    config = await load();
  } catch (err) {
    if (!isRojeError(err)) throw err;
    io.stderr.write(`roje: ${err.message}\n`);
    return 2;
  }

  const logger = createLogger(config.log.level);
  const app: App = createApp(config, { logger });
  try {
    await app.start();
  } catch (err) {
    logger.fatal({ err }, 'cannot start');
    io.stderr.write(`roje: ${(err as Error).message}\n`);
    return 1;
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    let reloading = Promise.resolve();

    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'stopping: finishing in-flight queries');
      void reloading
        .then(() => app.stop())
        .then(
          () => 0,
          (err: unknown) => {
            logger.error({ err }, 'error while stopping');
            return 1;
          },
        )
        .then((code) => {
          process.off('SIGTERM', stop).off('SIGINT', stop).off('SIGHUP', reload);
          logger.info('stopped');
          resolve(code);
        });
    };

    // A bad new config keeps the running one: reloading must never open or break the filter.
    const reload = () => {
      reloading = reloading.then(async () => {
        if (stopping) return;
        try {
          // Audited either way (admin/reload-audit.ts): a config that cannot be read here, or a
          // reload the services refuse in app.reload.
          const next = await load().catch((err: unknown) => {
            app.reloadRefused(err, 'signal');
            throw err;
          });
          await app.reload(next, 'signal');
          // Only once the reload took: a reload that fails to bind keeps the running log level too.
          logger.level = next.log.level;
        } catch (err) {
          logger.error(
            { err: isRojeError(err) ? err.message : err },
            'reload failed; keeping the running config',
          );
        }
      });
    };

    process.on('SIGTERM', stop).on('SIGINT', stop).on('SIGHUP', reload);
    // Only now: whoever waits for this line (systemd, a supervisor, a test) may signal at once, and
    // a SIGHUP before its handler exists would kill the process.
    logger.info(
      {
        version: VERSION,
        config: config.source ?? 'embedded default',
        listen: app.describeListeners(),
        admin: app.opsAddresses().admin,
        upstreams: config.upstreams.map((u) => u.url),
        allow: config.acl.allow,
        lists: readyLists(app),
      },
      `roje ${VERSION} ready`,
    );
  });
}

/** The lists part of the ready line: what is filtered, at a glance. */
function readyLists(app: App) {
  const status = app.listsStatus();
  if (status === null) return null;
  return {
    from: status.from,
    sources: status.sourceNames,
    categories: status.categories,
    entries: status.entries,
    version: status.version.slice(0, 16),
  };
}
