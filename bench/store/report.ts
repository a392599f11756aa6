/** The store benchmark's report: markdown for bench/README.md "Shared store (issue #19)". */
import type { HourlyVolume, Retained, VolumeDelta } from './volume.js';

export type StoreName = 'sqlite' | 'postgres';

export interface CaseResult {
  store: StoreName;
  case: string;
  /** q/s of each round. */
  qps: number[];
  medianQps: number;
  sent: number;
  lost: number;
  p50Ms: number;
  p99Ms: number;
  latencyQps: number;
  /** Highest share of busy CPU sampled before a run (0..1). */
  busyMax: number;
}

export interface CityVolume {
  venues: number;
  categories: number;
  namesPerVenue: number;
  flushSeconds: number;
  defaultFlushSeconds: number;
  sent: number;
  answered: number;
  delta: VolumeDelta;
  atDefault: HourlyVolume;
  retained: Retained[];
}

export interface ReportInput {
  options: {
    rounds: number;
    seconds: number;
    clients: number;
    outstanding: number;
    flushSeconds: number;
    serverCpu: string | undefined;
    loadCpu: string | undefined;
  };
  rows: CaseResult[];
  /** Queries each store holds after the run (its instance's rows), against what dnsperf sent it. */
  counted: Partial<Record<StoreName, number>>;
  city: CityVolume | null;
  load: number[];
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(3) : 'n/a');
const bytes = (n: number) =>
  n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;

function queryPathTable(rows: readonly CaseResult[]): string[] {
  const out = [
    '| case | store | q/s (median of rounds) | rounds | lost | p50 / p99 ms (at q/s) |',
    '|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    out.push(
      `| ${r.case} | ${r.store} | ${int(r.medianQps)} | ${r.qps.map(int).join(', ')} | ${int(r.lost)} of ${int(r.sent)} | ` +
        `${ms(r.p50Ms)} / ${ms(r.p99Ms)} (${int(r.latencyQps)}) |`,
    );
  }
  const ratio = (c: string) => {
    const s = rows.find((r) => r.case === c && r.store === 'sqlite');
    const p = rows.find((r) => r.case === c && r.store === 'postgres');
    return s && p ? `${c}: PostgreSQL ${((p.medianQps / s.medianQps) * 100).toFixed(1)} % of SQLite` : null;
  };
  const ratios = [...new Set(rows.map((r) => r.case))].map(ratio).filter((x) => x !== null);
  if (ratios.length > 0) out.push('', ratios.join('; '));
  return out;
}

function cityTables(city: CityVolume): string[] {
  const h = city.atDefault;
  const perBatch = (n: number) => (n / city.delta.batches).toFixed(1);
  const out = [
    `${city.venues} venues x ${city.categories} categories (every venue asking ${city.namesPerVenue} names, ` +
      `${city.categories} of them listed, each flush: the worst case, every key written every flush); ` +
      `${city.delta.batches} batches measured at stats.flushInterval ${city.flushSeconds}s ` +
      `(${int(city.answered)} of ${int(city.sent)} queries answered), scaled to the default ` +
      `${city.defaultFlushSeconds}s: ${h.flushesPerHour} flushes an hour.`,
    '',
    '| what | per flush | per hour |',
    '|---|---|---|',
    `| row writes (inserts + updates), all tables | ${perBatch((h.rowsPerHour / h.flushesPerHour) * city.delta.batches)} | ${int(h.rowsPerHour)} |`,
    `| WAL bytes | ${bytes(Math.round(city.delta.walBytes / city.delta.batches))} | ${bytes(h.walBytesPerHour)} |`,
  ];
  for (const t of h.perTable) {
    out.push(`| - ${t.table} | ${(t.rowsPerHour / h.flushesPerHour).toFixed(1)} | ${int(t.rowsPerHour)} |`);
  }
  out.push(
    '',
    '| kept (after VACUUM FULL) | rows | covering | bytes on disk | per hour (per day) |',
    '|---|---|---|---|---|',
  );
  for (const r of city.retained) {
    const unit = r.table === 'daily_distinct' ? 'day' : 'hour';
    out.push(
      `| ${r.table} | ${int(r.rows)} | ${r.periods} ${unit}(s) | ${bytes(r.bytes)} | ` +
        `${int(r.rows / Math.max(1, r.periods))} rows, ${bytes(Math.round(r.bytes / Math.max(1, r.periods)))} a ${unit} |`,
    );
  }
  return out;
}

export function renderReport(input: ReportInput): string {
  const { options } = input;
  const lines = [
    '## Store benchmark',
    '',
    `roje on CPU ${options.serverCpu ?? 'any'}; dnsperf, the upstream and PostgreSQL on CPU ${options.loadCpu ?? 'any'}. ` +
      `dnsperf -l ${options.seconds} -c ${options.clients} -q ${options.outstanding}, ${options.rounds} rounds alternated; ` +
      `stats.flushInterval ${options.flushSeconds}s in both. Load average at the end: ${input.load.map((l) => l.toFixed(2)).join(' ')}; ` +
      `busiest sample before a run: ${Math.round(Math.max(0, ...input.rows.map((r) => (Number.isFinite(r.busyMax) ? r.busyMax : 0))) * 100)} %.`,
    '',
    ...queryPathTable(input.rows),
  ];
  const counts = Object.entries(input.counted).map(([store, n]) => {
    const sent = input.rows.filter((r) => r.store === store).reduce((a, r) => a + r.sent, 0);
    return `${store} ${int(n)} (its throughput runs sent ${int(sent)}; the latency runs and probes come on top)`;
  });
  if (counts.length > 0) lines.push('', `Queries counted by each store after the run: ${counts.join('; ')}.`);
  if (input.city !== null) lines.push('', '### Write volume of a city', '', ...cityTables(input.city));
  return `${lines.join('\n')}\n`;
}
