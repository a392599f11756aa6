/**
 * A list swap under load (issue #4): dnsperf at a fixed rate against roje serving a 1M-name list while an
 * operator replaces that list (POST /api/v1/lists/refresh) and, later, puts the old one back. roje compiles
 * the new list in a worker thread on the same core as its query loop and then swaps one reference; this
 * measures what a client sees meanwhile: lost queries, SERVFAILs, latency in and outside the swap, memory,
 * and whether every answer matched the list in force (no listed name ever answered, no name blocked early).
 * See bench/README.md "List swap under load".
 *
 *   node --import @tapjs/typescript/import bench/load/swap.ts [--qps 10000] [--seconds 30]
 *
 * Every address is 127.0.0.1; dnsperf is bounded by -l (<= 30 s) and a kill guard; every process started
 * here is stopped at the end, on error and on SIGINT/SIGTERM; the temp dir is removed.
 */
import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { RojeError } from '../../src/errors.js';
import { type DnsperfResult, runDnsperf } from './dnsperf.js';
import { cpuBusyShare, describeMachine } from './machine.js';
import { intOption } from './options.js';
import {
  buildProbeQuery,
  createRunGroup,
  findFreePort,
  type Managed,
  type ProcessGroup,
  residentBytes,
  rojeServeArgs,
  runIfMain,
  waitForDns,
} from './processes.js';
import { type Report, readTimeline, renderSwapReport, type Swap, WINDOW_TAIL_MS } from './swap-report.js';
import { writeSwapWorkload } from './swap-workload.js';
import { checkConfig, writeUpstreamConfig } from './unbound.js';

const HOST = '127.0.0.1';
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const MAX_SECONDS = 30;
/** Startup compiles the 1M-name list before roje answers: ~5-10 s on the 2-vCPU guests of these runs. */
const READY_TIMEOUT_MS = 120_000;
const SWAP_TIMEOUT_MS = 60_000;
const RSS_INTERVAL_MS = 100;

export interface SwapOptions {
  listNames: number;
  /** Share of list A's names that list B replaces with names A does not cover. */
  replaced: number;
  qps: number;
  seconds: number;
  /** Seconds after dnsperf starts: the refresh to list B, and the one back to A (0: none). */
  swapAt: number;
  swapBackAt: number;
  hitNames: number;
  blockedNames: number;
  /** Names only in A, and names only in B, in the query mix: they show when each swap took effect. */
  flipNames: number;
  outstanding: number;
  clients: number;
  serverCpu: string | undefined;
  loadCpu: string | undefined;
  rojeEntry: string;
  outDir: string;
}

