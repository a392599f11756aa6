/**
 * Bounded loopback load: dnsperf against roje, a caching unbound forwarder and a trivial Node UDP server, in
 * one run, with the same upstream, the same inputs and the same cores; and on listed names, roje against
 * dnsmasq with the same list (the blocked case, bench/load/blocked.ts). See bench/README.md "Load (dnsperf)".
 *
 *   node --import @tapjs/typescript/import bench/load/run.ts [--servers roje,unbound,trivial] [--seconds 10]
 *
 * Every address is 127.0.0.1; every dnsperf run is bounded by -l (<= 30 s); every process started here is
 * stopped at the end, on error and on SIGINT/SIGTERM.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runBlocked } from './blocked.js';
import { type DnsperfResult, runDnsperf } from './dnsperf.js';
import { describeMachine, type Machine, noteBusyMachine } from './machine.js';
import { intOption, listOption } from './options.js';
import {
  createRunGroup,
  findFreePort,
  type Managed,
  type ProcessGroup,
  rojeServeArgs,
  runIfMain,
  waitForDns,
} from './processes.js';
import {
  type CaseName,
  type CaseRow,
  computeRatios,
  renderRatiosTable,
  renderResultsTable,
  rowFrom,
  type ServerName,
} from './report.js';
import { checkConfig, queryCount, writeForwarderConfig, writeUpstreamConfig } from './unbound.js';
import { readTrancoNames, TRANCO_FILE, writeMissFile, writeQueryFile } from './workload.js';

const HOST = '127.0.0.1';
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const ALL_SERVERS: readonly ServerName[] = ['roje', 'unbound', 'trivial', 'dnsmasq'];
const ALL_CASES: readonly CaseName[] = ['hits', 'misses', 'blocked'];
const MAX_SECONDS = 30;
const READY_TIMEOUT_MS = 20_000;
/** Miss names generated per second of -l: above what any server here answers on misses (~55k/s). */
const MISS_NAMES_PER_SECOND = 80_000;

export interface LoadOptions {
  servers: ServerName[];
  cases: CaseName[];
  seconds: number;
  clients: number;
  outstanding: number;
  hitNames: number;
  /** Throughput runs per server and case, alternating between servers; the median is reported. */
  rounds: number;
  /** Length and offered load of the rate-limited -v runs that give p50/p99. */
  latencySeconds: number;
  hitLatencyQps: number;
  missLatencyQps: number;
  serverCpu: string | undefined;
  loadCpu: string | undefined;
  rojeEntry: string;
  rojeConfig: string | undefined;
  outDir: string;
  /** List of the blocked case: 0 = the union of the shared adult lists, else that many derived names. */
  blockedNames: number;
}

export function parseLoadArgs(argv: readonly string[]): LoadOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      servers: { type: 'string', default: ALL_SERVERS.join(',') },
      cases: { type: 'string', default: ALL_CASES.join(',') },
      seconds: { type: 'string', default: '10' },
      clients: { type: 'string', default: '16' },
      outstanding: { type: 'string', default: '100' },
      'hit-names': { type: 'string', default: '1000' },
      rounds: { type: 'string', default: '3' },
      'latency-seconds': { type: 'string', default: '5' },
      'hit-latency-qps': { type: 'string', default: '20000' },
      'miss-latency-qps': { type: 'string', default: '10000' },
      'server-cpu': { type: 'string', default: '0' },
      'load-cpu': { type: 'string', default: '1' },
      'no-pin': { type: 'boolean', default: false },
      roje: { type: 'string', default: path.join(REPO, 'dist/main.js') },
      'roje-config': { type: 'string' },
      'blocked-names': { type: 'string', default: 'union' },
      out: { type: 'string', default: path.join(REPO, 'bench/results') },
    },
  });
  return {
    servers: listOption(values.servers, ALL_SERVERS, '--servers'),
    cases: listOption(values.cases, ALL_CASES, '--cases'),
    seconds: intOption(values.seconds, '--seconds', 1, MAX_SECONDS),
    clients: intOption(values.clients, '--clients', 1, 256),
    outstanding: intOption(values.outstanding, '--outstanding', 1, 10_000),
    hitNames: intOption(values['hit-names'], '--hit-names', 1, 50_000),
    rounds: intOption(values.rounds, '--rounds', 1, 10),
    latencySeconds: intOption(values['latency-seconds'], '--latency-seconds', 1, MAX_SECONDS),
    hitLatencyQps: intOption(values['hit-latency-qps'], '--hit-latency-qps', 100, 1_000_000),
    missLatencyQps: intOption(values['miss-latency-qps'], '--miss-latency-qps', 100, 1_000_000),
    serverCpu: values['no-pin'] ? undefined : values['server-cpu'],
    loadCpu: values['no-pin'] ? undefined : values['load-cpu'],
    rojeEntry: path.resolve(values.roje),
    rojeConfig: values['roje-config'] === undefined ? undefined : path.resolve(values['roje-config']),
    outDir: path.resolve(values.out),
    blockedNames:
      values['blocked-names'] === 'union'
        ? 0
        : intOption(values['blocked-names'], '--blocked-names', 1, 10_000_000),
  };
}

