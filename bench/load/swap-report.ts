/**
 * What a list swap run measured, from dnsperf's -v output and roje's log: latency in and outside the swap
 * windows, answers that match neither list, when each swap showed in the answers; and the report table.
 * The runner is bench/load/swap.ts.
 */
import { readFile } from 'node:fs/promises';
import { LatencyHistogram } from './dnsperf.js';
import { BUSY_WARNING, type Machine } from './machine.js';
import type { SwapOptions } from './swap.js';
import type { Kind } from './swap-workload.js';

/** The swap window ends this long after the "lists reloaded" line: stragglers and GC of the old list. */
export const WINDOW_TAIL_MS = 1000;
/** Half-width of the slot around each swap instant: the main thread's share of a swap shows here. */
const INSTANT_MS = 250;
const TIMEOUT_SECONDS = 2;

export interface Swap {
  label: string;
  /** Epoch ms: refresh request sent, HTTP answer received, "lists reloaded" logged. */
  requestAt: number;
  answeredAt: number;
  swappedAt: number;
  compileMs: number;
  status: number;
  probes: Record<string, string>;
}

export interface Latency {
  answers: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export function latencyOf(h: LatencyHistogram): Latency {
  return { answers: h.count, p50Ms: h.quantileMs(0.5), p99Ms: h.quantileMs(0.99), maxMs: h.maxSeconds * 1e3 };
}

export interface Timeline {
  whole: Latency;
  inWindow: Latency;
  atSwap: Latency;
  outside: Latency;
  rcodes: Record<string, number>;
  timeouts: number;
  /** Answers that contradict both lists: a stable name not blocked, a hit blocked, anything SERVFAIL. */
  wrong: Record<string, number>;
  /** Per swap, ms from the refresh request (in send time): the first answer by the new list, the last by the old. */
  flips: Array<{ firstNewMs: number | null; lastOldMs: number | null }>;
  startAt: number;
}

/**
 * Reads dnsperf's -v lines (`> RCODE name A seconds`, `> T name A` for a timeout). dnsperf prints no time
 * per line; at a fixed -Q the i-th answer belongs to the i-th query, sent at start + i / qps (the order of
 * answers differs from the order of queries only by the latency, a few ms at most). The start comes from
 * the first -S 1 status line (start + 1 s).
 */
export async function readTimeline(
  file: string,
  qps: number,
  kinds: ReadonlyMap<string, Kind>,
  swaps: readonly Swap[],
): Promise<Timeline> {
  const text = await readFile(file, 'latin1');
  const stamp = /^(\d{10}\.\d+): /m.exec(text);
  if (stamp === null) throw new Error(`${file}: no -S status line to date the run by`);
  const startAt = Number(stamp[1]) * 1000 - 1000;
  const windows = swaps.map((s) => [s.requestAt, s.swappedAt + WINDOW_TAIL_MS] as const);
  const whole = new LatencyHistogram();
  const inWindow = new LatencyHistogram();
  const atSwap = new LatencyHistogram();
  const outside = new LatencyHistogram();
  const rcodes: Record<string, number> = {};
  const wrong: Record<string, number> = {};
  const flips = swaps.map(() => ({ firstNewMs: null as number | null, lastOldMs: null as number | null }));
  let timeouts = 0;
  let i = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('> ')) continue;
    const at = startAt + (i++ * 1000) / qps;
    const [, rcode, name, , secs] = line.split(' ');
    if (rcode === 'T') {
      timeouts++;
      continue;
    }
    rcodes[rcode!] = (rcodes[rcode!] ?? 0) + 1;
    const seconds = Number(secs);
    whole.add(seconds);
    (windows.some(([from, to]) => at >= from && at <= to) ? inWindow : outside).add(seconds);
    if (swaps.some((s) => Math.abs(at - s.swappedAt) <= INSTANT_MS)) atSwap.add(seconds);
    const kind = kinds.get(name!.toLowerCase());
    const blocked = rcode === 'NXDOMAIN';
    if (rcode === 'SERVFAIL') wrong.servfail = (wrong.servfail ?? 0) + 1;
    else if (kind === 'hit' && blocked) wrong['hit blocked'] = (wrong['hit blocked'] ?? 0) + 1;
    else if (kind === 'stable' && !blocked)
      wrong['listed name answered'] = (wrong['listed name answered'] ?? 0) + 1;
    else if (kind === 'onlyA' || kind === 'onlyB') {
      // Which list produced this answer: A blocks onlyA names, B blocks onlyB names.
      const fromB = (kind === 'onlyB') === blocked;
      for (let s = 0; s < swaps.length; s++) {
        const toB = s % 2 === 0;
        const isNew = fromB === toB;
        const rel = at - swaps[s]!.requestAt;
        const flip = flips[s]!;
        // Only answers between the previous swap and the next one say anything about this one.
        const prevEnd = s === 0 ? Number.NEGATIVE_INFINITY : swaps[s - 1]!.swappedAt + WINDOW_TAIL_MS;
        const nextStart = s + 1 < swaps.length ? swaps[s + 1]!.requestAt : Number.POSITIVE_INFINITY;
        if (at < prevEnd || at >= nextStart) continue;
        if (isNew && (flip.firstNewMs === null || rel < flip.firstNewMs)) flip.firstNewMs = rel;
        if (!isNew && (flip.lastOldMs === null || rel > flip.lastOldMs)) flip.lastOldMs = rel;
      }
    }
  }
  return {
    whole: latencyOf(whole),
    inWindow: latencyOf(inWindow),
    atSwap: latencyOf(atSwap),
    outside: latencyOf(outside),
    rcodes,
    timeouts,
    wrong,
    flips,
    startAt,
  };
}

