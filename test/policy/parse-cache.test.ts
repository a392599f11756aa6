/**
 * The parse cache: a source parsed once per content hash, replayed into the builder for the same
 * artifact byte for byte; kept on disk with a digest (a corrupt file is ignored and the source parsed
 * again); an abuse source never written to disk; a compile keeps only the entries it used.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { SAMPLE_LISTS } from '../../src/config/filtering.js';
import { abuseKey } from '../../src/policy/abuse/key.js';
import { compileSources } from '../../src/policy/compile.js';
import { compileInWorker } from '../../src/policy/compile-worker.js';
import { createRuleEncoder, decodeRules, entryIsWhole } from '../../src/policy/parse-cache/codec.js';
import { createParseCache, parseCacheKey } from '../../src/policy/parse-cache/index.js';
import type { ListRule, ListSource } from '../../src/policy/types.js';

const now = () => new Date('2026-01-01T00:00:00Z');
const abuse = { key: abuseKey(Buffer.alloc(32, 0x11)), pageEntries: 'count' as const };

function fixtures(t: Test) {
  const dir = t.testdir({
    'adult.txt': '# adult\none.adult.test\ntwo.adult.test\nbad..name\n',
    'games.hosts': '0.0.0.0 slots.games.test\n0.0.0.0 dice.games.test\n',
    'rpz.zone':
      '$TTL 60\n@ SOA . . 1 1 1 1 1\n@ NS localhost.\nlocal.rpz.test CNAME .\nhere.rpz.test A 192.0.2.7\n*.under.rpz.test CNAME .\n',
    'abuse.txt': 'secret-one.abuse.test\nhttp://secret-two.abuse.test/page.jpg\n',
  });
  const sources: ListSource[] = [
    { name: 'adult', category: 'adult', path: join(dir, 'adult.txt') },
    { name: 'games', category: 'gambling', path: join(dir, 'games.hosts') },
    { name: 'rpz', category: 'doh-bypass', path: join(dir, 'rpz.zone'), format: 'rpz' },
    { name: 'abuse', category: 'abuse', path: join(dir, 'abuse.txt') },
  ];
  return { dir, sources, cacheDir: join(dir, 'state', 'parsed') };
}

t.test('rules survive the encoding: names, scopes, actions, lines, digests, pages, local data', async (t) => {
  const rules: ListRule[] = [
    { name: 'a.test', scope: 'subtree', action: 'block', line: 1 },
    { name: 'b.test', scope: 'exact', action: 'allow', line: 300 },
    { name: 'c.test', scope: 'below', action: 'nxdomain', line: 70_000 },
    { name: 'd.test', scope: 'exact', action: 'local', line: 4, local: [{ type: 'A', data: '192.0.2.1' }] },
    { name: '', scope: 'exact', action: 'block', line: 5, digest: Buffer.alloc(32, 7), page: true },
    { name: 'ünïcode.test', scope: 'subtree', action: 'nodata', line: 2 ** 33 },
  ];
  const encoder = createRuleEncoder();
  for (const r of rules) encoder.add(r);
  const stats = { lines: 6, rules: 6, skipped: {}, samples: [], notes: {} };
  const { bytes, meta } = encoder.finish({ format: 'rpz', stats, bytes: 99 });
  t.equal(meta.count, rules.length);
  t.ok(entryIsWhole(bytes));
  const back = [...decodeRules(bytes, 2)].flat();
  t.same(back, rules);
  t.notOk(entryIsWhole(bytes.subarray(0, bytes.length - 1)), 'a truncated entry is not whole');
});

t.test(
  'a cached compile is the from-scratch compile, byte for byte; only a changed source is parsed',
  async (t) => {
    const { dir, sources, cacheDir } = fixtures(t);
    const cache = createParseCache({ dir: cacheDir });
    const first = await compileSources(sources, { abuse, cache, now });
    t.same(
      first.report.sources.map((s) => s.cached),
      [undefined, undefined, undefined, undefined],
      'a cold cache parses all',
    );
    const again = await compileSources(sources, { abuse, cache, now });
    t.same(
      again.report.sources.map((s) => s.cached),
      [true, true, true, true],
      'nothing changed: nothing parsed',
    );
    t.ok(again.artifact.equals(first.artifact), 'the same artifact');
    t.same({ ...again.report, ms: 0, sources: [] }, { ...first.report, ms: 0, sources: [] });
    t.same(
      again.report.sources.map(({ cached: _, ...s }) => s),
      first.report.sources,
      'the same per-source report (counts, samples, notes)',
    );

    writeFileSync(join(dir, 'games.hosts'), '0.0.0.0 slots.games.test\n0.0.0.0 poker.games.test\n');
    const changed = await compileSources(sources, { abuse, cache, now });
    t.same(
      changed.report.sources.map((s) => s.cached === true),
      [true, false, true, true],
      'only the changed source is parsed',
    );
    const scratch = await compileSources(sources, { abuse, now });
    t.ok(changed.artifact.equals(scratch.artifact), 'the merge is the from-scratch artifact');
    t.equal(changed.report.version, scratch.report.version);

    await cache.settle();
    const files = readdirSync(cacheDir).sort();
    t.equal(files.length, 3, 'one file per non-abuse source, the old games entry pruned');
    for (const f of files) t.match(f, /^[0-9a-f]{64}-(auto|rpz)\.bin$/);
  },
);

t.test('a restart takes the entries from disk; a corrupt file is ignored and parsed again', async (t) => {
  const { sources, cacheDir } = fixtures(t);
  const plain = sources.slice(0, 3);
  const scratch = await compileSources(plain, { now });
  await compileSources(plain, { now, cache: createParseCache({ dir: cacheDir }) });

  const restarted = createParseCache({ dir: cacheDir });
  const warm = await compileSources(plain, { now, cache: restarted });
  t.same(
    warm.report.sources.map((s) => s.cached),
    [true, true, true],
    'every entry from disk',
  );
  t.ok(warm.artifact.equals(scratch.artifact));

  // Flip a byte in one entry, truncate another, replace the third with garbage.
  const files = readdirSync(cacheDir).sort();
  const [a, b, c] = files.map((f) => join(cacheDir, f));
  const bytes = readFileSync(a);
  bytes[bytes.length - 3] ^= 0xff;
  writeFileSync(a, bytes);
  writeFileSync(b, readFileSync(b).subarray(0, 60));
  writeFileSync(c, 'not a cache file');
  const cold = await compileSources(plain, { now, cache: createParseCache({ dir: cacheDir }) });
  t.same(
    cold.report.sources.map((s) => s.cached === true),
    [false, false, false],
    'every corrupt entry parsed again, no error',
  );
  t.ok(cold.artifact.equals(scratch.artifact));
});

t.test('an abuse source is kept in memory only, never written to disk', async (t) => {
  const { sources, cacheDir } = fixtures(t);
  const cache = createParseCache({ dir: cacheDir });
  const first = await compileSources(sources, { abuse, cache, now });
  const again = await compileSources(sources, { abuse, cache, now });
  t.equal(again.report.sources[3]?.cached, true, 'the abuse source replayed from memory');
  t.ok(again.artifact.equals(first.artifact));
  await cache.settle();
  const files = readdirSync(cacheDir);
  t.notOk(
    files.some((f) => f.includes('abuse')),
    'no abuse entry on disk',
  );
  for (const f of files) {
    const text = readFileSync(join(cacheDir, f), 'latin1');
    t.notOk(text.includes('secret'), `${f} holds no abuse name`);
  }
  // Another key is another entry: the digests depend on it.
  const other = { key: abuseKey(Buffer.alloc(32, 0x22)), pageEntries: 'count' as const };
  const rekeyed = await compileSources(sources, { abuse: other, cache, now });
  t.not(rekeyed.report.sources[3]?.cached, true, 'a new key parses the abuse source again');
  t.not(
    parseCacheKey('0'.repeat(64), 'abuse', abuse.key.id),
    parseCacheKey('0'.repeat(64), 'abuse', other.key.id),
  );
});

t.test('a failed compile keeps the cache as it was', async (t) => {
  const { dir, sources, cacheDir } = fixtures(t);
  const cache = createParseCache({ dir: cacheDir });
  await compileSources(sources.slice(0, 2), { cache, now });
  await t.rejects(
    compileSources([...sources.slice(0, 2), { name: 'gone', category: 'x', path: join(dir, 'missing') }], {
      cache,
      now,
    }),
    { code: 'ROJE_ERR_LIST_READ' },
  );
  const again = await compileSources(sources.slice(0, 2), { cache, now });
  t.same(
    again.report.sources.map((s) => s.cached),
    [true, true],
  );
});

// Starting a worker under the TypeScript loader takes seconds: one test, two workers.
t.test('the compile worker uses the cache and hands its new entries back', async (t) => {
  const { cacheDir } = fixtures(t);
  const cache = createParseCache({ dir: cacheDir });
  const first = await compileInWorker(SAMPLE_LISTS, abuse, { cache });
  t.same(
    first.report.sources.map((s) => s.cached === true),
    SAMPLE_LISTS.map(() => false),
  );
  t.equal(cache.entries().length, SAMPLE_LISTS.length, 'the worker handed its entries back');
  const second = await compileInWorker(SAMPLE_LISTS, abuse, { cache });
  t.same(
    second.report.sources.map((s) => s.cached === true),
    SAMPLE_LISTS.map(() => true),
    'the second worker parsed nothing',
  );
  const here = await compileSources(SAMPLE_LISTS, { abuse, cache });
  t.same(
    here.report.sources.map((s) => s.cached === true),
    SAMPLE_LISTS.map(() => true),
    'this thread takes them too',
  );
  t.equal(here.report.version, second.report.version);
  t.equal(here.artifact.length, second.artifact.length);
  const onDisk = readdirSync(cacheDir);
  t.equal(onDisk.length, SAMPLE_LISTS.length - 1, 'the worker wrote every entry but the abuse one');
});