interface ServerUnderTest {
  proc: Managed;
  port: number;
}

async function startServer(
  name: ServerName,
  group: ProcessGroup,
  options: LoadOptions,
  dir: string,
  upstreamPort: number,
): Promise<ServerUnderTest> {
  const port = await findFreePort(HOST);
  let proc: Managed;
  if (name === 'trivial') {
    proc = group.spawn(
      'trivial',
      process.execPath,
      ['--import', '@tapjs/typescript/import', 'bench/load/trivial-server.ts', '--listen', `${HOST}:${port}`],
      { cpu: options.serverCpu, cwd: REPO },
    );
  } else if (name === 'unbound') {
    const conf = await writeForwarderConfig(dir, { port, upstreamPort });
    await checkConfig(conf);
    proc = group.spawn('unbound', 'unbound', ['-d', '-c', conf], { cpu: options.serverCpu, cwd: dir });
  } else {
    let config = options.rojeConfig;
    if (config === undefined) {
      // Per-query logging would measure the logger, not the resolver; one loopback client at full speed is
      // exactly what response rate limiting exists to stop, so it is off for a throughput run.
      config = path.join(dir, 'roje.yaml');
      await writeFile(config, 'log:\n  level: warn\nrateLimit:\n  enabled: false\n');
    }
    proc = group.spawn(
      'roje',
      process.execPath,
      rojeServeArgs(options.rojeEntry, HOST, port, upstreamPort, config),
      { cpu: options.serverCpu, cwd: REPO },
    );
  }
  try {
    await waitForDns(HOST, port, READY_TIMEOUT_MS, proc.exited);
  } catch (err) {
    await proc.stop();
    throw new Error(`${name} did not start: ${(err as Error).message}\n${proc.output().trim()}`);
  }
  return { proc, port };
}

function log(message: string): void {
  process.stderr.write(`[load] ${message}\n`);
}

