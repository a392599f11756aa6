/**
 * What a load figure depends on besides the code: the machine, the tool versions, and whether anything else
 * was using the two cores at the time (a shared VM or a parallel test run skews every number here).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const REQUIRED_TOOLS = ['dnsperf', 'unbound', 'unbound-control', 'unbound-checkconf', 'taskset', 'xz'];

export interface Machine {
  cpu: string;
  cpus: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  unbound: string;
  dnsperf: string;
}

async function versionLine(command: string, args: string[]): Promise<string> {
  const { stdout, stderr } = await execFileAsync(command, args);
  return (
    `${stdout}\n${stderr}`
      .split('\n')
      .map((l) => l.trim())
      .find((l) => /version/i.test(l)) ?? 'version unknown'
  );
}

/** Fails with the package to install when a tool is missing, before anything is started. */
export async function describeMachine(): Promise<Machine> {
  for (const tool of REQUIRED_TOOLS) {
    try {
      await execFileAsync('sh', ['-c', `command -v ${tool}`]);
    } catch {
      throw new Error(
        `${tool} is needed for the load benchmark and is not on PATH (Debian packages: dnsperf, unbound, util-linux, xz-utils)`,
      );
    }
  }
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cpus: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    unbound: (await versionLine('unbound', ['-V'])).replace(/^Version/i, 'unbound'),
    dnsperf: (await versionLine('dnsperf', ['-h'])).replace(/^Version/i, 'dnsperf'),
  };
}

async function cpuTimes(): Promise<{ busy: number; total: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n', 1)[0]!;
  // cpu user nice system idle iowait irq softirq steal ...: idle and iowait are the not-busy part.
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

/** Share (0..1) of all CPUs busy over `ms`; undefined where /proc/stat is not readable. */
export async function cpuBusyShare(ms: number): Promise<number | undefined> {
  try {
    const a = await cpuTimes();
    await new Promise((resolve) => setTimeout(resolve, ms));
    const b = await cpuTimes();
    return b.total === a.total ? 0 : (b.busy - a.busy) / (b.total - a.total);
  } catch {
    return undefined;
  }
}

/** Share of busy CPU above which a round's figures are flagged as low and noisy. */
export const BUSY_WARNING = 0.1;

/**
 * Samples the CPUs for 0.5 s before a round; when they are busy, records the share for `server` in
 * `disturbed` (the report flags its rows) and logs a warning.
 */
export async function noteBusyMachine<K>(
  server: K,
  disturbed: Map<K, number>,
  log: (line: string) => void,
): Promise<void> {
  const busy = await cpuBusyShare(500);
  if (busy === undefined || busy <= BUSY_WARNING) return;
  disturbed.set(server, Math.max(busy, disturbed.get(server) ?? 0));
  log(`${server}: machine ${Math.round(busy * 100)} % busy before the run; figures will be low and noisy`);
}
