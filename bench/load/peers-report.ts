/**
 * What the peers benchmark (bench/load/peers.ts) measured, as rows, and its report: the main table
 * (throughput and memory), the latency table (p50, p99, p99.9 and max per server and offered rate), roje's
 * collector during the latency runs (with --trace-gc), and the targets of issues #7 and #21.
 */
import type { GcSummary } from './gc-trace.js';

export type Peer = 'roje' | 'unbound' | 'dnsmasq' | 'trivial';
export type Layout = 'single' | 'all';
export const ALL_PEERS: readonly Peer[] = ['roje', 'unbound', 'dnsmasq', 'trivial'];
export const ALL_LAYOUTS: readonly Layout[] = ['single', 'all'];

/** One rate-limited `dnsperf -v` run against one server. */
export interface LatencyRun {
  /** -Q: the offered rate. */
  offeredQps: number;
  /** What dnsperf achieved: below the offered rate when the server (or dnsperf) could not keep up. */
  answeredQps: number;
  answers: number;
  lost: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** Share of the CPUs busy just before the run, when above BUSY_WARNING. */
  busyBefore?: number;
  /** roje with --trace-gc: the collections that ran during this run. */
  gc?: GcSummary;
  /** With --latency-repeats above 1: how many runs this row is the median of, and their p99.9 range. */
  repeats?: { count: number; p999MinMs: number; p999MaxMs: number };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * Runs of one server at one rate as one row: each figure the median of the runs' (answers and losses
 * summed), the collections those of the run with the median p99.9, busy if any run began busy.
 */
export function medianRun(runs: readonly LatencyRun[]): LatencyRun {
  if (runs.length === 1) return runs[0];
  const of = (pick: (r: LatencyRun) => number) => median(runs.map(pick));
  const p999 = runs.map((r) => r.p999Ms);
  const byP999 = [...runs].sort((a, b) => a.p999Ms - b.p999Ms);
  const busy = runs.map((r) => r.busyBefore).filter((b): b is number => b !== undefined);
  const gc = byP999[(byP999.length - 1) >> 1].gc;
  return {
    offeredQps: runs[0].offeredQps,
    answeredQps: of((r) => r.answeredQps),
    answers: runs.reduce((n, r) => n + r.answers, 0),
    lost: runs.reduce((n, r) => n + r.lost, 0),
    p50Ms: of((r) => r.p50Ms),
    p99Ms: of((r) => r.p99Ms),
    p999Ms: median(p999),
    maxMs: of((r) => r.maxMs),
    ...(busy.length > 0 ? { busyBefore: Math.max(...busy) } : {}),
    ...(gc !== undefined ? { gc } : {}),
    repeats: { count: runs.length, p999MinMs: Math.min(...p999), p999MaxMs: Math.max(...p999) },
  };
}

export interface PeerRow {
  layout: Layout;
  server: Peer | 'roje (list compiled at start)';
  /** 'ok', or why there is no figure. */
  status: string;
  /** Threads or processes, as configured. */
  setup: string;
  startMs?: number;
  /** Started with no list and no traffic but the start probe (roje: an all-defaults config), after 1 s. */
  rssEmptyMB?: number;
  rssLoadMB?: number;
  /** The cold pass: every distinct query of the mix once (each one a cache miss). */
  warmQps?: number;
  qps?: number;
  qpsMin?: number;
  qpsMax?: number;
  /** Median of the rounds that started on a quiet machine (at most BUSY_WARNING of the CPUs busy), if any. */
  qpsQuiet?: number;
  quietRounds?: number;
  sent?: number;
  lost?: number;
  nxdomainShare?: number;
  servfail?: number;
  upstreamQueries?: number;
  /** One per offered rate, in the order of --latency-qps. */
  latency?: LatencyRun[];
  rssAfterMB?: number;
  hwmMB?: number;
  processes?: number;
  note?: string;
}

export const f = (n: number | undefined, digits = 0): string =>
  n === undefined || Number.isNaN(n)
    ? ''
    : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

const where = (layout: Layout): string => (layout === 'single' ? 'one core' : 'all cores');

