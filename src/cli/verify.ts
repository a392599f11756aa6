import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { parseDuration } from '../config/units.js';
import { isRojeError } from '../errors.js';
import { ABUSE_CATEGORY, DEFAULT_ABUSE_MIN_ENTRIES, judgeAbuse } from '../verify/abuse-evidence.js';
import { VERIFY_TRANSPORTS, type VerifyTransport } from '../verify/client.js';
import { renderReportHtml } from '../verify/html.js';
import { blockAddressSet } from '../verify/judge.js';
import { reportPassed, type VerifyReport } from '../verify/report.js';
import { DEFAULT_TIMEOUT_MS, runSuite } from '../verify/runner.js';
import { DEFAULT_SAMPLE_KEY_FILE, loadOrCreateSampleKey, type SampleKey } from '../verify/sample-key.js';
import { readSampleList } from '../verify/sample-list.js';
import { sampleSummaryLines, startProgress } from '../verify/sample-output.js';
import { runSample, type SampleSpec } from '../verify/sample-run.js';
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_MAX_OVERBLOCK,
  DEFAULT_MIN_RATE,
  DEFAULT_QPS,
  DEFAULT_SAMPLE_SIZE,
} from '../verify/sampler.js';
import { readSigningKey, signReport } from '../verify/sign.js';
import { loadSuite } from '../verify/suite.js';
import type { Io } from './index.js';

export const VERIFY_USAGE = `Usage: roje verify --server HOST[:PORT] [--tcp | --transports udp,tcp] [--suite friendly-wifi|FILE]
                   [--out report.html|report.json] [--sign-key FILE] [--block-address IP]...
                   [--source IP] [--timeout 2s] [--abuse-min-entries N]
                   [--sample CATEGORY=FILE]... [--allow-sample FILE] [--sample-size N] [--seed S]
                   [--min-rate 0.9] [--max-overblock 0.01] [--sample-key FILE] [--qps N]`;

const MAX_SAMPLE_SIZE = 100_000;

const MAX_TIMEOUT_MS = 60_000;

/** "127.0.0.1:5353", "[::1]:53", "192.0.2.1" (port 53). */
export function parseServer(text: string): { host: string; port: number } | null {
  const m = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text) ?? /^([^:[\]]+)(?::(\d{1,5}))?$/.exec(text);
  if (m !== null && isIP(m[1]) !== 0) {
    const port = m[2] === undefined ? 53 : Number(m[2]);
    return port >= 1 && port <= 65535 ? { host: m[1], port } : null;
  }
  // A bare IPv6 address, without brackets or port.
  return isIP(text) === 6 ? { host: text, port: 53 } : null;
}

interface VerifyArgs {
  server: { host: string; port: number };
  transports: VerifyTransport[];
  suite: string;
  out?: string;
  signKey?: string;
  blockAddresses: string[];
  source?: string;
  timeoutMs: number;
  abuseMinEntries: number;
  samples: Array<{ category: string; file: string }>;
  allowSample?: string;
  sampleSize: number;
  seed?: number;
  minRate: number;
  maxOverblock: number;
  sampleKey: string;
  qps: number;
}

/** "0.9", "90%" or "90 %" -> 0.9; null when not a rate from 0 to 1. */
export function parseRate(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(text);
  if (m === null) return null;
  const value = m[2] === '%' ? Number(m[1]) / 100 : Number(m[1]);
  return value >= 0 && value <= 1 ? value : null;
}

function integerOption(name: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new Error(`--${name} "${text}": expected a whole number from ${min} to ${max}`);
  }
  return Number(text);
}

function rateOption(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const rate = parseRate(text);
  if (rate === null) throw new Error(`--${name} "${text}": expected a rate from 0 to 1, e.g. 0.9 or 90%`);
  return rate;
}

