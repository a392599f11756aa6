/**
 * The soak (issue #7): roje with a 1M-name list under the realistic query mix of the peers benchmark, at half
 * its measured capacity, for `--minutes` (10 by default), with the list file replaced and reloaded through
 * the admin API every minute (lists A and B of the swap benchmark, alternately). It must lose no query,
 * answer no SERVFAIL, take every swap (probes), and keep its memory flat: RSS is sampled every 10 s.
 * See bench/README.md "Soak".
 *
 *   node --import @tapjs/typescript/import bench/load/soak.ts [--minutes 10] [--qps N]
 *
 * Every address is 127.0.0.1; dnsperf runs in bounded segments of at most 30 s (-l) with a kill guard; every
 * process started here is stopped at the end, on error and on SIGINT/SIGTERM; the temp dir is removed.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { RojeError } from '../../src/errors.js';
import { readAdultUnion, writeLines } from '../lists/names.js';
import { type DnsperfResult, runDnsperf } from './dnsperf.js';
import { cpuBusyShare, describeMachine, type Machine } from './machine.js';
import { DEFAULT_MIX, type Mix, writeMix } from './mix-workload.js';
import { intOption } from './options.js';
import {
  createRunGroup,
  defaultRojeEntry,
  findFreePort,
  type ProcessGroup,
  runIfMain,
  treeMemoryBytes,
  waitForDns,
} from './processes.js';
import { askRcode, startRoje, swapTo } from './swap.js';
import type { Swap } from './swap-report.js';
import { makeLists } from './swap-workload.js';
import { checkConfig, writeUpstreamConfig } from './unbound.js';

const HOST = '127.0.0.1';
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const SEGMENT_SECONDS = 30;
const WARM_PASSES = 4;
/** The first swap this far into the run, then one every `swapEvery` seconds: each one well inside the run. */
const FIRST_SWAP_SECONDS = 30;

export interface SoakOptions {
  minutes: number;
  /** Offered load; 0: half the capacity measured at the start. */
  qps: number;
  share: number;
  capacitySeconds: number;
  swapEvery: number;
  rssEvery: number;
  listNames: number;
  queries: number;
  blockedShare: number;
  outstanding: number;
  clients: number;
  serverCpu: string | undefined;
  loadCpu: string | undefined;
  rojeEntry: string;
  outDir: string;
}

export function parseSoakArgs(argv: readonly string[]): SoakOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      minutes: { type: 'string', default: '10' },
      qps: { type: 'string', default: '0' },
      share: { type: 'string', default: '0.5' },
      'capacity-seconds': { type: 'string', default: '10' },
      'swap-every': { type: 'string', default: '60' },
      'rss-every': { type: 'string', default: '10' },
      'list-names': { type: 'string', default: '1000000' },
      queries: { type: 'string', default: String(DEFAULT_MIX.queries) },
      'blocked-share': { type: 'string', default: String(DEFAULT_MIX.blockedShare) },
      outstanding: { type: 'string', default: '1000' },
      clients: { type: 'string', default: '16' },
      'server-cpu': { type: 'string', default: '0' },
      'load-cpu': { type: 'string', default: '1' },
      'no-pin': { type: 'boolean', default: false },
      roje: { type: 'string', default: defaultRojeEntry(REPO) },
      out: { type: 'string', default: path.join(REPO, 'bench/results') },
    },
  });
  const share = Number(values.share);
  if (!(share > 0 && share <= 1)) {
    throw new RojeError('ROJE_ERR_CLI_USAGE', `--share must be in (0, 1] (got "${values.share}")`);
  }
  const blockedShare = Number(values['blocked-share']);
  if (!(blockedShare >= 0 && blockedShare <= 0.9)) {
    throw new RojeError(
      'ROJE_ERR_CLI_USAGE',
      `--blocked-share must be in [0, 0.9] (got "${values['blocked-share']}")`,
    );
  }
  return {
    minutes: intOption(values.minutes, '--minutes', 1, 120),
    qps: intOption(values.qps, '--qps', 0, 1_000_000),
    share,
    capacitySeconds: intOption(values['capacity-seconds'], '--capacity-seconds', 2, 30),
    swapEvery: intOption(values['swap-every'], '--swap-every', 20, 3600),
    rssEvery: intOption(values['rss-every'], '--rss-every', 1, 600),
    listNames: intOption(values['list-names'], '--list-names', 1000, 10_000_000),
    queries: intOption(values.queries, '--queries', 10_000, 10_000_000),
    blockedShare,
    outstanding: intOption(values.outstanding, '--outstanding', 1, 10_000),
    clients: intOption(values.clients, '--clients', 1, 256),
    serverCpu: values['no-pin'] ? undefined : values['server-cpu'],
    loadCpu: values['no-pin'] ? undefined : values['load-cpu'],
    rojeEntry: path.resolve(values.roje),
    outDir: path.resolve(values.out),
  };
}

