/**
 * Lists at scale: roje's compiled artifact against a plain JS Set, unbound (local-zone always_nxdomain) and
 * dnsmasq (address=/name/), all loading the same names: the union of the shared adult lists, and 1,000,000
 * and 5,000,000 names derived from it. See bench/README.md "Lists at scale".
 *
 *   npm run bench:lists -- [--sizes union,1000000,5000000] [--max-names 5000000]
 *
 * Every server listens on 127.0.0.1 only and forwards nowhere; every process has a start timeout and a kill
 * guard and is stopped at the end, on error and on SIGINT/SIGTERM; inputs live in a temp dir that is removed.
 */
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { RojeError } from '../../src/errors.js';
import { dnsmasqArgs, dnsmasqVersion, writeDnsmasqList } from '../load/dnsmasq.js';
import { describeMachine } from '../load/machine.js';
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
} from '../load/processes.js';
import { checkConfig, writeBlocklistConfig } from '../load/unbound.js';
import { deriveNames, readAdultUnion, SHARED_DATA, sampleNames, writeLines } from './names.js';

const HOST = '127.0.0.1';
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const MiB = 2 ** 20;
/** How often a starting server is asked, when the time to its first answer is what is measured. */
const PROBE_INTERVAL_MS = 10;
/** After the first answer, before RSS is read: lets a server finish what it does right after startup. */
const SETTLE_MS = 500;
const PROBES = 100;

type Peer = 'roje' | 'unbound' | 'dnsmasq';

interface ListsOptions {
  sizes: number[];
  timeoutMs: number;
  rojeEntry: string;
  outDir: string;
}

function log(message: string): void {
  process.stderr.write(`[lists] ${message}\n`);
}

function parseListsArgs(argv: readonly string[], unionSize: number): ListsOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      sizes: { type: 'string', default: 'union,1000000,5000000' },
      'max-names': { type: 'string', default: '5000000' },
      'timeout-seconds': { type: 'string', default: '120' },
      roje: { type: 'string', default: path.join(REPO, 'dist/main.js') },
      out: { type: 'string', default: path.join(REPO, 'bench/results') },
    },
  });
  const max = Number(values['max-names']);
  const timeout = Number(values['timeout-seconds']);
  if (!Number.isInteger(max) || max < 1) {
    throw new RojeError('ROJE_ERR_CLI_USAGE', `--max-names must be a positive integer (got "${max}")`);
  }
  if (!Number.isInteger(timeout) || timeout < 5 || timeout > 600) {
    throw new RojeError('ROJE_ERR_CLI_USAGE', `--timeout-seconds must be 5 to 600 (got "${timeout}")`);
  }
  const sizes = values.sizes.split(',').map((s) => {
    const n = s.trim() === 'union' ? unionSize : Number(s);
    if (!Number.isInteger(n) || n < 1 || n > 20_000_000) {
      throw new RojeError('ROJE_ERR_CLI_USAGE', `--sizes: "${s}" is not "union" or a count up to 20,000,000`);
    }
    return n;
  });
  return {
    sizes: sizes.filter((n) => n <= max),
    timeoutMs: timeout * 1000,
    rojeEntry: path.resolve(values.roje),
    outDir: path.resolve(values.out),
  };
}

