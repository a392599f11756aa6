import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { compileSources } from '../../src/policy/compile.js';
import { createCompiledCache } from '../../src/policy/compiled-cache.js';
import { loadLists } from '../../src/policy/lists-loader.js';
import type { ListSource } from '../../src/policy/types.js';

const source = (dir: string, file = 'adult.txt'): ListSource[] => [
  { name: 'adult', category: 'adult', path: join(dir, file) },
];

t.test('a kept version loads verified; a damaged or foreign one is passed over', async (t) => {
  const dir = t.testdir({ 'adult.txt': 'one.example\ntwo.example\n' });
  const cache = createCompiledCache(join(dir, 'compiled'));
  const { artifact, report } = await compileSources(source(dir));
  t.equal(await cache.get(report.version, null), null, 'nothing kept yet');
  await cache.put(report, artifact);
  const kept = await cache.get(report.version, null);
  t.equal(kept?.lists.version, report.version);
  t.equal(kept?.lists.lookup('www.two.example').blocked, 1);
  t.same(
    kept?.report.sources.map((s) => s.cached),
    [true],
    'counted as taken from a cache, not parsed',
  );
  t.equal(await cache.get('0'.repeat(64), null), null, 'another version');
  t.equal(await cache.get('../../etc/passwd', null), null, 'not a version: never a path');

  const file = join(dir, 'compiled', `${report.version}.rojebl`);
  const bytes = readFileSync(file);
  bytes[bytes.length - 40] ^= 0xff;
  writeFileSync(file, bytes);
  t.equal(await cache.get(report.version, null), null, 'a damaged artifact fails its checksum');

  await cache.put(report, artifact);
  const json = join(dir, 'compiled', `${report.version}.json`);
  writeFileSync(json, readFileSync(json, 'utf8').replace(/"roje":"[^"]+"/, '"roje":"0.0.1"'));
  t.equal(await cache.get(report.version, null), null, 'compiled by another roje release');
});

t.test('only the newest two versions stay', async (t) => {
  const dir = t.testdir({});
  const cache = createCompiledCache(join(dir, 'compiled'));
  const versions: string[] = [];
  for (let i = 0; i < 4; i++) {
    writeFileSync(join(dir, 'adult.txt'), `n${i}.example\n`);
    const { artifact, report } = await compileSources(source(dir));
    await cache.put(report, artifact);
    versions.push(report.version);
  }
  const left = readdirSync(join(dir, 'compiled')).sort();
  t.equal(left.length, 4, 'two artifacts and their reports');
  t.ok(left.includes(`${versions[3]}.rojebl`), 'the newest stays');
});

t.test('loadLists: the same sources load the kept lists without a compile', async (t) => {
  const dir = t.testdir({ 'adult.txt': 'one.example\ntwo.example\n' });
  const compiled = createCompiledCache(join(dir, 'compiled'));
  let compiles = 0;
  const deps = {
    compiled,
    compile: (s: readonly ListSource[]) => {
      compiles++;
      return compileSources(s);
    },
  };
  const config = { lists: source(dir), compiled: null };
  const first = await loadLists(config, deps);
  t.equal(compiles, 1);
  // Kept after the load returned (its write is off the start path): get() waits for the write.
  const again = await loadLists(config, deps);
  t.equal(compiles, 1, 'a restart with the same lists compiles nothing');
  t.equal(again.lists.version, first.lists.version);
  t.equal(again.from, 'lists');
  t.equal(again.lists.lookup('one.example').blocked, 1);

  writeFileSync(join(dir, 'adult.txt'), 'one.example\n');
  const changed = await loadLists(config, deps);
  t.equal(compiles, 2, 'changed content compiles');
  t.equal(changed.lists.lookup('two.example').blocked, 0);
  await compiled.settled();
});

t.test('settled: resolves once the puts begun are written', async (t) => {
  const dir = t.testdir({ 'adult.txt': 'one.example\n' });
  const compiled = createCompiledCache(join(dir, 'compiled'));
  await compiled.settled();
  const config = { lists: source(dir), compiled: null };
  const loaded = await loadLists(config, { compiled });
  await compiled.settled();
  const files = readdirSync(join(dir, 'compiled')).sort();
  t.same(files, [`${loaded.lists.version}.json`, `${loaded.lists.version}.rojebl`]);
});
