/**
 * A real PostgreSQL for tests: Debian's `postgresql` server binaries (initdb, pg_ctl), a cluster made
 * in a temporary directory and listening on 127.0.0.1 only, on a free port, with its socket in that
 * directory. PostgreSQL refuses to run as root, so as root it runs as the `postgres` user (the package
 * makes it); as anyone else it runs as that user. Nothing is left behind: stop() removes the directory.
 *
 *   const pg = await startPostgres();      // pg.url: postgres://roje:PASSWORD@127.0.0.1:PORT/roje
 *   await pg.stopServer(); ...; await pg.startServer();   // an outage, the same data afterwards
 *   await pg.stop();
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestPostgres {
  /** postgres://roje:PASSWORD@127.0.0.1:PORT/roje: a login role owning its own database. */
  url: string;
  port: number;
  password: string;
  /** The cluster's directory (data in ./data, the socket in ./run). */
  dir: string;
  /** Runs SQL as the superuser in the `roje` database, returns psql's unaligned output. */
  psql(sql: string, database?: string): Promise<string>;
  /** Stops the server (fast shutdown), keeping the data: connections fail until startServer(). */
  stopServer(): Promise<void>;
  startServer(): Promise<void>;
  /** Stops the server and removes the directory. Never throws. */
  stop(): Promise<void>;
}

/** The newest installed server's bin directory, or null: the `postgresql` package is missing. */
export function postgresBinDir(): string | null {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return null;
  const versions = readdirSync(base)
    .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length === 0 ? null : join(base, versions[0] as string, 'bin');
}

/** Why PostgreSQL tests cannot run here, or null when they can (for `t.skip`-free failure messages). */
export function postgresProblem(): string | null {
  if (postgresBinDir() === null) {
    return 'PostgreSQL server binaries missing: apt-get install postgresql (test/setup/preflight.sh does)';
  }
  return null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** The uid/gid to run the server as: root may not run it; anyone else runs it as themselves. */
function serverUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  // /etc/passwd is where Debian's package records the user.
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === 'postgres') return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  throw new Error('running as root, but there is no postgres user: apt-get install postgresql');
}

async function asServerUser(
  user: { uid: number; gid: number } | null,
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<string> {
  const { stdout } = await run(file, args, {
    env: { PATH: process.env.PATH, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', ...env },
    ...(user === null ? {} : { uid: user.uid, gid: user.gid }),
    timeout: 60_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

export async function startPostgres(): Promise<TestPostgres> {
  const bin = postgresBinDir();
  if (bin === null) throw new Error(postgresProblem() as string);
  const user = serverUser();
  const dir = mkdtempSync(join(tmpdir(), 'roje-pg-'));
  const data = join(dir, 'data');
  const sock = join(dir, 'run');
  mkdirSync(sock);
  if (user !== null) {
    chownSync(dir, user.uid, user.gid);
    chownSync(sock, user.uid, user.gid);
  }
  chmodSync(dir, 0o700);
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const pwfile = join(dir, 'superuser-password');
  writeFileSync(pwfile, `${randomBytes(12).toString('hex')}\n`, { mode: 0o600 });
  if (user !== null) chownSync(pwfile, user.uid, user.gid);

  await asServerUser(user, join(bin, 'initdb'), [
    '-D',
    data,
    '-U',
    'postgres',
    '--auth-local=trust',
    '--auth-host=scram-sha-256',
    `--pwfile=${pwfile}`,
    '-E',
    'UTF8',
    '--no-sync',
  ]);
  // Loopback only, this port, the socket in our directory; fsync off: a test cluster, not a store.
  writeFileSync(
    join(data, 'postgresql.auto.conf'),
    [
      "listen_addresses = '127.0.0.1'",
      `port = ${port}`,
      `unix_socket_directories = '${sock}'`,
      'fsync = off',
      'synchronous_commit = off',
      'full_page_writes = off',
      'max_connections = 100',
      "log_min_messages = 'warning'",
      '',
    ].join('\n'),
  );
  if (user !== null) chownSync(join(data, 'postgresql.auto.conf'), user.uid, user.gid);

  const pgCtl = join(bin, 'pg_ctl');
  const logFile = join(dir, 'server.log');
  const startServer = async (): Promise<void> => {
    await asServerUser(user, pgCtl, ['-D', data, '-l', logFile, '-w', '-t', '60', 'start']);
  };
  const stopServer = async (): Promise<void> => {
    await asServerUser(user, pgCtl, ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']);
  };
  const psql = (sql: string, database = 'roje'): Promise<string> =>
    asServerUser(user, join(bin, 'psql'), [
      '-h',
      sock,
      '-p',
      String(port),
      '-U',
      'postgres',
      '-d',
      database,
      '-v',
      'ON_ERROR_STOP=1',
      '-qAt',
      '-c',
      sql,
    ]);

  await startServer();
  await psql(`CREATE ROLE roje LOGIN PASSWORD '${password}'`, 'postgres');
  await psql('CREATE DATABASE roje OWNER roje', 'postgres');

  return {
    url: `postgres://roje:${password}@127.0.0.1:${port}/roje`,
    port,
    password,
    dir,
    psql,
    stopServer,
    startServer,
    async stop() {
      try {
        await stopServer();
      } catch {
        // already stopped, or never started
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