export function parseSwapArgs(argv: readonly string[]): SwapOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      'list-names': { type: 'string', default: '1000000' },
      replaced: { type: 'string', default: '0.1' },
      qps: { type: 'string', default: '10000' },
      seconds: { type: 'string', default: '30' },
      'swap-at': { type: 'string', default: '5' },
      'swap-back-at': { type: 'string', default: '18' },
      'hit-names': { type: 'string', default: '1000' },
      'blocked-names': { type: 'string', default: '1000' },
      'flip-names': { type: 'string', default: '100' },
      outstanding: { type: 'string', default: '1000' },
      clients: { type: 'string', default: '16' },
      'server-cpu': { type: 'string', default: '0' },
      'load-cpu': { type: 'string', default: '1' },
      'no-pin': { type: 'boolean', default: false },
      roje: { type: 'string', default: path.join(REPO, 'dist/main.js') },
      out: { type: 'string', default: path.join(REPO, 'bench/results') },
    },
  });
  const replaced = Number(values.replaced);
  if (!(replaced > 0 && replaced <= 0.5)) {
    throw new RojeError(
      'ROJE_ERR_CLI_USAGE',
      `--replaced must be a share in (0, 0.5] (got "${values.replaced}")`,
    );
  }
  const seconds = intOption(values.seconds, '--seconds', 5, MAX_SECONDS);
  const swapAt = intOption(values['swap-at'], '--swap-at', 1, seconds - 1);
  const swapBackAt = intOption(values['swap-back-at'], '--swap-back-at', 0, seconds - 1);
  if (swapBackAt !== 0 && swapBackAt <= swapAt) {
    throw new RojeError('ROJE_ERR_CLI_USAGE', '--swap-back-at must be after --swap-at (or 0: no swap back)');
  }
  return {
    listNames: intOption(values['list-names'], '--list-names', 1000, 10_000_000),
    replaced,
    qps: intOption(values.qps, '--qps', 100, 200_000),
    seconds,
    swapAt,
    swapBackAt,
    hitNames: intOption(values['hit-names'], '--hit-names', 1, 20_000),
    blockedNames: intOption(values['blocked-names'], '--blocked-names', 1, 100_000),
    flipNames: intOption(values['flip-names'], '--flip-names', 1, 10_000),
    outstanding: intOption(values.outstanding, '--outstanding', 1, 10_000),
    clients: intOption(values.clients, '--clients', 1, 256),
    serverCpu: values['no-pin'] ? undefined : values['server-cpu'],
    loadCpu: values['no-pin'] ? undefined : values['load-cpu'],
    rojeEntry: path.resolve(values.roje),
    outDir: path.resolve(values.out),
  };
}

function log(message: string): void {
  process.stderr.write(`[swap] ${message}\n`);
}

/** The rcode of one A query for `name`, or 'timeout'. */
export async function askRcode(port: number, name: string, timeoutMs = 2000): Promise<string> {
  const socket = dgram.createSocket('udp4');
  const id = randomBytes(2).readUInt16BE(0);
  try {
    return await new Promise<string>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), timeoutMs);
      socket.on('message', (msg) => {
        if (msg.length < 12 || msg.readUInt16BE(0) !== id) return;
        clearTimeout(timer);
        const rcode = msg[3]! & 0x0f;
        resolve(
          ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'][rcode] ?? `RCODE${rcode}`,
        );
      });
      socket.send(buildProbeQuery(id, name), port, HOST);
    });
  } finally {
    socket.close();
  }
}

interface LogLine {
  time: number;
  msg: string;
  ms?: number;
  entries?: number;
  admin?: string | null;
}

async function readLog(file: string): Promise<LogLine[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const out: LogLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const raw = JSON.parse(line) as Omit<LogLine, 'time'> & { time: string | number };
      // pino's time is an ISO string in roje's logger (epoch ms by pino's default).
      out.push({ ...raw, time: typeof raw.time === 'string' ? Date.parse(raw.time) : raw.time });
    } catch {
      // A line still being written; the next poll sees it whole.
    }
  }
  return out;
}

/** Polls roje's log until a line after `since` matches; bounded by `timeoutMs`. */
async function waitForLog(
  file: string,
  match: (l: LogLine) => boolean,
  since: number,
  timeoutMs: number,
): Promise<LogLine> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const found = (await readLog(file)).find((l) => l.time >= since && match(l));
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`roje's log had no matching line within ${timeoutMs} ms (${file})`);
}

