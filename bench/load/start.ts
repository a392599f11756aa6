/**
 * Start to first answer with a 1M-name list, roje against dnsmasq (and unbound with --servers), the starts
 * alternated round by round so that the machine's load falls on all of them alike. roje starts from the
 * plain list with an empty stateDir (so it compiles the list: issue #15's "a start that compiles a 1M-name
 * plain list answers before dnsmasq"); each server is pinned to one CPU and timed from its spawn to the
 * first NXDOMAIN for a listed name (probed every 10 ms), with the CPU time it had used by then.
 *
 *   node --import @tapjs/typescript/import bench/load/start.ts [--rounds 6] [--names 1000000]
 *     [--servers roje,dnsmasq,unbound] [--cpu 0] [--entry dist/main.js] [--code-cache DIR]
 *
 * --code-cache DIR: Node's compile cache (Node 22+) in DIR, kept across the rounds and warmed by one
 * start that is not counted: a restart after the list changed, on a machine that ran roje before. The
 * lists are compiled at every start all the same (stateDir is emptied). Node 20 has no compile cache.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { deriveNames, readAdultUnion, writeLines } from '../lists/names.js';
import { dnsmasqArgs, writeDnsmasqList } from './dnsmasq.js';
import { describeMachine } from './machine.js';
import {
  createRunGroup,
  defaultRojeEntry,
  findFreePort,
  type Managed,
  runIfMain,
  waitForDns,
} from './processes.js';
import { askRcode } from './swap.js';
import { writeBlocklistConfig } from './unbound.js';

const HOST = '127.0.0.1';
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const START_TIMEOUT_MS = 120_000;
const PROBE_INTERVAL_MS = 10;
/** Clock ticks per second of /proc's utime and stime (USER_HZ: 100 on every Linux build this runs on). */
const TICKS_PER_SECOND = 100;

type Server = 'roje' | 'dnsmasq' | 'unbound';
const SERVERS: readonly Server[] = ['roje', 'dnsmasq', 'unbound'];

const log = (message: string): void => {
  process.stderr.write(`[start] ${message}\n`);
};

interface Sample {
  wallMs: number;
  cpuMs: number;
}

/** User + system CPU of a process so far, from /proc/PID/stat (fields 14 and 15). */
async function cpuMs(pid: number | undefined): Promise<number> {
  if (pid === undefined) return Number.NaN;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

async function timeStart(name: string, spawnIt: () => Managed, port: number, probe: string): Promise<Sample> {
  const t0 = performance.now();
  const proc = spawnIt();
  try {
    await waitForDns(HOST, port, START_TIMEOUT_MS, proc.exited, {
      name: probe,
      intervalMs: PROBE_INTERVAL_MS,
    });
    const wallMs = performance.now() - t0;
    const cpu = await cpuMs(proc.child.pid);
    const rcode = await askRcode(port, probe);
    if (rcode !== 'NXDOMAIN') throw new Error(`${name} answered the listed ${probe} with ${rcode}`);
    return { wallMs, cpuMs: cpu };
  } catch (err) {
    throw new Error(`${name} did not start: ${(err as Error).message}\n${proc.output().trim()}`);
  } finally {
    await proc.stop();
  }
}

function rojeConfig(list: string, stateDir: string): string {
  return [
    'log:',
    '  level: warn',
    'rateLimit:',
    '  enabled: false',
    'policies:',
    '  default:',
    '    blockMode: nxdomain',
    'admin:',
    '  listen: 127.0.0.1:0',
    `stateDir: ${JSON.stringify(stateDir)}`,
    'lists:',
    `  - { category: adult, name: start, path: ${JSON.stringify(list)} }`,
    '',
  ].join('\n');
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '6' },
      names: { type: 'string', default: '1000000' },
      servers: { type: 'string', default: 'roje,dnsmasq' },
      cpu: { type: 'string', default: '0' },
      entry: { type: 'string' },
      'code-cache': { type: 'string' },
    },
  });
  const rounds = Number(values.rounds);
  const servers = values.servers.split(',') as Server[];
  for (const s of servers) if (!SERVERS.includes(s)) throw new Error(`unknown server ${s}`);
  const entry = values.entry ?? defaultRojeEntry(REPO);
  const dir = await mkdtemp(path.join(tmpdir(), 'roje-start-'));
  const group = createRunGroup(log);
  try {
    const names = deriveNames(await readAdultUnion(), Number(values.names));
    const probe = `www.${names[names.length >> 1]}`;
    const list = path.join(dir, 'names.txt');
    await writeLines(list, names, (n) => `${n}\n`);
    const dnsmasqList = servers.includes('dnsmasq') ? await writeDnsmasqList(dir, names) : '';
    const samples = new Map<Server, Sample[]>(servers.map((s) => [s, []]));
    const machine = await describeMachine();
    log(`${names.length} names, ${rounds} rounds, servers on CPU ${values.cpu}, ${machine.cpu}`);
    const codeCache = values['code-cache'];
    if (codeCache !== undefined) process.env.NODE_COMPILE_CACHE = path.resolve(codeCache);
    // Round 0 (roje only, not counted) warms the compile cache.
    for (let round = codeCache === undefined ? 1 : 0; round <= rounds; round++) {
      for (const server of servers) {
        if (round === 0 && server !== 'roje') continue;
        const port = await findFreePort(HOST);
        const cpu = values.cpu;
        let sample: Sample;
        if (server === 'roje') {
          const stateDir = path.join(dir, 'state');
          await rm(stateDir, { recursive: true, force: true });
          const config = path.join(dir, 'roje.yaml');
          await writeFile(config, rojeConfig(list, stateDir));
          const args = [entry, 'serve', '--listen', `${HOST}:${port}`, '--upstream', `udp://${HOST}:9`];
          sample = await timeStart(
            server,
            () => group.spawn('roje', process.execPath, [...args, '--config', config], { cpu, cwd: REPO }),
            port,
            probe,
          );
        } else if (server === 'dnsmasq') {
          sample = await timeStart(
            server,
            () => group.spawn('dnsmasq', 'dnsmasq', dnsmasqArgs(port, dnsmasqList), { cpu }),
            port,
            probe,
          );
        } else {
          const config = await writeBlocklistConfig(dir, { port, names });
          sample = await timeStart(
            server,
            () => group.spawn('unbound', 'unbound', ['-d', '-c', config], { cpu }),
            port,
            probe,
          );
        }
        if (round === 0) continue;
        samples.get(server)!.push(sample);
        log(`round ${round} ${server}: ${sample.wallMs.toFixed(0)} ms, CPU ${sample.cpuMs.toFixed(0)} ms`);
      }
    }
    const load = (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
    const rows = servers.map((s) => {
      const list = samples.get(s)!;
      const wall = list.map((x) => x.wallMs);
      return `| ${s} | ${wall.map((w) => w.toFixed(0)).join(' / ')} | **${median(wall).toFixed(0)}** | ${median(list.map((x) => x.cpuMs)).toFixed(0)} |`;
    });
    process.stdout.write(
      [
        `Start to first answer, ${names.length} names, ${new Date().toISOString()}, Node ${process.versions.node}${codeCache === undefined ? '' : ', compile cache warm'}, load average now ${load}`,
        '',
        '| server | first answer, each start (ms) | median | CPU by then, median (ms) |',
        '|---|--:|--:|--:|',
        ...rows,
        '',
      ].join('\n'),
    );
  } finally {
    await group.stopAll();
    await rm(dir, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, main, log);
