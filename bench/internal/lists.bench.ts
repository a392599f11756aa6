/**
 * The compiled lists (src/policy/compiled) against a plain JS Set of strings, for the union of the shared
 * adult lists and for 1,000,000 and 5,000,000 names derived from it (random labels prepended, other TLDs).
 *
 * Per list: build time and artifact size (in this process); then, each in a fresh child process so that
 * the memory figure is the list's alone: load time (read + SHA-256 + views; for the Set: read the name
 * file, split, add), resident memory delta (RSS after a forced GC, minus RSS before), and lookups: ns per
 * lookup for hits (listed names and subdomains of them) and misses (Tranco names not listed, random
 * names), on names prepared in advance: wire form for the compiled lookup, strings for the Set
 * (has() on the name, then on each parent suffix).
 *
 *   node --import @tapjs/typescript/import bench/internal/lists.bench.ts [--sizes union,1000000,5000000]
 *
 * Bounded: fixed name counts, lookups in rounds stopped after ~1 s per row, children killed after 120 s.
 * Needs /work/shared/data (xz-utils). Writes nothing but a temp dir (removed) and bench/results/lists-*.md.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { readArtifact, writeArtifact } from '../../src/policy/compiled/artifact.js';
import { createListBuilder } from '../../src/policy/compiled/builder.js';
import { emptyResult } from '../../src/policy/types.js';
import { deriveNames, readAdultUnion, rng } from '../lists/names.js';

const DATA = fileURLToPath(new URL('../../../shared/data/', import.meta.url));
const TRANCO = 'workload/tranco-top50k.2025-02.csv.xz';
const QUERIES = 200_000;
const CHUNK = 100_000;
const ROUNDS = 9;
const ROW_BUDGET_MS = 1500;
const CHILD_TIMEOUT_MS = 120_000;

const NAME = /^(?=.{1,253}$)([a-z0-9_-]{1,63}\.)*[a-z0-9_-]{1,63}$/;

async function xzLines(file: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)('xz', ['-dc', join(DATA, file)], {
    encoding: 'latin1',
    maxBuffer: 256 << 20,
  });
  return stdout.split('\n');
}

function blockedBySet(set: Set<string>, name: string): boolean {
  let n = name;
  for (let guard = 0; guard < 128; guard++) {
    if (set.has(n)) return true;
    const dot = n.indexOf('.');
    if (dot < 0) return false;
    n = n.slice(dot + 1);
  }
  return false;
}

function sample<T>(arr: T[], n: number, next: () => number): T[] {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(arr[next() % arr.length]);
  return out;
}

// ---------------------------------------------------------------- child: load and look up

interface ChildResult {
  loadMs: number;
  rssMB: number;
  /** heapUsed + external (ArrayBuffers included) delta: what the list holds, whatever RSS does. */
  heldMB: number;
  hitNs: number;
  missNs: number;
  hits: number;
  misses: number;
}

function rss(): { rss: number; ab: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, ab: m.heapUsed + m.external };
}

/**
 * Median CPU ns/op over rounds of CHUNK ops (process.cpuUsage: the machine may be shared, and time spent
 * descheduled is not the lookup's). `op` returns 1 when blocked, so the work cannot be dropped.
 */
function measure(op: (i: number) => number, count: number): { ns: number; blocked: number } {
  let blocked = 0;
  for (let i = 0; i < count; i++) blocked += op(i);
  const firstPass = blocked;
  const samples: number[] = [];
  const deadline = performance.now() + ROW_BUDGET_MS;
  for (let r = 0, at = 0; r < ROUNDS && (r < 3 || performance.now() < deadline); r++) {
    const t0 = process.cpuUsage();
    for (let i = 0; i < CHUNK; i++) blocked += op((at + i) % count);
    const used = process.cpuUsage(t0);
    samples.push(((used.user + used.system) * 1000) / CHUNK);
    at = (at + CHUNK) % count;
  }
  if (blocked < 0) throw new Error('unreachable');
  samples.sort((a, b) => a - b);
  return { ns: samples[samples.length >> 1], blocked: firstPass };
}

/**
 * All names in wire form, back to back in one Buffer, and where each starts: a query's name sits in a
 * hot receive buffer, not in one of a hundred thousand small Buffers scattered over the heap.
 */
