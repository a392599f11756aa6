/** The tables of a load run, as markdown: one row per server and case, then the ratios the issue asks for. */
import type { DnsperfResult } from './dnsperf.js';

export type ServerName = 'roje' | 'unbound' | 'trivial' | 'dnsmasq';
/** blocked: listed names answered NXDOMAIN by roje (compiled lists) and dnsmasq (address=/name/). */
export type CaseName = 'hits' | 'misses' | 'blocked';

export interface CaseRow {
  server: ServerName;
  case: CaseName;
  /** 'ok', or why there is no figure ('pending: ...', 'failed: ...', 'n/a'). */
  status: string;
  /** Saturating run (no -Q, no -v): throughput, dnsperf's average latency, losses. */
  qps?: number;
  qpsMin?: number;
  qpsMax?: number;
  rounds?: number;
  avgMs?: number;
  sent?: number;
  lost?: number;
  /** Rate-limited run (-Q latencyQps, -v): latency percentiles at the same offered load for every server. */
  latencyQps?: number;
  p50Ms?: number;
  p99Ms?: number;
  latencyLost?: number;
  /** Queries the upstream saw during the timed run: ~0 for hits, ~completed for misses. */
  upstreamQueries?: number;
  runSeconds?: number;
  /** Answers other than NOERROR (e.g. "SERVFAIL 12"), an input that ran out, a busy machine. */
  note?: string;
}

/** roje's hit rate must reach this share of the trivial Node server's (the target). */
export const HIT_TARGET = 0.85;
/** roje's rate on blocked names must reach this share of dnsmasq's with the same list (the target). */
export const BLOCKED_TARGET = 0.8;

const fmtInt = (n: number | undefined): string =>
  n === undefined ? '' : Math.round(n).toLocaleString('en-US');
const fmtMs = (n: number | undefined): string => (n === undefined || Number.isNaN(n) ? '' : n.toFixed(3));
const fmtK = (n: number | undefined): string => (n === undefined ? '' : `${(n / 1000).toFixed(0)}k`);
const fmtPct = (n: number): string => `${(n * 100).toFixed(0)} %`;

export function renderResultsTable(rows: readonly CaseRow[]): string {
  const lines = [
    '| server | case | queries/s | min–max | avg ms at max | lost | upstream q | p50 ms | p99 ms | at q/s | note |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|',
  ];
  for (const r of rows) {
    const notes = r.status === 'ok' ? [r.note ?? ''] : [r.status];
    if (r.latencyLost) notes.push(`${r.latencyLost} lost in the latency run`);
    const note = notes.filter((n) => n).join('; ');
    const range = r.qpsMin === undefined ? '' : `${fmtK(r.qpsMin)}–${fmtK(r.qpsMax)}`;
    const lost = r.lost === undefined ? '' : `${fmtInt(r.lost)} / ${fmtInt(r.sent)}`;
    lines.push(
      `| ${r.server} | ${r.case} | ${fmtInt(r.qps)} | ${range} | ${fmtMs(r.avgMs)} | ${lost} | ${fmtInt(r.upstreamQueries)} | ` +
        `${fmtMs(r.p50Ms)} | ${fmtMs(r.p99Ms)} | ${fmtInt(r.latencyQps)} | ${note} |`,
    );
  }
  return lines.join('\n');
}

function qpsOf(rows: readonly CaseRow[], server: ServerName, name: CaseName): number | undefined {
  const row = rows.find((r) => r.server === server && r.case === name && r.status === 'ok');
  return row?.qps;
}

export interface Ratio {
  label: string;
  value: number | undefined;
  note: string;
}

export function computeRatios(rows: readonly CaseRow[]): Ratio[] {
  const ratio = (a: number | undefined, b: number | undefined): number | undefined =>
    a === undefined || b === undefined || b === 0 ? undefined : a / b;
  const rojeHitsVsTrivial = ratio(qpsOf(rows, 'roje', 'hits'), qpsOf(rows, 'trivial', 'hits'));
  const rojeBlockedVsDnsmasq = ratio(qpsOf(rows, 'roje', 'blocked'), qpsOf(rows, 'dnsmasq', 'blocked'));
  const ratios: Ratio[] = [
    {
      label: 'roje / trivial, hits',
      value: rojeHitsVsTrivial,
      note:
        rojeHitsVsTrivial === undefined
          ? `target >= ${fmtPct(HIT_TARGET)}`
          : `target >= ${fmtPct(HIT_TARGET)}: ${rojeHitsVsTrivial >= HIT_TARGET ? 'met' : 'NOT met'}`,
    },
    {
      label: 'roje / unbound, hits',
      value: ratio(qpsOf(rows, 'roje', 'hits'), qpsOf(rows, 'unbound', 'hits')),
      note: '',
    },
    {
      label: 'roje / unbound, misses',
      value: ratio(qpsOf(rows, 'roje', 'misses'), qpsOf(rows, 'unbound', 'misses')),
      note: '',
    },
    {
      label: 'trivial / unbound, hits',
      value: ratio(qpsOf(rows, 'trivial', 'hits'), qpsOf(rows, 'unbound', 'hits')),
      note: "Node's ceiling against C, per core",
    },
  ];
  if (rows.some((r) => r.case === 'blocked')) {
    ratios.push({
      label: 'roje / dnsmasq, blocked',
      value: rojeBlockedVsDnsmasq,
      note:
        rojeBlockedVsDnsmasq === undefined
          ? `target >= ${fmtPct(BLOCKED_TARGET)}`
          : `target >= ${fmtPct(BLOCKED_TARGET)}: ${rojeBlockedVsDnsmasq >= BLOCKED_TARGET ? 'met' : 'NOT met'}`,
    });
  }
  return ratios;
}

export function renderRatiosTable(ratios: readonly Ratio[]): string {
  const lines = ['| ratio (queries/s) | value | note |', '|---|--:|---|'];
  for (const r of ratios) {
    lines.push(`| ${r.label} | ${r.value === undefined ? 'pending' : fmtPct(r.value)} | ${r.note} |`);
  }
  return lines.join('\n');
}

/** The run with the median rate stands for the case; lost and upstream queries are summed over rounds. */
export function rowFrom(
  server: ServerName,
  name: CaseName,
  rounds: readonly DnsperfResult[],
  upstreamQueries: number,
  latency: DnsperfResult,
  latencyQps: number,
  disturbed: string,
): CaseRow {
  const sorted = [...rounds].sort((a, b) => a.qps - b.qps);
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  const rcodes = new Map<string, number>();
  for (const r of [...rounds, latency]) {
    for (const [rcode, n] of Object.entries(r.rcodes)) {
      if (rcode !== 'NOERROR') rcodes.set(rcode, (rcodes.get(rcode) ?? 0) + n);
    }
  }
  const notes = [...rcodes].map(([rcode, n]) => `${rcode} ${n}`);
  if (rounds.some((r) => r.endOfFile)) notes.push('input ran out before -l');
  if (disturbed) notes.push(disturbed);
  return {
    server,
    case: name,
    status: 'ok',
    qps: median.qps,
    qpsMin: sorted[0]!.qps,
    qpsMax: sorted[sorted.length - 1]!.qps,
    rounds: rounds.length,
    avgMs: median.avgMs,
    sent: rounds.reduce((n, r) => n + r.sent, 0),
    lost: rounds.reduce((n, r) => n + r.lost, 0),
    latencyQps,
    p50Ms: latency.p50Ms,
    p99Ms: latency.p99Ms,
    latencyLost: latency.lost,
    upstreamQueries,
    runSeconds: median.runSeconds,
    note: notes.join('; ') || undefined,
  };
}
