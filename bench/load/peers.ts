/**
 * roje against its peers in one run (issue #7): roje, unbound and dnsmasq, each with the same 1M-name list
 * and the same loopback upstream, on a realistic query mix (Tranco names repeated by popularity, A and AAAA,
 * plus listed names). Per server: start time (spawn to the first NXDOMAIN for a listed name), memory after
 * the load and after the run, queries/s at saturation, p50/p99 at a fixed rate, lost queries, and whether
 * its NXDOMAIN share is the one the list implies. Two layouts: one core per server, and all cores.
 * See bench/README.md "Peers (roje, unbound, dnsmasq)".
 *
 *   node --import @tapjs/typescript/import bench/load/peers.ts [--layouts single,all] [--seconds 10]
 *
 * Every address is 127.0.0.1; every dnsperf run is bounded by -l (<= 30 s) and a kill guard; every process
 * started here is stopped at the end, on error and on SIGINT/SIGTERM; the temp dir is removed.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { RojeError } from '../../src/errors.js';
import { deriveNames, readAdultUnion, writeLines } from '../lists/names.js';
import { dnsmasqForwarderArgs, dnsmasqVersion, writeDnsmasqList } from './dnsmasq.js';
import { type DnsperfResult, runDnsperf } from './dnsperf.js';
import { BUSY_WARNING, cpuBusyShare, describeMachine, type Machine } from './machine.js';
import { DEFAULT_MIX, type Mix, writeMix } from './mix-workload.js';
import { intOption, listOption } from './options.js';
import {
  createRunGroup,
  defaultRojeEntry,
  findFreePort,
  type Managed,
  type ProcessGroup,
  processTree,
  rojeServeArgs,
  runIfMain,
  treeMemoryBytes,
  waitForDns,
} from './processes.js';
import { askRcode } from './swap.js';
import { checkConfig, queryCount, writeForwarderConfig, writeUpstreamConfig } from './unbound.js';

const HOST = '127.0.0.1';
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const MAX_SECONDS = 30;
/** unbound takes ~5-10 s to load 1M local zones on the 2-vCPU guests of these runs; 2 min is far beyond. */
const START_TIMEOUT_MS = 120_000;
const PROBE_INTERVAL_MS = 10;
/** RSS "after load" is read this long after the first answer, when startup allocations have settled. */
const SETTLE_MS = 500;
const WARM_PASSES = 4;

export type Peer = 'roje' | 'unbound' | 'dnsmasq' | 'trivial';
export type Layout = 'single' | 'all';
const ALL_PEERS: readonly Peer[] = ['roje', 'unbound', 'dnsmasq', 'trivial'];
const ALL_LAYOUTS: readonly Layout[] = ['single', 'all'];

export interface PeersOptions {
  layouts: Layout[];
  servers: Peer[];
  listNames: number;
  queries: number;
  blockedShare: number;
  seconds: number;
  rounds: number;
  clients: number;
  outstanding: number;
  latencySeconds: number;
  latencyQps: number;
  serverCpu: string;
  loadCpu: string;
  dnsmasqCache: number;
  rojeEntry: string;
  outDir: string;
}

