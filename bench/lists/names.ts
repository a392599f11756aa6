/**
 * The names of the list benchmarks: the union of the shared adult lists, and larger lists derived from it
 * deterministically. Parsing and derivation are the same as in bench/internal/lists.bench.ts (same seed,
 * same order), so a size here is the very list whose lookup figures that benchmark reports.
 */
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { promisify } from 'node:util';
import { rng } from '../../test/helpers/rng.js';

export const SHARED_DATA = new URL('../../../shared/data/', import.meta.url);
export const ADULT_FILES = [
  'adult/hagezi-nsfw.adblock.txt.xz',
  'adult/sinfonietta.pornography-hosts.xz',
  'adult/clefspeare13-pornhosts.hosts.xz',
  'adult/tiuxo.porn.hosts.xz',
];

// The tests' seeded xorshift32, so every run derives the same names.
export { rng };

const NAME = /^(?=.{1,253}$)([a-z0-9_-]{1,63}\.)*[a-z0-9_-]{1,63}$/;

/** `||name^` and `0.0.0.0 name` lines; the product parsers are not what these benchmarks measure. */
function parseLine(line: string): string | null {
  const m = /^\|\|([^^/*|]+)\^$/.exec(line) ?? /^(?:0\.0\.0\.0|127\.0\.0\.1)\s+(\S+)/.exec(line);
  if (!m) return null;
  const name = m[1]!.toLowerCase().replace(/\.$/, '');
  // An address is not a name (a few hosts files list some); roje's parsers skip them too.
  const address = /\.\d+$/.test(name);
  return NAME.test(name) && !address && name !== 'localhost' ? name : null;
}

async function xzLines(file: URL): Promise<string[]> {
  const { stdout } = await promisify(execFile)('xz', ['-dc', file.pathname], {
    encoding: 'latin1',
    maxBuffer: 256 << 20,
  });
  return stdout.split('\n');
}

/** The union of the shared adult lists, in file order, each name once (~153k names). */
export async function readAdultUnion(): Promise<string[]> {
  const union = new Set<string>();
  for (const file of ADULT_FILES) {
    for (const line of await xzLines(new URL(file, SHARED_DATA))) {
      const name = parseLine(line);
      if (name !== null) union.add(name);
    }
  }
  return [...union];
}

const OTHER_TLDS = [
  'net',
  'org',
  'info',
  'biz',
  'xyz',
  'top',
  'co.uk',
  'de',
  'ru',
  'xxx',
  'sex',
  'porn',
  'online',
];

/** `base`, then names derived from it until `n`: random labels prepended, or the TLD swapped. */
export function deriveNames(base: readonly string[], n: number): string[] {
  if (n <= base.length) return base.slice(0, n);
  const seen = new Set(base);
  const out = [...base];
  const next = rng(n);
  for (let guard = 0; out.length < n && guard < n * 4; guard++) {
    const b = base[next() % base.length]!;
    let name: string;
    if (next() % 3 === 0) {
      name = `${b.slice(0, b.lastIndexOf('.') + 1) || `${b}.`}${OTHER_TLDS[next() % OTHER_TLDS.length]}`;
    } else {
      name = `${(next() % 2 ? next() : next() % 100_000).toString(36)}.${b}`;
    }
    if (name.length > 253 || seen.has(name)) continue;
    seen.add(name);
    out.push(name);
  }
  if (out.length < n) throw new Error(`derived only ${out.length} of ${n} names`);
  return out;
}

/** `count` listed names picked with a fixed seed (repeats possible), for queries that must be blocked. */
export function sampleNames(names: readonly string[], count: number, seed = 1000): string[] {
  const next = rng(seed);
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(names[next() % names.length]!);
  return out;
}

/** Writes `names` through `line(name)`, in chunks, without building one big string for millions of names. */
export async function writeLines(
  file: string,
  names: readonly string[],
  line: (name: string) => string,
): Promise<void> {
  const out = createWriteStream(file);
  const CHUNK = 50_000;
  for (let start = 0; start < names.length; start += CHUNK) {
    let text = '';
    const end = Math.min(names.length, start + CHUNK);
    for (let i = start; i < end; i++) text += line(names[i]!);
    if (!out.write(text, 'latin1')) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) => {
    out.once('error', reject);
    out.end(() => resolve());
  });
}
