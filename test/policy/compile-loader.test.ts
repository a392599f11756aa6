import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { compileSources } from '../../src/policy/compile.js';
import { writeArtifact } from '../../src/policy/compiled/index.js';
import { emptyLists, IN_THREAD_MAX_BYTES, listsStatus, loadLists } from '../../src/policy/lists-loader.js';
import type { ListSource } from '../../src/policy/types.js';
import { startRoje } from '../helpers/roje.js';

t.test('loadLists: a compiled artifact, configured lists, or none', async (t) => {
  const dir = t.testdir({ 'adult.txt': 'one.example\ntwo.example\n', 'damaged.roje': 'ROJEBL nonsense' });
  const sources: ListSource[] = [{ name: 'adult', category: 'adult', path: join(dir, 'adult.txt') }];
  const { artifact } = await compileSources(sources);
  await writeArtifact(join(dir, 'lists.roje'), artifact);

  const fromFile = await loadLists({ lists: [], compiled: join(dir, 'lists.roje') });
  t.equal(fromFile.from, 'compiled');
  t.equal(fromFile.report, null);
  t.equal(fromFile.lists.entries, 2);
  t.equal(fromFile.lists.lookup('www.two.example').blocked, 1);

  const compiled = await loadLists({ lists: sources, compiled: null });
  t.equal(compiled.from, 'lists');
  t.equal(compiled.report?.sources[0].rules, 2);
  t.equal(compiled.lists.lookup('one.example').blocked, 1);

  const none = await loadLists({ lists: [], compiled: null });
  t.equal(none.from, 'none');
  t.equal(none.lists.entries, 0);
  t.same(none.lists.categories, []);

  const status = listsStatus(compiled, '2026-01-01T00:00:00.000Z');
  t.same(
    { ...status, version: typeof status.version, compiledAt: typeof status.compiledAt },
    {
      from: 'lists',
      version: 'string',
      entries: 2,
      sources: 1,
      sourceNames: ['adult'],
      categories: ['adult'],
      compiledAt: 'string',
      loadedAt: '2026-01-01T00:00:00.000Z',
      lastError: null,
      lastErrorAt: null,
    },
  );
  t.match(status.version, /^[0-9a-f]{64}$/);

  await t.rejects(loadLists({ lists: [], compiled: join(dir, 'damaged.roje') }), {
    code: 'ROJE_ERR_LIST_ARTIFACT',
  });
  await t.rejects(loadLists({ lists: [], compiled: join(dir, 'none.roje') }), { code: 'ROJE_ERR_LIST_READ' });
  t.equal(emptyLists().entries, 0);
  t.ok(IN_THREAD_MAX_BYTES >= 4096, 'small lists compile on the calling thread');
});

t.test('the app: lists before listening, swapped on reload, kept when the reload fails', async (t) => {
  const dir = t.testdir({
    'adult.txt': 'one.example\n',
    'next.txt': 'one.example\ntwo.example\nthree.example\n',
  });
  const path = join(dir, 'adult.txt');
  const raw = { upstreams: ['udp://127.0.0.1:9'], lists: [{ category: 'adult', path }] };
  const roje = await startRoje(raw, { t });
  const first = roje.app.lists();
  t.equal(first?.entries, 1);
  t.equal(first?.lookup('one.example').blocked, 1);
  const status = roje.app.listsStatus();
  t.equal(status?.from, 'lists');
  t.same(status?.sourceNames, ['adult']);
  t.equal(status?.lastError, null);
  t.ok(roje.logs.some((l) => l.msg === 'lists loaded' && l.entries === 1));

  // The file disappears: the reload keeps the last good lists (never unfiltered) and says why.
  renameSync(path, join(dir, 'moved.txt'));
  await roje.app.reload(await roje.configFor(raw));
  t.equal(roje.app.lists(), first, 'the same lists object is still in force');
  const failed = roje.app.listsStatus();
  t.equal(failed?.version, first?.version);
  t.match(failed?.lastError, /list "adult" \(.*adult\.txt\) cannot be read/);
  t.type(failed?.lastErrorAt, 'string');
  const line = roje.logs.find((l) => l.msg === 'lists reload failed; keeping the last good lists');
  t.ok(line, 'the failure is logged');
  t.equal(line?.code, 'ROJE_ERR_LIST_READ');
  t.ok(
    roje.logs.some((l) => l.msg === 'config reloaded'),
    'the rest of the config still reloads',
  );

  // A good file again: swapped whole.
  writeFileSync(path, 'one.example\ntwo.example\nthree.example\n');
  await roje.app.reload(await roje.configFor(raw));
  const next = roje.app.lists();
  t.not(next, first);
  t.equal(next?.entries, 3);
  t.equal(next?.lookup('three.example').blocked, 1);
  t.equal(roje.app.listsStatus()?.lastError, null);
  t.ok(roje.logs.some((l) => l.msg === 'lists reloaded' && l.entries === 3));
});

t.test('the app: explicit `lists: []` starts, with a warning that it is not filtering', async (t) => {
  const roje = await startRoje({ upstreams: ['udp://127.0.0.1:9'], lists: [] }, { t });
  t.equal(roje.app.lists()?.entries, 0);
  t.equal(roje.app.listsStatus()?.from, 'none');
  const warning = roje.logs.find((l) => l.msg === 'no lists: not filtering');
  t.equal(warning?.level, 40, 'a warning');
});

t.test('the app: a list that cannot be read stops the start (fail closed)', async (t) => {
  await t.rejects(
    startRoje({
      upstreams: ['udp://127.0.0.1:9'],
      lists: [{ category: 'adult', path: '/nonexistent/x.txt' }],
    }),
    { code: 'ROJE_ERR_LIST_READ' },
  );
});

t.test(
  'a policy category the lists lack stops the start, naming the policy; abuse and optional ones pass',
  async (t) => {
    const dir = t.testdir({ 'adult.txt': 'one.example\n' });
    const raw = {
      upstreams: ['udp://127.0.0.1:9'],
      lists: [{ category: 'adult', path: join(dir, 'adult.txt') }],
      policies: { default: { block: ['adult', 'gambling', 'abuse'] } },
    };
    await t.rejects(startRoje(raw), {
      code: 'ROJE_ERR_CONFIG_CATEGORY_MISSING',
      key: 'policies.default.block',
      message: /"gambling", which no list provides/,
    });
    // abuse is exempt (mandatory in every policy; the status page warns when no list provides it).
    const optional = { default: { block: ['adult', 'gambling', 'abuse'], optionalCategories: ['gambling'] } };
    const roje = await startRoje({ ...raw, policies: optional }, { t });
    const status = roje.app.admin.status() as { warnings: string[] };
    // Among the compliance profile's own warnings: these two are this check's.
    for (const expected of [/no abuse feed/, /optional category "gambling", which no list provides/]) {
      t.ok(
        status.warnings.some((w) => expected.test(w)),
        `a warning matches ${expected}`,
      );
    }
  },
);
