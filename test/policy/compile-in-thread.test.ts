/**
 * The first load of a server compiles on the main thread (nothing answers yet: lists-loader.ts), every
 * later one in the worker. Both give the same lists (version, entries, answers) and the same progress
 * reports (rules, source, ms); the first start's version reuses the file guard's digest of its copy.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { CompileProgress } from '../../src/policy/compile-worker.js';
import { loadArtifact } from '../../src/policy/compiled/index.js';
import { compileLists, IN_THREAD_MAX_BYTES, loadLists } from '../../src/policy/lists-loader.js';
import { fileSha256, rememberDigest } from '../../src/policy/lists-version.js';
import type { ListSource } from '../../src/policy/types.js';

function bigList(dir: string, names: number): ListSource {
  const lines: string[] = [];
  for (let i = 0; i < names; i++) lines.push(`host-${i}.example-${i % 97}.test`);
  const path = join(dir, 'big.txt');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return { name: 'big', category: 'adult', path };
}

t.test('in the thread or in the worker: the same lists, the same progress reports', async (t) => {
  const source = bigList(t.testdir({}), 8_000);
  const here: CompileProgress[] = [];
  const there: CompileProgress[] = [];
  const inThread = await compileLists([source], undefined, {
    inThread: true,
    onProgress: (p) => here.push(p),
    progressEveryMs: 0,
  });
  const inWorker = await compileLists([source], undefined, {
    onProgress: (p) => there.push(p),
    progressEveryMs: 0,
  });
  t.ok(inThread.artifact.length > IN_THREAD_MAX_BYTES, 'a list the worker would otherwise take');
  t.equal(inThread.report.version, inWorker.report.version);
  t.equal(inThread.report.entries, 8_000);
  t.equal(inWorker.report.entries, 8_000);
  const a = loadArtifact(inThread.artifact);
  const b = loadArtifact(inWorker.artifact);
  for (const name of ['host-7.example-7.test', 'x.host-96.example-96.test', 'host-7.example-8.test']) {
    t.equal(a.lookup(name).blocked, b.lookup(name).blocked, name);
  }
  t.equal(a.lookup('host-7.example-7.test').blocked, 1);
  t.equal(a.lookup('host-7.example-8.test').blocked, 0);
  t.ok(here.length > 0, 'progress reported from the thread');
  t.ok(there.length > 0, 'progress reported from the worker');
  for (const p of [...here, ...there]) {
    t.equal(p.source, 'big');
    t.ok(p.rules >= 0 && p.rules <= 8_000 && p.ms >= 0, `rules ${p.rules}, ${Math.round(p.ms)} ms`);
  }
});

t.test('loadLists: nothing in force compiles here; lists in force send a change to the worker', async (t) => {
  const source = bigList(t.testdir({}), 8_000);
  const first = await loadLists({ lists: [source], compiled: null }, { inForce: null });
  t.equal(first.lists.entries, 8_000);
  writeFileSync(source.path, 'one.example.test\n');
  const next = await loadLists({ lists: [source], compiled: null }, { inForce: first });
  t.equal(next.lists.entries, 1, 'a changed file is compiled again');
  t.not(next.lists.version, first.lists.version);
});

t.test(
  'rememberDigest: a digest roje computed for a file it wrote, kept until the file changes',
  async (t) => {
    const path = join(t.testdir({ 'copy.txt': 'one.example.test\n' }), 'copy.txt');
    const real = await fileSha256(path);
    await rememberDigest(path, 'f'.repeat(64));
    t.equal(await fileSha256(path), 'f'.repeat(64), 'taken as remembered: the file is not read again');
    writeFileSync(path, 'two.example.test\n');
    const changed = await fileSha256(path);
    t.not(changed, 'f'.repeat(64), 'a changed file is read again');
    t.not(changed, real);
  },
);