function sampleOptions(values: Record<string, string | string[] | boolean | undefined>) {
  const samples = ((values.sample as string[] | undefined) ?? []).map((spec) => {
    const m = /^([a-z0-9][a-z0-9_-]{0,63})=(.+)$/i.exec(spec);
    if (m === null)
      throw new Error(`--sample "${spec}": expected CATEGORY=FILE, e.g. adult=my-adult-list.txt`);
    return { category: m[1].toLowerCase(), file: m[2] };
  });
  const dup = samples.find((s, i) => samples.findIndex((o) => o.category === s.category) !== i);
  if (dup !== undefined) throw new Error(`--sample: category "${dup.category}" is given twice`);
  return {
    samples,
    ...(values['allow-sample'] !== undefined ? { allowSample: values['allow-sample'] as string } : {}),
    sampleSize:
      integerOption('sample-size', values['sample-size'] as string | undefined, 1, MAX_SAMPLE_SIZE) ??
      DEFAULT_SAMPLE_SIZE,
    ...(values.seed !== undefined
      ? { seed: integerOption('seed', values.seed as string, 0, 0xffff_ffff) as number }
      : {}),
    minRate: rateOption('min-rate', values['min-rate'] as string | undefined, DEFAULT_MIN_RATE),
    maxOverblock: rateOption(
      'max-overblock',
      values['max-overblock'] as string | undefined,
      DEFAULT_MAX_OVERBLOCK,
    ),
    sampleKey: (values['sample-key'] as string | undefined) ?? DEFAULT_SAMPLE_KEY_FILE,
    qps: integerOption('qps', values.qps as string | undefined, 0, 100_000) ?? DEFAULT_QPS,
    abuseMinEntries:
      integerOption(
        'abuse-min-entries',
        values['abuse-min-entries'] as string | undefined,
        0,
        1_000_000_000,
      ) ?? DEFAULT_ABUSE_MIN_ENTRIES,
  };
}

