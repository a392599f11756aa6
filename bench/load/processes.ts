/**
 * Child processes of a load run (upstream, servers under test, dnsperf), tracked in one group so that every
 * one of them is stopped at the end, on error and on SIGINT: a forgotten unbound would keep a port and a core.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Managed {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** The last few KB of stderr (and stdout when not redirected), for error messages. */
  output(): string;
  stop(): Promise<void>;
}

export interface SpawnOptions {
  /** CPU list for taskset (e.g. "0"); undefined runs unpinned. */
  cpu?: string | undefined;
  /** File descriptor to receive stdout; by default stdout is kept in the tail buffer. */
  stdoutFd?: number;
  cwd?: string;
}

export interface ProcessGroup {
  spawn(name: string, command: string, args: readonly string[], options?: SpawnOptions): Managed;
  stopAll(): Promise<void>;
  /** stopAll, and every later spawn throws: for SIGINT, so a run cannot start new work while unwinding. */
  abort(): Promise<void>;
  /** Last resort for process 'exit': synchronous, so it can only send SIGKILL. */
  killAllNow(): void;
}

const TAIL_BYTES = 4096;
const STOP_GRACE_MS = 3000;

export function createProcessGroup(): ProcessGroup {
  const live = new Set<Managed>();
  let aborted = false;

  function spawnManaged(
    name: string,
    command: string,
    args: readonly string[],
    options: SpawnOptions = {},
  ): Managed {
    if (aborted) throw new Error(`not starting ${name}: the run was aborted`);
    const [file, argv] =
      options.cpu === undefined ? [command, [...args]] : ['taskset', ['-c', options.cpu, command, ...args]];
    const child = spawn(file, argv, {
      cwd: options.cwd,
      stdio: ['ignore', options.stdoutFd ?? 'pipe', 'pipe'],
    });
    let tail = '';
    const keep = (chunk: Buffer): void => {
      tail = (tail + chunk.toString('utf8')).slice(-TAIL_BYTES);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const exited = new Promise<number | null>((resolve) => {
      child.once('error', (err) => {
        keep(Buffer.from(`\n${name}: ${err.message}\n`));
        resolve(-1);
      });
      child.once('exit', (code) => resolve(code));
    });
    const managed: Managed = {
      name,
      child,
      exited,
      output: () => tail,
      stop: async () => {
        if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
          await exited;
          clearTimeout(timer);
        }
        live.delete(managed);
      },
    };
    live.add(managed);
    void exited.then(() => live.delete(managed));
    return managed;
  }

  return {
    spawn: spawnManaged,
    stopAll: async () => {
      await Promise.all([...live].map((m) => m.stop()));
    },
    abort: async () => {
      aborted = true;
      await Promise.all([...live].map((m) => m.stop()));
    },
    killAllNow: () => {
      for (const m of live) m.child.kill('SIGKILL');
    },
  };
}

/**
 * A port free for both UDP and TCP on `host` (the servers under test open both). The port is released before
 * use, so a race with another program is possible but harmless: the server then fails to start, loudly.
 */
export async function findFreePort(host: string): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const socket = dgram.createSocket('udp4');
      socket.once('error', reject);
      socket.bind(0, host, () => {
        const chosen = socket.address().port;
        socket.close(() => resolve(chosen));
      });
    });
    const tcpFree = await new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(port, host, () => server.close(() => resolve(true)));
    });
    if (tcpFree) return port;
  }
  throw new Error(`no free UDP+TCP port on ${host} after 20 attempts`);
}

/** A minimal A query for `name`, with `id`; enough to see whether a server answers. */
export function buildProbeQuery(id: number, name: string): Buffer {
  const labels = name.split('.').filter((l) => l.length > 0);
  const size = 12 + labels.reduce((n, l) => n + l.length + 1, 0) + 1 + 4;
  const q = Buffer.alloc(size);
  q.writeUInt16BE(id, 0);
  q.writeUInt16BE(0x0100, 2); // RD
  q.writeUInt16BE(1, 4);
  let at = 12;
  for (const label of labels) {
    q[at++] = label.length;
    at += q.write(label, at, 'ascii');
  }
  q[at++] = 0;
  q.writeUInt16BE(1, at); // A
  q.writeUInt16BE(1, at + 2); // IN
  return q;
}

export interface ProbeOptions {
  /** The name asked (default probe.bench.example): a listed name gets a local answer, never an upstream's. */
  name?: string;
  /** Time between probes (default 100 ms); shorter when the time to the first answer is what is measured. */
  intervalMs?: number;
}

