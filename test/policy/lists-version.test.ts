import { utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { compileSources } from '../../src/policy/compile.js';
import { loadArtifact } from '../../src/policy/compiled/index.js';
import { listsVersion, versionOfSources } from '../../src/policy/lists-version.js';

t.test('the version hashes the inputs, never the clock', async (t) => {
  const dir = t.testdir({ 'a.txt': 'one.example.test\n', 'b.txt': 'two.example.test\n' });
  const sources = [
    { name: 'a', category: 'adult', path: join(dir, 'a.txt') },
    { name: 'b', category: 'gambling', path: join(dir, 'b.txt') },
  ];
  const early = await compileSources(sources, { now: () => new Date('2026-01-01T00:00:00Z') });
  const late = await compileSources(sources, { now: () => new Date('2026-12-31T23:59:59Z') });
  t.equal(early.report.version, late.report.version, 'compiled a year apart: one version');
  t.notOk(early.artifact.equals(late.artifact), 'the artifacts differ (compiledAt) but not the version');
  t.equal(loadArtifact(early.artifact, 'early').version, early.report.version, 'the artifact carries it');
  t.equal(loadArtifact(late.artifact, 'late').version, early.report.version);
  t.equal(await versionOfSources(sources, null), early.report.version, 'read without compiling: the same');

  const recategorised = await compileSources([sources[0], { ...sources[1], category: 'adult' }]);
  t.not(recategorised.report.version, early.report.version, 'a category is an input');
  writeFileSync(join(dir, 'b.txt'), 'two.example.test\nthree.example.test\n');
  t.not(await versionOfSources(sources, null), early.report.version, 'so is the content');
  t.equal(await versionOfSources([{ ...sources[0], path: join(dir, 'gone.txt') }], null), null);
});

t.test('the abuse key counts only when an abuse source is there', async (t) => {
  const plain = [{ name: 'a', category: 'adult', format: 'auto' as const, sha256: 'aa' }];
  const withAbuse = [...plain, { name: 'iwf', category: 'abuse', sha256: 'bb' }];
  const k1 = { keyId: 'k1', pageEntries: 'count' };
  const k2 = { keyId: 'k2', pageEntries: 'count' };
  t.equal(listsVersion(plain, k1), listsVersion(plain, k2));
  t.equal(listsVersion(plain, k1), listsVersion(plain, null));
  t.not(listsVersion(withAbuse, k1), listsVersion(withAbuse, k2));
  t.not(listsVersion(withAbuse, k1), listsVersion(withAbuse, { ...k1, pageEntries: 'block-host' }));
});

t.test(
  'a file rewritten in place, same size, gives a new version (the digest memo is keyed by the file)',
  async (t) => {
    const dir = t.testdir({ 'a.txt': 'one.example.test\n' });
    const path = join(dir, 'a.txt');
    const sources = [{ name: 'a', category: 'adult', path }];
    // Old enough for the memo to keep its digest.
    const old = new Date(Date.now() - 60_000);
    utimesSync(path, old, old);
    const first = await versionOfSources(sources, null);
    t.equal(await versionOfSources(sources, null), first, 'the same file: the same version');
    writeFileSync(path, 'two.example.test\n');
    t.not(await versionOfSources(sources, null), first, 'same size, new bytes: a new version');
  },
);
