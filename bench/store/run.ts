/**
 * The shared store on the query path: roje with the embedded SQLite store against roje with store.url
 * (a real PostgreSQL), pinned to the same core, same config, same inputs, dnsperf rounds alternated between
 * them; then the write volume of a 100-venue city, measured from PostgreSQL's counters. See bench/README.md
 * "Shared store (issue #19)".
 *
 *   node --import @tapjs/typescript/import bench/store/run.ts [--stores sqlite,postgres] [--rounds 3]
 *   node --import @tapjs/typescript/import bench/store/run.ts --dry-run    # tools, inputs, configs; no load
 *
 * Every address is on loopback (roje, the fake upstream, PostgreSQL on 127.0.0.1, the venues on
 * 127.0.1.N); every dnsperf run is bounded by -l (<= 30 s), the venue traffic by its round count; every
 * process started here is stopped at the end, on error and on SIGINT/SIGTERM.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { loadConfig } from '../../src/config/load.js';
import { Database } from '../../src/stats/sqlite.js';
import { startPostgres, type TestPostgres } from '../../test/helpers/postgres.js';
import { type DnsperfResult, runDnsperf } from '../load/dnsperf.js';
import { cpuBusyShare } from '../load/machine.js';
import { intOption, listOption } from '../load/options.js';
import {
  createRunGroup,
  defaultRojeEntry,
  findFreePort,
  type Managed,
  type ProcessGroup,
  processTree,
  rojeServeArgs,
  runIfMain,
  waitForDns,
} from '../load/processes.js';
import { type CaseResult, type CityVolume, renderReport, type StoreName } from './report.js';
import { sendVenueTraffic } from './venue-traffic.js';
import {
  diffSnapshots,
  parseRetained,
  parseSnapshot,
  perHour,
  RETAINED_TABLES,
  retainedSql,
  SNAPSHOT_SQL,
  VACUUM_SQL,
} from './volume.js';
import { blockedName, CATEGORIES, hitName, rojeConfig, venueAddress, writeWorkload } from './workload.js';

const execFileAsync = promisify(execFile);
const HOST = '127.0.0.1';
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const ALL_STORES: readonly StoreName[] = ['sqlite', 'postgres'];
const ALL_CASES = ['hits', 'blocked'] as const;
type CaseName = (typeof ALL_CASES)[number];
const MAX_SECONDS = 30;
const READY_TIMEOUT_MS = 30_000;

export interface StoreBenchOptions {
  stores: StoreName[];
  cases: CaseName[];
  rounds: number;
  seconds: number;
  clients: number;
  outstanding: number;
  latencySeconds: number;
  latencyQps: number;
  /** stats.flushInterval of the throughput runs: shorter than the default, so flushes land in every run. */
  flushSeconds: number;
  venues: number;
  volumeRounds: number;
  volumeFlushSeconds: number;
  serverCpu: string | undefined;
  loadCpu: string | undefined;
  rojeEntry: string;
  outDir: string;
  dryRun: boolean;
}