export function parsePeersArgs(argv: readonly string[]): PeersOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      layouts: { type: 'string', default: ALL_LAYOUTS.join(',') },
      servers: { type: 'string', default: ALL_PEERS.join(',') },
      'list-names': { type: 'string', default: '1000000' },
      queries: { type: 'string', default: String(DEFAULT_MIX.queries) },
      'blocked-share': { type: 'string', default: String(DEFAULT_MIX.blockedShare) },
      seconds: { type: 'string', default: '10' },
      rounds: { type: 'string', default: '3' },
      clients: { type: 'string', default: '16' },
      outstanding: { type: 'string', default: '100' },
      'latency-seconds': { type: 'string', default: '5' },
      'latency-qps': { type: 'string', default: '10000' },
      'server-cpu': { type: 'string', default: '0' },
      'load-cpu': { type: 'string', default: '1' },
      'dnsmasq-cache': { type: 'string', default: '200000' },
      roje: { type: 'string', default: defaultRojeEntry(REPO) },
      out: { type: 'string', default: path.join(REPO, 'bench/results') },
    },
  });
  const blockedShare = Number(values['blocked-share']);
  if (!(blockedShare >= 0 && blockedShare <= 0.9)) {
    throw new RojeError(
      'ROJE_ERR_CLI_USAGE',
      `--blocked-share must be in [0, 0.9] (got "${values['blocked-share']}")`,
    );
  }
  return {
    layouts: listOption(values.layouts, ALL_LAYOUTS, '--layouts'),
    servers: listOption(values.servers, ALL_PEERS, '--servers'),
    listNames: intOption(values['list-names'], '--list-names', 1000, 10_000_000),
    queries: intOption(values.queries, '--queries', 10_000, 10_000_000),
    blockedShare,
    seconds: intOption(values.seconds, '--seconds', 1, MAX_SECONDS),
    rounds: intOption(values.rounds, '--rounds', 1, 10),
    clients: intOption(values.clients, '--clients', 1, 256),
    outstanding: intOption(values.outstanding, '--outstanding', 1, 10_000),
    latencySeconds: intOption(values['latency-seconds'], '--latency-seconds', 1, MAX_SECONDS),
    latencyQps: intOption(values['latency-qps'], '--latency-qps', 100, 1_000_000),
    serverCpu: values['server-cpu'],
    loadCpu: values['load-cpu'],
    dnsmasqCache: intOption(values['dnsmasq-cache'], '--dnsmasq-cache', 0, 10_000_000),
    rojeEntry: path.resolve(values.roje),
    outDir: path.resolve(values.out),
  };
}

function log(message: string): void {
  process.stderr.write(`[peers] ${message}\n`);
}

export interface PeerRow {
  layout: Layout;
  server: Peer | 'roje (list compiled at start)';
  /** 'ok', or why there is no figure. */
  status: string;
  /** Threads or processes, as configured. */
  setup: string;
  startMs?: number;
  rssLoadMB?: number;
  /** The cold pass: every distinct query of the mix once (each one a cache miss). */
  warmQps?: number;
  qps?: number;
  qpsMin?: number;
  qpsMax?: number;
  /** Median of the rounds that started on a quiet machine (at most BUSY_WARNING of the CPUs busy), if any. */
  qpsQuiet?: number;
  quietRounds?: number;
  sent?: number;
  lost?: number;
  nxdomainShare?: number;
  servfail?: number;
  upstreamQueries?: number;
  p50Ms?: number;
  p99Ms?: number;
  latencyLost?: number;
  rssAfterMB?: number;
  hwmMB?: number;
  processes?: number;
  note?: string;
}

interface Running {
  proc: Managed;
  port: number;
  row: PeerRow;
}

const mb = (bytes: number | undefined): number | undefined =>
  bytes === undefined ? undefined : bytes / 2 ** 20;

/**
 * Spawns a server and times it from the spawn to its first answer for `probe` (a listed name: the answer
 * comes only once the list is loaded), probing every 10 ms; the answer must be NXDOMAIN. Then RSS after load.
 */
async function startTimed(
  name: string,
  spawnIt: () => Managed,
  port: number,
  probe: string | undefined,
): Promise<{ proc: Managed; startMs: number; rss: number | undefined }> {
  const t0 = performance.now();
  const proc = spawnIt();
  try {
    await waitForDns(HOST, port, START_TIMEOUT_MS, proc.exited, {
      name: probe ?? 'probe.bench.example',
      intervalMs: PROBE_INTERVAL_MS,
    });
  } catch (err) {
    await proc.stop();
    throw new Error(`${name} did not start: ${(err as Error).message}\n${proc.output().trim()}`);
  }
  const startMs = performance.now() - t0;
  if (probe !== undefined) {
    // A fresh socket and ID; retried, since a server that has just come up may still be draining the probes
    // that queued while it loaded (one every 10 ms) or, on a busy machine, not get the CPU for a while.
    let rcode = 'timeout';
    for (let attempt = 1; attempt <= 3 && rcode === 'timeout'; attempt++) {
      rcode = await askRcode(port, probe);
      if (rcode === 'timeout') log(`${name}: no answer to the check query (attempt ${attempt} of 3)`);
    }
    if (rcode !== 'NXDOMAIN') {
      await proc.stop();
      throw new Error(`${name} answered the listed ${probe} with ${rcode}, NXDOMAIN expected`);
    }
  }
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  return { proc, startMs, rss: await treeMemoryBytes(proc.child.pid, 'VmRSS') };
}