export async function swapTo(
  label: string,
  listFile: string,
  source: string,
  adminUrl: string,
  token: string,
  logFile: string,
  port: number,
  probe: { blocked: string; passes: string },
): Promise<Swap> {
  // Atomic replace: roje (or a reader at any moment) sees the old file or the new one, never half of one.
  const staged = `${listFile}.new`;
  await writeFile(staged, await readFile(source));
  await rename(staged, listFile);
  const requestAt = Date.now();
  const response = await fetch(`${adminUrl}/api/v1/lists/refresh`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: '{}',
    signal: AbortSignal.timeout(SWAP_TIMEOUT_MS),
  });
  await response.arrayBuffer();
  const answeredAt = Date.now();
  if (response.status !== 200) throw new Error(`${label}: the refresh answered HTTP ${response.status}`);
  const line = await waitForLog(logFile, (l) => l.msg === 'lists reloaded', requestAt, 5000);
  const probes = {
    [probe.blocked]: await askRcode(port, probe.blocked),
    [probe.passes]: await askRcode(port, probe.passes),
  };
  log(
    `${label}: compiled in ${line.ms} ms, swapped ${line.time - requestAt} ms after the request; ` +
      `probes ${JSON.stringify(probes)}`,
  );
  return {
    label,
    requestAt,
    answeredAt,
    swappedAt: line.time,
    compileMs: line.ms ?? Number.NaN,
    status: response.status,
    probes,
  };
}

interface RssSample {
  at: number;
  bytes: number;
}

function sampleRss(pid: number | undefined): { samples: RssSample[]; stop(): void } {
  const samples: RssSample[] = [];
  const timer = setInterval(() => {
    void residentBytes(pid).then((bytes) => {
      if (bytes !== undefined) samples.push({ at: Date.now(), bytes });
    });
  }, RSS_INTERVAL_MS);
  return { samples, stop: () => clearInterval(timer) };
}

