/**
 * One conformance run: sends every query to unbound and to roje (the same bytes to both at the same
 * moment, one query after another so both caches see the same history; pipelined groups together on
 * one TCP connection each), compares the answers, explains each difference from the accepted list,
 * and summarises.
 */
import { type AcceptedEntry, type Classification, explain } from './accepted.js';
import { type Server, sendTcp, sendUdp } from './client.js';
import { compareAnswers, type Difference, decode, describeAnswer } from './compare.js';
import type { ConformanceQuery } from './generator.js';
import { rcodeName } from './wire.js';

export interface QueryResult {
  query: ConformanceQuery;
  unbound: Buffer | null;
  roje: Buffer | null;
  differences: Array<Difference & { entry?: AcceptedEntry }>;
}

export interface RunSummary {
  queries: number;
  identical: number;
  /** Queries whose every difference the accepted list explains. */
  explained: number;
  unexplained: QueryResult[];
  /** Differences by classification (each difference of each query counted). */
  byClass: Record<Classification, number>;
  /** Fully explained queries by the most serious class among their differences. */
  queriesByClass: Record<Classification, number>;
  /** Category -> its queries, identical answers, unexplained differences. */
  byCategory: Map<string, { queries: number; identical: number; unexplained: number }>;
  /** Entry id -> differences it explained. */
  byEntry: Map<string, number>;
  /** Entries that explained nothing in this run. */
  stale: AcceptedEntry[];
  results: QueryResult[];
  seconds: number;
}

export interface RunOptions {
  timeoutMs?: number;
  /**
   * performance.now() when the resolvers started: each may have cached a record since then (the
   * start-up checks ask for a SOA), so two TTLs of a record may differ by the seconds since.
   */
  serversStartedAt?: number;
  /** Called after each query or pipeline (progress for the long run). */
  onProgress?: (done: number, total: number) => void;
}

export async function runConformance(
  queries: readonly ConformanceQuery[],
  servers: { unbound: Server; roje: Server },
  accepted: readonly AcceptedEntry[],
  options: RunOptions = {},
): Promise<RunSummary> {
  const timeoutMs = options.timeoutMs ?? 2000;
  const started = performance.now();
  const results: QueryResult[] = [];
  const ask = async (server: Server, group: ConformanceQuery[]): Promise<Array<Buffer | null>> =>
    group[0].transport === 'tcp'
      ? sendTcp(
          server,
          group.map((q) => q.wire),
          timeoutMs,
        )
      : [await sendUdp(server, group[0].wire, timeoutMs)];
  for (let i = 0; i < queries.length; ) {
    const first = queries[i];
    let end = i + 1;
    if (first.pipeline !== undefined)
      while (end < queries.length && queries[end].pipeline === first.pipeline) end++;
    const group = queries.slice(i, end);
    const [fromUnbound, fromRoje] = await Promise.all([
      ask(servers.unbound, group),
      ask(servers.roje, group),
    ]);
    const elapsedS = (performance.now() - (options.serversStartedAt ?? started)) / 1000;
    group.forEach((query, j) => {
      const rcode = { roje: rcodeOf(fromRoje[j]), unbound: rcodeOf(fromUnbound[j]) };
      const context = { category: query.category, tags: query.tags, rcode };
      const differences = compareAnswers(fromUnbound[j], fromRoje[j], { ttlToleranceS: elapsedS + 2 }).map(
        (d) => ({ ...d, entry: explain(accepted, d.signature, context) }),
      );
      results.push({ query, unbound: fromUnbound[j], roje: fromRoje[j], differences });
    });
    i = end;
    options.onProgress?.(i, queries.length);
  }
  return summarise(results, accepted, (performance.now() - started) / 1000);
}

/** The RCODE name of an answer; 'none' when there was none, 'undecodable' when it could not be read. */
function rcodeOf(reply: Buffer | null): string {
  const d = decode(reply);
  return d.ok ? rcodeName(d.msg.rcode) : reply === null ? 'none' : 'undecodable';
}

const SEVERITY: readonly Classification[] = ['rfc-violation', 'peer-choice', 'harmless'];