export function parseStoreBenchArgs(argv: readonly string[]): StoreBenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      stores: { type: 'string', default: ALL_STORES.join(',') },
      cases: { type: 'string', default: ALL_CASES.join(',') },
      rounds: { type: 'string', default: '3' },
      seconds: { type: 'string', default: '10' },
      clients: { type: 'string', default: '16' },
      outstanding: { type: 'string', default: '100' },
      'latency-seconds': { type: 'string', default: '5' },
      'latency-qps': { type: 'string', default: '10000' },
      'flush-interval': { type: 'string', default: '2' },
      venues: { type: 'string', default: '100' },
      'volume-rounds': { type: 'string', default: '12' },
      'volume-flush-interval': { type: 'string', default: '5' },
      'server-cpu': { type: 'string', default: '0' },
      'load-cpu': { type: 'string', default: '1' },
      'no-pin': { type: 'boolean', default: false },
      roje: { type: 'string', default: defaultRojeEntry(REPO) },
      out: { type: 'string', default: path.join(REPO, 'bench/results') },
      'dry-run': { type: 'boolean', default: false },
    },
  });
  return {
    stores: listOption(values.stores, ALL_STORES, '--stores'),
    cases: listOption(values.cases, ALL_CASES, '--cases'),
    rounds: intOption(values.rounds, '--rounds', 1, 10),
    seconds: intOption(values.seconds, '--seconds', 1, MAX_SECONDS),
    clients: intOption(values.clients, '--clients', 1, 256),
    outstanding: intOption(values.outstanding, '--outstanding', 1, 10_000),
    latencySeconds: intOption(values['latency-seconds'], '--latency-seconds', 1, MAX_SECONDS),
    latencyQps: intOption(values['latency-qps'], '--latency-qps', 100, 1_000_000),
    flushSeconds: intOption(values['flush-interval'], '--flush-interval', 1, 3600),
    venues: intOption(values.venues, '--venues', 1, 254),
    volumeRounds: intOption(values['volume-rounds'], '--volume-rounds', 2, 120),
    volumeFlushSeconds: intOption(values['volume-flush-interval'], '--volume-flush-interval', 1, 60),
    serverCpu: values['no-pin'] ? undefined : values['server-cpu'],
    loadCpu: values['no-pin'] ? undefined : values['load-cpu'],
    rojeEntry: path.resolve(values.roje),
    outDir: path.resolve(values.out),
    dryRun: values['dry-run'],
  };
}

function log(message: string): void {
  process.stderr.write(`[store] ${message}\n`);
}

/** Fails with the package to install when a tool is missing, before anything is started. */
async function checkTools(options: StoreBenchOptions): Promise<void> {
  const tools = ['dnsperf', ...(options.serverCpu === undefined ? [] : ['taskset'])];
  for (const tool of tools) {
    try {
      await execFileAsync('sh', ['-c', `command -v ${tool}`]);
    } catch {
      throw new Error(`${tool} is needed and is not on PATH (Debian packages: dnsperf, util-linux)`);
    }
  }
  if (!existsSync(options.rojeEntry)) throw new Error(`${options.rojeEntry} is missing: npm run build first`);
}

/** PostgreSQL's processes (and the backends it forks later) on the load core, not the one under test. */
export async function pinPostgres(pg: TestPostgres, cpu: string | undefined): Promise<void> {
  if (cpu === undefined) return;
  const pid = Number((await readFile(path.join(pg.dir, 'data', 'postmaster.pid'), 'utf8')).split('\n')[0]);
  for (const p of await processTree(pid)) await execFileAsync('taskset', ['-a', '-c', '-p', cpu, String(p)]);
}

interface Instance {
  store: StoreName;
  proc: Managed;
  port: number;
}

async function startRoje(
  group: ProcessGroup,
  options: StoreBenchOptions,
  dir: string,
  upstreamPort: number,
  name: string,
  config: string,
  store: StoreName,
): Promise<Instance> {
  const port = await findFreePort(HOST);
  const file = path.join(dir, `${name}.yaml`);
  await writeFile(file, config);
  const proc = group.spawn(
    name,
    process.execPath,
    rojeServeArgs(options.rojeEntry, HOST, port, upstreamPort, file),
    {
      cpu: options.serverCpu,
      cwd: REPO,
    },
  );
  try {
    await waitForDns(HOST, port, READY_TIMEOUT_MS, proc.exited, { name: hitName(0) });
  } catch (err) {
    await proc.stop();
    throw new Error(`roje (${name}) did not start: ${(err as Error).message}\n${proc.output().trim()}`);
  }
  return { store, proc, port };
}

