/**
 * The scheduled self-test: roje runs a verify suite (default `friendly-wifi`) against itself once per
 * target, daily and shortly after every list swap: as a client of no venue, and as a client of each
 * configured venue (src/services/self-test.ts says how). Each target's report is signed with the
 * deployment's Ed25519 key when it has one and kept (in memory, and in <stateDir>/selftest when there is
 * one: kept.ts) for the auditor role; the results are exported as metrics per venue. A run never
 * overlaps another; a failing target is logged as a warning, and an error inside a run is a failed run,
 * never a crash.
 */
import type { Logger } from 'pino';
import { renderReportHtml } from '../verify/html.js';
import type { VerifyReport } from '../verify/report.js';
import { pruneRuns, RUN_ID_RE, readRuns, reportFileName, reportText, writeRun } from './kept.js';

/** One target's result within a run. */
export interface SelfTestVenueResult {
  /** The venue's name, or null: clients of no venue. */
  venue: string | null;
  /** The client address the questions were asked as (a venue's network), or null over the socket. */
  clientAddress: string | null;
  passed: number;
  failed: number;
  ok: boolean;
  /** SHA-256 (hex) of the kept report file: the signed report JSON, byte for byte. */
  sha256: string;
  /** The kept report's file name (in <stateDir>/selftest when there is one). */
  file: string;
}

export interface SelfTestSummary {
  id: string;
  at: string;
  suite: string;
  /** Summed over the targets. */
  passed: number;
  failed: number;
  /** Every target passed every case. */
  ok: boolean;
  signed: boolean;
  /** What started it: schedule, list swap or an operator. */
  reason: SelfTestReason;
  /** Per target: clients of no venue first, then the venues in config order. */
  venues: SelfTestVenueResult[];
}

export type SelfTestReason = 'schedule' | 'list-swap' | 'operator' | 'start';

/** Who the suite asks as. */
export interface SelfTestTarget {
  venue: string | null;
  clientAddress: string | null;
  /** Runs the suite as this client and returns the (signed, when a key is configured) report. */
  run(): Promise<VerifyReport>;
}

export interface SelfTestOptions {
  /** The targets of a run now, or null when there is nothing to ask (no DNS listener). */
  targets: () => SelfTestTarget[] | null;
  intervalMs: number;
  /** Delay after a list swap (swaps in a burst share one run). */
  afterSwapDelayMs: number;
  afterSwap: boolean;
  keep: number;
  /** Folder for the kept reports, or null (memory only). */
  dir: string | null;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** After each run (metrics, statistics). */
  onResult?: (summary: SelfTestSummary) => void;
}

export interface SelfTest {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Called after each list swap: schedules a run after afterSwapDelayMs. */
  listsSwapped(): void;
  /** Runs now (waits for a run in progress first) and returns its summary. */
  runNow(reason?: SelfTestReason): Promise<SelfTestSummary>;
  list(): SelfTestSummary[];
  /** A kept report as JSON (the kept bytes) or HTML, or null; venue null: clients of no venue. */
  get(id: string, venue: string | null, format: 'json' | 'html'): string | null;
  last(): SelfTestSummary | null;
}

interface Kept {
  summary: SelfTestSummary;
  /** Report texts by file name. */
  reports: Map<string, string>;
}

