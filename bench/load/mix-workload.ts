/**
 * The realistic query mix of the peers and soak benchmarks (bench/load/peers.ts, bench/load/soak.ts): Tranco
 * names repeated by popularity (Zipf weights from the rank), A and AAAA, plus a share of listed names. Some
 * Tranco names are listed too (adult sites are popular): they are blocked by every server like the others,
 * so the share of NXDOMAIN answers a server must give is computed here and checked against dnsperf's counts.
 */
import { writeFile } from 'node:fs/promises';
import { rng, writeLines } from '../lists/names.js';
import { covered } from './swap-workload.js';
import { readTrancoNames, TRANCO_FILE } from './workload.js';

export interface MixOptions {
  /** Lines of the query file; dnsperf loops over it. */
  queries: number;
  /** Tranco names drawn from (the top of the list). */
  trancoNames: number;
  /** Zipf exponent: the name of rank r is asked with weight 1 / r^s. */
  zipf: number;
  /** Share of the lines that are listed names (besides the Tranco names that happen to be listed). */
  blockedShare: number;
  /** Distinct listed names those lines are drawn from (uniformly); half of them get `www.` prepended. */
  blockedPool: number;
  /** Share of AAAA among the queries (the rest A). */
  aaaaShare: number;
  seed: number;
}

export const DEFAULT_MIX: MixOptions = {
  queries: 1_000_000,
  trancoNames: 50_000,
  zipf: 1,
  blockedShare: 0.1,
  blockedPool: 10_000,
  aaaaShare: 0.3,
  seed: 77,
};

export interface Mix {
  /** dnsperf input: `name TYPE` lines. */
  queryFile: string;
  /** Every distinct (name, type) of the query file once, shuffled: one pass fills a cache. */
  warmFile: string;
  distinct: number;
  /** Lines whose name is covered by the list (drawn as blocked, or a listed Tranco name). */
  expectedNxdomainShare: number;
  /** Tranco names (of `trancoNames`) that the list covers, and their share of the Tranco lines. */
  trancoListed: number;
  trancoListedLineShare: number;
  /** Share of the lines taken by the 100 most popular names (how skewed the mix is). */
  top100Share: number;
}

/**
 * Writes the mix for `listed` (the names of the list in force; a query for one of them or a subdomain must
 * be answered NXDOMAIN) drawing its blocked lines from `blockedFrom` (by default `listed`; the soak gives the
 * names listed in both of its lists, so that they stay blocked across swaps).
 */
export async function writeMix(
  dir: string,
  listed: ReadonlySet<string>,
  blockedFrom: readonly string[],
  options: MixOptions = DEFAULT_MIX,
): Promise<Mix> {
  const next = rng(options.seed);
  const unit = (): number => next() / 0x1_0000_0000;
  const tranco = await readTrancoNames(TRANCO_FILE, options.trancoNames);
  // Cumulative Zipf weights; a draw is a binary search over them.
  const cumulative = new Float64Array(tranco.length);
  let total = 0;
  for (let r = 0; r < tranco.length; r++) {
    total += 1 / (r + 1) ** options.zipf;
    cumulative[r] = total;
  }
  const drawTranco = (): number => {
    const x = unit() * total;
    let lo = 0;
    let hi = tranco.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cumulative[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const pool: string[] = [];
  for (let i = 0; i < options.blockedPool; i++) {
    const name = blockedFrom[next() % blockedFrom.length]!;
    pool.push(i % 2 === 0 ? name : `www.${name}`);
  }
  const trancoCovered = tranco.map((n) => covered(n, listed));

  const lines: string[] = new Array(options.queries);
  const distinct = new Set<string>();
  let nx = 0;
  let trancoLines = 0;
  let trancoListedLines = 0;
  let top100 = 0;
  for (let i = 0; i < options.queries; i++) {
    const type = unit() < options.aaaaShare ? 'AAAA' : 'A';
    let name: string;
    if (unit() < options.blockedShare) {
      name = pool[next() % pool.length]!;
      nx++;
    } else {
      const r = drawTranco();
      name = tranco[r]!;
      trancoLines++;
      if (r < 100) top100++;
      if (trancoCovered[r]) {
        nx++;
        trancoListedLines++;
      }
    }
    const line = `${name} ${type}\n`;
    lines[i] = line;
    distinct.add(line);
  }
  const queryFile = `${dir}/mix-queries.txt`;
  const warmFile = `${dir}/mix-warm.txt`;
  await writeLines(queryFile, lines, (l) => l);
  const warm = [...distinct];
  for (let i = warm.length - 1; i > 0; i--) {
    const j = next() % (i + 1);
    [warm[i], warm[j]] = [warm[j]!, warm[i]!];
  }
  await writeFile(warmFile, warm.join(''));
  return {
    queryFile,
    warmFile,
    distinct: warm.length,
    expectedNxdomainShare: nx / options.queries,
    trancoListed: trancoCovered.filter(Boolean).length,
    trancoListedLineShare: trancoLines === 0 ? 0 : trancoListedLines / trancoLines,
    top100Share: top100 / options.queries,
  };
}