/** Median of a non-empty list. */
function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Throughput (median of rounds) and a rate-limited -v run for p99, per store and case, alternated. */
async function runQueryPath(
  group: ProcessGroup,
  options: StoreBenchOptions,
  dir: string,
  instances: readonly Instance[],
  files: Record<CaseName, string>,
): Promise<CaseResult[]> {
  const samples = new Map<string, DnsperfResult[]>();
  const latency = new Map<string, DnsperfResult>();
  const busy: number[] = [];
  for (let round = 0; round < options.rounds; round++) {
    // Alternate which store goes first, so a drift of the machine weighs on both alike.
    const order = round % 2 === 0 ? instances : [...instances].reverse();
    for (const c of options.cases) {
      for (const inst of order) {
        const share = await cpuBusyShare(500);
        if (share !== undefined) busy.push(share);
        const key = `${inst.store}/${c}`;
        const result = await runDnsperf(group, {
          host: HOST,
          port: inst.port,
          dataFile: files[c],
          seconds: options.seconds,
          clients: options.clients,
          outstanding: options.outstanding,
          verbose: false,
          outputFile: path.join(dir, `dnsperf-${inst.store}-${c}-${round}.txt`),
          cpu: options.loadCpu,
        });
        samples.set(key, [...(samples.get(key) ?? []), result]);
        log(`round ${round + 1} ${key}: ${Math.round(result.qps)} q/s, ${result.lost} lost`);
        if (round === options.rounds - 1) {
          latency.set(
            key,
            await runDnsperf(group, {
              host: HOST,
              port: inst.port,
              dataFile: files[c],
              seconds: options.latencySeconds,
              clients: options.clients,
              outstanding: options.outstanding,
              maxQps: options.latencyQps,
              verbose: true,
              outputFile: path.join(dir, `latency-${inst.store}-${c}.txt`),
              cpu: options.loadCpu,
            }),
          );
        }
      }
    }
  }
  const rows: CaseResult[] = [];
  for (const c of options.cases) {
    for (const inst of instances) {
      const runs = samples.get(`${inst.store}/${c}`) ?? [];
      const lat = latency.get(`${inst.store}/${c}`);
      rows.push({
        store: inst.store,
        case: c,
        qps: runs.map((r) => r.qps),
        medianQps: median(runs.map((r) => r.qps)),
        lost: runs.reduce((n, r) => n + r.lost, 0),
        sent: runs.reduce((n, r) => n + r.sent, 0),
        p50Ms: lat?.p50Ms ?? Number.NaN,
        p99Ms: lat?.p99Ms ?? Number.NaN,
        latencyQps: options.latencyQps,
        busyMax: busy.length === 0 ? Number.NaN : Math.max(...busy),
      });
    }
  }
  return rows;
}

