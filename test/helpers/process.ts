/**
 * Runs the real roje binary (dist/main.js, built by `npm run build`) as a child process for
 * process-level tests: exit codes, stderr messages, signals, JSON logs. Every process started here is
 * SIGKILLed in the test's teardown (and, failing that, when the test process exits), so a failing
 * test cannot leave a resolver running.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseResolvConf } from '../../src/config/resolv-conf.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const ROJE_BIN = join(ROOT, 'dist', 'main.js');

/** One pino log line from roje's stdout. */
export interface LogLine {
  level?: string;
  msg?: string;
  [key: string]: unknown;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RojeProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Every stdout line so far: parsed JSON objects, or the raw text of lines that are not JSON. */
  readonly lines: Array<LogLine | string>;
  /** The JSON log lines so far. */
  logs(): LogLine[];
  stdout(): string;
  stderr(): string;
  /**
   * The first log line (already seen or still to come) that matches. Rejects after timeoutMs, or as
   * soon as the process exits without printing one, with the output so far in the message.
   */
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Waits for the "roje X ready" line and parses its listen addresses ("udp+tcp HOST:PORT"). */
  ready(timeoutMs?: number): Promise<{ line: LogLine; addresses: Array<{ host: string; port: number }> }>;
  /** Settles when the process has exited (never rejects). */
  readonly exit: Promise<ExitStatus>;
  /** Resolves with the exit status, or rejects if the process is still running after timeoutMs. */
  waitForExit(timeoutMs?: number): Promise<ExitStatus>;
  kill(signal?: NodeJS.Signals): boolean;
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** A tap test (or anything with teardown()): the process is killed when it ends. */
  t?: { teardown(fn: () => unknown): void };
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * Why the binary cannot be tested, or null when it can: dist/main.js missing, or older than a
 * source file (the tests would exercise yesterday's code). `npm test` builds first.
 */
export function binaryProblem(): string | null {
  if (!existsSync(ROJE_BIN)) return `${ROJE_BIN} is missing: run "npm run build" first`;
  const built = statSync(ROJE_BIN).mtimeMs;
  const newer = newestSource(join(ROOT, 'src'));
  if (newer !== null && newer.mtimeMs > built)
    return `dist/ is older than ${newer.path}: run "npm run build" first`;
  return null;
}

function newestSource(dir: string): { path: string; mtimeMs: number } | null {
  let newest: { path: string; mtimeMs: number } | null = null;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const found = entry.isDirectory()
      ? newestSource(path)
      : entry.name.endsWith('.ts')
        ? { path, mtimeMs: statSync(path).mtimeMs }
        : null;
    if (found !== null && (newest === null || found.mtimeMs > newest.mtimeMs)) newest = found;
  }
  return newest;
}

export function spawnRoje(args: readonly string[], options: SpawnOptions = {}): RojeProcess {
  // Through env(1): tap's process-info hook rewrites NODE_OPTIONS on every spawn to load its module
  // loader into the child, which more than doubles roje's start-up. env execs node, so the pid, the
  // signals and the exit status are roje's own. The price: no coverage from these processes.
  // `serve` binds the admin API on 127.0.0.1:8053 by default (config files here do not set it), which
  // would clash between tests: an ephemeral port unless the test names one.
  const withAdmin =
    args[0] === 'serve' && !args.includes('--admin')
      ? ['serve', '--admin', '127.0.0.1:0', ...args.slice(1)]
      : args;
  const child = spawn('env', ['-u', 'NODE_OPTIONS', process.execPath, ROJE_BIN, ...withAdmin], {
    cwd: options.cwd ?? ROOT,
    env: options.env ?? plainEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const lines: Array<LogLine | string> = [];
  let out = '';
  let err = '';
  let partial = '';
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const w of [...waiters]) w();
  };

  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    out += chunk;
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const text of parts) if (text !== '') lines.push(parseLine(text));
    notify();
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    err += chunk;
  });

  let exited: ExitStatus | null = null;
  // 'close' rather than 'exit': by then stdout and stderr have been read to the end.
  const exit = new Promise<ExitStatus>((resolve) => {
    child.on('close', (code, signal) => {
      if (partial !== '') lines.push(parseLine(partial));
      partial = '';
      live.delete(child);
      exited = { code, signal };
      resolve(exited);
      notify();
    });
  });

  const describe = () => `\n--- stdout ---\n${out}\n--- stderr ---\n${err}`;
  const logs = () => lines.filter((l): l is LogLine => typeof l !== 'string');

  const proc: RojeProcess = {
    child,
    pid: child.pid ?? -1,
    lines,
    logs,
    stdout: () => out,
    stderr: () => err,
    exit,
    // Generous: a start on a loaded CI machine (chromium and dnsperf in other tests) can take seconds.
    waitForLog(predicate, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = logs().find(predicate);
          if (found !== undefined) finish(() => resolve(found));
          else if (exited !== null)
            finish(() => reject(new Error(`roje exited (${JSON.stringify(exited)}) first${describe()}`)));
        };
        const timer = setTimeout(
          () => finish(() => reject(new Error(`no matching log line within ${timeoutMs} ms${describe()}`))),
          timeoutMs,
        );
        const finish = (settle: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        waiters.add(check);
        check();
      });
    },
    async ready(timeoutMs = 20_000) {
      const line = await proc.waitForLog((l) => /^roje \S+ ready$/.test(l.msg ?? ''), timeoutMs);
      const listen = Array.isArray(line.listen) ? (line.listen as unknown[]) : [];
      const addresses = listen.map((entry) => {
        const m = /^udp\+tcp (?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(String(entry));
        if (m === null) throw new Error(`ready line: cannot parse listen entry ${JSON.stringify(entry)}`);
        return { host: m[1] ?? m[2], port: Number(m[3]) };
      });
      return { line, addresses };
    },
    async waitForExit(timeoutMs = 10_000) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`roje still running after ${timeoutMs} ms${describe()}`)),
          timeoutMs,
        );
      });
      try {
        return await Promise.race([exit, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    kill: (signal = 'SIGTERM') => exited === null && child.kill(signal),
  };

  options.t?.teardown(async () => {
    if (exited === null) {
      child.kill('SIGKILL');
      await exit;
    }
  });
  return proc;
}

/** The environment without tap's variables: roje runs as an operator would run it. */
export function plainEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  for (const key of Object.keys(env)) if (key.startsWith('_TAPJS_')) delete env[key];
  return env;
}

