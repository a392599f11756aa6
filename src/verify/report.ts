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
  /** not-applicable: a roje-specific case (`requires: roje`) asked of another resolver; it does not fail the run. */
  verdict: 'pass' | 'fail' | 'not-applicable';
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
  server: {
    host: string;
    port: number;
    transports: VerifyTransport[];
    sourceAddress?: string;
    /** The venue whose client the run asked as (roje's per-venue self-test). */
    venue?: string;
  };
  /** Extra addresses counted as "blocked" (besides 0.0.0.0 and ::). */
  blockAddresses: string[];
  identity: ResolverIdentity;
  startedAt: string;
  finishedAt: string;
  summary: { cases: number; passed: number; failed: number; notApplicable?: number };
  results: CaseResult[];
  /** How the abuse category was judged, when the suite or a sample covers it. */
  abuse?: AbuseEvidence;
  /** Sampled verification with the certifier's own lists (`--sample`, `--allow-sample`). */
  sample?: SampleRun;
  signature?: ReportSignature;
}

/**
 * How one sampled name fared. `answers` holds one letter per question, in the order of `questions`
 * in the run: B blocked, R resolved, N NXDOMAIN or NODATA without a block mark, S another rcode
 * (SERVFAIL...), T no answer (timeout, network error), - not asked (a www. name has no www. form).
 */
export interface SampledName {
  /** HMAC-SHA-256(sample key, name) in hex: the name itself is never in a report. */
  hash: string;
  verdict: 'blocked' | 'not-blocked' | 'error';
  answers: string;
}

export interface SampleResult {
  /** block: names that must be blocked (--sample CATEGORY=FILE); allow: names that must resolve. */
  kind: 'block' | 'allow';
  category: string;
  /** The list drawn from: its digest and size (never its path or names). */
  list: { sha256: string; names: number; skipped: number };
  /** Names drawn (all of the list when it is smaller than --sample-size). */
  asked: number;
  blocked: number;
  notBlocked: number;
  /** Names with no usable answer to some question and no answer that resolved: not counted as blocked. */
  errors: number;
  /** blocked / asked: for an allow sample, the over-blocking rate. */
  rate: number;
  /** Wilson 95 % interval of the rate. */
  interval: { low: number; high: number };
  /** block: pass iff interval.low >= min; allow: pass iff interval.high <= max. */
  rule: { bound: 'low'; min: number } | { bound: 'high'; max: number };
  verdict: 'pass' | 'fail';
  names: SampledName[];
}

export interface SampleRun {
  /** The PRNG seed: the same list, seed and size draw the same names. */
  seed: number;
  sampleSize: number;
  hash: 'HMAC-SHA-256';
  /** Id of the certifier's sample key (sha256 of it, 16 hex digits); the key is never in a report. */
  keyId: string;
  /** What each letter of SampledName.answers is: "name/udp", "www/tcp", ... */
  questions: string[];
  results: SampleResult[];
}

/** The abuse category's evidence: a certifier's sample, roje's own policy string, or nothing. */
export interface AbuseEvidence {
  evidence: 'sample' | 'roje-policy' | 'none';
  verdict: 'pass' | 'fail';
  reason: string;
  /** From policy.roje. CH TXT, with evidence roje-policy. */
  policy?: {
    sources: number;
    entries: number;
    /** Oldest abuse source's age, seconds (null: no source). */
    maxAgeSeconds: number | null;
    minEntries: number;
    maxAgeLimitSeconds: number;
  };
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

/** The report's exit code: 0 when every case passed, the abuse evidence holds and every sample passed. */
export function reportPassed(report: VerifyReport): boolean {
  return (
    report.summary.failed === 0 &&
    report.summary.cases > 0 &&
    report.abuse?.verdict !== 'fail' &&
    (report.sample?.results ?? []).every((r) => r.verdict === 'pass')
  );
}
