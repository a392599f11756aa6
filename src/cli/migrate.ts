/**
 * `roje migrate --config FILE`: brings the statistics store's schema to this roje's version and says
 * from which to which: the shared PostgreSQL (store.url) under the migration lock, so that it is safe
 * while instances start, or the SQLite file (stats.path). roje serve migrates at start too; this is for
 * a deployment that migrates first (a Kubernetes Job before the rollout). Exit 0 done, 2 bad usage or
 * config, 1 the store could not be migrated.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import { redactUrl } from '../config/redact.js';
import { isRojeError } from '../errors.js';
import { openStatsDatabase } from '../stats/db.js';
import { migratePostgres } from '../store/postgres-schema.js';
import { createPostgresPool } from '../store/sql-postgres.js';
import type { Io } from './index.js';

export const MIGRATE_USAGE = 'Usage: roje migrate --config FILE';

async function migrateShared(url: string): Promise<{ from: number; to: number }> {
  const pool = createPostgresPool({ url, poolSize: 1 });
  try {
    return await migratePostgres(pool);
  } finally {
    await pool.end().catch(() => undefined);
  }
}

function migrateFile(path: string): { from: number; to: number } {
  let result = { from: 0, to: 0 };
  const db = openStatsDatabase(path, (from, to) => {
    result = { from, to };
  });
  db.close();
  return result;
}

export async function migrate(argv: readonly string[], io: Io): Promise<number> {
  let config: string;
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: { config: { type: 'string' } },
      strict: true,
      allowPositionals: false,
    });
    if (values.config === undefined) throw new Error('--config FILE is missing');
    config = values.config;
  } catch (err) {
    io.stderr.write(`roje migrate: ${(err as Error).message}\n${MIGRATE_USAGE}\n`);
    return 2;
  }
  try {
    const cfg = await loadConfig({ file: config });
    const url = cfg.store.url;
    if (url === null && cfg.stats.path === ':memory:') {
      io.stderr.write(
        `roje migrate: ${config} keeps no statistics file (stats.path or stateDir): nothing to migrate\n`,
      );
      return 2;
    }
    const where = url !== null ? redactUrl(url) : cfg.stats.path;
    const { from, to } = url !== null ? await migrateShared(url) : migrateFile(cfg.stats.path);
    io.stdout.write(
      from === to
        ? `${where}: schema version ${to}, already current\n`
        : `${where}: schema migrated from version ${from} to ${to}\n`,
    );
    return 0;
  } catch (err) {
    if (!isRojeError(err)) throw err;
    io.stderr.write(`roje migrate: ${err.message}\n`);
    return err.code.startsWith('ROJE_ERR_CONFIG') ? 2 : 1;
  }
}