function parseLine(text: string): LogLine | string {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as LogLine) : text;
  } catch {
    return text;
  }
}

/** Runs a command that ends by itself (version, check-config, a failing serve) and collects its output. */
export async function runRoje(
  args: readonly string[],
  options: SpawnOptions & { timeoutMs?: number } = {},
): Promise<ExitStatus & { stdout: string; stderr: string; logs: LogLine[] }> {
  const proc = spawnRoje(args, options);
  try {
    const status = await proc.waitForExit(options.timeoutMs ?? 10_000);
    return { ...status, stdout: proc.stdout(), stderr: proc.stderr(), logs: proc.logs() };
  } finally {
    proc.kill('SIGKILL');
  }
}

export interface DigResult {
  /** "NOERROR", "NXDOMAIN", "SERVFAIL"... */
  status: string;
  answers: Array<{ name: string; ttl: number; type: string; data: string }>;
  output: string;
}

/**
 * One query with dig (a real client, not ours). One try, no retries over TCP; rejects if dig fails
 * (e.g. "no servers could be reached").
 */
export function dig(
  server: { host: string; port: number },
  name: string,
  type = 'A',
  options: { tcp?: boolean; timeoutS?: number } = {},
): Promise<DigResult> {
  const args = [
    `@${server.host}`,
    '-p',
    String(server.port),
    name,
    type,
    '+tries=1',
    `+timeout=${options.timeoutS ?? 3}`,
    '+noall',
    '+comments',
    '+answer',
    options.tcp ? '+tcp' : '+notcp',
  ];
  return new Promise((resolve, reject) => {
    execFile('dig', args, { timeout: ((options.timeoutS ?? 3) + 5) * 1000 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`dig ${args.join(' ')} failed: ${error.message}\n${stdout}${stderr}`));
        return;
      }
      const status = /status: ([A-Z]+)/.exec(stdout)?.[1];
      if (status === undefined) {
        reject(new Error(`dig ${args.join(' ')}: no status in\n${stdout}${stderr}`));
        return;
      }
      const answers = stdout
        .split('\n')
        .filter((line) => line.trim() !== '' && !line.startsWith(';'))
        .map((line) => {
          const [owner, ttl, , rrtype, ...data] = line.trim().split(/\s+/);
          return { name: owner, ttl: Number(ttl), type: rrtype, data: data.join(' ') };
        });
      resolve({ status, answers, output: stdout });
    });
  });
}

/**
 * Maps with at most `limit` calls in flight: each roje process costs most of a CPU-second to start,
 * and starting many at once only makes them all slow.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Polls `check` every 10 ms until it returns true; rejects after timeoutMs (a hang guard, not a timing assertion). */
export async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * The keys that occur more than once at the top level of a JSON object text. JSON.parse keeps the last
 * one silently, but log shippers differ: a log line must not depend on that.
 */
export function repeatedKeys(text: string): string[] {
  const seen = new Set<string>();
  const repeated: string[] = [];
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    else if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const token = text.slice(i, j + 1);
      if (depth === 1 && text[j + 1] === ':') {
        const key = JSON.parse(token) as string;
        if (seen.has(key)) repeated.push(key);
        seen.add(key);
      }
      i = j;
    }
  }
  return repeated;
}

/** The machine's own nameservers: tests only check they are named, never send them anything. */
export function hostNameservers(): string[] {
  try {
    return parseResolvConf(readFileSync('/etc/resolv.conf', 'utf8'));
  } catch {
    return [];
  }
}