export type Report = {
  when: string;
  machine: Machine;
  loadAverage: string;
  busyBefore: number | undefined;
  options: SwapOptions;
  lists: { a: number; replaced: number; onlyA: number };
  startup: { readyMs: number; compileMs: number | undefined };
  dnsperf: { sent: number; completed: number; lost: number; qps: number; rcodes: Record<string, number> };
  swaps: Array<
    Swap & {
      swapMs: number;
      httpMs: number;
      atSecond: number;
      firstNewAnswerMs: number | null;
      lastOldAnswerMs: number | null;
    }
  >;
  latency: Record<'whole' | 'inWindow' | 'atSwap' | 'outside', Latency>;
  timeouts: number;
  wrong: Record<string, number>;
  rssMB: { before: number; peak: number; after: number };
  [key: string]: unknown;
};

const fmt = (n: number | null | undefined, digits = 0): string =>
  n === null || n === undefined || Number.isNaN(n)
    ? 'n/a'
    : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export function renderSwapReport(r: Report): string {
  const servfail = r.dnsperf.rcodes.SERVFAIL ?? 0;
  const wrong =
    Object.entries(r.wrong)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || '0';
  const lines = [
    `# List swap under load, ${r.when}`,
    '',
    `Machine: ${r.machine.cpu}, ${r.machine.cpus} CPUs, ${r.machine.memoryGiB} GiB, ${r.machine.kernel}; ` +
      `Node ${r.machine.node}; ${r.machine.dnsperf}; load average before the run ${r.loadAverage}, ` +
      `CPUs ${fmt((r.busyBefore ?? Number.NaN) * 100)} % busy in the 0.5 s before it` +
      `${(r.busyBefore ?? 0) > BUSY_WARNING ? ' (**busy machine**: latency figures are inflated)' : ''}.`,
    `List A ${fmt(r.lists.a)} names (adblock lines), list B replaces ${fmt(r.lists.replaced)} of them; ` +
      `dnsperf -Q ${r.options.qps} -l ${r.options.seconds} -c ${r.options.clients} -q ${r.options.outstanding} -t ${TIMEOUT_SECONDS} -v; ` +
      `roje on CPU ${r.options.serverCpu ?? 'any'}, dnsperf and upstream on CPU ${r.options.loadCpu ?? 'any'}. ` +
      `roje's startup (compile of A in ${fmt(r.startup.compileMs)} ms) took ${fmt(r.startup.readyMs)} ms.`,
    '',
    '| swap | at s | refresh answered ms | compile ms (log `ms`) | swapped after ms | first new answer ms | last old answer ms | probes after |',
    '|---|--:|--:|--:|--:|--:|--:|---|',
    ...r.swaps.map(
      (s) =>
        `| ${s.label} | ${fmt(s.atSecond, 1)} | ${fmt(s.httpMs)} | ${fmt(s.compileMs)} | ${fmt(s.swapMs)} | ` +
        `${fmt(s.firstNewAnswerMs)} | ${fmt(s.lastOldAnswerMs)} | ${Object.values(s.probes).join(' / ')} |`,
    ),
    '',
    '| | answers | p50 ms | p99 ms | max ms |',
    '|---|--:|--:|--:|--:|',
    ...(['whole', 'inWindow', 'atSwap', 'outside'] as const).map((k) => {
      const l = r.latency[k];
      const name = {
        whole: 'whole run',
        inWindow: 'swap windows (refresh request to swap + 1 s)',
        atSwap: `swap instants (± ${INSTANT_MS} ms)`,
        outside: 'outside the windows',
      }[k];
      return `| ${name} | ${fmt(l.answers)} | ${fmt(l.p50Ms, 3)} | ${fmt(l.p99Ms, 3)} | ${fmt(l.maxMs, 3)} |`;
    }),
    '',
    '| check | value | |',
    '|---|--:|---|',
    `| queries sent / completed | ${fmt(r.dnsperf.sent)} / ${fmt(r.dnsperf.completed)} | ${fmt(r.dnsperf.qps)} q/s |`,
    `| lost | ${fmt(r.dnsperf.lost)} | ${r.dnsperf.lost === 0 ? 'ok' : 'FAILED'} |`,
    `| SERVFAIL | ${fmt(servfail)} | ${servfail === 0 ? 'ok' : 'FAILED'} |`,
    `| answers against both lists | ${wrong} | ${Object.keys(r.wrong).length === 0 ? 'ok' : 'FAILED'} |`,
    `| RSS MB before / peak / after | ${fmt(r.rssMB.before, 1)} / ${fmt(r.rssMB.peak, 1)} / ${fmt(r.rssMB.after, 1)} | |`,
  ];
  return `${lines.join('\n')}\n`;
}
