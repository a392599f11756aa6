import { writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { parseDuration } from '../config/units.js';
import { isRojeError } from '../errors.js';
import { VERIFY_TRANSPORTS, type VerifyTransport } from '../verify/client.js';
import { renderReportHtml } from '../verify/html.js';
import { reportPassed, type VerifyReport } from '../verify/report.js';
import { DEFAULT_TIMEOUT_MS, runSuite } from '../verify/runner.js';
import { readSigningKey, signReport } from '../verify/sign.js';
import { loadSuite } from '../verify/suite.js';
import type { Io } from './index.js';

export const VERIFY_USAGE = `Usage: roje verify --server HOST[:PORT] [--tcp | --transports udp,tcp] [--suite friendly-wifi|FILE]
                   [--out report.html|report.json] [--sign-key FILE] [--block-address IP]...
                   [--source IP] [--timeout 2s]`;

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
  return `${failed.join('')}${verdict} ${report.suite.name} against ${report.server.host}:${report.server.port}: ${s.passed}/${s.cases} checks passed\n`;
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
  try {
    suite = await loadSuite(args.suite);
    if (args.signKey !== undefined) key = await readSigningKey(args.signKey);
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