function toWire(names: string[]): { buf: Buffer; at: Int32Array } {
  const buf = Buffer.alloc(names.reduce((n, s) => n + s.length + 2, 0));
  const at = new Int32Array(names.length);
  let p = 0;
  names.forEach((name, i) => {
    at[i] = p;
    for (const l of name.split('.')) {
      buf[p++] = l.length;
      p += buf.write(l, p, 'latin1');
    }
    buf[p++] = 0;
  });
  return { buf, at };
}

async function child(kind: string, listPath: string, queriesPath: string): Promise<void> {
  let lookup: (i: number) => number;
  let lookupMiss: (i: number) => number;
  let q: { hits: string[]; misses: string[] } = { hits: [], misses: [] };
  const readQueries = async () => {
    q = JSON.parse(await readFile(queriesPath, 'utf8')) as typeof q;
  };
  const before = rss();
  const t0 = performance.now();
  if (kind === 'compiled') {
    const lists = await readArtifact(listPath);
    const loadMs = performance.now() - t0;
    const after = rss();
    await readQueries();
    const out = emptyResult();
    const hits = toWire(q.hits);
    const misses = toWire(q.misses);
    lookup = (i) => (lists.lookupWire(hits.buf, hits.at[i], out).blocked !== 0 ? 1 : 0);
    lookupMiss = (i) => (lists.lookupWire(misses.buf, misses.at[i], out).blocked !== 0 ? 1 : 0);
    report(loadMs, before, after);
  } else {
    const text = await readFile(listPath, 'latin1');
    const set = new Set<string>();
    let start = 0;
    for (let guard = 0; guard < 1e8 && start < text.length; guard++) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      // Flat copies, not slices that keep the whole file alive, as a list loader would hold them.
      if (end > start) set.add(Buffer.from(text.slice(start, end), 'latin1').toString('latin1'));
      start = end + 1;
    }
    const loadMs = performance.now() - t0;
    const after = rss();
    await readQueries();
    const hits = q.hits.map((s) => Buffer.from(s, 'latin1').toString('latin1'));
    const misses = q.misses.map((s) => Buffer.from(s, 'latin1').toString('latin1'));
    lookup = (i) => (blockedBySet(set, hits[i]) ? 1 : 0);
    lookupMiss = (i) => (blockedBySet(set, misses[i]) ? 1 : 0);
    report(loadMs, before, after);
  }

  function report(
    loadMs: number,
    before: { rss: number; ab: number },
    after: { rss: number; ab: number },
  ): void {
    const h = measure(lookup, q.hits.length);
    const m = measure(lookupMiss, q.misses.length);
    const result: ChildResult = {
      loadMs,
      rssMB: (after.rss - before.rss) / 2 ** 20,
      heldMB: (after.ab - before.ab) / 2 ** 20,
      hitNs: h.ns,
      missNs: m.ns,
      hits: h.blocked,
      misses: m.blocked,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
}

function runChild(kind: string, listPath: string, queriesPath: string): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const args = [
      ...process.execArgv,
      '--expose-gc',
      fileURLToPath(import.meta.url),
      '--child',
      kind,
      listPath,
      queriesPath,
    ];
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    const timer = setTimeout(() => proc.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    proc.on('error', reject);
    proc.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`${kind} child exited with ${code}`));
      else resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as ChildResult);
    });
  });
}

// ---------------------------------------------------------------- parent

interface Row {
  list: string;
  names: number;
  nodes: number;
  buildMs: number;
  artifactMB: number;
  compiled: ChildResult;
  set: ChildResult;
}