/** True when this build's config accepts `workers: auto` (the all-cores layout of roje needs it). */
async function rojeHasWorkers(entry: string, dir: string): Promise<boolean> {
  const config = path.join(dir, 'workers-check.yaml');
  await writeFile(config, 'workers: auto\nlists: []\nupstreams: [udp://127.0.0.1:53]\n');
  try {
    await promisify(execFile)(process.execPath, [entry, 'check-config', config], {
      cwd: REPO,
      timeout: 30_000,
    });
    return true;
  } catch {
    return false;
  }
}

function rojeConfigText(layout: Layout, lists: string | undefined): string {
  return [
    // Per-query logs and rate limiting would measure something else (one loopback client at full speed is
    // what rate limiting exists to stop); SafeSearch is off because the peers do not rewrite search engines.
    'log:',
    '  level: warn',
    'rateLimit:',
    '  enabled: false',
    // The same cache budget as the unbound forwarder's (msg-cache-size 128m + rrset-cache-size 256m):
    // with roje's 64 MiB default the mix's ~96k distinct answers do not all fit, and evictions send
    // queries upstream that unbound answers from its cache.
    'cache:',
    '  maxEntries: 1000000',
    '  maxBytes: 384MiB',
    'policies:',
    '  default:',
    '    blockMode: nxdomain',
    '    safeSearch: false',
    // A free port: the default 8053 may be taken by another roje on this machine.
    'admin:',
    '  listen: 127.0.0.1:0',
    ...(layout === 'all' ? ['workers: auto'] : []),
    ...(lists === undefined
      ? []
      : ['lists:', `  - { category: adult, name: peers, path: ${JSON.stringify(lists)} }`]),
    '',
  ].join('\n');
}

interface Inputs {
  names: string[];
  namesFile: string;
  artifact: string;
  compileMs: number;
  dnsmasqList: string;
  mix: Mix;
  probe: string;
}

async function prepare(options: PeersOptions, dir: string): Promise<Inputs> {
  const names = deriveNames(await readAdultUnion(), options.listNames);
  log(`${names.length} listed names; writing the list for each server`);
  const namesFile = path.join(dir, 'names.txt');
  await writeLines(namesFile, names, (n) => `${n}\n`);
  const dnsmasqList = await writeDnsmasqList(dir, names);
  const listed = new Set(names);
  const mix = await writeMix(dir, listed, names, {
    ...DEFAULT_MIX,
    queries: options.queries,
    blockedShare: options.blockedShare,
  });
  log(
    `query mix: ${options.queries} lines, ${mix.distinct} distinct queries, expected NXDOMAIN ` +
      `${(mix.expectedNxdomainShare * 100).toFixed(1)} % (${mix.trancoListed} Tranco names listed)`,
  );
  const artifact = path.join(dir, 'peers.roje');
  let compileMs = Number.NaN;
  if (options.servers.includes('roje') && existsSync(options.rojeEntry)) {
    const t0 = performance.now();
    await promisify(execFile)(
      process.execPath,
      [options.rojeEntry, 'compile', '--list', `adult=${namesFile}`, '--out', artifact],
      { cwd: REPO, timeout: 300_000, maxBuffer: 16 << 20 },
    );
    compileMs = performance.now() - t0;
    log(`roje compile: ${Math.round(compileMs)} ms`);
  }
  return { names, namesFile, artifact, compileMs, dnsmasqList, mix, probe: names[0]! };
}

