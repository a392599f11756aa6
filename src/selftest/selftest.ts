/**
 * The scheduled self-test: roje runs a verify suite (default `friendly-wifi`) against its own listener,
 * daily and shortly after every list swap, signs the report with the deployment's Ed25519 key when it
 * has one, keeps the last reports (in memory, and in <stateDir>/selftest when there is one) for the
 * auditor role, and exports the result as metrics. A run never overlaps another; a failing run is
 * logged as a warning, and an error inside a run is a failed run, never a crash.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { VerifyReport } from '../verify/report.js';

export interface SelfTestSummary {
  id: string;
  at: string;
  suite: string;
  passed: number;
  failed: number;
  ok: boolean;
  signed: boolean;
  /** What started it: schedule, list swap or an operator. */
  reason: SelfTestReason;
}

export type SelfTestReason = 'schedule' | 'list-swap' | 'operator' | 'start';

export interface SelfTestOptions {
  /** Where to ask: the first DNS listener (a wildcard address becomes loopback), or null when none. */
  target: () => { host: string; port: number } | null;
  /** Runs the suite against the target and returns the (signed, when a key is configured) report. */
  run: (target: { host: string; port: number }) => Promise<VerifyReport>;
  intervalMs: number;
  /** Delay after a list swap (swaps in a burst share one run). */
  afterSwapDelayMs: number;
  afterSwap: boolean;
  keep: number;
  /** Folder for the kept reports, or null (memory only). */
  dir: string | null;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** After each run (metrics, statistics). */
  onResult?: (summary: SelfTestSummary, report: VerifyReport) => void;
}

export interface SelfTest {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Called after each list swap: schedules a run after afterSwapDelayMs. */
  listsSwapped(): void;
  /** Runs now (waits for a run in progress first) and returns its summary. */
  runNow(reason?: SelfTestReason): Promise<SelfTestSummary>;
  list(): SelfTestSummary[];
  /** A kept report, or null. */
  get(id: string): VerifyReport | null;
  last(): SelfTestSummary | null;
}

interface Kept {
  summary: SelfTestSummary;
  report: VerifyReport;
}

const ID_RE = /^[0-9TZ-]{15,40}$/;

export function createSelfTest(options: SelfTestOptions): SelfTest {
  const kept: Kept[] = [];
  let timer: NodeJS.Timeout | null = null;
  let swapTimer: NodeJS.Timeout | null = null;
  let running: Promise<SelfTestSummary> | null = null;
  let stopped = true;

  async function runOnce(reason: SelfTestReason): Promise<SelfTestSummary> {
    const target = options.target();
    const at = new Date().toISOString();
    const id = at.replace(/[:.]/g, '-');
    let report: VerifyReport;
    if (target === null) throw new Error('no DNS listener to test');
    try {
      report = await options.run(target);
    } catch (err) {
      options.logger.error({ err: (err as Error).message }, 'self-test could not run');
      throw err;
    }
    const summary: SelfTestSummary = {
      id,
      at,
      suite: report.suite.name,
      passed: report.summary.passed,
      failed: report.summary.failed,
      ok: report.summary.failed === 0 && report.summary.cases > 0,
      signed: report.signature !== undefined,
      reason,
    };
    kept.push({ summary, report });
    while (kept.length > options.keep) kept.shift();
    await persist(summary, report);
    const fields = { suite: summary.suite, passed: summary.passed, failed: summary.failed, reason };
    if (summary.ok) options.logger.info(fields, 'self-test passed');
    else {
      const failedCases = report.results
        .filter((r) => r.verdict === 'fail')
        .map((r) => `${r.name} (${r.transport})`);
      options.logger.warn({ ...fields, failedCases }, 'self-test FAILED');
    }
    options.onResult?.(summary, report);
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

  async function persist(summary: SelfTestSummary, report: VerifyReport): Promise<void> {
    if (options.dir === null) return;
    try {
      await mkdir(options.dir, { recursive: true, mode: 0o750 });
      const file = join(options.dir, `${summary.id}.json`);
      const tmp = `${file}.tmp`;
      await writeFile(tmp, `${JSON.stringify({ summary, report }, null, 2)}\n`, { mode: 0o640 });
      await rename(tmp, file);
      const files = (await readdir(options.dir)).filter((f) => f.endsWith('.json')).sort();
      for (const old of files.slice(0, Math.max(0, files.length - options.keep))) {
        await rm(join(options.dir, old), { force: true });
      }
    } catch (err) {
      options.logger.warn({ err: (err as Error).message }, 'self-test report not stored');
    }
  }

  async function load(): Promise<void> {
    if (options.dir === null) return;
    let files: string[];
    try {
      files = (await readdir(options.dir)).filter((f) => f.endsWith('.json')).sort();
    } catch {
      return;
    }
    for (const f of files.slice(-options.keep)) {
      try {
        const k = JSON.parse(await readFile(join(options.dir, f), 'utf8')) as Kept;
        if (ID_RE.test(k.summary.id)) kept.push(k);
      } catch {
        // A damaged file is skipped: the next run writes a good one.
      }
    }
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
    get: (id) => kept.find((k) => k.summary.id === id)?.report ?? null,
    last: () => (kept.length === 0 ? null : { ...kept[kept.length - 1].summary }),
  };
}