export async function runLoad(options: LoadOptions, group: ProcessGroup): Promise<CaseRow[]> {
  const machine = await describeMachine();
  if (machine.cpus < 2 && options.serverCpu !== undefined) {
    log('fewer than 2 CPUs: running unpinned, figures will not compare with the README');
    options.serverCpu = undefined;
    options.loadCpu = undefined;
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'roje-load-'));
  try {
    log(`workload in ${dir}`);
    const hitsFile = path.join(dir, 'hits.txt');
    const missFile = path.join(dir, 'misses.txt');
    const missLatencyFile = path.join(dir, 'misses-latency.txt');
    await writeQueryFile(hitsFile, await readTrancoNames(TRANCO_FILE, options.hitNames));
    if (options.cases.includes('misses')) {
      // Its own prefix keeps it apart from the round files: the latency run must not hit what they cached.
      await writeMissFile(
        missLatencyFile,
        Math.ceil(options.latencySeconds * options.missLatencyQps * 1.2),
        'l',
      );
    }

    const upstreamPort = await findFreePort(HOST);
    const controlPort = await findFreePort(HOST);
    const upstreamConf = await writeUpstreamConfig(dir, { port: upstreamPort, controlPort });
    await checkConfig(upstreamConf);
    // The upstream shares the load core with dnsperf: the core under test runs only the server.
    const upstream = group.spawn('upstream', 'unbound', ['-d', '-c', upstreamConf], {
      cpu: options.loadCpu,
      cwd: dir,
    });
    try {
      await waitForDns(HOST, upstreamPort, READY_TIMEOUT_MS, upstream.exited);
    } catch (err) {
      throw new Error(
        `the upstream unbound did not start: ${(err as Error).message}\n${upstream.output().trim()}`,
      );
    }

    const rows: CaseRow[] = [];
    const running = new Map<ServerName, ServerUnderTest>();
    // dnsmasq only serves the blocked case, which starts its own roje (with the list) after the others.
    const mainCases = options.cases.filter((c) => c !== 'blocked');
    const mainServers = mainCases.length === 0 ? [] : options.servers.filter((s) => s !== 'dnsmasq');
    for (const server of mainServers) {
      if (server === 'roje' && !existsSync(options.rojeEntry)) {
        log(`roje: ${options.rojeEntry} not found (run npm run build); its rows are pending`);
        for (const c of mainCases) rows.push({ server, case: c, status: 'pending: not built' });
        continue;
      }
      try {
        running.set(server, await startServer(server, group, options, dir, upstreamPort));
      } catch (err) {
        log((err as Error).message);
        for (const c of mainCases) {
          rows.push({ server, case: c, status: `failed: ${(err as Error).message.split('\n')[0]}` });
        }
      }
    }

    // All servers stay up (idle ones cost nothing) so that rounds can alternate between them: other load on
    // the machine then spreads over every server instead of hitting whichever one ran at that moment.
    const base = (port: number) => ({
      host: HOST,
      port,
      clients: options.clients,
      outstanding: options.outstanding,
      cpu: options.loadCpu,
      verbose: false,
    });
    if (options.cases.includes('hits')) {
      for (const [server, sut] of running) {
        log(`${server}: warming ${options.hitNames} names`);
        await runDnsperf(group, {
          ...base(sut.port),
          clients: 1,
          outstanding: 10,
          dataFile: hitsFile,
          maxRuns: 1,
          seconds: MAX_SECONDS,
          outputFile: path.join(dir, `${server}-warm.out`),
        });
      }
    }
    for (const name of mainCases) {
      const servers = [...running.keys()].filter((s) => name === 'hits' || s !== 'trivial');
      if (name === 'misses' && running.has('trivial')) {
        rows.push({ server: 'trivial', case: name, status: 'n/a (no upstream)' });
      }
      const samples = new Map<ServerName, DnsperfResult[]>(servers.map((s) => [s, []]));
      const upstreamSeen = new Map<ServerName, number>(servers.map((s) => [s, 0]));
      const disturbed = new Map<ServerName, number>();
      for (let round = 0; round < options.rounds; round++) {
        // Each miss round has its own names, each asked once per server: every one of them is a miss.
        if (name === 'misses')
          await writeMissFile(missFile, options.seconds * MISS_NAMES_PER_SECOND, `m${round}z`);
        for (let k = 0; k < servers.length; k++) {
          const server = servers[(k + round) % servers.length]!;
          await noteBusyMachine(server, disturbed, log);
          log(`${server}: ${name}, round ${round + 1}/${options.rounds}, ${options.seconds} s at full speed`);
          const before = await queryCount(upstreamConf);
          const result = await runDnsperf(group, {
            ...base(running.get(server)!.port),
            dataFile: name === 'hits' ? hitsFile : missFile,
            maxRuns: name === 'hits' ? undefined : 1,
            seconds: options.seconds,
            outputFile: path.join(dir, `${server}-${name}-${round}.out`),
          });
          upstreamSeen.set(server, upstreamSeen.get(server)! + (await queryCount(upstreamConf)) - before);
          samples.get(server)!.push(result);
          log(`${server}: ${name}: ${Math.round(result.qps)} q/s`);
        }
      }
      const latencyQps = name === 'hits' ? options.hitLatencyQps : options.missLatencyQps;
      for (const server of servers) {
        log(`${server}: ${name}, ${options.latencySeconds} s at ${latencyQps} q/s for latency`);
        const latency = await runDnsperf(group, {
          ...base(running.get(server)!.port),
          dataFile: name === 'hits' ? hitsFile : missLatencyFile,
          maxRuns: name === 'hits' ? undefined : 1,
          seconds: options.latencySeconds,
          maxQps: latencyQps,
          verbose: true,
          outputFile: path.join(dir, `${server}-${name}-latency.out`),
        });
        log(`${server}: ${name}: at ${latencyQps} q/s p50 ${latency.p50Ms} ms, p99 ${latency.p99Ms} ms`);
        const busy = disturbed.get(server);
        const note =
          busy === undefined ? '' : `machine up to ${Math.round(busy * 100)} % busy before a round`;
        rows.push(
          rowFrom(server, name, samples.get(server)!, upstreamSeen.get(server)!, latency, latencyQps, note),
        );
      }
    }
    const blockedServers = options.servers.filter((s) => s === 'roje' || s === 'dnsmasq');
    if (options.cases.includes('blocked') && blockedServers.length > 0) {
      // The hits/misses servers are idle from here on; stopping them frees their memory for the big lists.
      for (const sut of running.values()) await sut.proc.stop();
      if (blockedServers.includes('roje') && !existsSync(options.rojeEntry)) {
        rows.push({ server: 'roje', case: 'blocked', status: 'pending: not built' });
      }
      rows.push(
        ...(await runBlocked(
          group,
          {
            listNames: options.blockedNames,
            queryNames: 1000,
            seconds: options.seconds,
            rounds: options.rounds,
            clients: options.clients,
            outstanding: options.outstanding,
            latencySeconds: options.latencySeconds,
            latencyQps: options.hitLatencyQps,
            serverCpu: options.serverCpu,
            loadCpu: options.loadCpu,
            rojeEntry: options.rojeEntry,
            repo: REPO,
            servers: blockedServers.filter((s) => s !== 'roje' || existsSync(options.rojeEntry)),
          },
          dir,
        )),
      );
    }
    const order = (r: CaseRow): number =>
      options.servers.indexOf(r.server) * ALL_CASES.length + ALL_CASES.indexOf(r.case);
    rows.sort((a, b) => order(a) - order(b));
    await writeReport(options, machine, rows);
    return rows;
  } finally {
    await group.stopAll();
    await rm(dir, { recursive: true, force: true });
  }
}