function summarise(results: QueryResult[], accepted: readonly AcceptedEntry[], seconds: number): RunSummary {
  const byClass: Record<Classification, number> = { 'rfc-violation': 0, 'peer-choice': 0, harmless: 0 };
  const queriesByClass: Record<Classification, number> = {
    'rfc-violation': 0,
    'peer-choice': 0,
    harmless: 0,
  };
  const byEntry = new Map<string, number>();
  const byCategory = new Map<string, { queries: number; identical: number; unexplained: number }>();
  let identical = 0;
  let explained = 0;
  const unexplained: QueryResult[] = [];
  for (const r of results) {
    const category = byCategory.get(r.query.category) ?? { queries: 0, identical: 0, unexplained: 0 };
    byCategory.set(r.query.category, category);
    category.queries++;
    if (r.differences.length === 0) {
      identical++;
      category.identical++;
      continue;
    }
    if (r.differences.every((d) => d.entry !== undefined)) explained++;
    else {
      unexplained.push(r);
      category.unexplained++;
    }
    for (const d of r.differences) {
      if (d.entry === undefined) continue;
      byClass[d.entry.classification]++;
      byEntry.set(d.entry.id, (byEntry.get(d.entry.id) ?? 0) + 1);
    }
    const worst = SEVERITY.find((c) => r.differences.some((d) => d.entry?.classification === c));
    if (worst !== undefined && r.differences.every((d) => d.entry !== undefined)) queriesByClass[worst]++;
  }
  const stale = accepted.filter((e) => !byEntry.has(e.id));
  return {
    queries: results.length,
    identical,
    explained,
    unexplained,
    byClass,
    queriesByClass,
    byEntry,
    byCategory,
    stale,
    results,
    seconds,
  };
}

/**
 * The unexplained differences, grouped by category and signature, each group with its count and one
 * example: the query as a dig command and both answers.
 */
export function unexplainedReport(summary: RunSummary, servers?: { unbound: Server; roje: Server }): string {
  const groups = new Map<string, { count: number; example: QueryResult; diff: Difference }>();
  for (const r of summary.unexplained) {
    for (const d of r.differences) {
      if (d.entry !== undefined) continue;
      const key = `${r.query.category} ${d.signature}`;
      const g = groups.get(key);
      if (g === undefined) groups.set(key, { count: 1, example: r, diff: d });
      else g.count++;
    }
  }
  const at = (s: Server | undefined) => (s === undefined ? '' : ` @${s.host} -p ${s.port}`);
  const out: string[] = [];
  for (const [key, g] of [...groups].sort((a, b) => b[1].count - a[1].count)) {
    const q = g.example.query;
    out.push(
      `== ${key}: ${g.count} difference(s), e.g. query #${q.index} [${q.tags.join(' ')}]`,
      `   ${q.text.startsWith('dig ') ? q.text.replace(/^dig/, `dig${at(servers?.roje)}`) : q.text}`,
      `   unbound: ${g.diff.unbound}`,
      `   roje:    ${g.diff.roje}`,
      '-- unbound answered:',
      describeAnswer(g.example.unbound),
      '-- roje answered:',
      describeAnswer(g.example.roje),
      '',
    );
  }
  return out.join('\n');
}

/** The summary tables (Markdown), as docs/conformance.md shows them. */
export function summaryTable(summary: RunSummary, accepted: readonly AcceptedEntry[]): string {
  const q = summary.queriesByClass;
  const lines = [
    'Queries, each counted once, under the most serious class among its differences:',
    '',
    '| queries | identical | rfc-violation | peer-choice | harmless | unexplained |',
    '| ---: | ---: | ---: | ---: | ---: | ---: |',
    `| ${summary.queries} | ${summary.identical} | ${q['rfc-violation']} | ${q['peer-choice']} | ${q.harmless} | ${summary.unexplained.length} |`,
    '',
    '| category | queries | identical | unexplained |',
    '| --- | ---: | ---: | ---: |',
    ...[...summary.byCategory].map(
      ([name, c]) => `| ${name} | ${c.queries} | ${c.identical} | ${c.unexplained} |`,
    ),
    '',
    '| accepted difference | class | status | differences |',
    '| --- | --- | --- | ---: |',
    ...accepted.map(
      (e) => `| ${e.id} | ${e.classification} | ${e.status} | ${summary.byEntry.get(e.id) ?? 'stale (0)'} |`,
    ),
  ];
  return lines.join('\n');
}