/** stats.flushInterval's default, from roje's own config defaults (not a copy of the number). */
async function defaultFlushSeconds(dir: string): Promise<number> {
  const file = path.join(dir, 'defaults.yaml');
  await writeFile(file, '{}\n');
  return (await loadConfig({ file })).stats.flushIntervalMs / 1000;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A 100-venue city's writes: one roje with a venue per source address, every venue asking every category's
 * listed name and two allowed names once per flush, for `volumeRounds` flushes; PostgreSQL's counters
 * before and after, in a database of its own.
 */
async function measureCityVolume(
  group: ProcessGroup,
  options: StoreBenchOptions,
  dir: string,
  upstreamPort: number,
  pg: TestPostgres,
  lists: Parameters<typeof rojeConfig>[0]['lists'],
): Promise<CityVolume> {
  await pg.psql('CREATE DATABASE city OWNER roje', 'postgres');
  const url = new URL(pg.url);
  url.pathname = '/city';
  const stateDir = path.join(dir, 'state-city');
  await mkdir(stateDir);
  const config = rojeConfig({
    stateDir,
    lists,
    flushIntervalSeconds: options.volumeFlushSeconds,
    venues: options.venues,
    storeUrl: url.href,
    instance: 'city-bench',
  });
  const names = [hitName(0), hitName(1), ...CATEGORIES.map((c) => blockedName(c, 0))];
  const sources = Array.from({ length: options.venues }, (_, i) => venueAddress(i));
  const inst = await startRoje(group, options, dir, upstreamPort, 'roje-city', config, 'postgres');
  const traffic = (rounds: number) =>
    sendVenueTraffic({
      host: HOST,
      port: inst.port,
      sources,
      names,
      rounds,
      roundIntervalMs: options.volumeFlushSeconds * 1000,
      timeoutMs: 2000,
    });
  let before: ReturnType<typeof parseSnapshot>;
  let sent: Awaited<ReturnType<typeof traffic>>;
  try {
    // Warm-up: this hour's rows are inserted by the first flush; the window then holds steady flushes.
    await traffic(1);
    await sleep(options.volumeFlushSeconds * 1000 + 2000);
    before = parseSnapshot(await pg.psql(SNAPSHOT_SQL, 'city'));
    sent = await traffic(options.volumeRounds);
    log(`city: ${sent.answered} of ${sent.sent} venue queries answered`);
  } finally {
    await inst.proc.stop(); // its last flush lands in the window too
  }
  await sleep(1500); // backends report their counters when they exit
  const delta = diffSnapshots(before, parseSnapshot(await pg.psql(SNAPSHOT_SQL, 'city')));
  await pg.psql(VACUUM_SQL, 'city');
  const retained = parseRetained(await pg.psql(retainedSql(), 'city'));
  if (retained.length !== RETAINED_TABLES.length) throw new Error('the counting tables are not all there');
  return {
    venues: options.venues,
    categories: CATEGORIES.length,
    namesPerVenue: names.length,
    flushSeconds: options.volumeFlushSeconds,
    defaultFlushSeconds: await defaultFlushSeconds(dir),
    sent: sent.sent,
    answered: sent.answered,
    delta,
    atDefault: perHour(delta, await defaultFlushSeconds(dir)),
    retained,
  };
}

/**
 * The PostgreSQL half must really have written to PostgreSQL: on a build without the store, or with a
 * store.url it ignored, the "postgres" figures would be SQLite's.
 */
async function countedInPostgres(pg: TestPostgres): Promise<number> {
  const text = await pg.psql(
    "SELECT coalesce(sum(queries), 0) FROM hourly_totals WHERE instance = 'bench-postgres'",
  );
  return Number(text.trim());
}

/** Queries the SQLite half counted (its stats.db, read after it stopped and flushed). */
function countedInSqlite(stateDir: string): number {
  const db = new Database(path.join(stateDir, 'stats.db'), { readonly: true });
  try {
    const row = db.prepare('SELECT coalesce(sum(queries), 0) AS n FROM hourly_totals').get() as { n: number };
    return Number(row.n);
  } finally {
    db.close();
  }
}

export async function runStoreBench(options: StoreBenchOptions, group: ProcessGroup): Promise<string> {
  await checkTools(options);
  if (os.availableParallelism() < 2 && options.serverCpu !== undefined) {
    log('fewer than 2 CPUs: running unpinned, figures will not compare with the README');
    options.serverCpu = undefined;
    options.loadCpu = undefined;
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'roje-store-bench-'));
  let pg: TestPostgres | null = null;
  try {
    const workload = await writeWorkload(dir);
    const configFor = async (store: StoreName, url: string | null) => {
      const stateDir = path.join(dir, `state-${store}`);
      await mkdir(stateDir, { recursive: true });
      return rojeConfig({
        stateDir,
        lists: workload.lists,
        flushIntervalSeconds: options.flushSeconds,
        venues: 0, // dnsperf asks from 127.0.0.1: counted as no venue
        storeUrl: url,
        instance: `bench-${store}`,
      });
    };
    if (options.dryRun) return await dryRun(options, dir, configFor);

    const upstreamPort = await findFreePort(HOST);
    const upstream = group.spawn(
      'upstream',
      process.execPath,
      [
        '--import',
        '@tapjs/typescript/import',
        'bench/load/trivial-server.ts',
        '--listen',
        `${HOST}:${upstreamPort}`,
      ],
      { cpu: options.loadCpu, cwd: REPO },
    );
    await waitForDns(HOST, upstreamPort, READY_TIMEOUT_MS, upstream.exited);
    if (options.stores.includes('postgres')) {
      pg = await startPostgres();
      await pinPostgres(pg, options.loadCpu);
      log(`PostgreSQL on 127.0.0.1:${pg.port} (pinned to CPU ${options.loadCpu ?? 'any'})`);
    }
    const instances: Instance[] = [];
    for (const store of options.stores) {
      const config = await configFor(store, store === 'postgres' ? (pg?.url ?? null) : null);
      instances.push(await startRoje(group, options, dir, upstreamPort, `roje-${store}`, config, store));
    }
    let rows: CaseResult[];
    try {
      rows = await runQueryPath(group, options, dir, instances, {
        hits: workload.hitsFile,
        blocked: workload.blockedFile,
      });
    } finally {
      for (const inst of instances) await inst.proc.stop();
    }
    const counted: Partial<Record<StoreName, number>> = {};
    if (options.stores.includes('sqlite')) counted.sqlite = countedInSqlite(path.join(dir, 'state-sqlite'));
    let city: CityVolume | null = null;
    if (pg !== null) {
      counted.postgres = await countedInPostgres(pg);
      if (counted.postgres === 0) {
        throw new Error('roje with store.url wrote no count to PostgreSQL: does this build have the store?');
      }
      city = await measureCityVolume(group, options, dir, upstreamPort, pg, workload.lists);
    }
    const report = renderReport({ options, rows, counted, city, load: os.loadavg() });
    await mkdir(options.outDir, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    await writeFile(path.join(options.outDir, `store-${stamp}.md`), report);
    return report;
  } finally {
    await group.stopAll();
    await pg?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** --dry-run: the tools, the inputs and both configs, each through roje's own loadConfig; nothing started. */
async function dryRun(
  options: StoreBenchOptions,
  dir: string,
  configFor: (store: StoreName, url: string | null) => Promise<string>,
): Promise<string> {
  const lines = ['# Store benchmark: dry run', ''];
  for (const store of options.stores) {
    const url = store === 'postgres' ? 'postgres://roje:PASSWORD@127.0.0.1:5432/roje' : null;
    const file = path.join(dir, `${store}.yaml`);
    await writeFile(file, await configFor(store, url));
    let verdict = 'loads';
    try {
      await loadConfig({ file });
    } catch (err) {
      verdict = `does not load: ${(err as Error).message}`;
    }
    lines.push(`- ${store}: roje config ${verdict}`);
  }
  lines.push(
    `- query path: ${options.rounds} rounds x ${options.cases.join(', ')} x ${options.stores.join(', ')}, ` +
      `dnsperf -l ${options.seconds} -c ${options.clients} -q ${options.outstanding}; ` +
      `p50/p99 at ${options.latencyQps} q/s for ${options.latencySeconds} s; stats.flushInterval ${options.flushSeconds}s`,
    `- city volume: ${options.venues} venues (127.0.1.1-${venueAddress(options.venues - 1)}), ` +
      `${CATEGORIES.length} categories, ${options.volumeRounds} flushes of ${options.volumeFlushSeconds} s`,
    `- roje: ${options.rojeEntry}; server CPU ${options.serverCpu ?? 'any'}, load CPU ${options.loadCpu ?? 'any'}`,
  );
  return `${lines.join('\n')}\n`;
}

runIfMain(
  import.meta.url,
  async () => {
    const options = parseStoreBenchArgs(process.argv.slice(2));
    const group = createRunGroup(log);
    process.stdout.write(await runStoreBench(options, group));
  },
  log,
);
