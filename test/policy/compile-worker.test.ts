import { join } from 'node:path';
import t from 'tap';
import { SAMPLE_LISTS } from '../../src/config/filtering.js';
import { ephemeralAbuseKey } from '../../src/policy/abuse/key.js';
import { compileSources } from '../../src/policy/compile.js';
import { compileInWorker } from '../../src/policy/compile-worker.js';
import { loadArtifact } from '../../src/policy/compiled/index.js';

// The worker runs this repository's TypeScript here (tap's loader is inherited); the dist/ build is
// covered by test/integration/cli-compile.test.ts, which runs `roje compile` and `roje serve`.
// Starting a worker under the TypeScript loader takes seconds, so this file starts only two.

t.test('the worker compiles what the calling thread would, and hands the bytes back', async (t) => {
  // The abuse sample is hashed with the key handed to the worker: same key, same lookups.
  const abuse = { key: ephemeralAbuseKey(), pageEntries: 'count' as const };
  const here = await compileSources(SAMPLE_LISTS, { abuse });
  const progress: { rules: number; source: string; ms: number }[] = [];
  const there = await compileInWorker(SAMPLE_LISTS, abuse, {
    onProgress: (p) => progress.push(p),
    progressEveryMs: 0,
  });
  // The worker's progress reaches the calling thread before the reply: counts and source names only.
  t.ok(progress.length > 0, 'progress posted from the worker');
  t.ok(progress.every((p) => SAMPLE_LISTS.some((s) => s.name === p.source) && p.rules > 0 && p.ms >= 0));
  t.same(Object.keys(progress[0]).sort(), ['ms', 'rules', 'source']);
  t.ok(Buffer.isBuffer(there.artifact));
  t.equal(there.artifact.length, here.artifact.length, 'same size (only compiledAt differs)');
  const a = loadArtifact(here.artifact, 'here', { abuseKey: abuse.key });
  const b = loadArtifact(there.artifact, 'there', { abuseKey: abuse.key });
  t.same(b.categories, a.categories);
  t.equal(b.entries, a.entries);
  t.same(
    b.sources.map((s) => [s.name, s.entries, s.sha256]),
    a.sources.map((s) => [s.name, s.entries, s.sha256]),
  );
  for (const name of ['adult.roje.test', 'lottery.casino.roje.test', 'x.doh.roje.test', 'example.com']) {
    t.same(b.lookup(name), a.lookup(name), name);
  }
  const canary = Buffer.from('\x0dcanary-domain\x05abuse\x04roje\x04test\x00', 'latin1');
  t.equal(
    b.lookupHashedWire(canary, 0),
    1 << b.categories.indexOf('abuse'),
    'the abuse canary, hashed in the worker',
  );
  t.equal(a.lookupHashedWire(canary, 0), b.lookupHashedWire(canary, 0));
  t.same(
    there.report.sources.map((s) => [s.name, s.format, s.rules]),
    here.report.sources.map((s) => [s.name, s.format, s.rules]),
  );
});

t.test('a failure in the worker comes back as the same RojeError', async (t) => {
  const dir = t.testdir({ 'a.txt': 'one.example\n' });
  const a = join(dir, 'a.txt');
  const many = Array.from({ length: 33 }, (_, i) => ({ name: `s${i}`, category: `c${i}`, path: a }));
  const sources = [{ name: 'gone', category: 'adult', path: join(dir, 'missing.txt') }, ...many];
  await t.rejects(compileInWorker(sources), {
    name: 'RojeError',
    code: 'ROJE_ERR_LIST_READ',
    message: /list "gone" \(.*missing\.txt\) cannot be read/,
  });
});