/**
 * Resolves once `host:port` answers a UDP query with the matching ID; rejects after `timeoutMs`, or at once
 * when `exited` settles first (the server died at startup, so waiting longer only hides its message).
 */
export async function waitForDns(
  host: string,
  port: number,
  timeoutMs: number,
  exited?: Promise<unknown>,
  probe: ProbeOptions = {},
): Promise<void> {
  const socket = dgram.createSocket('udp4');
  const id = Math.floor(Math.random() * 0xffff);
  const query = buildProbeQuery(id, probe.name ?? 'probe.bench.example');
  let timer: NodeJS.Timeout | undefined;
  let retry: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      socket.on('message', (msg) => {
        if (msg.length >= 12 && msg.readUInt16BE(0) === id && (msg[2]! & 0x80) !== 0) resolve();
      });
      socket.on('error', () => {
        // ICMP port unreachable while the server is still starting: keep probing.
      });
      const send = (): void => socket.send(query, port, host);
      send();
      retry = setInterval(send, probe.intervalMs ?? 100);
      timer = setTimeout(
        () => reject(new Error(`${host}:${port} did not answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      void exited?.then(() => reject(new Error(`the server on ${host}:${port} exited during startup`)));
    });
  } finally {
    clearTimeout(timer);
    clearInterval(retry);
    socket.close();
  }
}

/** Resident memory of a live process in bytes (VmRSS from /proc), or undefined when it cannot be read. */
export async function residentBytes(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
    return match === null ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

/** The pids of `pid` and every process below it (roje's worker processes), from /proc's children lists. */
export async function processTree(pid: number): Promise<number[]> {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    let tasks: string[] = [];
    try {
      tasks = await readdir(`/proc/${out[i]}/task`);
    } catch {
      continue;
    }
    for (const task of tasks) {
      const children = await readFile(`/proc/${out[i]}/task/${task}/children`, 'utf8').catch(() => '');
      for (const child of children.split(' ')) if (child.trim() !== '') out.push(Number(child));
    }
  }
  return out;
}

/**
 * VmRSS (now) or VmHWM (its peak) summed over a process and its descendants, in bytes; undefined when the
 * process is gone. The sum of peaks is an upper bound: the processes need not have peaked together.
 */
export async function treeMemoryBytes(
  pid: number | undefined,
  field: 'VmRSS' | 'VmHWM',
): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  let total: number | undefined;
  for (const p of await processTree(pid)) {
    const status = await readFile(`/proc/${p}/status`, 'utf8').catch(() => '');
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (match !== null) total = (total ?? 0) + Number(match[1]) * 1024;
  }
  return total;
}

/** roje's entry point in the build output: dist/main.js, or dist/src/main.js when the build keeps `src/`. */
export function defaultRojeEntry(repo: string): string {
  const flat = path.join(repo, 'dist/main.js');
  const nested = path.join(repo, 'dist/src/main.js');
  return existsSync(flat) || !existsSync(nested) ? flat : nested;
}

/** Arguments of `node <entry> serve` on one loopback port, forwarding to one loopback upstream port. */
export function rojeServeArgs(
  entry: string,
  host: string,
  port: number,
  upstreamPort: number,
  config: string,
  extra: readonly string[] = [],
): string[] {
  return [
    entry,
    'serve',
    '--listen',
    `${host}:${port}`,
    '--upstream',
    `udp://${host}:${upstreamPort}`,
    '--config',
    config,
    ...extra,
  ];
}

/**
 * The process group of a whole benchmark run: every child is killed when this process exits, and
 * SIGINT/SIGTERM abort the run (the running dnsperf fails, so the run unwinds through its finally
 * blocks and removes its temp dir; the timer is the fallback should something hang).
 */
export function createRunGroup(log: (message: string) => void): ProcessGroup {
  const group = createProcessGroup();
  process.once('exit', () => group.killAllNow());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping every process of this run`);
      process.exitCode = 130;
      void group.abort();
      setTimeout(() => process.exit(130), 10_000).unref();
    });
  }
  return group;
}

/** Runs `main` when the module at `entry` (its import.meta.url) is the script node was started with. */
export function runIfMain(entry: string, main: () => Promise<void>, log: (message: string) => void): void {
  if (process.argv[1] === undefined || path.resolve(process.argv[1]) !== fileURLToPath(entry)) return;
  main().catch((err: unknown) => {
    log(err instanceof Error ? err.message : String(err));
    if (process.exitCode === undefined || process.exitCode === 0) process.exitCode = 1;
  });
}