function log(message: string): void {
  process.stderr.write(`[soak] ${message}\n`);
}

interface RssSample {
  /** Seconds since the soak started. */
  at: number;
  bytes: number;
}

interface Segment {
  startAt: number;
  endAt: number;
  loadAverage: number;
  /** Datagrams the kernel dropped for a full receive buffer during the segment (any UDP socket). */
  rcvbufErrors: number | undefined;
  result: DnsperfResult;
}

/** RcvbufErrors of /proc/net/snmp: UDP datagrams dropped because a socket's receive buffer was full. */
async function udpRcvbufErrors(): Promise<number | undefined> {
  const text = await readFile('/proc/net/snmp', 'utf8').catch(() => '');
  const [names, values] = text.split('\n').filter((l) => l.startsWith('Udp:'));
  if (names === undefined || values === undefined) return undefined;
  const at = names.split(/\s+/).indexOf('RcvbufErrors');
  return at < 0 ? undefined : Number(values.split(/\s+/)[at]);
}

interface SwapDone extends Swap {
  /** Seconds since the soak started. */
  atSecond: number;
  probesOk: boolean;
}

export interface SoakReport {
  when: string;
  machine: Machine;
  options: SoakOptions;
  capacityQps: number | undefined;
  qps: number;
  busyBefore: number | undefined;
  lists: { a: number; replaced: number };
  mix: Mix;
  startup: { readyMs: number; compileMs: number | undefined };
  segments: Segment[];
  swaps: SwapDone[];
  rss: RssSample[];
  hwmBytes: number | undefined;
  soakSeconds: number;
}

