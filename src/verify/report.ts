/**
 * The verify report: one plain JSON object that the JSON file is, the HTML page shows and embeds,
 * and the signature covers. Only data (no Dates, no undefined), so it round-trips through JSON.
 */
import type { Exchange, SeenEde, SeenRecord, VerifyTransport } from './client.js';
import type { Expectation } from './suite.js';

export const REPORT_FORMAT = 'roje-verify-report/1';

export interface AnswerSeen {
  rcode: string | null;
  records: SeenRecord[];
  ede: SeenEde[];
  ms: number;
  retriedTcp?: boolean;
  error?: string;
}

export interface CaseResult {
  name: string;
  qname: string;
  qtype: string;
  transport: VerifyTransport;
  expected: Expectation;
  category?: string;
  verdict: 'pass' | 'fail';
  reason: string;
  answer: AnswerSeen;
}

/** A CH TXT answer: the strings, or why there are none. */
export interface ChaosAnswer {
  rcode: string | null;
  strings: string[];
  error?: string;
}

export interface ResolverIdentity {
  'version.bind': ChaosAnswer;
  'id.server': ChaosAnswer;
  'version.roje': ChaosAnswer;
  /** roje's list versions and ages (never entries). */
  'policy.roje': ChaosAnswer;
}

export interface ReportSignature {
  alg: 'ed25519';
  /** SPKI PEM of the signer's public key. */
  publicKey: string;
  /** "SHA256:" + base64 of the SHA-256 of the key's SPKI DER, as OpenSSH prints fingerprints. */
  keyFingerprint: string;
  /** base64 Ed25519 signature of canonicalJson(report without `signature`). */
  value: string;
}

export interface VerifyReport {
  format: typeof REPORT_FORMAT;
  roje: { version: string };
  suite: { name: string; description?: string; source: string; sha256: string };
  server: { host: string; port: number; transports: VerifyTransport[]; sourceAddress?: string };
  /** Extra addresses counted as "blocked" (besides 0.0.0.0 and ::). */
  blockAddresses: string[];
  identity: ResolverIdentity;
  startedAt: string;
  finishedAt: string;
  summary: { cases: number; passed: number; failed: number };
  results: CaseResult[];
  signature?: ReportSignature;
}

export function answerSeen(e: Exchange): AnswerSeen {
  return {
    rcode: e.rcode,
    records: e.answers,
    ede: e.ede,
    ms: e.ms,
    ...(e.retriedTcp ? { retriedTcp: true } : {}),
    ...(e.error !== undefined ? { error: e.error } : {}),
  };
}

/** The report's exit code: 0 when every case passed. */
export function reportPassed(report: VerifyReport): boolean {
  return report.summary.failed === 0 && report.summary.cases > 0;
}