async function startPeer(
  peer: Peer,
  layout: Layout,
  group: ProcessGroup,
  options: PeersOptions,
  dir: string,
  inputs: Inputs,
  upstreamPort: number,
  cpu: string | undefined,
): Promise<Running> {
  const port = await findFreePort(HOST);
  const row: PeerRow = { layout, server: peer, status: 'ok', setup: '' };
  let spawnIt: () => Managed;
  let probe: string | undefined = inputs.probe;
  if (peer === 'roje') {
    const config = path.join(dir, `roje-${layout}.yaml`);
    await writeFile(config, rojeConfigText(layout, undefined));
    row.setup = layout === 'all' ? 'workers: auto' : '1 query loop';
    spawnIt = () =>
      group.spawn(
        'roje',
        process.execPath,
        rojeServeArgs(options.rojeEntry, HOST, port, upstreamPort, config, ['--compiled', inputs.artifact]),
        { cpu, cwd: REPO },
      );
  } else if (peer === 'unbound') {
    const threads = layout === 'all' ? os.availableParallelism() : 1;
    const udir = path.join(dir, `unbound-${layout}`);
    await mkdir(udir, { recursive: true });
    const conf = await writeForwarderConfig(udir, {
      port,
      upstreamPort,
      threads,
      blockedNames: inputs.names,
    });
    await checkConfig(conf);
    row.setup = `num-threads ${threads}`;
    spawnIt = () => group.spawn('unbound', 'unbound', ['-d', '-c', conf], { cpu, cwd: udir });
  } else if (peer === 'dnsmasq') {
    row.setup = `single-threaded, cache-size ${options.dnsmasqCache}`;
    const args = dnsmasqForwarderArgs(port, inputs.dnsmasqList, {
      upstreamPort,
      cacheSize: options.dnsmasqCache,
    });
    spawnIt = () => group.spawn('dnsmasq', 'dnsmasq', args, { cpu, cwd: dir });
  } else {
    row.setup = 'no list, no cache, no upstream';
    probe = undefined;
    spawnIt = () =>
      group.spawn(
        'trivial',
        process.execPath,
        [
          '--import',
          '@tapjs/typescript/import',
          'bench/load/trivial-server.ts',
          '--listen',
          `${HOST}:${port}`,
        ],
        { cpu, cwd: REPO },
      );
  }
  const started = await startTimed(peer, spawnIt, port, probe);
  row.startMs = started.startMs;
  row.rssLoadMB = mb(started.rss);
  const pid = started.proc.child.pid;
  row.processes = pid === undefined ? undefined : (await processTree(pid)).length;
  log(
    `${layout}: ${peer} (${row.setup}) answered after ${Math.round(started.startMs)} ms, RSS ` +
      `${row.rssLoadMB?.toFixed(1)} MB in ${row.processes} process(es)`,
  );
  return { proc: started.proc, port, row };
}

/** roje started with the plain list in its config (compiled at start, no artifact): its start time only. */
async function rojeListStart(
  layout: Layout,
  group: ProcessGroup,
  options: PeersOptions,
  dir: string,
  inputs: Inputs,
  upstreamPort: number,
  cpu: string | undefined,
): Promise<PeerRow> {
  const port = await findFreePort(HOST);
  const config = path.join(dir, `roje-list-${layout}.yaml`);
  await writeFile(config, rojeConfigText(layout, inputs.namesFile));
  const started = await startTimed(
    'roje (list)',
    () =>
      group.spawn(
        'roje-list',
        process.execPath,
        rojeServeArgs(options.rojeEntry, HOST, port, upstreamPort, config),
        { cpu, cwd: REPO },
      ),
    port,
    inputs.probe,
  );
  const pid = started.proc.child.pid;
  const processes = pid === undefined ? undefined : (await processTree(pid)).length;
  const hwm = await treeMemoryBytes(pid, 'VmHWM');
  await started.proc.stop();
  log(`${layout}: roje with the plain list answered after ${Math.round(started.startMs)} ms`);
  return {
    layout,
    server: 'roje (list compiled at start)',
    status: 'ok',
    setup: layout === 'all' ? 'workers: auto' : '1 query loop',
    startMs: started.startMs,
    rssLoadMB: mb(started.rss),
    hwmMB: mb(hwm),
    ...(processes !== undefined ? { processes } : {}),
    note: 'start only (no load run)',
  };
}