export async function runSoak(options: SoakOptions, group: ProcessGroup): Promise<SoakReport> {
  const machine = await describeMachine();
  if (!existsSync(options.rojeEntry))
    throw new Error(`${options.rojeEntry} not found: run npm run build first`);
  if (machine.cpus < 2 && options.serverCpu !== undefined) {
    log('fewer than 2 CPUs: running unpinned');
    options.serverCpu = undefined;
    options.loadCpu = undefined;
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'roje-soak-'));
  try {
    log(`workload in ${dir}`);
    const lists = makeLists(await readAdultUnion(), options.listNames, 0.1);
    const fileA = path.join(dir, 'list-a.txt');
    const fileB = path.join(dir, 'list-b.txt');
    const listFile = path.join(dir, 'adult.txt');
    await writeLines(fileA, lists.a, (n) => `||${n}^\n`);
    await writeLines(fileB, lists.b, (n) => `||${n}^\n`);
    await writeLines(listFile, lists.a, (n) => `||${n}^\n`);
    // The blocked lines come from names in both lists: blocked whichever list is in force.
    const mix = await writeMix(dir, new Set(lists.a), lists.stable, {
      ...DEFAULT_MIX,
      queries: options.queries,
      blockedShare: options.blockedShare,
    });
    log(
      `lists: A ${lists.a.length} names, B replaces ${lists.onlyB.length}; mix ${options.queries} lines, ` +
        `${mix.distinct} distinct, NXDOMAIN ~${(mix.expectedNxdomainShare * 100).toFixed(1)} %`,
    );

    const upstreamPort = await findFreePort(HOST);
    const controlPort = await findFreePort(HOST);
    const upstreamConf = await writeUpstreamConfig(dir, { port: upstreamPort, controlPort, aaaa: true });
    await checkConfig(upstreamConf);
    const upstream = group.spawn('upstream', 'unbound', ['-d', '-c', upstreamConf], {
      cpu: options.loadCpu,
      cwd: dir,
    });
    await waitForDns(HOST, upstreamPort, 20_000, upstream.exited);

    // The peers benchmark's settings: the cache holds the whole mix, answers as unbound and dnsmasq give them.
    const roje = await startRoje(group, options, dir, listFile, upstreamPort, [
      'cache:',
      '  maxEntries: 1000000',
      'policies:',
      '  default:',
      '    blockMode: nxdomain',
      '    safeSearch: false',
    ]);
    const pid = roje.proc.child.pid;
    const base = {
      host: HOST,
      port: roje.port,
      clients: options.clients,
      verbose: false,
      cpu: options.loadCpu,
    };
    for (let pass = 0; pass < WARM_PASSES; pass++) {
      const warm = await runDnsperf(group, {
        ...base,
        outstanding: 100,
        dataFile: mix.warmFile,
        maxRuns: 1,
        seconds: 30,
        outputFile: path.join(dir, `warm-${pass}.out`),
      });
      log(`cold pass ${pass + 1}: ${warm.completed} queries at ${Math.round(warm.qps)} q/s`);
      if (warm.endOfFile) break;
    }
    let capacityQps: number | undefined;
    let qps = options.qps;
    if (qps === 0) {
      const capacity = await runDnsperf(group, {
        ...base,
        outstanding: 100,
        dataFile: mix.queryFile,
        seconds: options.capacitySeconds,
        outputFile: path.join(dir, 'capacity.out'),
      });
      capacityQps = capacity.qps;
      qps = Math.max(100, Math.floor(capacity.qps * options.share));
      log(`capacity ${Math.round(capacity.qps)} q/s (lost ${capacity.lost}); soaking at ${qps} q/s`);
    }

    const busyBefore = await cpuBusyShare(500);
    const t0 = Date.now();
    const end = t0 + options.minutes * 60_000;
    const seconds = () => (Date.now() - t0) / 1000;
    const rss: RssSample[] = [];
    const sample = async (): Promise<void> => {
      const bytes = await treeMemoryBytes(pid, 'VmRSS');
      if (bytes !== undefined) rss.push({ at: seconds(), bytes });
    };
    await sample();
    const sampler = setInterval(() => void sample(), options.rssEvery * 1000);

    const segments: Segment[] = [];
    const load = async (): Promise<void> => {
      for (let k = 0; Date.now() < end - 1000; k++) {
        const length = Math.min(SEGMENT_SECONDS, Math.ceil((end - Date.now()) / 1000));
        const startAt = seconds();
        const loadAverage = os.loadavg()[0]!;
        const dropsBefore = await udpRcvbufErrors();
        const result = await runDnsperf(group, {
          ...base,
          outstanding: options.outstanding,
          dataFile: mix.queryFile,
          seconds: length,
          maxQps: qps,
          outputFile: path.join(dir, `soak-${k}.out`),
        });
        const dropsAfter = await udpRcvbufErrors();
        const rcvbufErrors =
          dropsBefore === undefined || dropsAfter === undefined ? undefined : dropsAfter - dropsBefore;
        segments.push({ startAt, endAt: seconds(), loadAverage, rcvbufErrors, result });
        log(
          `${Math.round(seconds())} s: segment ${k + 1}: ${result.completed}/${result.sent} at ` +
            `${Math.round(result.qps)} q/s, lost ${result.lost}, SERVFAIL ${result.rcodes.SERVFAIL ?? 0}, ` +
            `UDP receive-buffer drops ${rcvbufErrors}`,
        );
      }
    };
    const swaps: SwapDone[] = [];
    const plan = async (): Promise<void> => {
      const probeA = lists.onlyA[0]!;
      const probeB = lists.onlyB[0]!;
      for (let k = 0; ; k++) {
        const at = t0 + (FIRST_SWAP_SECONDS + k * options.swapEvery) * 1000;
        // Room for the swap to finish inside the run: its compile takes ~5-10 s on one shared core.
        if (at > end - 20_000) return;
        await new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));
        const toB = k % 2 === 0;
        const swap = await swapTo(
          toB ? 'A -> B' : 'B -> A',
          listFile,
          toB ? fileB : fileA,
          roje.adminUrl,
          roje.token,
          roje.logFile,
          roje.port,
          toB ? { blocked: probeB, passes: probeA } : { blocked: probeA, passes: probeB },
        );
        const blocked = toB ? probeB : probeA;
        const passes = toB ? probeA : probeB;
        const probesOk = swap.probes[blocked] === 'NXDOMAIN' && swap.probes[passes] === 'NOERROR';
        swaps.push({ ...swap, atSecond: (swap.requestAt - t0) / 1000, probesOk });
      }
    };
    const [planned, loaded] = await Promise.allSettled([plan(), load()]);
    clearInterval(sampler);
    await sample();
    if (loaded.status === 'rejected') throw loaded.reason;
    if (planned.status === 'rejected') throw planned.reason;
    const hwmBytes = await treeMemoryBytes(pid, 'VmHWM');
    // Still answering, and the last list in force: a last probe of each kind.
    const finalProbe = await askRcode(roje.port, lists.stable[0]!);
    if (finalProbe !== 'NXDOMAIN') throw new Error(`after the soak a listed name answered ${finalProbe}`);
    return {
      when: new Date().toISOString(),
      machine,
      options,
      capacityQps,
      qps,
      busyBefore,
      lists: { a: lists.a.length, replaced: lists.onlyB.length },
      mix,
      startup: { readyMs: roje.readyMs, compileMs: roje.compileMs },
      segments,
      swaps,
      rss,
      hwmBytes,
      soakSeconds: seconds(),
    };
  } finally {
    await group.stopAll();
    await rm(dir, { recursive: true, force: true });
  }
}