async function loadAverage(): Promise<string> {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

export interface RunningRoje {
  proc: Managed;
  port: number;
  adminUrl: string;
  token: string;
  logFile: string;
  readyMs: number;
  compileMs: number | undefined;
}

/**
 * roje with the list at `listFile`, an operator token for the admin API (on a free loopback port, read
 * from the ready line) and info logs in a file, where the "lists reloaded" lines are read from. `extraConfig`
 * lines are appended to its config (top-level keys; the soak sizes the cache with them).
 */
export async function startRoje(
  group: ProcessGroup,
  options: Pick<SwapOptions, 'rojeEntry' | 'serverCpu'>,
  dir: string,
  listFile: string,
  upstreamPort: number,
  extraConfig: readonly string[] = [],
): Promise<RunningRoje> {
  const token = `roje_${randomBytes(32).toString('base64url')}`;
  const sha256 = createHash('sha256').update(token, 'utf8').digest('hex');
  const config = path.join(dir, 'roje.yaml');
  await writeFile(
    config,
    [
      'log:',
      '  level: info',
      'rateLimit:',
      '  enabled: false',
      'lists:',
      `  - { category: adult, name: swap, path: ${JSON.stringify(listFile)} }`,
      'admin:',
      '  listen: 127.0.0.1:0',
      '  tokens:',
      `    - { name: bench, role: operator, sha256: ${sha256} }`,
      ...extraConfig,
      '',
    ].join('\n'),
  );
  const port = await findFreePort(HOST);
  const logFile = path.join(dir, 'roje.log');
  const logFd = await open(logFile, 'w');
  let roje: Managed;
  const spawnedAt = Date.now();
  try {
    roje = group.spawn(
      'roje',
      process.execPath,
      rojeServeArgs(options.rojeEntry, HOST, port, upstreamPort, config),
      {
        cpu: options.serverCpu,
        cwd: REPO,
        stdoutFd: logFd.fd,
      },
    );
  } finally {
    await logFd.close();
  }
  const ready = await Promise.race([
    waitForLog(logFile, (l) => /^roje .* ready$/.test(l.msg), spawnedAt, READY_TIMEOUT_MS),
    roje.exited.then(() => {
      throw new Error(`roje exited during startup: ${roje.output().trim()}`);
    }),
  ]);
  const loaded = (await readLog(logFile)).find((l) => l.msg === 'lists loaded');
  log(
    `roje ready after ${ready.time - spawnedAt} ms (startup compile ${loaded?.ms} ms), admin ${ready.admin}`,
  );
  if (typeof ready.admin !== 'string') throw new Error('roje has no admin address in its ready line');
  const adminUrl = `http://${ready.admin}`;
  await waitForDns(HOST, port, 10_000, roje.exited);

  return {
    proc: roje,
    port,
    adminUrl,
    token,
    logFile,
    readyMs: ready.time - spawnedAt,
    compileMs: loaded?.ms,
  };
}

export async function runSwap(options: SwapOptions, group: ProcessGroup): Promise<void> {
  const machine = await describeMachine();
  if (!existsSync(options.rojeEntry))
    throw new Error(`${options.rojeEntry} not found: run npm run build first`);
  if (machine.cpus < 2 && options.serverCpu !== undefined) {
    log('fewer than 2 CPUs: running unpinned');
    options.serverCpu = undefined;
    options.loadCpu = undefined;
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'roje-swap-'));
  try {
    log(`workload in ${dir}`);
    const w = await writeSwapWorkload(dir, options);
    log(
      `list A ${w.listNames} names, list B replaces ${w.replaced} of them (${w.onlyAListed} only in A, ` +
        `not covered by B); query mix: ${w.hits} hits, ${w.stable} listed in both, ` +
        `${w.onlyA.length} + ${w.onlyB.length} names only in A / only in B`,
    );
    const { fileA, fileB, listFile, queries, kinds, onlyA, onlyB } = w;

    // The upstream (loopback unbound, answers every name from local data) shares the load core with dnsperf.
    const upstreamPort = await findFreePort(HOST);
    const controlPort = await findFreePort(HOST);
    const upstreamConf = await writeUpstreamConfig(dir, { port: upstreamPort, controlPort });
    await checkConfig(upstreamConf);
    const upstream = group.spawn('upstream', 'unbound', ['-d', '-c', upstreamConf], {
      cpu: options.loadCpu,
      cwd: dir,
    });
    await waitForDns(HOST, upstreamPort, 20_000, upstream.exited);

    const roje = await startRoje(group, options, dir, listFile, upstreamPort);
    const { port, adminUrl, token, logFile } = roje;

    const probeA = onlyA[0]!;
    const probeB = onlyB[0]!;
    const before = { [probeA]: await askRcode(port, probeA), [probeB]: await askRcode(port, probeB) };
    log(`before: ${JSON.stringify(before)}`);

    // Warm-up: every name once (hits into the cache, JIT on every path), then 2 s at the run's rate.
    const base = {
      host: HOST,
      port,
      dataFile: queries,
      clients: options.clients,
      outstanding: options.outstanding,
      cpu: options.loadCpu,
    };
    await runDnsperf(group, {
      ...base,
      seconds: MAX_SECONDS,
      maxRuns: 1,
      maxQps: options.qps,
      verbose: false,
      outputFile: path.join(dir, 'warm1.out'),
    });
    await runDnsperf(group, {
      ...base,
      seconds: 2,
      maxQps: options.qps,
      verbose: false,
      outputFile: path.join(dir, 'warm2.out'),
    });

    const loadBefore = await loadAverage();
    const busy = await cpuBusyShare(500);
    log(
      `load average ${loadBefore}, CPUs ${Math.round((busy ?? 0) * 100)} % busy; ${options.seconds} s at ${options.qps} q/s`,
    );
    const rss = sampleRss(roje.proc.child.pid);
    const out = path.join(dir, 'run.out');
    const runStart = Date.now();
    const run = runDnsperf(group, {
      ...base,
      seconds: options.seconds,
      maxQps: options.qps,
      verbose: true,
      statsInterval: 1,
      outputFile: out,
    });
    const swaps: Swap[] = [];
    const plan = async (): Promise<void> => {
      const wait = (sec: number) =>
        new Promise((r) => setTimeout(r, Math.max(0, runStart + sec * 1000 - Date.now())));
      await wait(options.swapAt);
      swaps.push(
        await swapTo('A -> B', listFile, fileB, adminUrl, token, logFile, port, {
          blocked: probeB,
          passes: probeA,
        }),
      );
      if (options.swapBackAt === 0) return;
      await wait(options.swapBackAt);
      swaps.push(
        await swapTo('B -> A', listFile, fileA, adminUrl, token, logFile, port, {
          blocked: probeA,
          passes: probeB,
        }),
      );
    };
    // Both must finish; a failed swap must not leave dnsperf running unobserved (its -l bounds it anyway).
    const [planned, result] = await Promise.allSettled([plan(), run]);
    rss.stop();
    if (result.status === 'rejected') throw result.reason;
    if (planned.status === 'rejected') throw planned.reason;
    const dnsperf: DnsperfResult = result.value;
    const rssAfter = await residentBytes(roje.proc.child.pid);
    const timeline = await readTimeline(out, options.qps, kinds, swaps);

    const mb = (b: number | undefined) => (b === undefined ? Number.NaN : b / 2 ** 20);
    const first = swaps[0]!;
    const rssBefore = rss.samples.filter((s) => s.at < first.requestAt).at(-1)?.bytes;
    const windowEnd = swaps.at(-1)!.swappedAt + WINDOW_TAIL_MS;
    const peak = Math.max(
      ...rss.samples.filter((s) => s.at >= first.requestAt && s.at <= windowEnd + 2000).map((s) => s.bytes),
    );
    const report = {
      when: new Date().toISOString(),
      machine,
      loadAverage: loadBefore,
      busyBefore: busy,
      options,
      lists: { a: w.listNames, replaced: w.replaced, onlyA: w.onlyAListed },
      startup: { readyMs: roje.readyMs, compileMs: roje.compileMs },
      dnsperf: {
        sent: dnsperf.sent,
        completed: dnsperf.completed,
        lost: dnsperf.lost,
        qps: dnsperf.qps,
        rcodes: dnsperf.rcodes,
      },
      swaps: swaps.map((s, k) => ({
        ...s,
        swapMs: s.swappedAt - s.requestAt,
        httpMs: s.answeredAt - s.requestAt,
        atSecond: (s.requestAt - timeline.startAt) / 1000,
        firstNewAnswerMs: timeline.flips[k]!.firstNewMs,
        lastOldAnswerMs: timeline.flips[k]!.lastOldMs,
      })),
      latency: {
        whole: timeline.whole,
        inWindow: timeline.inWindow,
        atSwap: timeline.atSwap,
        outside: timeline.outside,
      },
      timeouts: timeline.timeouts,
      wrong: timeline.wrong,
      before,
      rssMB: { before: mb(rssBefore), peak: mb(peak), after: mb(rssAfter) },
    };
    await writeReport(report, rss.samples);
  } finally {
    await group.stopAll();
    await rm(dir, { recursive: true, force: true });
  }
}

async function writeReport(report: Report, rss: RssSample[]): Promise<void> {
  const markdown = renderSwapReport(report);
  process.stdout.write(`${markdown}\n`);
  await mkdir(report.options.outDir, { recursive: true });
  const stamp = report.when.replace(/[:.]/g, '-');
  await writeFile(path.join(report.options.outDir, `swap-${stamp}.md`), markdown);
  await writeFile(
    path.join(report.options.outDir, `swap-${stamp}.json`),
    `${JSON.stringify({ ...report, rss }, null, 2)}\n`,
  );
  log(`written to ${path.join(report.options.outDir, `swap-${stamp}.{md,json}`)}`);
  const failed =
    report.dnsperf.lost > 0 ||
    (report.dnsperf.rcodes.SERVFAIL ?? 0) > 0 ||
    Object.keys(report.wrong).length > 0;
  if (failed) process.exitCode = 1;
}

async function main(): Promise<void> {
  const options = parseSwapArgs(process.argv.slice(2));
  const group = createRunGroup(log);
  await runSwap(options, group);
}

runIfMain(import.meta.url, main, log);