async function runLayout(
  layout: Layout,
  group: ProcessGroup,
  options: PeersOptions,
  dir: string,
  inputs: Inputs,
): Promise<PeerRow[]> {
  const serverCpu = layout === 'single' ? options.serverCpu : undefined;
  const loadCpu = layout === 'single' ? options.loadCpu : undefined;
  const rows: PeerRow[] = [];
  const upstreamPort = await findFreePort(HOST);
  const controlPort = await findFreePort(HOST);
  const udir = path.join(dir, `upstream-${layout}`);
  await mkdir(udir, { recursive: true });
  const upstreamConf = await writeUpstreamConfig(udir, { port: upstreamPort, controlPort, aaaa: true });
  await checkConfig(upstreamConf);
  const upstream = group.spawn('upstream', 'unbound', ['-d', '-c', upstreamConf], {
    cpu: loadCpu,
    cwd: udir,
  });
  await waitForDns(HOST, upstreamPort, 20_000, upstream.exited);

  let servers = options.servers.filter((s) => layout === 'single' || s !== 'trivial');
  const rojeBuilt = existsSync(options.rojeEntry);
  if (servers.includes('roje') && !rojeBuilt) {
    log(`roje: ${options.rojeEntry} not found (run npm run build); its rows are pending`);
    rows.push({ layout, server: 'roje', status: 'pending: not built', setup: '' });
    servers = servers.filter((s) => s !== 'roje');
  }
  if (layout === 'all' && servers.includes('roje') && !(await rojeHasWorkers(options.rojeEntry, dir))) {
    log('roje all-cores: skipped (workers not available)');
    rows.push({ layout, server: 'roje', status: 'skipped (workers not available)', setup: 'workers: auto' });
    servers = servers.filter((s) => s !== 'roje');
  }
  if (servers.includes('roje')) {
    try {
      rows.push(await rojeListStart(layout, group, options, dir, inputs, upstreamPort, serverCpu));
    } catch (err) {
      log((err as Error).message);
      rows.push({
        layout,
        server: 'roje (list compiled at start)',
        status: `failed: ${(err as Error).message.split('\n')[0]}`,
        setup: '',
      });
    }
  }
  // One at a time, so that no start competes with another for the cores.
  const running = new Map<Peer, Running>();
  for (const peer of servers) {
    try {
      running.set(peer, await startPeer(peer, layout, group, options, dir, inputs, upstreamPort, serverCpu));
    } catch (err) {
      log((err as Error).message);
      rows.push({
        layout,
        server: peer,
        status: `failed: ${(err as Error).message.split('\n')[0]}`,
        setup: '',
      });
    }
  }

  const base = (port: number) => ({
    host: HOST,
    port,
    clients: options.clients,
    outstanding: options.outstanding,
    cpu: loadCpu,
    verbose: false,
  });
  // The cold pass: every distinct query once, so that the rounds measure a warm cache (a venue's steady
  // state); its rate is mostly the miss path. Bounded: at most WARM_PASSES runs of 30 s.
  for (const [peer, r] of running) {
    if (peer === 'trivial') continue;
    const before = await queryCount(upstreamConf);
    let sent = 0;
    let seconds = 0;
    for (let pass = 0; pass < WARM_PASSES; pass++) {
      const warm = await runDnsperf(group, {
        ...base(r.port),
        dataFile: inputs.mix.warmFile,
        maxRuns: 1,
        seconds: MAX_SECONDS,
        outputFile: path.join(dir, `${layout}-${peer}-warm-${pass}.out`),
      });
      sent += warm.completed;
      seconds += warm.runSeconds;
      if (warm.endOfFile) break;
    }
    r.row.warmQps = sent / seconds;
    log(
      `${layout}: ${peer}: cold pass ${sent} queries at ${Math.round(r.row.warmQps)} q/s, upstream saw ` +
        `${(await queryCount(upstreamConf)) - before}`,
    );
  }

  const peers = [...running.keys()];
  const samples = new Map<Peer, DnsperfResult[]>(peers.map((p) => [p, []]));
  const upstreamSeen = new Map<Peer, number>(peers.map((p) => [p, 0]));
  const disturbed = new Map<Peer, number>();
  const quiet = new Map<Peer, DnsperfResult[]>(peers.map((p) => [p, []]));
  for (let round = 0; round < options.rounds; round++) {
    for (let k = 0; k < peers.length; k++) {
      const peer = peers[(k + round) % peers.length]!;
      const busy = await cpuBusyShare(500);
      const isQuiet = busy === undefined || busy <= BUSY_WARNING;
      if (!isQuiet) {
        disturbed.set(peer, Math.max(busy, disturbed.get(peer) ?? 0));
        log(`${peer}: machine ${Math.round(busy * 100)} % busy before the round; not a quiet round`);
      }
      const before = await queryCount(upstreamConf);
      const result = await runDnsperf(group, {
        ...base(running.get(peer)!.port),
        dataFile: inputs.mix.queryFile,
        seconds: options.seconds,
        outputFile: path.join(dir, `${layout}-${peer}-${round}.out`),
      });
      upstreamSeen.set(peer, upstreamSeen.get(peer)! + (await queryCount(upstreamConf)) - before);
      samples.get(peer)!.push(result);
      if (isQuiet) quiet.get(peer)!.push(result);
      log(
        `${layout}: ${peer}: round ${round + 1}/${options.rounds}: ${Math.round(result.qps)} q/s, lost ${result.lost}`,
      );
    }
  }
  for (const peer of peers) {
    const r = running.get(peer)!;
    const latencyBusy = await cpuBusyShare(500);
    const latency = await runDnsperf(group, {
      ...base(r.port),
      dataFile: inputs.mix.queryFile,
      seconds: options.latencySeconds,
      maxQps: options.latencyQps,
      verbose: true,
      outputFile: path.join(dir, `${layout}-${peer}-latency.out`),
    });
    const rounds = samples.get(peer)!;
    const sorted = [...rounds].sort((a, b) => a.qps - b.qps);
    const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
    const calm = [...quiet.get(peer)!].sort((a, b) => a.qps - b.qps);
    const completed = rounds.reduce((n, x) => n + x.completed, 0);
    const nx = rounds.reduce((n, x) => n + (x.rcodes.NXDOMAIN ?? 0), 0);
    const pid = r.proc.child.pid;
    Object.assign(r.row, {
      qps: median.qps,
      qpsMin: sorted[0]!.qps,
      qpsMax: sorted.at(-1)!.qps,
      qpsQuiet: calm.length === 0 ? undefined : calm[Math.floor((calm.length - 1) / 2)]!.qps,
      quietRounds: calm.length,
      sent: rounds.reduce((n, x) => n + x.sent, 0),
      lost: rounds.reduce((n, x) => n + x.lost, 0),
      nxdomainShare: completed === 0 ? undefined : nx / completed,
      servfail: rounds.reduce((n, x) => n + (x.rcodes.SERVFAIL ?? 0), 0) + (latency.rcodes.SERVFAIL ?? 0),
      upstreamQueries: upstreamSeen.get(peer),
      p50Ms: latency.p50Ms,
      p99Ms: latency.p99Ms,
      latencyLost: latency.lost,
      rssAfterMB: mb(await treeMemoryBytes(pid, 'VmRSS')),
      hwmMB: mb(await treeMemoryBytes(pid, 'VmHWM')),
      processes: pid === undefined ? undefined : (await processTree(pid)).length,
    } satisfies Partial<PeerRow>);
    const notes: string[] = [];
    const expected = inputs.mix.expectedNxdomainShare;
    if (
      peer !== 'trivial' &&
      r.row.nxdomainShare !== undefined &&
      Math.abs(r.row.nxdomainShare - expected) > 0.005
    ) {
      notes.push(
        `NXDOMAIN ${(r.row.nxdomainShare * 100).toFixed(1)} %, expected ${(expected * 100).toFixed(1)} %`,
      );
    }
    const busy = disturbed.get(peer);
    if (busy !== undefined) notes.push(`machine up to ${Math.round(busy * 100)} % busy before a round`);
    if (latencyBusy !== undefined && latencyBusy > BUSY_WARNING) {
      notes.push(`${Math.round(latencyBusy * 100)} % busy before the latency run`);
    }
    if (rounds.some((x) => x.endOfFile)) notes.push('input ran out before -l');
    r.row.note = [r.row.note, ...notes].filter((n) => n).join('; ') || undefined;
    log(`${layout}: ${peer}: at ${options.latencyQps} q/s p50 ${latency.p50Ms} ms, p99 ${latency.p99Ms} ms`);
    rows.push(r.row);
  }
  for (const r of running.values()) await r.proc.stop();
  await upstream.stop();
  return rows;
}

