/**
 * V8's `--trace-gc` lines, counted: how many young-generation collections (scavenges) and full collections
 * (mark-compacts) a process ran in a window, and their pauses. Issue #21 suspects the collector behind
 * roje's far tail; the peers benchmark (bench/load/peers.ts --trace-gc) counts them during its latency runs.
 *
 * A line, Node 20 (V8 11.3):
 *   [4242:0x55d0c8a0]   1234 ms: Scavenge 4.1 (5.6) -> 3.5 (6.6) MB, 0.85 / 0.00 ms  (average mu = ...) ...
 *   [4242:0x55d0c8a0]   5678 ms: Mark-Compact 40.8 (70.4) -> 14.3 (50.0) MB, 2.77 / 0.00 ms  (+ 4.2 ms in
 *     27 steps since start of marking, biggest step 0.3 ms, ...) ...
 * The first figure after "MB," is the pause of the main thread; "+ X ms in N steps" is incremental marking
 * done earlier in small steps, also on the main thread, reported apart. Newer V8 versions add words between
 * the kind and the sizes ("Scavenge (interleaved)", "pooled: 0.0 MB"), which the pattern below skips.
 */
import { readFile } from 'node:fs/promises';

export type GcKind = 'scavenge' | 'mark-compact';

export interface GcEvent {
  kind: GcKind;
  pauseMs: number;
  /** Incremental marking steps before a mark-compact's final pause ("+ X ms in N steps"); 0 otherwise. */
  incrementalMs: number;
}

const LINE =
  /^\[[^\]]*\]\s+[0-9.]+ ms: ([A-Za-z -]+?)(?: \([a-z ]+\))? [0-9.]+ \(.*?MB, ([0-9.]+) \/ [0-9.]+ ms/;
const INCREMENTAL = /\(\+ ([0-9.]+) ms in \d+ steps/;

/** The event of one `--trace-gc` line, or undefined for any other line (roje's own log lines included). */
export function parseGcLine(line: string): GcEvent | undefined {
  const match = LINE.exec(line);
  if (match === null) return undefined;
  const name = match[1]!;
  // "Minor Mark-Compact" / "Minor Mark-Sweep" (V8's alternative young collector) count as young.
  const kind: GcKind | undefined = /Scavenge|Minor/.test(name)
    ? 'scavenge'
    : /Mark-(Compact|Sweep|sweep)/.test(name)
      ? 'mark-compact'
      : undefined;
  if (kind === undefined) return undefined;
  const incremental = kind === 'mark-compact' ? INCREMENTAL.exec(line) : null;
  return {
    kind,
    pauseMs: Number(match[2]),
    incrementalMs: incremental === null ? 0 : Number(incremental[1]),
  };
}

export interface GcTotals {
  count: number;
  totalMs: number;
  maxMs: number;
}

export interface GcSummary {
  scavenges: GcTotals;
  markCompacts: GcTotals & { incrementalMs: number };
}

export function summarizeGc(lines: Iterable<string>): GcSummary {
  const scavenges: GcTotals = { count: 0, totalMs: 0, maxMs: 0 };
  const markCompacts = { count: 0, totalMs: 0, maxMs: 0, incrementalMs: 0 };
  for (const line of lines) {
    const event = parseGcLine(line);
    if (event === undefined) continue;
    const totals = event.kind === 'scavenge' ? scavenges : markCompacts;
    totals.count++;
    totals.totalMs += event.pauseMs;
    if (event.pauseMs > totals.maxMs) totals.maxMs = event.pauseMs;
    markCompacts.incrementalMs += event.incrementalMs;
  }
  return { scavenges, markCompacts };
}

/**
 * A process's stdout file, read in windows: `mark()` before the window, `since(mark)` after it. Counted in
 * whole lines, so a line still being written when a window opens or closes belongs to exactly one window
 * (V8 flushes each trace line as it prints it).
 */
export function createLineWindow(file: string): {
  mark(): Promise<number>;
  since(mark: number): Promise<string[]>;
} {
  const completeLines = async (): Promise<string[]> => {
    const text = await readFile(file, 'utf8').catch(() => '');
    return text
      .slice(0, text.lastIndexOf('\n') + 1)
      .split('\n')
      .slice(0, -1);
  };
  return {
    mark: async () => (await completeLines()).length,
    since: async (mark) => (await completeLines()).slice(mark),
  };
}
