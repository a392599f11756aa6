/**
 * The "blocked" case: dnsperf at full speed on names that are in the list, against roje serving a compiled
 * artifact (blockMode nxdomain) and dnsmasq with the same names as address=/name/ lines (NXDOMAIN for the
 * name and its subdomains). Both answer from their list alone: dnsmasq has no upstream at all, and roje's
 * upstream is a loopback port where nothing listens, so a query that escaped the list would come back
 * SERVFAIL and show in the row's note.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { deriveNames, readAdultUnion, sampleNames, writeLines } from '../lists/names.js';
import { dnsmasqArgs, writeDnsmasqList } from './dnsmasq.js';
import { type DnsperfResult, runDnsperf } from './dnsperf.js';
import { noteBusyMachine } from './machine.js';
import { findFreePort, type Managed, type ProcessGroup, rojeServeArgs, waitForDns } from './processes.js';
import { type CaseRow, rowFrom } from './report.js';
import { writeQueryFile } from './workload.js';

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 60_000;
const COMPILE_TIMEOUT_MS = 300_000;
const WARM_SECONDS = 2;

export interface BlockedOptions {
  /** 0: the union of the shared adult lists; otherwise that many names derived from it. */
  listNames: number;
  queryNames: number;
  seconds: number;
  rounds: number;
  clients: number;
  outstanding: number;
  latencySeconds: number;
  latencyQps: number;
  serverCpu: string | undefined;
  loadCpu: string | undefined;
  rojeEntry: string;
  repo: string;
  /** Which of roje and dnsmasq to run. */
  servers: ReadonlyArray<'roje' | 'dnsmasq'>;
}

function log(message: string): void {
  process.stderr.write(`[load] ${message}\n`);
}

async function start(name: string, proc: Managed, port: number, probe: string): Promise<Managed> {
  try {
    await waitForDns(HOST, port, READY_TIMEOUT_MS, proc.exited, { name: probe });
  } catch (err) {
    await proc.stop();
    throw new Error(`${name} did not start: ${(err as Error).message}\n${proc.output().trim()}`);
  }
  return proc;
}

export async function runBlocked(
  group: ProcessGroup,
  options: BlockedOptions,
  dir: string,
): Promise<CaseRow[]> {
  const base = await readAdultUnion();
  const names = options.listNames === 0 ? base : deriveNames(base, options.listNames);
  log(`blocked: ${names.length} listed names, ${options.queryNames} of them as queries`);
  const queries = path.join(dir, 'blocked.txt');
  await writeQueryFile(queries, sampleNames(names, options.queryNames));
  const probe = names[0]!;

  const ports = new Map<'roje' | 'dnsmasq', number>();
  const rows: CaseRow[] = [];
  for (const server of options.servers) {
    const port = await findFreePort(HOST);
    try {
      if (server === 'roje') {
        const namesFile = path.join(dir, 'blocked-names.txt');
        await writeLines(namesFile, names, (n) => `${n}\n`);
        const artifact = path.join(dir, 'blocked.roje');
        await promisify(execFile)(
          process.execPath,
          [options.rojeEntry, 'compile', '--list', `adult=${namesFile}`, '--out', artifact],
          { cwd: options.repo, timeout: COMPILE_TIMEOUT_MS, maxBuffer: 16 << 20 },
        );
        const config = path.join(dir, 'roje-blocked.yaml');
        await writeFile(
          config,
          'log:\n  level: warn\nrateLimit:\n  enabled: false\npolicies:\n  default:\n    blockMode: nxdomain\n',
        );
        // Nothing listens on the upstream port: a listed name never reaches it.
        const deadUpstream = await findFreePort(HOST);
        const args = rojeServeArgs(options.rojeEntry, HOST, port, deadUpstream, config, [
          '--compiled',
          artifact,
        ]);
        const proc = group.spawn('roje-blocked', process.execPath, args, {
          cpu: options.serverCpu,
          cwd: options.repo,
        });
        await start('roje (blocked)', proc, port, probe);
      } else {
        const list = await writeDnsmasqList(dir, names);
        const proc = group.spawn('dnsmasq', 'dnsmasq', dnsmasqArgs(port, list), {
          cpu: options.serverCpu,
          cwd: dir,
        });
        await start('dnsmasq', proc, port, probe);
      }
      ports.set(server, port);
    } catch (err) {
      log((err as Error).message);
      rows.push({ server, case: 'blocked', status: `failed: ${(err as Error).message.split('\n')[0]}` });
    }
  }

  const base0 = (port: number) => ({
    host: HOST,
    port,
    clients: options.clients,
    outstanding: options.outstanding,
    cpu: options.loadCpu,
    verbose: false,
    dataFile: queries,
  });
  // A short uncounted run each, so that roje's JIT has compiled the block path before the first round.
  for (const [server, port] of ports) {
    log(`${server}: blocked, ${WARM_SECONDS} s warm-up`);
    await runDnsperf(group, {
      ...base0(port),
      seconds: WARM_SECONDS,
      outputFile: path.join(dir, `${server}-blocked-warm.out`),
    });
  }
  const servers = [...ports.keys()];
  const samples = new Map<string, DnsperfResult[]>(servers.map((s) => [s, []]));
  const disturbed = new Map<string, number>();
  for (let round = 0; round < options.rounds; round++) {
    for (let k = 0; k < servers.length; k++) {
      const server = servers[(k + round) % servers.length]!;
      await noteBusyMachine(server, disturbed, log);
      log(`${server}: blocked, round ${round + 1}/${options.rounds}, ${options.seconds} s at full speed`);
      const result = await runDnsperf(group, {
        ...base0(ports.get(server)!),
        seconds: options.seconds,
        outputFile: path.join(dir, `${server}-blocked-${round}.out`),
      });
      samples.get(server)!.push(result);
      log(`${server}: blocked: ${Math.round(result.qps)} q/s`);
    }
  }
  for (const server of servers) {
    log(`${server}: blocked, ${options.latencySeconds} s at ${options.latencyQps} q/s for latency`);
    const latency = await runDnsperf(group, {
      ...base0(ports.get(server)!),
      seconds: options.latencySeconds,
      maxQps: options.latencyQps,
      verbose: true,
      outputFile: path.join(dir, `${server}-blocked-latency.out`),
    });
    const busy = disturbed.get(server);
    const note = [
      `${names.length.toLocaleString('en-US')} listed names`,
      busy === undefined ? '' : `machine up to ${Math.round(busy * 100)} % busy before a round`,
    ]
      .filter((n) => n)
      .join('; ');
    const row = rowFrom(server, 'blocked', samples.get(server)!, 0, latency, options.latencyQps, note);
    // No upstream to count: dnsmasq has none, and roje's would answer nothing (see the note on SERVFAIL).
    row.upstreamQueries = undefined;
    rows.push(row);
  }
  return rows;
}
