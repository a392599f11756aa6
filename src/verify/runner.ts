/**
 * Runs a suite against one resolver: the identity questions first (CH TXT, as certifiers and
 * operators ask them), then each case over each of its transports, one at a time (a resolver with
 * rate limiting must not see a burst from the auditor). Every question is bounded by timeoutMs.
 */
import { VERSION } from '../version.js';
import { isRojeIdentity } from './abuse-evidence.js';
import {
  type Exchange,
  exchange,
  type RawExchange,
  VERIFY_TRANSPORTS,
  type VerifyTransport,
} from './client.js';
import { blockAddressSet, judge } from './judge.js';
import {
  answerSeen,
  type CaseResult,
  type ChaosAnswer,
  REPORT_FORMAT,
  type ResolverIdentity,
  type VerifyReport,
} from './report.js';
import type { Suite } from './suite.js';

export interface RunSuiteOptions {
  server: { host: string; port: number };
  suite: Suite;
  /** Transports the run may use (a case asks over those it names that are in here). Default both. */
  transports?: VerifyTransport[];
  /** Per question. Default 2000. */
  timeoutMs?: number;
  sourceAddress?: string;
  /** The venue asked as (roje's per-venue self-test): named in the signed report. */
  venue?: string;
  /** Addresses that also mean "blocked" (a block page's). */
  blockAddresses?: string[];
  /** For tests: the clock. */
  now?: () => Date;
  /** Asks through this instead of sockets to `server` (which the report still names). */
  exchange?: RawExchange;
}

export const DEFAULT_TIMEOUT_MS = 2000;
const IDENTITY_NAMES = ['version.bind', 'id.server', 'version.roje', 'policy.roje'] as const;

function chaos(e: Exchange): ChaosAnswer {
  return {
    rcode: e.rcode,
    strings: e.answers.filter((r) => r.type === 'TXT').map((r) => r.data),
    ...(e.error !== undefined ? { error: e.error } : {}),
  };
}

export async function runSuite(options: RunSuiteOptions): Promise<VerifyReport> {
  const now = options.now ?? (() => new Date());
  const transports = options.transports ?? [...VERIFY_TRANSPORTS];
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const source = {
    ...(options.sourceAddress !== undefined ? { sourceAddress: options.sourceAddress } : {}),
    ...(options.venue !== undefined ? { venue: options.venue } : {}),
  };
  const via = options.exchange !== undefined ? { via: options.exchange } : {};
  const blockAddresses = options.blockAddresses ?? [];
  const blockSet = blockAddressSet(blockAddresses);
  const startedAt = now().toISOString();

  const identity = {} as ResolverIdentity;
  for (const name of IDENTITY_NAMES) {
    const e = await exchange(options.server, {
      qname: name,
      qtype: 'TXT',
      qclass: 'CH',
      transport: transports[0],
      timeoutMs,
      ...source,
      ...via,
    });
    identity[name] = chaos(e);
  }

  // A roje-specific case (the abuse canary) is still asked of another resolver, and shown, but not judged.
  const roje = isRojeIdentity(identity);
  const results: CaseResult[] = [];
  for (const c of options.suite.cases) {
    for (const transport of c.transports.filter((t) => transports.includes(t))) {
      const e = await exchange(options.server, {
        qname: c.qname,
        qtype: c.qtype,
        transport,
        timeoutMs,
        ...source,
        ...via,
      });
      const j = judge(c, e, blockSet);
      results.push({
        name: c.name,
        qname: c.qname,
        qtype: c.qtype,
        transport,
        expected: c.expect,
        ...(c.category !== undefined ? { category: c.category } : {}),
        verdict: c.requires === 'roje' && !roje ? 'not-applicable' : j.pass ? 'pass' : 'fail',
        reason: c.requires === 'roje' && !roje ? `not applicable: not roje (${j.reason})` : j.reason,
        answer: answerSeen(e),
      });
    }
  }
  const passed = results.filter((r) => r.verdict === 'pass').length;
  const notApplicable = results.filter((r) => r.verdict === 'not-applicable').length;
  const { suite } = options;
  return {
    format: REPORT_FORMAT,
    roje: { version: VERSION },
    suite: {
      name: suite.name,
      ...(suite.description !== undefined ? { description: suite.description } : {}),
      source: suite.source,
      sha256: suite.sha256,
    },
    server: { host: options.server.host, port: options.server.port, transports, ...source },
    blockAddresses,
    identity,
    startedAt,
    finishedAt: now().toISOString(),
    summary: {
      cases: results.length,
      passed,
      failed: results.length - passed - notApplicable,
      ...(notApplicable > 0 ? { notApplicable } : {}),
    },
    results,
  };
}