export function renderPeersTable(rows: readonly PeerRow[]): string {
  const lines = [
    '| layout | server | setup | start ms | RSS empty MB | RSS after load MB | cold q/s | queries/s | min–max | quiet q/s (rounds) | lost | NXDOMAIN % | upstream q | RSS after run MB | peak (HWM) MB | note |',
    '|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|',
  ];
  for (const r of rows) {
    const note = [r.status === 'ok' ? '' : r.status, r.note ?? ''];
    if (r.processes !== undefined && r.processes > 1) note.push(`${r.processes} processes (memory summed)`);
    if (r.servfail) note.push(`SERVFAIL ${r.servfail}`);
    const range = r.qpsMin === undefined ? '' : `${f(r.qpsMin / 1000)}k–${f(r.qpsMax! / 1000)}k`;
    const lost = r.lost === undefined ? '' : `${f(r.lost)} / ${f(r.sent)}`;
    const quiet = r.quietRounds
      ? `${f(r.qpsQuiet)} (${r.quietRounds})`
      : r.qps === undefined
        ? ''
        : 'none quiet';
    const nx = r.nxdomainShare === undefined ? '' : (r.nxdomainShare * 100).toFixed(1);
    lines.push(
      `| ${where(r.layout)} | ${r.server} | ${r.setup} | ${f(r.startMs)} | ${f(r.rssEmptyMB, 1)} | ${f(r.rssLoadMB, 1)} | ` +
        `${f(r.warmQps)} | ${f(r.qps)} | ${range} | ${quiet} | ${lost} | ${nx} | ${f(r.upstreamQueries)} | ` +
        `${f(r.rssAfterMB, 1)} | ${f(r.hwmMB, 1)} | ${note.filter((n) => n).join('; ')} |`,
    );
  }
  return lines.join('\n');
}

/** p50, p99, p99.9 and max per server and offered rate (issue #21 asks for all four for every server). */
export function renderLatencyTable(rows: readonly PeerRow[]): string {
  const lines = [
    '| layout | server | offered q/s | answered q/s | answers | lost | p50 ms | p99 ms | p99.9 ms | max ms | note |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|',
  ];
  for (const r of rows) {
    for (const l of r.latency ?? []) {
      const note: string[] = [];
      if (l.busyBefore !== undefined) note.push(`${Math.round(l.busyBefore * 100)} % busy before the run`);
      if (l.answeredQps < 0.98 * l.offeredQps) note.push('below the offered rate');
      if (l.repeats !== undefined) {
        note.push(
          `median of ${l.repeats.count} runs (p99.9 ${f(l.repeats.p999MinMs, 3)}–${f(l.repeats.p999MaxMs, 3)})`,
        );
      }
      lines.push(
        `| ${where(r.layout)} | ${r.server} | ${f(l.offeredQps)} | ${f(l.answeredQps)} | ${f(l.answers)} | ${f(l.lost)} | ` +
          `${f(l.p50Ms, 3)} | ${f(l.p99Ms, 3)} | ${f(l.p999Ms, 3)} | ${f(l.maxMs, 3)} | ${note.join('; ')} |`,
      );
    }
  }
  return lines.join('\n');
}