/** Runs `command` to the end within `timeoutMs`; resolves with its wall time. */
async function timed(command: string, args: string[], timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  try {
    await promisify(execFile)(command, args, { cwd: REPO, timeout: timeoutMs, maxBuffer: 16 * MiB });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
  return performance.now() - t0;
}

interface LoadResult {
  loadMs: number;
  rssBefore: number;
  rssAfter: number;
  /** Listed names that the loaded structure says are blocked, of the probes given: a sanity check. */
  probesBlocked: number;
}

/**
 * The child that loads one list in a fresh Node process: plain JavaScript run with `node -e` and roje's
 * built module (dist/), so that the process holds no TypeScript loader whose garbage would blur a few MB
 * of RSS. RSS is read after a forced GC before and after the load, in the same process: the baseline is
 * this process with its modules already imported. The Set copies each name flat, as a list loader would
 * hold them (a slice would keep the whole file alive).
 */
const CHILD_SOURCE = `
const [kind, file, ...probes] = process.argv.slice(1);
const { readArtifact } = await import(process.env.ROJE_ARTIFACT_MODULE);
const { readFile } = await import('node:fs/promises');
const settled = () => { for (let i = 0; i < 3; i++) globalThis.gc(); return process.memoryUsage.rss(); };
const rssBefore = settled();
const t0 = performance.now();
let blocked;
if (kind === 'compiled') {
  const lists = await readArtifact(file);
  blocked = (name) => lists.lookup(name).blocked !== 0;
} else {
  const text = await readFile(file, 'latin1');
  const set = new Set();
  let start = 0;
  for (let guard = 0; guard < 1e8 && start < text.length; guard++) {
    let end = text.indexOf('\\n', start);
    if (end < 0) end = text.length;
    if (end > start) set.add(Buffer.from(text.slice(start, end), 'latin1').toString('latin1'));
    start = end + 1;
  }
  blocked = (name) => set.has(name);
}
const loadMs = performance.now() - t0;
const rssAfter = settled();
const probesBlocked = probes.filter((name) => blocked(name)).length;
process.stdout.write(JSON.stringify({ loadMs, rssBefore, rssAfter, probesBlocked }) + '\\n');
`;

async function loadInChild(
  kind: 'compiled' | 'set',
  file: string,
  probes: string[],
  timeoutMs: number,
): Promise<LoadResult> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--expose-gc', '--input-type=module', '-e', CHILD_SOURCE, kind, file, ...probes],
    {
      cwd: REPO,
      timeout: timeoutMs,
      maxBuffer: MiB,
      env: {
        ...process.env,
        ROJE_ARTIFACT_MODULE: new URL('dist/policy/compiled/artifact.js', `file://${REPO}`).href,
      },
    },
  );
  const result = JSON.parse(stdout.trim().split('\n').pop() ?? '') as LoadResult;
  if (result.probesBlocked !== probes.length) {
    throw new Error(
      `${kind} load of ${file}: ${result.probesBlocked} of ${probes.length} listed names blocked`,
    );
  }
  return result;
}

