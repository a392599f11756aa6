/**
 * roje against its peers in one run (issue #7): roje, unbound and dnsmasq, each with the same 1M-name list
 * and the same loopback upstream, on a realistic query mix (Tranco names repeated by popularity, A and AAAA,
 * plus listed names). Per server: start time (spawn to the first NXDOMAIN for a listed name), memory after
 * the load and after the run (and empty, without a list), queries/s at saturation, p50/p99/p99.9/max at fixed
 * rates (issue #21), lost queries, and whether its NXDOMAIN share is the one the list implies. Two layouts:
 * one core per server, and all cores. With --trace-gc, roje's collections during the latency runs.
 * See bench/README.md "Peers (roje, unbound, dnsmasq)".
 *
 *   node --import @tapjs/typescript/import bench/load/peers.ts [--layouts single,all] [--seconds 10]
 *     [--roje-udp batched|dgram] (roje's udp.batchedIo, for an A/B of its datagram I/O)
 *
 * Every address is 127.0.0.1; every dnsperf run is bounded by -l (<= 30 s) and a kill guard; every process
 * started here is stopped at the end, on error and on SIGINT/SIGTERM; the temp dir is removed.
 */
import { execFile } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
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
import { createLineWindow, summarizeGc } from './gc-trace.js';
import { BUSY_WARNING, cpuBusyShare, describeMachine, type Machine } from './machine.js';
import { DEFAULT_MIX, type Mix, writeMix } from './mix-workload.js';
import { intListOption, intOption, listOption } from './options.js';
import {
  ALL_LAYOUTS,
  ALL_PEERS,
  f,
  type LatencyRun,
  type Layout,
  medianRun,
  type Peer,
  type PeerRow,
  renderGcTable,
  renderIssue21Targets,
  renderLatencyTable,
  renderPeersTable,
  renderTargets,
} from './peers-report.js';
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
/** The empty process is read after 1 s (issue #21), so that lazy start-up work has happened. */
const EMPTY_SETTLE_MS = 1000;
/** Before each latency run, this long at the same rate without -v: the server's steady state at that rate. */
const LATENCY_WARM_SECONDS = 2;
const MAX_LATENCY_RATES = 6;
const WARM_PASSES = 4;

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
  /** Offered rates of the latency runs, each one run per server. */
  latencyQps: number[];
  /** Latency runs per server and rate, alternating the servers; each figure is their median. */
  latencyRepeats: number;
  /** Start roje with node's --trace-gc and count its collections during the latency runs. */
  traceGc: boolean;
  /** Node flags roje is started with in every mode (e.g. --max-semi-space-size=8), split on spaces. */
  nodeFlags: string[];
  /** How roje reads client datagrams (config udp.batchedIo): batched (its default) or dgram, for an A/B. */
  rojeUdp: 'batched' | 'dgram';
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
      'latency-seconds': { type: 'string', default: '8' },
      'latency-qps': { type: 'string', default: '10000,40000' },
      'latency-repeats': { type: 'string', default: '1' },
      'trace-gc': { type: 'boolean', default: false },
      'node-flags': { type: 'string', default: '' },
      'roje-udp': { type: 'string', default: 'batched' },
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
  const latencyQps = intListOption(values['latency-qps'], '--latency-qps', 100, 1_000_000);
  // Each rate costs every server LATENCY_WARM_SECONDS + --latency-seconds: keep the run's length bounded.
  if (latencyQps.length > MAX_LATENCY_RATES) {
    throw new RojeError('ROJE_ERR_CLI_USAGE', `--latency-qps takes at most ${MAX_LATENCY_RATES} rates`);
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
    latencyQps,
    latencyRepeats: intOption(values['latency-repeats'], '--latency-repeats', 1, 5),
    traceGc: values['trace-gc'],
    nodeFlags: values['node-flags'].split(' ').filter((flag) => flag !== ''),
    rojeUdp: listOption(values['roje-udp'], ['batched', 'dgram'] as const, '--roje-udp')[0]!,
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

interface Running {
  proc: Managed;
  port: number;
  row: PeerRow;
  /** roje's stdout file with --trace-gc. */
  gcLog: string | undefined;
}

/** What every step of one layout's run shares. */
interface LayoutContext {
  layout: Layout;
  group: ProcessGroup;
  options: PeersOptions;
  dir: string;
  inputs: Inputs;
  upstreamPort: number;
  serverCpu: string | undefined;
  loadCpu: string | undefined;
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
  settleMs = SETTLE_MS,
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
  await new Promise((resolve) => setTimeout(resolve, settleMs));
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

/** Issue #21's "empty process": roje's defaults, but for a free admin port (8053 may be taken here). */
function rojeEmptyConfigText(layout: Layout, udp: PeersOptions['rojeUdp']): string {
  return [
    'admin:',
    '  listen: 127.0.0.1:0',
    ...(layout === 'all' ? ['workers: auto'] : []),
    ...udpLines(udp),
    '',
  ].join('\n');
}

function udpLines(udp: PeersOptions['rojeUdp']): string[] {
  return udp === 'dgram' ? ['udp:', '  batchedIo: false'] : [];
}

function rojeConfigText(layout: Layout, lists: string | undefined, udp: PeersOptions['rojeUdp']): string {
  return [
    ...udpLines(udp),
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

interface Spawner {
  spawnIt: () => Managed;
  setup: string;
  /** A listed name (the answer must be NXDOMAIN), or undefined: any answer shows the server is up. */
  probe: string | undefined;
}

/**
 * How to start `peer` on `port`: `loaded` with the list (roje from the compiled artifact, with --trace-gc
 * when asked, its stdout then going to `stdoutFd`), or `empty`: no list at all (roje on an all-defaults
 * config but for a free admin port, dnsmasq on an empty config file, unbound without local zones).
 */
async function peerSpawner(
  peer: Peer,
  mode: 'loaded' | 'empty',
  ctx: LayoutContext,
  port: number,
  stdoutFd?: number,
): Promise<Spawner> {
  const { layout, group, options, dir, inputs, upstreamPort, serverCpu: cpu } = ctx;
  const loaded = mode === 'loaded';
  const probe = loaded ? inputs.probe : undefined;
  if (peer === 'roje') {
    const config = path.join(dir, `roje-${mode}-${layout}.yaml`);
    await writeFile(
      config,
      loaded
        ? rojeConfigText(layout, undefined, options.rojeUdp)
        : rojeEmptyConfigText(layout, options.rojeUdp),
    );
    const nodeFlags = [...options.nodeFlags, ...(loaded && options.traceGc ? ['--trace-gc'] : [])];
    const extra = loaded ? ['--compiled', inputs.artifact] : [];
    const args = [...nodeFlags, ...rojeServeArgs(options.rojeEntry, HOST, port, upstreamPort, config, extra)];
    return {
      setup: layout === 'all' ? 'workers: auto' : '1 query loop',
      probe,
      spawnIt: () =>
        group.spawn('roje', process.execPath, args, {
          cpu,
          cwd: REPO,
          ...(stdoutFd === undefined ? {} : { stdoutFd }),
        }),
    };
  }
  if (peer === 'unbound') {
    const threads = layout === 'all' ? os.availableParallelism() : 1;
    const udir = path.join(dir, `unbound-${mode}-${layout}`);
    await mkdir(udir, { recursive: true });
    const conf = await writeForwarderConfig(udir, {
      port,
      upstreamPort,
      threads,
      ...(loaded ? { blockedNames: inputs.names } : {}),
    });
    await checkConfig(conf);
    return {
      setup: `num-threads ${threads}`,
      probe,
      spawnIt: () => group.spawn('unbound', 'unbound', ['-d', '-c', conf], { cpu, cwd: udir }),
    };
  }
  if (peer === 'dnsmasq') {
    let list = inputs.dnsmasqList;
    if (!loaded) {
      list = path.join(dir, 'dnsmasq-empty.conf');
      await writeFile(list, '');
    }
    const args = dnsmasqForwarderArgs(port, list, { upstreamPort, cacheSize: options.dnsmasqCache });
    return {
      setup: `single-threaded, cache-size ${options.dnsmasqCache}`,
      probe,
      spawnIt: () => group.spawn('dnsmasq', 'dnsmasq', args, { cpu, cwd: dir }),
    };
  }
  const args = ['--import', '@tapjs/typescript/import', 'bench/load/trivial-server.ts', '--listen'];
  return {
    setup: 'no list, no cache, no upstream',
    probe: undefined,
    spawnIt: () => group.spawn('trivial', process.execPath, [...args, `${HOST}:${port}`], { cpu, cwd: REPO }),
  };
}

async function startPeer(peer: Peer, ctx: LayoutContext): Promise<Running> {
  const port = await findFreePort(HOST);
  let gcLog: string | undefined;
  let stdoutFd: number | undefined;
  if (peer === 'roje' && ctx.options.traceGc) {
    // V8 prints each --trace-gc line to stdout and flushes it; a file keeps them all (the pipe keeps 4 KB).
    gcLog = path.join(ctx.dir, `roje-${ctx.layout}-stdout.log`);
    stdoutFd = openSync(gcLog, 'w');
  }
  try {
    const spawner = await peerSpawner(peer, 'loaded', ctx, port, stdoutFd);
    const row: PeerRow = { layout: ctx.layout, server: peer, status: 'ok', setup: spawner.setup };
    const started = await startTimed(peer, spawner.spawnIt, port, spawner.probe);
    row.startMs = started.startMs;
    row.rssLoadMB = mb(started.rss);
    const pid = started.proc.child.pid;
    row.processes = pid === undefined ? undefined : (await processTree(pid)).length;
    log(
      `${ctx.layout}: ${peer} (${row.setup}) answered after ${Math.round(started.startMs)} ms, RSS ` +
        `${row.rssLoadMB?.toFixed(1)} MB in ${row.processes} process(es)`,
    );
    return { proc: started.proc, port, row, gcLog };
  } finally {
    // The child has its own copy of the descriptor.
    if (stdoutFd !== undefined) closeSync(stdoutFd);
  }
}

/** RSS of `peer` started without a list, after EMPTY_SETTLE_MS with no traffic but its start probe. */
async function measureEmpty(peer: Peer, ctx: LayoutContext): Promise<number | undefined> {
  const port = await findFreePort(HOST);
  const spawner = await peerSpawner(peer, 'empty', ctx, port);
  const started = await startTimed(`${peer} (empty)`, spawner.spawnIt, port, undefined, EMPTY_SETTLE_MS);
  await started.proc.stop();
  log(`${ctx.layout}: ${peer} empty: RSS ${mb(started.rss)?.toFixed(1)} MB`);
  return mb(started.rss);
}

/** roje started with the plain list in its config (compiled at start, no artifact): its start time only. */
async function rojeListStart(ctx: LayoutContext): Promise<PeerRow> {
  const { layout, group, options, dir, inputs, upstreamPort, serverCpu: cpu } = ctx;
  const port = await findFreePort(HOST);
  const config = path.join(dir, `roje-list-${layout}.yaml`);
  await writeFile(config, rojeConfigText(layout, inputs.namesFile, options.rojeUdp));
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
  const rows: PeerRow[] = [];
  const upstreamPort = await findFreePort(HOST);
  const controlPort = await findFreePort(HOST);
  const ctx: LayoutContext = {
    layout,
    group,
    options,
    dir,
    inputs,
    upstreamPort,
    serverCpu: layout === 'single' ? options.serverCpu : undefined,
    loadCpu: layout === 'single' ? options.loadCpu : undefined,
  };
  const udir = path.join(dir, `upstream-${layout}`);
  await mkdir(udir, { recursive: true });
  const upstreamConf = await writeUpstreamConfig(udir, { port: upstreamPort, controlPort, aaaa: true });
  await checkConfig(upstreamConf);
  const upstream = group.spawn('upstream', 'unbound', ['-d', '-c', upstreamConf], {
    cpu: ctx.loadCpu,
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
  const failed = (server: PeerRow['server'], err: unknown): PeerRow => {
    log((err as Error).message);
    return { layout, server, status: `failed: ${(err as Error).message.split('\n')[0]}`, setup: '' };
  };
  // Each server empty first, one at a time and stopped before the next: nothing else holds memory or CPU.
  const empty = new Map<Peer, number | undefined>();
  for (const peer of servers) {
    try {
      empty.set(peer, await measureEmpty(peer, ctx));
    } catch (err) {
      log(`${peer} empty: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  if (servers.includes('roje')) {
    try {
      rows.push(await rojeListStart(ctx));
    } catch (err) {
      rows.push(failed('roje (list compiled at start)', err));
    }
  }
  // One at a time, so that no start competes with another for the cores.
  const running = new Map<Peer, Running>();
  for (const peer of servers) {
    try {
      const r = await startPeer(peer, ctx);
      r.row.rssEmptyMB = empty.get(peer);
      running.set(peer, r);
    } catch (err) {
      rows.push(failed(peer, err));
    }
  }
  await coldPass(ctx, running, upstreamConf);
  const rounds = await saturationRounds(ctx, running, upstreamConf);
  const latency = await latencyRuns(ctx, running);
  for (const [peer, r] of running) {
    summarize(ctx, r, rounds.get(peer)!, latency.get(peer)!);
    const pid = r.proc.child.pid;
    Object.assign(r.row, {
      rssAfterMB: mb(await treeMemoryBytes(pid, 'VmRSS')),
      hwmMB: mb(await treeMemoryBytes(pid, 'VmHWM')),
      processes: pid === undefined ? undefined : (await processTree(pid)).length,
    } satisfies Partial<PeerRow>);
    rows.push(r.row);
  }
  for (const r of running.values()) await r.proc.stop();
  await upstream.stop();
  return rows;
}

const base = (ctx: LayoutContext, port: number) => ({
  host: HOST,
  port,
  clients: ctx.options.clients,
  outstanding: ctx.options.outstanding,
  cpu: ctx.loadCpu,
  verbose: false,
});

/**
 * The cold pass: every distinct query once, so that the rounds measure a warm cache (a venue's steady
 * state); its rate is mostly the miss path. Bounded: at most WARM_PASSES runs of 30 s.
 */
async function coldPass(
  ctx: LayoutContext,
  running: Map<Peer, Running>,
  upstreamConf: string,
): Promise<void> {
  for (const [peer, r] of running) {
    if (peer === 'trivial') continue;
    const before = await queryCount(upstreamConf);
    let sent = 0;
    let seconds = 0;
    for (let pass = 0; pass < WARM_PASSES; pass++) {
      const warm = await runDnsperf(ctx.group, {
        ...base(ctx, r.port),
        dataFile: ctx.inputs.mix.warmFile,
        maxRuns: 1,
        seconds: MAX_SECONDS,
        outputFile: path.join(ctx.dir, `${ctx.layout}-${peer}-warm-${pass}.out`),
      });
      sent += warm.completed;
      seconds += warm.runSeconds;
      if (warm.endOfFile) break;
    }
    r.row.warmQps = sent / seconds;
    log(
      `${ctx.layout}: ${peer}: cold pass ${sent} queries at ${Math.round(r.row.warmQps)} q/s, upstream saw ` +
        `${(await queryCount(upstreamConf)) - before}`,
    );
  }
}

interface Rounds {
  all: DnsperfResult[];
  quiet: DnsperfResult[];
  upstreamSeen: number;
  /** The busiest share of the CPUs seen before a round that was not quiet. */
  disturbed?: number;
}

/** --rounds runs at saturation, alternating between the servers. */
async function saturationRounds(
  ctx: LayoutContext,
  running: Map<Peer, Running>,
  upstreamConf: string,
): Promise<Map<Peer, Rounds>> {
  const peers = [...running.keys()];
  const out = new Map<Peer, Rounds>(peers.map((p) => [p, { all: [], quiet: [], upstreamSeen: 0 }]));
  for (let round = 0; round < ctx.options.rounds; round++) {
    for (let k = 0; k < peers.length; k++) {
      const peer = peers[(k + round) % peers.length]!;
      const mine = out.get(peer)!;
      const busy = await cpuBusyShare(500);
      const isQuiet = busy === undefined || busy <= BUSY_WARNING;
      if (!isQuiet) {
        mine.disturbed = Math.max(busy, mine.disturbed ?? 0);
        log(`${peer}: machine ${Math.round(busy * 100)} % busy before the round; not a quiet round`);
      }
      const before = await queryCount(upstreamConf);
      const result = await runDnsperf(ctx.group, {
        ...base(ctx, running.get(peer)!.port),
        dataFile: ctx.inputs.mix.queryFile,
        seconds: ctx.options.seconds,
        outputFile: path.join(ctx.dir, `${ctx.layout}-${peer}-${round}.out`),
      });
      mine.upstreamSeen += (await queryCount(upstreamConf)) - before;
      mine.all.push(result);
      if (isQuiet) mine.quiet.push(result);
      log(
        `${ctx.layout}: ${peer}: round ${round + 1}/${ctx.options.rounds}: ${Math.round(result.qps)} q/s, lost ${result.lost}`,
      );
    }
  }
  return out;
}

/**
 * For each offered rate, each server in turn: LATENCY_WARM_SECONDS at that rate without -v, then the -v run
 * of --latency-seconds. With --trace-gc, roje's collections during the -v run are counted from its stdout.
 */
async function latencyRuns(
  ctx: LayoutContext,
  running: Map<Peer, Running>,
): Promise<Map<Peer, { run: LatencyRun; servfail: number }[]>> {
  const out = new Map<Peer, { run: LatencyRun; servfail: number }[]>([...running.keys()].map((p) => [p, []]));
  for (const qps of ctx.options.latencyQps) {
    // Repeats alternate the servers, so that a slow spell of the machine falls on each in turn.
    const runs = new Map<Peer, { run: LatencyRun; servfail: number }[]>(
      [...running.keys()].map((p) => [p, []]),
    );
    for (let repeat = 0; repeat < ctx.options.latencyRepeats; repeat++) {
      for (const [peer, r] of running) {
        const common = { ...base(ctx, r.port), dataFile: ctx.inputs.mix.queryFile, maxQps: qps };
        await runDnsperf(ctx.group, {
          ...common,
          seconds: LATENCY_WARM_SECONDS,
          outputFile: path.join(ctx.dir, `${ctx.layout}-${peer}-latency-warm-${qps}.out`),
        });
        const busy = await cpuBusyShare(500);
        const gc = r.gcLog === undefined ? undefined : createLineWindow(r.gcLog);
        const mark = await gc?.mark();
        const result = await runDnsperf(ctx.group, {
          ...common,
          seconds: ctx.options.latencySeconds,
          verbose: true,
          outputFile: path.join(ctx.dir, `${ctx.layout}-${peer}-latency-${qps}.out`),
        });
        const run: LatencyRun = {
          offeredQps: qps,
          answeredQps: result.qps,
          answers: result.completed,
          lost: result.lost,
          p50Ms: result.p50Ms,
          p99Ms: result.p99Ms,
          p999Ms: result.p999Ms,
          maxMs: result.maxMs,
        };
        if (busy !== undefined && busy > BUSY_WARNING) run.busyBefore = busy;
        if (gc !== undefined) run.gc = summarizeGc(await gc.since(mark!));
        runs.get(peer)!.push({ run, servfail: result.rcodes.SERVFAIL ?? 0 });
        const gcText =
          run.gc === undefined
            ? ''
            : `; GC ${run.gc.scavenges.count} scavenges (max ${run.gc.scavenges.maxMs} ms), ` +
              `${run.gc.markCompacts.count} mark-compacts (max ${run.gc.markCompacts.maxMs} ms)`;
        log(
          `${ctx.layout}: ${peer}: at ${qps} q/s (answered ${Math.round(result.qps)}): p50 ${result.p50Ms} ms, ` +
            `p99 ${result.p99Ms} ms, p99.9 ${result.p999Ms} ms, max ${result.maxMs.toFixed(3)} ms${gcText}`,
        );
      }
    }
    for (const [peer, list] of runs) {
      out.get(peer)!.push({
        run: medianRun(list.map((x) => x.run)),
        servfail: list.reduce((n, x) => n + x.servfail, 0),
      });
    }
  }
  return out;
}

/** The row's rates, loss and NXDOMAIN share from the rounds, its latency runs, and notes on what was off. */
function summarize(
  ctx: LayoutContext,
  r: Running,
  rounds: Rounds,
  latency: { run: LatencyRun; servfail: number }[],
): void {
  const sorted = [...rounds.all].sort((a, b) => a.qps - b.qps);
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  const calm = [...rounds.quiet].sort((a, b) => a.qps - b.qps);
  const completed = rounds.all.reduce((n, x) => n + x.completed, 0);
  const nx = rounds.all.reduce((n, x) => n + (x.rcodes.NXDOMAIN ?? 0), 0);
  Object.assign(r.row, {
    qps: median.qps,
    qpsMin: sorted[0]!.qps,
    qpsMax: sorted.at(-1)!.qps,
    qpsQuiet: calm.length === 0 ? undefined : calm[Math.floor((calm.length - 1) / 2)]!.qps,
    quietRounds: calm.length,
    sent: rounds.all.reduce((n, x) => n + x.sent, 0),
    lost: rounds.all.reduce((n, x) => n + x.lost, 0),
    nxdomainShare: completed === 0 ? undefined : nx / completed,
    servfail:
      rounds.all.reduce((n, x) => n + (x.rcodes.SERVFAIL ?? 0), 0) +
      latency.reduce((n, l) => n + l.servfail, 0),
    upstreamQueries: rounds.upstreamSeen,
    latency: latency.map((l) => l.run),
  } satisfies Partial<PeerRow>);
  const notes: string[] = [];
  const expected = ctx.inputs.mix.expectedNxdomainShare;
  const share = r.row.nxdomainShare;
  if (r.row.server !== 'trivial' && share !== undefined && Math.abs(share - expected) > 0.005) {
    notes.push(`NXDOMAIN ${(share * 100).toFixed(1)} %, expected ${(expected * 100).toFixed(1)} %`);
  }
  if (rounds.disturbed !== undefined) {
    notes.push(`machine up to ${Math.round(rounds.disturbed * 100)} % busy before a round`);
  }
  const latencyLost = latency.reduce((n, l) => n + l.run.lost, 0);
  if (latencyLost > 0) notes.push(`${latencyLost} lost in the latency runs`);
  if (rounds.all.some((x) => x.endOfFile)) notes.push('input ran out before -l');
  r.row.note = [r.row.note, ...notes].filter((n) => n).join('; ') || undefined;
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
  const gcTable = renderGcTable(rows);
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
      `latency: per rate, ${LATENCY_WARM_SECONDS} s at the rate, then -l ${options.latencySeconds} -Q <rate> -v ` +
      `(rates ${options.latencyQps.map((q) => f(q)).join(', ')} q/s)${options.traceGc ? ', roje with --trace-gc' : ''}${options.nodeFlags.length > 0 ? `, roje's node flags ${options.nodeFlags.join(' ')}` : ''}${options.rojeUdp === 'dgram' ? ', roje on dgram (udp.batchedIo: false)' : ''}. ` +
      `RSS empty: no list, no traffic but the start probe, after ${EMPTY_SETTLE_MS / 1000} s. One core: server on CPU ${options.serverCpu}, ` +
      `dnsperf and upstream on CPU ${options.loadCpu}; all cores: nothing pinned.`,
    '',
    renderPeersTable(rows),
    '',
    '## Latency',
    '',
    renderLatencyTable(rows),
    '',
    ...(gcTable === '' ? [] : ["## roje's collector during the latency runs (--trace-gc)", '', gcTable, '']),
    '## Targets (issue #7)',
    '',
    renderTargets(rows),
    '',
    '## Targets (issue #21), roje against dnsmasq in the same run',
    '',
    renderIssue21Targets(rows),
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