/** roje's collections during each latency run (--trace-gc); empty when no row has them. */
export function renderGcTable(rows: readonly PeerRow[]): string {
  const lines = [
    '| layout | server | offered q/s | scavenges | their pauses, total ms | longest ms | mark-compacts | their pauses, total ms | longest ms | incremental marking ms |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  let any = false;
  for (const r of rows) {
    for (const l of r.latency ?? []) {
      if (l.gc === undefined) continue;
      any = true;
      const { scavenges: s, markCompacts: m } = l.gc;
      lines.push(
        `| ${where(r.layout)} | ${r.server} | ${f(l.offeredQps)} | ${f(s.count)} | ${f(s.totalMs, 2)} | ${f(s.maxMs, 2)} | ` +
          `${f(m.count)} | ${f(m.totalMs, 2)} | ${f(m.maxMs, 2)} | ${f(m.incrementalMs, 1)} |`,
      );
    }
  }
  return any ? lines.join('\n') : '';
}

const okRow = (rows: readonly PeerRow[], layout: Layout, server: PeerRow['server']): PeerRow | undefined =>
  rows.find((r) => r.layout === layout && r.server === server && r.status === 'ok');

/** The issue #7 targets, from the one-core layout (and all cores where roje ran there). */
export function renderTargets(rows: readonly PeerRow[]): string {
  const lines = ['| target | layout | roje | unbound | dnsmasq | verdict |', '|---|---|--:|--:|--:|---|'];
  for (const layout of ALL_LAYOUTS) {
    const roje = okRow(rows, layout, 'roje');
    const unbound = okRow(rows, layout, 'unbound');
    const dnsmasq = okRow(rows, layout, 'dnsmasq');
    if (roje === undefined || unbound === undefined) continue;
    if (roje.qps !== undefined && unbound.qps !== undefined) {
      const ratio = roje.qps / unbound.qps;
      lines.push(
        `| queries/s >= 60 % of unbound (median of all rounds) | ${where(layout)} | ${f(roje.qps)} | ${f(unbound.qps)} | ${f(dnsmasq?.qps)} | ` +
          `${(ratio * 100).toFixed(1)} %: ${ratio >= 0.6 ? 'met' : 'NOT met'} |`,
      );
    }
    if (roje.qpsQuiet !== undefined && unbound.qpsQuiet !== undefined) {
      const ratio = roje.qpsQuiet / unbound.qpsQuiet;
      lines.push(
        `| queries/s >= 60 % of unbound (quiet rounds only) | ${where(layout)} | ${f(roje.qpsQuiet)} | ${f(unbound.qpsQuiet)} | ` +
          `${f(dnsmasq?.qpsQuiet)} | ${(ratio * 100).toFixed(1)} %: ${ratio >= 0.6 ? 'met' : 'NOT met'} |`,
      );
    }
    const ahead = (a: number | undefined, b: number | undefined, c: number | undefined): string =>
      a === undefined || b === undefined ? 'n/a' : a < b && (c === undefined || a < c) ? 'met' : 'NOT met';
    lines.push(
      `| start (spawn to first answer) ahead of both | ${where(layout)} | ${f(roje.startMs)} ms | ${f(unbound.startMs)} ms | ` +
        `${f(dnsmasq?.startMs)} ms | ${ahead(roje.startMs, unbound.startMs, dnsmasq?.startMs)} |`,
    );
    const listRow = okRow(rows, layout, 'roje (list compiled at start)');
    if (listRow !== undefined) {
      lines.push(
        `| start, roje compiling the plain list itself | ${where(layout)} | ${f(listRow.startMs)} ms | ${f(unbound.startMs)} ms | ` +
          `${f(dnsmasq?.startMs)} ms | ${ahead(listRow.startMs, unbound.startMs, dnsmasq?.startMs)} |`,
      );
    }
    lines.push(
      `| memory after load ahead of both | ${where(layout)} | ${f(roje.rssLoadMB, 1)} MB | ${f(unbound.rssLoadMB, 1)} MB | ` +
        `${f(dnsmasq?.rssLoadMB, 1)} MB | ${ahead(roje.rssLoadMB, unbound.rssLoadMB, dnsmasq?.rssLoadMB)} |`,
      `| memory after the run ahead of both | ${where(layout)} | ${f(roje.rssAfterMB, 1)} MB | ${f(unbound.rssAfterMB, 1)} MB | ` +
        `${f(dnsmasq?.rssAfterMB, 1)} MB | ${ahead(roje.rssAfterMB, unbound.rssAfterMB, dnsmasq?.rssAfterMB)} |`,
    );
  }
  return lines.join('\n');
}

export interface Verdict {
  target: string;
  layout: Layout;
  roje: number | undefined;
  reference: number | undefined;
  /** roje / reference; undefined for an absolute target. */
  ratio: number | undefined;
  /** undefined: not measured in this run (the reason is in `missing`). */
  met: boolean | undefined;
  missing?: string;
  /** What makes the figure doubtful: a busy machine, a rate not reached. */
  caveats: string[];
}

const latencyAt = (row: PeerRow | undefined, qps: number): LatencyRun | undefined =>
  row?.latency?.find((l) => l.offeredQps === qps);

/** A latency comparison means little when a run began on a busy machine or fell short of its rate. */
function latencyCaveats(rows: readonly (PeerRow | undefined)[], qps: number): string[] {
  const out: string[] = [];
  for (const row of rows) {
    const l = latencyAt(row, qps);
    if (row === undefined || l === undefined) continue;
    if (l.busyBefore !== undefined) out.push(`${row.server}'s run began on a busy machine`);
    if (l.answeredQps < 0.98 * l.offeredQps) out.push(`${row.server} answered ${f(l.answeredQps)} q/s`);
  }
  return out;
}

/** A ratio target: roje / reference against `limit` (at most, or at least with `atLeast`). */
function ratioVerdict(
  target: string,
  layout: Layout,
  roje: number | undefined,
  reference: number | undefined,
  limit: number,
  atLeast: boolean,
  missing: string,
): Verdict {
  if (roje === undefined || reference === undefined || Number.isNaN(roje) || !(reference > 0)) {
    return { target, layout, roje, reference, ratio: undefined, met: undefined, missing, caveats: [] };
  }
  const ratio = roje / reference;
  const met = atLeast ? ratio >= limit : ratio <= limit;
  return { target, layout, roje, reference, ratio, met, caveats: [] };
}

/**
 * Issue #21's targets, roje against dnsmasq (and the trivial Node server) in the same run, per layout that
 * has a roje row. They are set for one core; on all cores they are shown for information.
 */
export function issue21Verdicts(rows: readonly PeerRow[]): Verdict[] {
  const out: Verdict[] = [];
  for (const layout of ALL_LAYOUTS) {
    const roje = okRow(rows, layout, 'roje');
    if (roje === undefined) continue;
    const dnsmasq = okRow(rows, layout, 'dnsmasq');
    const trivial = okRow(rows, layout, 'trivial');
    const noDnsmasq = dnsmasq === undefined ? 'dnsmasq not run' : '';
    const at = (qps: number): string =>
      noDnsmasq || (latencyAt(roje, qps) === undefined ? `no latency run at ${f(qps)} q/s` : 'no figure');
    const tail10k = ratioVerdict(
      'p99.9 at 10,000 q/s <= 2x dnsmasq',
      layout,
      latencyAt(roje, 10_000)?.p999Ms,
      latencyAt(dnsmasq, 10_000)?.p999Ms,
      2,
      false,
      at(10_000),
    );
    tail10k.caveats = latencyCaveats([roje, dnsmasq], 10_000);
    const tail40k = ratioVerdict(
      'p99 at 40,000 q/s <= 1.5x dnsmasq',
      layout,
      latencyAt(roje, 40_000)?.p99Ms,
      latencyAt(dnsmasq, 40_000)?.p99Ms,
      1.5,
      false,
      at(40_000),
    );
    tail40k.caveats = latencyCaveats([roje, dnsmasq], 40_000);
    out.push(
      tail10k,
      tail40k,
      ratioVerdict(
        'RSS after the run <= 1.5x dnsmasq',
        layout,
        roje.rssAfterMB,
        dnsmasq?.rssAfterMB,
        1.5,
        false,
        noDnsmasq || 'no figure',
      ),
    );
    const empty = roje.rssEmptyMB;
    out.push({
      target: 'empty process < 80 MB',
      layout,
      roje: empty,
      reference: dnsmasq?.rssEmptyMB,
      ratio: undefined,
      met: empty === undefined ? undefined : empty < 80,
      ...(empty === undefined ? { missing: 'no figure' } : {}),
      caveats: [],
    });
    const mix = ratioVerdict(
      'mix q/s >= 0.95x the trivial Node server',
      layout,
      roje.qps,
      trivial?.qps,
      0.95,
      true,
      trivial === undefined ? 'trivial server not run' : 'no figure',
    );
    for (const r of [roje, trivial]) {
      if (r?.qps !== undefined && !r.quietRounds) mix.caveats.push(`no quiet round for ${r.server}`);
    }
    out.push(mix);
  }
  return out;
}

export function renderIssue21Targets(rows: readonly PeerRow[]): string {
  const lines = [
    '| target (issue #21) | layout | roje | dnsmasq / trivial | ratio | verdict | caveats |',
    '|---|---|--:|--:|--:|---|---|',
  ];
  for (const v of issue21Verdicts(rows)) {
    const unit = /RSS|process/.test(v.target) ? ' MB' : /q\/s >=/.test(v.target) ? ' q/s' : ' ms';
    const digits = unit === ' q/s' ? 0 : unit === ' MB' ? 1 : 3;
    const value = (n: number | undefined): string => (n === undefined ? '' : `${f(n, digits)}${unit}`);
    const verdict = v.met === undefined ? `n/a (${v.missing})` : v.met ? 'met' : '**NOT met**';
    lines.push(
      `| ${v.target} | ${where(v.layout)} | ${value(v.roje)} | ${value(v.reference)} | ` +
        `${v.ratio === undefined ? '' : `${v.ratio.toFixed(2)}x`} | ${verdict} | ${v.caveats.join('; ')} |`,
    );
  }
  return lines.join('\n');
}