/** The response code of one A query for `name`, or a rejection after 2 s. */
async function askRcode(port: number, name: string): Promise<number> {
  const socket = dgram.createSocket('udp4');
  const id = 0x5151;
  try {
    return await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer for ${name} from port ${port}`)), 2000);
      socket.on('message', (msg) => {
        if (msg.length >= 12 && msg.readUInt16BE(0) === id) {
          clearTimeout(timer);
          resolve(msg[3]! & 0x0f);
        }
      });
      socket.send(buildProbeQuery(id, name), port, HOST);
    });
  } finally {
    socket.close();
  }
}

interface Started {
  readyMs: number;
  rss: number;
}

/**
 * Starts a server, times it from spawn to its first answer for a listed name, checks that the answer is
 * NXDOMAIN, reads its RSS, and stops it.
 */
async function startAndMeasure(
  peer: Peer,
  port: number,
  spawnIt: () => Managed,
  probe: string,
  timeoutMs: number,
): Promise<Started> {
  const t0 = performance.now();
  const proc = spawnIt();
  const guard = setTimeout(() => proc.child.kill('SIGKILL'), timeoutMs + 10_000);
  try {
    try {
      await waitForDns(HOST, port, timeoutMs, proc.exited, { name: probe, intervalMs: PROBE_INTERVAL_MS });
    } catch (err) {
      throw new Error(`${peer} did not start: ${(err as Error).message}\n${proc.output().trim()}`);
    }
    const readyMs = performance.now() - t0;
    const rcode = await askRcode(port, probe);
    if (rcode !== 3) throw new Error(`${peer} answered ${probe} with rcode ${rcode}, NXDOMAIN (3) expected`);
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const rss = await residentBytes(proc.child.pid);
    if (rss === undefined) throw new Error(`${peer}: cannot read its RSS from /proc`);
    return { readyMs, rss };
  } finally {
    clearTimeout(guard);
    await proc.stop();
  }
}

interface SizeRow {
  names: number;
  compileMs?: number;
  artifactBytes?: number;
  compiled?: LoadResult;
  set?: LoadResult;
  servers: Partial<Record<Peer, Started>>;
}

async function measureSize(
  group: ProcessGroup,
  options: ListsOptions,
  dir: string,
  names: string[],
  deadUpstream: number,
): Promise<SizeRow> {
  const row: SizeRow = { names: names.length, servers: {} };
  const tag = `${names.length}`;
  const namesFile = path.join(dir, `${tag}.names.txt`);
  await writeLines(namesFile, names, (n) => `${n}\n`);
  const probes = sampleNames(names, PROBES);
  const artifact = path.join(dir, `${tag}.roje`);

  log(`${tag}: roje compile`);
  row.compileMs = await timed(
    process.execPath,
    [options.rojeEntry, 'compile', '--list', `adult=${namesFile}`, '--out', artifact],
    options.timeoutMs,
  );
  row.artifactBytes = (await stat(artifact)).size;
  log(`${tag}: compiled in ${Math.round(row.compileMs)} ms, loading in a fresh process`);
  row.compiled = await loadInChild('compiled', artifact, probes, options.timeoutMs);
  log(`${tag}: Set<string> in a fresh process`);
  row.set = await loadInChild('set', namesFile, probes, options.timeoutMs);

  const probe = names[0]!;
  const rojeConfig = path.join(dir, 'roje.yaml');
  await writeFile(
    rojeConfig,
    'log:\n  level: warn\nrateLimit:\n  enabled: false\npolicies:\n  default:\n    blockMode: nxdomain\n',
  );
  log(`${tag}: roje serve --compiled`);
  const rojePort = await findFreePort(HOST);
  row.servers.roje = await startAndMeasure(
    'roje',
    rojePort,
    () =>
      group.spawn(
        'roje',
        process.execPath,
        rojeServeArgs(options.rojeEntry, HOST, rojePort, deadUpstream, rojeConfig, ['--compiled', artifact]),
        { cwd: REPO },
      ),
    probe,
    options.timeoutMs,
  );

  log(`${tag}: unbound`);
  const unboundDir = path.join(dir, `unbound-${tag}`);
  await mkdir(unboundDir);
  const port = await findFreePort(HOST);
  const conf = await writeBlocklistConfig(unboundDir, { port, names });
  await checkConfig(conf);
  row.servers.unbound = await startAndMeasure(
    'unbound',
    port,
    () => group.spawn('unbound', 'unbound', ['-d', '-c', conf], { cwd: unboundDir }),
    probe,
    options.timeoutMs,
  );
  await rm(unboundDir, { recursive: true, force: true });

  log(`${tag}: dnsmasq`);
  const list = await writeDnsmasqList(dir, names);
  const dnsmasqPort = await findFreePort(HOST);
  row.servers.dnsmasq = await startAndMeasure(
    'dnsmasq',
    dnsmasqPort,
    () => group.spawn('dnsmasq', 'dnsmasq', dnsmasqArgs(dnsmasqPort, list), { cwd: dir }),
    probe,
    options.timeoutMs,
  );
  await rm(list, { force: true });
  await rm(namesFile, { force: true });
  return row;
}

const f = (x: number | undefined, digits = 0): string =>
  x === undefined
    ? ''
    : x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function render(rows: SizeRow[], baseline: SizeRow): string {
  const lines = [
    '| names | what | compile s | artifact MB | load / first answer ms | RSS MB | list RSS MB | bytes/name |',
    '|--:|---|--:|--:|--:|--:|--:|--:|',
  ];
  for (const r of rows) {
    const perName = (bytes: number): string => f(bytes / r.names);
    const c = r.compiled!;
    const s = r.set!;
    lines.push(
      `| ${f(r.names)} | roje compile + readArtifact (fresh node) | ${f(r.compileMs! / 1000, 2)} | ${f(r.artifactBytes! / MiB, 1)} | ${f(c.loadMs)} | ${f(c.rssAfter / MiB, 1)} | ${f((c.rssAfter - c.rssBefore) / MiB, 1)} | ${perName(c.rssAfter - c.rssBefore)} |`,
      `| ${f(r.names)} | Set<string> from a names file (fresh node) | | | ${f(s.loadMs)} | ${f(s.rssAfter / MiB, 1)} | ${f((s.rssAfter - s.rssBefore) / MiB, 1)} | ${perName(s.rssAfter - s.rssBefore)} |`,
    );
    for (const peer of ['roje', 'unbound', 'dnsmasq'] as const) {
      const m = r.servers[peer];
      const b = baseline.servers[peer];
      if (m === undefined || b === undefined) continue;
      const what =
        peer === 'roje'
          ? 'roje serve --compiled'
          : peer === 'unbound'
            ? 'unbound local-zone always_nxdomain'
            : 'dnsmasq address=/name/';
      lines.push(
        `| ${f(r.names)} | ${what} | | | ${f(m.readyMs)} | ${f(m.rss / MiB, 1)} | ${f((m.rss - b.rss) / MiB, 1)} | ${perName(m.rss - b.rss)} |`,
      );
    }
  }
  const base = (['roje', 'unbound', 'dnsmasq'] as const)
    .map((p) => {
      const b = baseline.servers[p];
      return b === undefined ? '' : `${p} ${f(b.readyMs)} ms / ${f(b.rss / MiB, 1)} MB`;
    })
    .filter((s) => s)
    .join(', ');
  return `${lines.join('\n')}\n\nBaseline (one listed name; subtracted for "list RSS"): ${base}.`;
}

async function main(): Promise<void> {
  if (!existsSync(SHARED_DATA)) {
    log(`skipped: no shared data at ${fileURLToPath(SHARED_DATA)}`);
    return;
  }
  const machine = await describeMachine();
  const dnsmasq = await dnsmasqVersion();
  const base = await readAdultUnion();
  const options = parseListsArgs(process.argv.slice(2), base.length);
  if (!existsSync(options.rojeEntry)) {
    throw new Error(`${options.rojeEntry} not found: run npm run build first`);
  }
  const group = createRunGroup(log);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'roje-lists-'));
  const rows: SizeRow[] = [];
  try {
    // Nothing listens here: roje's upstream, which a listed name never reaches.
    const deadUpstream = await findFreePort(HOST);
    log('baseline: one listed name');
    const baseline = await measureSize(group, options, dir, ['baseline.bench.example'], deadUpstream);
    for (const n of options.sizes) {
      const names = deriveNames(base, n);
      log(`${names.length} names`);
      rows.push(await measureSize(group, options, dir, names, deadUpstream));
    }
    const when = new Date().toISOString();
    const markdown = [
      `# Lists at scale ${when}`,
      '',
      `Machine: ${machine.cpu}, ${machine.cpus} CPUs, ${machine.memoryGiB} GiB, ${machine.kernel}; ` +
        `Node ${machine.node}; ${machine.unbound}; ${dnsmasq}.`,
      '',
      render(rows, baseline),
      '',
    ].join('\n');
    process.stdout.write(`${markdown}\n`);
    await mkdir(options.outDir, { recursive: true });
    const stamp = when.replace(/[:.]/g, '-');
    await writeFile(path.join(options.outDir, `lists-scale-${stamp}.md`), markdown);
    await writeFile(
      path.join(options.outDir, `lists-scale-${stamp}.json`),
      `${JSON.stringify({ when, machine, dnsmasq, baseline, rows }, null, 2)}\n`,
    );
  } finally {
    await group.stopAll();
    await rm(dir, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, main, log);