const f = (n: number | undefined, digits = 0): string =>
  n === undefined || Number.isNaN(n)
    ? ''
    : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export function renderPeersTable(rows: readonly PeerRow[], latencyQps: number): string {
  const lines = [
    `| layout | server | setup | start ms | RSS after load MB | cold q/s | queries/s | min–max | quiet q/s (rounds) | lost | NXDOMAIN % | upstream q | p50 ms | p99 ms (at ${f(latencyQps)} q/s) | RSS after run MB | peak (HWM) MB | note |`,
    '|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|',
  ];
  for (const r of rows) {
    const note = [r.status === 'ok' ? '' : r.status, r.note ?? ''];
    if (r.processes !== undefined && r.processes > 1) note.push(`${r.processes} processes (memory summed)`);
    if (r.latencyLost) note.push(`${r.latencyLost} lost in the latency run`);
    if (r.servfail) note.push(`SERVFAIL ${r.servfail}`);
    const range = r.qpsMin === undefined ? '' : `${f(r.qpsMin / 1000)}k–${f(r.qpsMax! / 1000)}k`;
    const lost = r.lost === undefined ? '' : `${f(r.lost)} / ${f(r.sent)}`;
    lines.push(
      `| ${r.layout === 'single' ? 'one core' : 'all cores'} | ${r.server} | ${r.setup} | ${f(r.startMs)} | ${f(r.rssLoadMB, 1)} | ` +
        `${f(r.warmQps)} | ${f(r.qps)} | ${range} | ${r.quietRounds ? `${f(r.qpsQuiet)} (${r.quietRounds})` : r.qps === undefined ? '' : 'none quiet'} | ${lost} | ${r.nxdomainShare === undefined ? '' : (r.nxdomainShare * 100).toFixed(1)} | ` +
        `${f(r.upstreamQueries)} | ${f(r.p50Ms, 3)} | ${f(r.p99Ms, 3)} | ${f(r.rssAfterMB, 1)} | ${f(r.hwmMB, 1)} | ${note.filter((n) => n).join('; ')} |`,
    );
  }
  return lines.join('\n');
}

