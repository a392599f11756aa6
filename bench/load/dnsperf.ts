/**
 * One dnsperf run and what it measured. dnsperf 2.10 (Debian 12) has no latency histogram option; with `-v`
 * it prints one `> RCODE name type seconds` line per answer, which go to a file (not through a pipe that
 * this process would have to drain on the load core) and are folded into a histogram afterwards. `-v` costs
 * dnsperf about a third of its rate (measured: unbound hits 230k -> 160k q/s), so throughput runs go without
 * it and only the rate-limited latency runs use it.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { ProcessGroup } from './processes.js';

export interface DnsperfOptions {
  host: string;
  port: number;
  dataFile: string;
  /** -l: hard upper bound of the run, in seconds (<= 30 in this harness). */
  seconds: number;
  /** -c: client sockets (source ports). */
  clients: number;
  /** -q: queries in flight. */
  outstanding: number;
  /** -n: passes over the data file; undefined loops until -l. */
  maxRuns?: number;
  /** -Q: offered load; undefined sends as fast as -q allows. */
  maxQps?: number;
  /** -v: per-answer latencies for p50/p99 (costs dnsperf throughput, see above). */
  verbose: boolean;
  /** -S: a `<epoch seconds>: <qps>` status line every N seconds (dates a -v run; see bench/load/swap.ts). */
  statsInterval?: number;
  /** Where dnsperf's stdout goes; parsed after the run. */
  outputFile: string;
  cpu?: string | undefined;
}

export interface DnsperfResult {
  sent: number;
  completed: number;
  lost: number;
  qps: number;
  runSeconds: number;
  /** Response code name -> count, from dnsperf's summary. */
  rcodes: Record<string, number>;
  /** dnsperf's own average. */
  avgMs: number;
  /** From the -v lines; NaN without -v. */
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** True when dnsperf stopped because the data file ran out before -l. */
  endOfFile: boolean;
}

const TIMEOUT_SECONDS = 2;

export async function runDnsperf(group: ProcessGroup, options: DnsperfOptions): Promise<DnsperfResult> {
  const args = [
    '-s',
    options.host,
    '-p',
    String(options.port),
    '-d',
    options.dataFile,
    '-l',
    String(options.seconds),
    '-c',
    String(options.clients),
    '-q',
    String(options.outstanding),
    '-t',
    String(TIMEOUT_SECONDS),
  ];
  if (options.verbose) args.push('-v');
  if (options.maxQps !== undefined) args.push('-Q', String(options.maxQps));
  if (options.maxRuns !== undefined) args.push('-n', String(options.maxRuns));
  if (options.statsInterval !== undefined) args.push('-S', String(options.statsInterval));
  const out = await open(options.outputFile, 'w');
  let code: number | null;
  let tail: string;
  try {
    const proc = group.spawn('dnsperf', 'dnsperf', args, { cpu: options.cpu, stdoutFd: out.fd });
    // dnsperf stops itself at -l plus the timeout of the last queries; this guard is only for a hung run.
    const guard = setTimeout(
      () => proc.child.kill('SIGKILL'),
      (options.seconds + TIMEOUT_SECONDS + 15) * 1000,
    );
    code = await proc.exited;
    clearTimeout(guard);
    tail = proc.output();
  } finally {
    await out.close();
  }
  if (code !== 0) {
    const how = code === null ? 'was killed' : `exited with ${code}`;
    throw new Error(`dnsperf ${how}: ${tail.trim() || '(no output)'}`);
  }
  return parseDnsperfOutput(options.outputFile);
}

/**
 * 1 µs buckets up to 1 s: dnsperf prints latencies in whole µs, so every quantile (p99.9 included) is exact
 * below 1 s; slower answers share the last bucket, where a quantile reports the exact max.
 */
const BUCKETS = 1_000_000;

export class LatencyHistogram {
  private readonly counts = new Uint32Array(BUCKETS + 1);
  count = 0;
  maxSeconds = 0;

  add(seconds: number): void {
    const us = Math.round(seconds * 1e6);
    this.counts[us < 0 ? 0 : us > BUCKETS ? BUCKETS : us]!++;
    this.count++;
    if (seconds > this.maxSeconds) this.maxSeconds = seconds;
  }

  /** The smallest latency (ms) at or below which `fraction` of the answers fall; NaN when empty. */
  quantileMs(fraction: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(fraction * this.count));
    let seen = 0;
    for (let us = 0; us <= BUCKETS; us++) {
      seen += this.counts[us]!;
      if (seen >= rank) return us === BUCKETS ? this.maxSeconds * 1e3 : us / 1e3;
    }
    return this.maxSeconds * 1e3;
  }
}

function summaryNumber(text: string, label: string): number {
  const match = new RegExp(`^\\s*${label}:\\s+([0-9.]+)`, 'm').exec(text);
  if (match === null) throw new Error(`dnsperf output has no "${label}" line`);
  return Number(match[1]);
}

/** Parses dnsperf's statistics block (everything from "Statistics:" on). */
export function parseDnsperfSummary(
  text: string,
): Omit<DnsperfResult, 'p50Ms' | 'p99Ms' | 'p999Ms' | 'maxMs'> {
  const rcodes: Record<string, number> = {};
  const rcodeLine = /^\s*Response codes:\s+(.*)$/m.exec(text);
  if (rcodeLine !== null) {
    for (const m of rcodeLine[1]!.matchAll(/([A-Z0-9]+) (\d+) \(/g)) rcodes[m[1]!] = Number(m[2]);
  }
  return {
    sent: summaryNumber(text, 'Queries sent'),
    completed: summaryNumber(text, 'Queries completed'),
    lost: summaryNumber(text, 'Queries lost'),
    qps: summaryNumber(text, 'Queries per second'),
    runSeconds: summaryNumber(text, 'Run time \\(s\\)'),
    avgMs: summaryNumber(text, 'Average Latency \\(s\\)') * 1e3,
    rcodes,
    endOfFile: /Testing complete \(end of file\)/.test(text),
  };
}

export async function parseDnsperfOutput(file: string): Promise<DnsperfResult> {
  const histogram = new LatencyHistogram();
  let summary = '';
  let inSummary = false;
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    if (line.startsWith('> ')) {
      const seconds = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (Number.isFinite(seconds)) histogram.add(seconds);
    } else if (inSummary || line.startsWith('Statistics:') || line.startsWith('[Status] Testing complete')) {
      inSummary = true;
      summary += `${line}\n`;
    }
  }
  const parsed = parseDnsperfSummary(summary);
  return {
    ...parsed,
    p50Ms: histogram.quantileMs(0.5),
    p99Ms: histogram.quantileMs(0.99),
    p999Ms: histogram.quantileMs(0.999),
    maxMs: histogram.maxSeconds * 1e3,
  };
}