const f = (n: number | undefined, digits = 0): string =>
  n === undefined || Number.isNaN(n)
    ? ''
    : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const mbOf = (b: number | undefined): number | undefined => (b === undefined ? undefined : b / 2 ** 20);

/** Least-squares slope of RSS (MB) over time (minutes). */
function slopeMbPerMinute(points: ReadonlyArray<{ at: number; bytes: number }>): number {
  if (points.length < 2) return Number.NaN;
  const xs = points.map((p) => p.at / 60);
  const ys = points.map((p) => p.bytes / 2 ** 20);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

export interface SoakVerdict {
  sent: number;
  completed: number;
  lost: number;
  servfail: number;
  swapsOk: number;
  /** RSS just before each swap request: the list in force, no second list being built. */
  beforeSwap: RssSample[];
  slope: number;
  ok: boolean;
}

export function soakVerdict(report: SoakReport): SoakVerdict {
  const sent = report.segments.reduce((n, s) => n + s.result.sent, 0);
  const completed = report.segments.reduce((n, s) => n + s.result.completed, 0);
  const lost = report.segments.reduce((n, s) => n + s.result.lost, 0);
  const servfail = report.segments.reduce((n, s) => n + (s.result.rcodes.SERVFAIL ?? 0), 0);
  const beforeSwap = report.swaps
    .map((s) => report.rss.filter((r) => r.at <= s.atSecond).at(-1))
    .filter((r): r is RssSample => r !== undefined);
  const slope = slopeMbPerMinute(beforeSwap);
  const swapsOk = report.swaps.filter((s) => s.probesOk).length;
  return {
    sent,
    completed,
    lost,
    servfail,
    swapsOk,
    beforeSwap,
    slope,
    ok: lost === 0 && servfail === 0 && swapsOk === report.swaps.length,
  };
}

export function renderSoakReport(report: SoakReport): string {
  const v = soakVerdict(report);
  const m = report.machine;
  const rssMb = report.rss.map((r) => r.bytes / 2 ** 20);
  const perMinute: string[] = [
    '| minute | sent | completed | lost | rcvbuf drops | SERVFAIL | NXDOMAIN % | q/s | load avg | swap (compile ms, swapped after ms, probes) | RSS MB min / max |',
    '|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|',
  ];
  for (let minute = 0; minute * 60 < report.soakSeconds - 1; minute++) {
    const segs = report.segments.filter(
      (s) => s.startAt >= minute * 60 - 1 && s.startAt < (minute + 1) * 60 - 1,
    );
    if (segs.length === 0) continue;
    const sum = (fn: (r: DnsperfResult) => number) => segs.reduce((n, s) => n + fn(s.result), 0);
    const completed = sum((r) => r.completed);
    const seconds = sum((r) => r.runSeconds);
    const swap = report.swaps.find((s) => s.atSecond >= minute * 60 && s.atSecond < (minute + 1) * 60);
    const inMinute = report.rss
      .filter((r) => r.at >= minute * 60 && r.at < (minute + 1) * 60)
      .map((r) => r.bytes / 2 ** 20);
    perMinute.push(
      `| ${minute + 1} | ${f(sum((r) => r.sent))} | ${f(completed)} | ${f(sum((r) => r.lost))} | ` +
        `${f(segs.reduce((n, s) => n + (s.rcvbufErrors ?? 0), 0))} | ${f(sum((r) => r.rcodes.SERVFAIL ?? 0))} | ` +
        `${((sum((r) => r.rcodes.NXDOMAIN ?? 0) / Math.max(1, completed)) * 100).toFixed(1)} | ${f(completed / seconds)} | ` +
        `${Math.max(...segs.map((s) => s.loadAverage)).toFixed(2)} | ` +
        `${swap === undefined ? '' : `${swap.label}: ${f(swap.compileMs)}, ${f(swap.swappedAt - swap.requestAt)}, ${swap.probesOk ? 'ok' : 'WRONG'}`} | ` +
        `${inMinute.length === 0 ? '' : `${f(Math.min(...inMinute), 0)} / ${f(Math.max(...inMinute), 0)}`} |`,
    );
  }
  const summary = [
    '| check | value | |',
    '|---|--:|---|',
    `| queries sent / completed | ${f(v.sent)} / ${f(v.completed)} | ${f(report.qps)} q/s offered |`,
    `| lost | ${f(v.lost)} | ${v.lost === 0 ? 'ok' : 'NOT met'} |`,
    `| UDP receive-buffer drops (kernel, all sockets) | ${f(report.segments.reduce((n, s) => n + (s.rcvbufErrors ?? 0), 0))} | where lost queries went, if they match |`,
    `| SERVFAIL | ${f(v.servfail)} | ${v.servfail === 0 ? 'ok' : 'NOT met'} |`,
    `| swaps done / probes right | ${report.swaps.length} / ${v.swapsOk} | ${v.swapsOk === report.swaps.length ? 'ok' : 'NOT met'} |`,
    `| RSS MB first / last / max (every ${report.options.rssEvery} s) | ${f(rssMb[0], 1)} / ${f(rssMb.at(-1), 1)} / ${f(Math.max(...rssMb), 1)} | peak (VmHWM) ${f(mbOf(report.hwmBytes), 1)} |`,
    `| RSS MB before each swap | ${v.beforeSwap.map((r) => f(r.bytes / 2 ** 20, 0)).join(', ')} | slope ${f(v.slope, 2)} MB/min |`,
  ];
  return [
    `# Soak ${report.when}`,
    '',
    `Machine: ${m.cpu}, ${m.cpus} CPUs, ${m.memoryGiB} GiB, ${m.kernel}; Node ${m.node}; ${m.dnsperf}. CPUs ` +
      `${Math.round((report.busyBefore ?? 0) * 100)} % busy before the soak.`,
    `List A ${f(report.lists.a)} names, B replaces ${f(report.lists.replaced)}; roje ready after ${f(report.startup.readyMs)} ms ` +
      `(startup compile ${f(report.startup.compileMs)} ms). Mix: ${f(report.options.queries)} lines, ${f(report.mix.distinct)} distinct, ` +
      `NXDOMAIN ~${(report.mix.expectedNxdomainShare * 100).toFixed(1)} %.`,
    `Capacity ${report.capacityQps === undefined ? 'not measured (--qps given)' : `${f(report.capacityQps)} q/s`}; soak at ` +
      `${f(report.qps)} q/s for ${f(report.soakSeconds / 60, 1)} min, dnsperf -c ${report.options.clients} -q ${report.options.outstanding} ` +
      `in segments of ${SEGMENT_SECONDS} s; a swap every ${report.options.swapEvery} s from ${FIRST_SWAP_SECONDS} s; roje on CPU ` +
      `${report.options.serverCpu ?? 'any'}, dnsperf and upstream on CPU ${report.options.loadCpu ?? 'any'}.`,
    '',
    perMinute.join('\n'),
    '',
    summary.join('\n'),
    '',
  ].join('\n');
}

async function writeReport(report: SoakReport): Promise<void> {
  const markdown = renderSoakReport(report);
  process.stdout.write(`${markdown}\n`);
  await mkdir(report.options.outDir, { recursive: true });
  const stamp = report.when.replace(/[:.]/g, '-');
  await writeFile(path.join(report.options.outDir, `soak-${stamp}.md`), markdown);
  await writeFile(
    path.join(report.options.outDir, `soak-${stamp}.json`),
    `${JSON.stringify({ ...report, verdict: soakVerdict(report) }, null, 2)}\n`,
  );
  log(`written to ${path.join(report.options.outDir, `soak-${stamp}.{md,json}`)}`);
  if (!soakVerdict(report).ok) process.exitCode = 1;
}

async function main(): Promise<void> {
  const options = parseSoakArgs(process.argv.slice(2));
  const group = createRunGroup(log);
  await writeReport(await runSoak(options, group));
}

runIfMain(import.meta.url, main, log);