async function main(): Promise<void> {
  if (!existsSync(DATA)) {
    console.log(`skipped: no shared data at ${DATA}`);
    return;
  }
  const sizesArg = process.argv.indexOf('--sizes');
  const sizes = (sizesArg > 0 ? process.argv[sizesArg + 1] : 'union,1000000,5000000').split(',');

  const base = await readAdultUnion();
  const tranco = (await xzLines(TRANCO))
    .map((l) => l.slice(l.indexOf(',') + 1).trim())
    .filter((n) => NAME.test(n));

  const dir = await mkdtemp(join(tmpdir(), 'roje-lists-bench-'));
  const rows: Row[] = [];
  try {
    for (const size of sizes) {
      const n = size === 'union' ? base.length : Number(size);
      const names = deriveNames(base, n);
      const label = size === 'union' ? 'adult union' : `${(n / 1e6).toFixed(0)}M derived`;

      const t0 = performance.now();
      const b = createListBuilder();
      const adult = b.category('adult');
      for (let i = 0; i < names.length; i++)
        b.add({ name: names[i], scope: 'subtree', action: 'block', line: i + 1 }, adult);
      const artifact = b.finish();
      const buildMs = performance.now() - t0;
      const artifactPath = join(dir, `${size}.bin`);
      await writeArtifact(artifactPath, artifact);
      const namesPath = join(dir, `${size}.txt`);
      await writeFile(namesPath, `${names.join('\n')}\n`, 'latin1');

      // Queries: hits are listed names and subdomains of them; misses are Tranco names and random names
      // that no listed name covers (checked with the Set walk, so both structures see the same misses).
      const next = rng(7 + n);
      const set = new Set(names);
      const hits = sample(names, QUERIES, next).map((s, i) => (i % 2 ? `www.${s}` : s));
      const misses: string[] = [];
      for (const name of tranco)
        if (misses.length < QUERIES / 2 && !blockedBySet(set, name)) misses.push(name);
      for (let guard = 0; misses.length < QUERIES && guard < QUERIES * 4; guard++) {
        const name = `${next().toString(36)}.${names[next() % names.length].split('.').slice(-2).join('-')}.com`;
        if (!blockedBySet(set, name)) misses.push(name);
      }
      set.clear();
      const queriesPath = join(dir, `${size}.queries.json`);
      await writeFile(
        queriesPath,
        JSON.stringify({ hits: sample(hits, QUERIES, next), misses: sample(misses, QUERIES, next) }),
      );

      const compiled = await runChild('compiled', artifactPath, queriesPath);
      const setResult = await runChild('set', namesPath, queriesPath);
      for (const [what, r] of [
        ['compiled', compiled],
        ['set', setResult],
      ] as const) {
        if (r.hits !== QUERIES || r.misses !== 0) {
          throw new Error(
            `${label} ${what}: ${r.hits} of ${QUERIES} hits blocked, ${r.misses} misses blocked`,
          );
        }
      }
      const loaded = await readArtifact(artifactPath);
      rows.push({
        list: label,
        names: names.length,
        nodes: loaded.nodeCount,
        buildMs,
        artifactMB: (await stat(artifactPath)).size / 2 ** 20,
        compiled,
        set: setResult,
      });
      console.log(`${label}: done`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  const f = (x: number, d = 0) =>
    x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
  const lines = [
    `Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} CPUs; ${new Date().toISOString()}`,
    '',
    '| list | names | nodes | structure | build s | artifact MB | load ms | RSS MB | held MB | bytes/name | hit ns | miss ns | hits/s | misses/s |',
    '|---|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const r of rows) {
    for (const [what, c] of [
      ['compiled', r.compiled],
      ['Set', r.set],
    ] as const) {
      lines.push(
        `| ${r.list} | ${f(r.names)} | ${what === 'compiled' ? f(r.nodes) : ''} | ${what} | ${what === 'compiled' ? f(r.buildMs / 1000, 2) : ''} | ${what === 'compiled' ? f(r.artifactMB, 1) : ''} | ${f(c.loadMs)} | ${f(c.rssMB, 1)} | ${f(c.heldMB, 1)} | ${f((Math.max(c.rssMB, c.heldMB) * 2 ** 20) / r.names)} | ${f(c.hitNs)} | ${f(c.missNs)} | ${f(1e9 / c.hitNs)} | ${f(1e9 / c.missNs)} |`,
      );
    }
  }
  const table = lines.join('\n');
  console.log(table);
  const results = fileURLToPath(new URL('../results/', import.meta.url));
  await mkdir(results, { recursive: true });
  await writeFile(join(results, `lists-${new Date().toISOString().replace(/[:.]/g, '-')}.md`), `${table}\n`);
}

if (process.argv[2] === '--child') {
  await child(process.argv[3], process.argv[4], process.argv[5]);
} else {
  await main();
}