/** The issue's targets, from the one-core layout (and all cores where roje ran there). */
export function renderTargets(rows: readonly PeerRow[]): string {
  const get = (layout: Layout, server: PeerRow['server']) =>
    rows.find((r) => r.layout === layout && r.server === server && r.status === 'ok');
  const lines = ['| target | layout | roje | unbound | dnsmasq | verdict |', '|---|---|--:|--:|--:|---|'];
  for (const layout of ALL_LAYOUTS) {
    const roje = get(layout, 'roje');
    const unbound = get(layout, 'unbound');
    const dnsmasq = get(layout, 'dnsmasq');
    if (roje === undefined || unbound === undefined) continue;
    const where = layout === 'single' ? 'one core' : 'all cores';
    if (roje.qps !== undefined && unbound.qps !== undefined) {
      const ratio = roje.qps / unbound.qps;
      lines.push(
        `| queries/s >= 60 % of unbound (median of all rounds) | ${where} | ${f(roje.qps)} | ${f(unbound.qps)} | ${f(dnsmasq?.qps)} | ` +
          `${(ratio * 100).toFixed(1)} %: ${ratio >= 0.6 ? 'met' : 'NOT met'} |`,
      );
    }
    if (roje.qpsQuiet !== undefined && unbound.qpsQuiet !== undefined) {
      const ratio = roje.qpsQuiet / unbound.qpsQuiet;
      lines.push(
        `| queries/s >= 60 % of unbound (quiet rounds only) | ${where} | ${f(roje.qpsQuiet)} | ${f(unbound.qpsQuiet)} | ` +
          `${f(dnsmasq?.qpsQuiet)} | ${(ratio * 100).toFixed(1)} %: ${ratio >= 0.6 ? 'met' : 'NOT met'} |`,
      );
    }
    const ahead = (a: number | undefined, b: number | undefined, c: number | undefined): string =>
      a === undefined || b === undefined ? 'n/a' : a < b && (c === undefined || a < c) ? 'met' : 'NOT met';
    lines.push(
      `| start (spawn to first answer) ahead of both | ${where} | ${f(roje.startMs)} ms | ${f(unbound.startMs)} ms | ` +
        `${f(dnsmasq?.startMs)} ms | ${ahead(roje.startMs, unbound.startMs, dnsmasq?.startMs)} |`,
    );
    const listRow = get(layout, 'roje (list compiled at start)');
    if (listRow !== undefined) {
      lines.push(
        `| start, roje compiling the plain list itself | ${where} | ${f(listRow.startMs)} ms | ${f(unbound.startMs)} ms | ` +
          `${f(dnsmasq?.startMs)} ms | ${ahead(listRow.startMs, unbound.startMs, dnsmasq?.startMs)} |`,
      );
    }
    lines.push(
      `| memory after load ahead of both | ${where} | ${f(roje.rssLoadMB, 1)} MB | ${f(unbound.rssLoadMB, 1)} MB | ` +
        `${f(dnsmasq?.rssLoadMB, 1)} MB | ${ahead(roje.rssLoadMB, unbound.rssLoadMB, dnsmasq?.rssLoadMB)} |`,
      `| memory after the run ahead of both | ${where} | ${f(roje.rssAfterMB, 1)} MB | ${f(unbound.rssAfterMB, 1)} MB | ` +
        `${f(dnsmasq?.rssAfterMB, 1)} MB | ${ahead(roje.rssAfterMB, unbound.rssAfterMB, dnsmasq?.rssAfterMB)} |`,
    );
  }
  return lines.join('\n');
}

