/**
 * The inputs of the list swap benchmark (bench/load/swap.ts): list A (derived names, as for the other list
 * benchmarks), list B (A with a share of its names replaced by names A does not cover), and a dnsperf query
 * file that mixes Tranco names (never listed), names listed in both, and names listed in only one of them.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { deriveNames, readAdultUnion, rng, sampleNames, writeLines } from '../lists/names.js';
import { readTrancoNames, TRANCO_FILE } from './workload.js';

/** hit: never listed (Tranco); stable: in A and B; onlyA / onlyB: blocked by that list alone. */
export type Kind = 'hit' | 'stable' | 'onlyA' | 'onlyB';

/** True when `name` or one of its parents is in `set` (a listed name blocks its subtree). */
export function covered(name: string, set: ReadonlySet<string>): boolean {
  for (let at = -1; ; ) {
    if (set.has(name.slice(at + 1))) return true;
    at = name.indexOf('.', at + 1);
    if (at < 0) return false;
  }
}

const NEW_TLDS = ['net', 'org', 'info', 'xyz', 'top', 'de', 'online'];

interface Lists {
  a: string[];
  b: string[];
  /** Names blocked by A and by B. */
  stable: string[];
  /** Blocked by A only (not covered by B), and by B only (not covered by A). */
  onlyA: string[];
  onlyB: string[];
}

/**
 * A: `listNames` derived names. B: A with every name at a seeded `replaced` share of positions swapped for a
 * new name under a registrable domain that A does not cover, so that it is blocked by B alone.
 */
export function makeLists(base: readonly string[], listNames: number, replaced: number): Lists {
  const a = deriveNames(base, listNames);
  const inA = new Set(a);
  const b = a.slice();
  const inB = new Set<string>();
  const removed: string[] = [];
  const added: string[] = [];
  const next = rng(4242);
  const threshold = Math.round(replaced * 0x1_0000_0000);
  for (let i = 0; i < a.length; i++) {
    if (next() >= threshold) continue;
    const dot = a[i]!.indexOf('.');
    const first = dot < 0 ? a[i]! : a[i]!.slice(0, dot);
    let name = '';
    for (let k = 0; k < NEW_TLDS.length * 2; k++) {
      const candidate = `${first.slice(0, 40)}${i.toString(36)}b${k}.${NEW_TLDS[(i + k) % NEW_TLDS.length]}`;
      if (!covered(candidate, inA) && !inB.has(candidate)) {
        name = candidate;
        break;
      }
    }
    if (name === '') continue;
    removed.push(a[i]!);
    added.push(name);
    b[i] = name;
    inB.add(name);
  }
  const setB = new Set(b);
  const stable = a.filter((n, i) => b[i] === n);
  // A name taken out of B may still be blocked there through a listed parent; those are not "only A".
  const onlyA = removed.filter((n) => !covered(n, setB));
  return { a, b, stable, onlyA, onlyB: added };
}

/** Deterministic shuffle, so that the kinds of names are spread evenly over every second of the run. */
export function shuffle<T>(items: T[], seed: number): T[] {
  const next = rng(seed);
  for (let i = items.length - 1; i > 0; i--) {
    const j = next() % (i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

export interface WorkloadOptions {
  listNames: number;
  replaced: number;
  hitNames: number;
  blockedNames: number;
  flipNames: number;
}

export interface Workload {
  /** Adblock lines of A and of B; `listFile` (roje's list path) starts as a copy of A. */
  fileA: string;
  fileB: string;
  listFile: string;
  /** dnsperf input, `name A` lines, the kinds shuffled together. */
  queries: string;
  kinds: Map<string, Kind>;
  /** The flip names of the query mix (repeats possible). */
  onlyA: string[];
  onlyB: string[];
  listNames: number;
  replaced: number;
  onlyAListed: number;
  hits: number;
  stable: number;
}

export async function writeSwapWorkload(dir: string, options: WorkloadOptions): Promise<Workload> {
  const lists = makeLists(await readAdultUnion(), options.listNames, options.replaced);
  const fileA = path.join(dir, 'list-a.txt');
  const fileB = path.join(dir, 'list-b.txt');
  const listFile = path.join(dir, 'adult.txt');
  await writeLines(fileA, lists.a, (n) => `||${n}^\n`);
  await writeLines(fileB, lists.b, (n) => `||${n}^\n`);
  await writeFile(listFile, await readFile(fileA));

  const setA = new Set(lists.a);
  const setB = new Set(lists.b);
  // Some top sites are on adult lists: those would be blocked, not hits.
  const hits = (await readTrancoNames(TRANCO_FILE, options.hitNames * 3))
    .filter((n) => !covered(n, setA) && !covered(n, setB))
    .slice(0, options.hitNames);
  const kinds = new Map<string, Kind>();
  for (const n of hits) kinds.set(n, 'hit');
  const stable = [...new Set(sampleNames(lists.stable, options.blockedNames))];
  for (const n of stable) kinds.set(n, 'stable');
  const onlyA = sampleNames(lists.onlyA, options.flipNames, 7);
  const onlyB = sampleNames(lists.onlyB, options.flipNames, 8);
  for (const n of onlyA) kinds.set(n, 'onlyA');
  for (const n of onlyB) kinds.set(n, 'onlyB');
  const queries = path.join(dir, 'queries.txt');
  await writeFile(
    queries,
    shuffle([...kinds.keys()], 99)
      .map((n) => `${n} A\n`)
      .join(''),
  );
  return {
    fileA,
    fileB,
    listFile,
    queries,
    kinds,
    onlyA,
    onlyB,
    listNames: lists.a.length,
    replaced: lists.onlyB.length,
    onlyAListed: lists.onlyA.length,
    hits: hits.length,
    stable: stable.length,
  };
}