export function createSelfTest(options: SelfTestOptions): SelfTest {
  const kept: Kept[] = [];
  let timer: NodeJS.Timeout | null = null;
  let swapTimer: NodeJS.Timeout | null = null;
  let running: Promise<SelfTestSummary> | null = null;
  let stopped = true;

  async function runOnce(reason: SelfTestReason): Promise<SelfTestSummary> {
    const targets = options.targets();
    const at = new Date().toISOString();
    const id = at.replace(/[:.]/g, '-');
    if (targets === null) throw new Error('no DNS listener to test');
    const venues: SelfTestVenueResult[] = [];
    const reports = new Map<string, string>();
    let suite = '';
    let signed = targets.length > 0;
    for (const target of targets) {
      let report: VerifyReport;
      try {
        report = await target.run();
      } catch (err) {
        options.logger.error({ venue: target.venue, err: (err as Error).message }, 'self-test could not run');
        throw err;
      }
      const file = reportFileName(id, target.venue);
      const { text, sha256 } = reportText(report);
      reports.set(file, text);
      suite = report.suite.name;
      signed &&= report.signature !== undefined;
      const result: SelfTestVenueResult = {
        venue: target.venue,
        clientAddress: target.clientAddress,
        passed: report.summary.passed,
        failed: report.summary.failed,
        ok: report.summary.failed === 0 && report.summary.cases > 0,
        sha256,
        file,
      };
      venues.push(result);
      logResult(options.logger, result, report, reason);
    }
    const summary: SelfTestSummary = {
      id,
      at,
      suite,
      passed: venues.reduce((n, v) => n + v.passed, 0),
      failed: venues.reduce((n, v) => n + v.failed, 0),
      ok: venues.length > 0 && venues.every((v) => v.ok),
      signed,
      reason,
      venues,
    };
    kept.push({ summary, reports });
    while (kept.length > options.keep) kept.shift();
    await persist(summary, reports);
    options.onResult?.(summary);
    return summary;
  }

  function runNow(reason: SelfTestReason = 'operator'): Promise<SelfTestSummary> {
    const previous = running ?? Promise.resolve();
    const next = previous
      .catch(() => {})
      .then(() => runOnce(reason))
      .finally(() => {
        if (running === next) running = null;
      });
    running = next;
    return next;
  }

  async function persist(summary: SelfTestSummary, reports: Map<string, string>): Promise<void> {
    if (options.dir === null) return;
    try {
      const files = [...reports].map(([file, text]) => ({ file, text }));
      await writeRun(options.dir, summary.id, summary, files);
      await pruneRuns(options.dir, options.keep);
    } catch (err) {
      options.logger.warn({ err: (err as Error).message }, 'self-test report not stored');
    }
  }

  async function load(): Promise<void> {
    if (options.dir === null) return;
    for (const run of await readRuns(options.dir, options.keep)) {
      const summary = run.summary as SelfTestSummary;
      // Only runs of this layout (per-venue results); an older one is left on disk for pruning.
      if (RUN_ID_RE.test(summary?.id ?? '') && Array.isArray(summary.venues)) {
        kept.push({ summary, reports: run.reports });
      }
    }
  }

  function get(id: string, venue: string | null, format: 'json' | 'html'): string | null {
    const run = kept.find((k) => k.summary.id === id);
    const text = run?.reports.get(reportFileName(id, venue)) ?? null;
    if (text === null || format === 'json') return text;
    return renderReportHtml(JSON.parse(text) as VerifyReport);
  }

  function background(reason: SelfTestReason): void {
    if (stopped) return;
    runNow(reason).catch(() => {});
  }

  return {
    async start() {
      stopped = false;
      await load();
      timer = setInterval(() => background('schedule'), options.intervalMs);
      timer.unref();
    },
    async stop() {
      stopped = true;
      if (timer !== null) clearInterval(timer);
      if (swapTimer !== null) clearTimeout(swapTimer);
      timer = null;
      swapTimer = null;
      await running?.catch(() => {});
    },
    listsSwapped() {
      if (!options.afterSwap || stopped) return;
      if (swapTimer !== null) clearTimeout(swapTimer);
      swapTimer = setTimeout(() => {
        swapTimer = null;
        background('list-swap');
      }, options.afterSwapDelayMs);
      swapTimer.unref();
    },
    runNow,
    list: () => kept.map((k) => ({ ...k.summary })).reverse(),
    get,
    last: () => (kept.length === 0 ? null : { ...kept[kept.length - 1].summary }),
  };
}

/** A passing venue at info; a failing one as a warning naming its failed cases (never an answer). */
function logResult(
  logger: SelfTestOptions['logger'],
  result: SelfTestVenueResult,
  report: VerifyReport,
  reason: SelfTestReason,
): void {
  const fields = {
    venue: result.venue,
    suite: report.suite.name,
    passed: result.passed,
    failed: result.failed,
    reason,
  };
  if (result.ok) {
    logger.info(fields, 'self-test passed');
    return;
  }
  const failedCases = report.results
    .filter((r) => r.verdict === 'fail')
    .map((r) => `${r.name} (${r.transport})`);
  logger.warn({ ...fields, failedCases }, 'self-test FAILED');
}