function parse(argv: readonly string[]): VerifyArgs {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: {
      server: { type: 'string' },
      tcp: { type: 'boolean' },
      transports: { type: 'string' },
      suite: { type: 'string' },
      out: { type: 'string' },
      'sign-key': { type: 'string' },
      'block-address': { type: 'string', multiple: true },
      source: { type: 'string' },
      timeout: { type: 'string' },
      'abuse-min-entries': { type: 'string' },
      sample: { type: 'string', multiple: true },
      'allow-sample': { type: 'string' },
      'sample-size': { type: 'string' },
      seed: { type: 'string' },
      'min-rate': { type: 'string' },
      'max-overblock': { type: 'string' },
      'sample-key': { type: 'string' },
      qps: { type: 'string' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length > 0) throw new Error(`unexpected argument "${positionals[0]}"`);
  if (values.server === undefined)
    throw new Error('--server is required: the resolver to check, HOST[:PORT]');
  const server = parseServer(values.server);
  if (server === null) {
    throw new Error(
      `--server "${values.server}": expected an IP address with an optional port, e.g. 192.0.2.53:53`,
    );
  }
  if (values.tcp === true && values.transports !== undefined)
    throw new Error('give --tcp or --transports, not both');
  let transports: VerifyTransport[] = [...VERIFY_TRANSPORTS];
  if (values.tcp === true) transports = ['tcp'];
  if (values.transports !== undefined) {
    const list = values.transports.split(',').map((t) => t.trim().toLowerCase());
    const bad = list.find((t) => !(VERIFY_TRANSPORTS as readonly string[]).includes(t));
    if (bad !== undefined || list.length === 0) {
      throw new Error(`--transports "${values.transports}": expected udp, tcp or udp,tcp`);
    }
    transports = [...new Set(list as VerifyTransport[])];
  }
  const blockAddresses = values['block-address'] ?? [];
  const badAddress = blockAddresses.find((a) => isIP(a) === 0);
  if (badAddress !== undefined) throw new Error(`--block-address "${badAddress}": expected an IP address`);
  if (values.source !== undefined && isIP(values.source) === 0) {
    throw new Error(`--source "${values.source}": expected a local IP address`);
  }
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  if (values.timeout !== undefined) {
    const ms = parseDuration(values.timeout);
    if (ms === null || ms < 1 || ms > MAX_TIMEOUT_MS) {
      throw new Error(`--timeout "${values.timeout}": expected a duration from 1ms to 60s, e.g. 2s or 500ms`);
    }
    timeoutMs = ms;
  }
  return {
    server,
    transports,
    suite: values.suite ?? 'friendly-wifi',
    ...(values.out !== undefined ? { out: values.out } : {}),
    ...(values['sign-key'] !== undefined ? { signKey: values['sign-key'] } : {}),
    blockAddresses,
    ...(values.source !== undefined ? { source: values.source } : {}),
    timeoutMs,
    ...sampleOptions(values),
  };
}

function summaryLines(report: VerifyReport): string {
  const s = report.summary;
  const failed = report.results
    .filter((r) => r.verdict === 'fail')
    .map(
      (r) => `  FAIL ${r.name}: ${r.qname} ${r.qtype} ${r.transport} expected ${r.expected}: ${r.reason}\n`,
    );
  const verdict = reportPassed(report) ? 'PASS' : 'FAIL';
  const na = s.notApplicable !== undefined ? `, ${s.notApplicable} not applicable` : '';
  return `${failed.join('')}${sampleSummaryLines(report)}${verdict} ${report.suite.name} against ${report.server.host}:${report.server.port}: ${s.passed}/${s.cases} checks passed${na}\n`;
}

/** The certifier's lists and key, read before any question is asked: a bad file is a usage error. */
async function loadSamples(args: VerifyArgs): Promise<{ specs: SampleSpec[]; key?: SampleKey }> {
  const specs: SampleSpec[] = [];
  for (const s of args.samples) {
    specs.push({
      kind: 'block',
      category: s.category,
      list: await readSampleList(s.file, `--sample ${s.category}=`),
      threshold: args.minRate,
    });
  }
  if (args.allowSample !== undefined) {
    specs.push({
      kind: 'allow',
      category: 'allow',
      list: await readSampleList(args.allowSample, '--allow-sample '),
      threshold: args.maxOverblock,
    });
  }
  if (specs.length === 0) return { specs };
  return { specs, key: await loadOrCreateSampleKey(args.sampleKey) };
}

/**
 * `roje verify`: runs a suite against any resolver and writes the report (HTML when --out ends in
 * .html or .htm, JSON otherwise), signed with --sign-key. 0 when every check passed, 1 when one
 * failed (or the report cannot be written), 2 for a bad command line, suite or key.
 */
export async function verify(argv: readonly string[], io: Io): Promise<number> {
  let args: VerifyArgs;
  try {
    args = parse(argv);
  } catch (err) {
    io.stderr.write(`roje verify: ${(err as Error).message}\n${VERIFY_USAGE}\n`);
    return 2;
  }
  let suite: Awaited<ReturnType<typeof loadSuite>>;
  let key: Awaited<ReturnType<typeof readSigningKey>> | undefined;
  let samples: Awaited<ReturnType<typeof loadSamples>>;
  try {
    suite = await loadSuite(args.suite);
    if (args.signKey !== undefined) key = await readSigningKey(args.signKey);
    samples = await loadSamples(args);
  } catch (err) {
    if (!isRojeError(err)) throw err;
    io.stderr.write(`roje verify: ${err.message}\n`);
    return 2;
  }
  let report = await runSuite({
    server: args.server,
    suite,
    transports: args.transports,
    timeoutMs: args.timeoutMs,
    blockAddresses: args.blockAddresses,
    ...(args.source !== undefined ? { sourceAddress: args.source } : {}),
  });
  if (samples.key !== undefined) {
    const seed = args.seed ?? randomBytes(4).readUInt32BE(0);
    io.stderr.write(
      `sample: seed ${seed} (repeat the draw with --seed ${seed}); key ${samples.key.file} (id ${samples.key.id}${samples.key.created ? ', created now' : ''}): keep it with your lists to settle a dispute, never hand it over with the report\n`,
    );
    const progress = startProgress(io.stderr);
    report.sample = await runSample({
      specs: samples.specs,
      seed,
      sampleSize: args.sampleSize,
      key: samples.key,
      server: args.server,
      transports: args.transports,
      timeoutMs: args.timeoutMs,
      blockAddresses: blockAddressSet(args.blockAddresses),
      concurrency: DEFAULT_CONCURRENCY,
      qps: args.qps,
      ...(args.source !== undefined ? { sourceAddress: args.source } : {}),
      ...(progress !== null ? { onProgress: progress.update } : {}),
    });
    progress?.finish();
  }
  // The abuse category is judged when the suite or a sample covers it (see abuse-evidence.ts).
  const abuseSample = report.sample?.results.find((r) => r.kind === 'block' && r.category === ABUSE_CATEGORY);
  if (abuseSample !== undefined || suite.cases.some((c) => c.category === ABUSE_CATEGORY)) {
    report.abuse = judgeAbuse({
      identity: report.identity,
      ...(abuseSample !== undefined ? { sample: abuseSample } : {}),
      minEntries: args.abuseMinEntries,
    });
  }
  if (key !== undefined) report = signReport(report, key);
  if (args.out !== undefined) {
    const html = /\.html?$/i.test(args.out);
    try {
      await writeFile(args.out, html ? renderReportHtml(report) : `${JSON.stringify(report, null, 2)}\n`);
    } catch (err) {
      io.stderr.write(`roje verify: cannot write ${args.out}: ${(err as Error).message}\n`);
      return 1;
    }
  }
  io.stdout.write(summaryLines(report));
  if (args.out !== undefined) io.stdout.write(`report: ${args.out}${key !== undefined ? ' (signed)' : ''}\n`);
  return reportPassed(report) ? 0 : 1;
}
