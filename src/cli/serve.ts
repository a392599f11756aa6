import { parseArgs } from 'node:util';
import type { ReloadCause } from '../admin/reload-audit.js';
import { type App, createApp } from '../app.js';
import { loadConfig } from '../config/load.js';
import type { RojeConfig } from '../config/schema.js';
import { isRojeError } from '../errors.js';
import { createLogger } from '../log.js';
import { VERSION } from '../version.js';
import { startDone } from '../young-generation.js';
import type { Io } from './index.js';
import { type ConfigWatcher, watchConfigFile } from './watch-config.js';

const OPTIONS = {
  config: { type: 'string' },
  listen: { type: 'string', multiple: true },
  upstream: { type: 'string', multiple: true },
  list: { type: 'string', multiple: true },
  compiled: { type: 'string' },
  admin: { type: 'string' },
  blockpage: { type: 'string', multiple: true },
  'watch-config': { type: 'boolean' },
} as const;

/**
 * `roje serve`: runs until SIGTERM/SIGINT; SIGHUP (or, with --watch-config, a change to the config
 * file) reloads the config. Resolves with the exit code.
 */
export async function serve(argv: readonly string[], io: Io): Promise<number> {
  let values: {
    config?: string;
    listen?: string[];
    upstream?: string[];
    list?: string[];
    compiled?: string;
    admin?: string;
    blockpage?: string[];
    'watch-config'?: boolean;
  };
  try {
    ({ values } = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (err) {
    io.stderr.write(`roje serve: ${(err as Error).message}\nRun "roje help" for usage.\n`);
    return 2;
  }
  if (values['watch-config'] === true && values.config === undefined) {
    io.stderr.write(
      'roje serve: --watch-config needs --config FILE (the file to watch)\nRun "roje help" for usage.\n',
    );
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
  } finally {
    startDone();
  }

  let stopping = false;
  let reloading = Promise.resolve();
  // A bad new config keeps the running one: reloading must never open or break the filter. Reloads
  // run one at a time, in the order asked for.
  const reload = (who: ReloadCause) => {
    reloading = reloading.then(async () => {
      if (stopping) return;
      try {
        // Audited either way (admin/reload-audit.ts): a config that cannot be read here, or a
        // reload the services refuse in app.reload.
        const next = await load().catch((err: unknown) => {
          app.reloadRefused(err, who);
          throw err;
        });
        await app.reload(next, who);
        // Only once the reload took: a reload that fails to bind keeps the running log level too.
        logger.level = next.log.level;
      } catch (err) {
        logger.error(
          { who, err: isRojeError(err) ? err.message : err },
          'reload failed; keeping the running config',
        );
      }
    });
  };
  const onSignal = () => reload('signal');

  // Before the ready line, like the signal handlers: whoever waits for it may edit the file at once.
  let watcher: ConfigWatcher | null = null;
  if (values['watch-config'] === true && config.source !== null) {
    const file = config.source;
    try {
      watcher = await watchConfigFile(file, () => reload('file'), {
        onError: (err) => logger.error({ err, file }, 'config file watch stopped; SIGHUP still reloads'),
      });
    } catch (err) {
      // Asked for and not available (e.g. the inotify watch limit): say so rather than serve without.
      logger.fatal({ err, file }, 'cannot watch the config file');
      io.stderr.write(`roje: --watch-config: cannot watch ${file}: ${(err as Error).message}\n`);
      await app.stop();
      return 1;
    }
  }

  return new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'stopping: finishing in-flight queries');
      watcher?.close();
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
          process.off('SIGTERM', stop).off('SIGINT', stop).off('SIGHUP', onSignal);
          logger.info('stopped');
          resolve(code);
        });
    };

    process.on('SIGTERM', stop).on('SIGINT', stop).on('SIGHUP', onSignal);
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
        ...(watcher === null ? {} : { watchConfig: true }),
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