async function writeReport(options: LoadOptions, machine: Machine, rows: CaseRow[]): Promise<void> {
  const ratios = computeRatios(rows);
  const when = new Date().toISOString();
  const markdown = [
    `# Load run ${when}`,
    '',
    `Machine: ${machine.cpu}, ${machine.cpus} CPUs, ${machine.memoryGiB} GiB, ${machine.kernel}; ` +
      `Node ${machine.node}; ${machine.unbound}; ${machine.dnsperf}.`,
    `dnsperf: -l ${options.seconds} -c ${options.clients} -q ${options.outstanding} for queries/s (median of ${options.rounds} rounds); ` +
      `-l ${options.latencySeconds} -Q ${options.hitLatencyQps} (hits) / ${options.missLatencyQps} (misses) -v ` +
      'for p50/p99; ' +
      `server on CPU ${options.serverCpu ?? 'any'}, dnsperf and upstream on CPU ${options.loadCpu ?? 'any'}; ` +
      `${options.hitNames} hit names.`,
    '',
    renderResultsTable(rows),
    '',
    renderRatiosTable(ratios),
    '',
  ].join('\n');
  process.stdout.write(`${markdown}\n`);
  await mkdir(options.outDir, { recursive: true });
  const stamp = when.replace(/[:.]/g, '-');
  await writeFile(path.join(options.outDir, `load-${stamp}.md`), markdown);
  await writeFile(
    path.join(options.outDir, `load-${stamp}.json`),
    `${JSON.stringify({ when, machine, options, rows, ratios }, null, 2)}\n`,
  );
  log(`written to ${path.join(options.outDir, `load-${stamp}.{md,json}`)}`);
}

async function main(): Promise<void> {
  const options = parseLoadArgs(process.argv.slice(2));
  const group = createRunGroup(log);
  await runLoad(options, group);
}

runIfMain(import.meta.url, main, log);