export async function runPeers(options: PeersOptions, group: ProcessGroup): Promise<PeerRow[]> {
  const machine = await describeMachine();
  const dnsmasq = options.servers.includes('dnsmasq') ? await dnsmasqVersion() : 'dnsmasq not run';
  if (machine.cpus < 2)
    throw new Error('the peers benchmark needs at least 2 CPUs (one for the server, one for dnsperf)');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'roje-peers-'));
  try {
    log(`workload in ${dir}`);
    const inputs = await prepare(options, dir);
    const loadBefore = os.loadavg();
    const busyBefore = await cpuBusyShare(1000);
    log(
      `load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, CPUs ${Math.round((busyBefore ?? 0) * 100)} % busy`,
    );
    const rows: PeerRow[] = [];
    for (const layout of options.layouts)
      rows.push(...(await runLayout(layout, group, options, dir, inputs)));
    await writeReport(options, machine, dnsmasq, inputs, rows, { loadBefore, busyBefore });
    return rows;
  } finally {
    await group.stopAll();
    await rm(dir, { recursive: true, force: true });
  }
}

async function writeReport(
  options: PeersOptions,
  machine: Machine,
  dnsmasq: string,
  inputs: Inputs,
  rows: PeerRow[],
  load: { loadBefore: number[]; busyBefore: number | undefined },
): Promise<void> {
  const when = new Date().toISOString();
  const m = inputs.mix;
  const markdown = [
    `# Peers run ${when}`,
    '',
    `Machine: ${machine.cpu}, ${machine.cpus} CPUs, ${machine.memoryGiB} GiB, ${machine.kernel}; Node ${machine.node}; ` +
      `${machine.unbound}; ${dnsmasq}; ${machine.dnsperf}. Load average before: ${load.loadBefore.map((l) => l.toFixed(2)).join(' ')}, ` +
      `CPUs ${Math.round((load.busyBefore ?? 0) * 100)} % busy.`,
    `List: ${f(inputs.names.length)} names (roje compile ${f(inputs.compileMs)} ms). Mix: ${f(options.queries)} lines, ` +
      `${f(m.distinct)} distinct queries, ${(options.blockedShare * 100).toFixed(0)} % drawn from listed names, ` +
      `expected NXDOMAIN ${(m.expectedNxdomainShare * 100).toFixed(1)} % (${f(m.trancoListed)} Tranco names listed), top 100 names ${(m.top100Share * 100).toFixed(0)} % of lines.`,
    `dnsperf: -l ${options.seconds} -c ${options.clients} -q ${options.outstanding}, median of ${options.rounds} rounds; ` +
      `p50/p99 from -l ${options.latencySeconds} -Q ${options.latencyQps} -v. One core: server on CPU ${options.serverCpu}, ` +
      `dnsperf and upstream on CPU ${options.loadCpu}; all cores: nothing pinned.`,
    '',
    renderPeersTable(rows, options.latencyQps),
    '',
    renderTargets(rows),
    '',
  ].join('\n');
  process.stdout.write(`${markdown}\n`);
  await mkdir(options.outDir, { recursive: true });
  const stamp = when.replace(/[:.]/g, '-');
  await writeFile(path.join(options.outDir, `peers-${stamp}.md`), markdown);
  await writeFile(
    path.join(options.outDir, `peers-${stamp}.json`),
    `${JSON.stringify({ when, machine, dnsmasq, options, load, mix: m, compileMs: inputs.compileMs, rows }, null, 2)}\n`,
  );
  log(`written to ${path.join(options.outDir, `peers-${stamp}.{md,json}`)}`);
}

async function main(): Promise<void> {
  const options = parsePeersArgs(process.argv.slice(2));
  const group = createRunGroup(log);
  await runPeers(options, group);
}

runIfMain(import.meta.url, main, log);
