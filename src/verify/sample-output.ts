/**
 * What `roje verify` prints about a sample: a progress bar on a terminal (stderr, redrawn at most ten
 * times a second; nothing when stderr is a pipe or file), and one line per sample and for the abuse
 * evidence. Counts and rates only: a sampled name is never printed.
 */
import type { SampleResult, VerifyReport } from './report.js';

const BAR_WIDTH = 30;
const REDRAW_MS = 100;

export interface Progress {
  update(done: number, total: number): void;
  finish(): void;
}

/** A progress bar on `stream` when it is a terminal; null otherwise. */
export function startProgress(stream: NodeJS.WritableStream): Progress | null {
  if ((stream as { isTTY?: boolean }).isTTY !== true) return null;
  const started = Date.now();
  let last = 0;
  let shown = '';
  const draw = (done: number, total: number): void => {
    const share = total > 0 ? done / total : 1;
    const filled = Math.round(share * BAR_WIDTH);
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    shown = `\rsample [${'#'.repeat(filled)}${' '.repeat(BAR_WIDTH - filled)}] ${String(Math.floor(share * 100)).padStart(3)} % ${done}/${total} questions ${seconds} s`;
    stream.write(shown);
  };
  let latest: [number, number] = [0, 0];
  return {
    update(done, total) {
      latest = [done, total];
      const now = Date.now();
      if (now - last < REDRAW_MS && done < total) return;
      last = now;
      draw(done, total);
    },
    finish() {
      if (shown !== '') draw(latest[1], latest[1]);
      stream.write('\n');
    },
  };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)} %`;
}

/** One line: "PASS sample adult: 962/1000 blocked (96.2 %, 95 % interval 94.8–97.2 %), needs low end >= 90 %". */
export function sampleLine(r: SampleResult): string {
  const verdict = r.verdict === 'pass' ? 'PASS' : 'FAIL';
  const interval = `95 % interval ${pct(r.interval.low)}–${pct(r.interval.high)}`;
  const errors = r.errors > 0 ? `; ${r.errors} name(s) without a usable answer (not counted as blocked)` : '';
  if (r.kind === 'allow') {
    const max = r.rule.bound === 'high' ? r.rule.max : 0;
    return `${verdict} allow sample: ${r.blocked}/${r.asked} over-blocked (${pct(r.rate)}, ${interval}), needs high end <= ${pct(max)}${errors}\n`;
  }
  const min = r.rule.bound === 'low' ? r.rule.min : 0;
  return `${verdict} sample ${r.category}: ${r.blocked}/${r.asked} blocked (${pct(r.rate)}, ${interval}), needs low end >= ${pct(min)}${errors}\n`;
}

/** The sample lines and the abuse evidence line, or '' when the report has neither. */
export function sampleSummaryLines(report: VerifyReport): string {
  const lines = (report.sample?.results ?? []).map(sampleLine);
  if (report.abuse !== undefined) {
    const evidence = { sample: 'certifier sample', 'roje-policy': 'roje policy string', none: 'none' }[
      report.abuse.evidence
    ];
    lines.push(
      `${report.abuse.verdict === 'pass' ? 'PASS' : 'FAIL'} abuse category (evidence: ${evidence}): ${report.abuse.reason}\n`,
    );
  }
  return lines.join('');
}
