/**
 * The lookup's bounds and its slow path, over real list files compiled by the real compiler: one scan
 * at a time (another name meanwhile: ROJE_ERR_LOOKUP_BUSY; the same name: shares the scan), a time
 * limit, answers kept per lists version, and scope handling of the rules read back.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { isRojeError } from '../../src/errors.js';
import { createLookup, type LookupDeps } from '../../src/lookup/lookup.js';
import { ruleReaches } from '../../src/lookup/scan.js';
import { type LoadedListSet, loadLists } from '../../src/policy/lists-loader.js';

const BIG_LINES = 200_000;

async function setup(t: Test) {
  const dir = t.testdir({ 'small.txt': 'listed.example\n' });
  const big = join(dir, 'big.txt');
  const lines: string[] = [];
  for (let i = 0; i < BIG_LINES; i++) lines.push(`host${i}.big.example`);
  lines.push('listed.example');
  writeFileSync(big, `${lines.join('\n')}\n`);
  const loaded = await loadLists({
    lists: [{ name: 'small', category: 'adult', path: join(dir, 'small.txt') }],
    compiled: null,
  });
  // The compiled lists of the small file; the report points the scan at the big one, so it takes a while.
  const set: LoadedListSet = {
    ...loaded,
    report: loaded.report && {
      ...loaded.report,
      sources: loaded.report.sources.map((s) => ({ ...s, path: big })),
    },
  };
  const deps: LookupDeps = {
    lists: () => set,
    config: () => ({ venues: [], policies: { default: { block: 'all', blockMode: 'nxdomain' } } }),
  };
  return { dir, big, set, deps };
}

const codeOf = (err: unknown) => (isRojeError(err) ? err.code : String(err));

t.test('one scan at a time: another name is refused, the same name shares the scan', async (t) => {
  const { deps } = await setup(t);
  const lookup = createLookup(deps);
  const first = lookup.lookup('a.listed.example');
  const same = lookup.lookup('A.Listed.Example.');
  const other = lookup.lookup('b.listed.example').then(
    () => 'answered',
    (err: unknown) => codeOf(err),
  );
  t.equal(await other, 'ROJE_ERR_LOOKUP_BUSY');
  const [a, b] = await Promise.all([first, same]);
  t.same(
    a.listed[0]?.rules.map((r) => [r.rule, r.line]),
    [['listed.example', BIG_LINES + 1]],
  );
  t.same(b.listed, a.listed, 'the same scan');
  t.same(a.changedSources, ['small'], 'the file read is not the one compiled: said so');
  // Free again once the scan ended.
  t.equal((await lookup.lookup('b.listed.example')).listed[0]?.rules[0]?.line, BIG_LINES + 1);
});

t.test('a time limit: ROJE_ERR_LOOKUP_TIMEOUT, and the next lookup runs', async (t) => {
  const { deps } = await setup(t);
  const lookup = createLookup({ ...deps, timeoutMs: 5 });
  t.equal(await lookup.lookup('listed.example').then(() => 'answered', codeOf), 'ROJE_ERR_LOOKUP_TIMEOUT');
  const patient = createLookup(deps);
  t.equal((await patient.lookup('listed.example')).listed.length, 1);
});

t.test('answers are kept per lists version: the file is not read again', async (t) => {
  const { deps, big } = await setup(t);
  const lookup = createLookup(deps);
  const first = await lookup.lookup('listed.example');
  rmSync(big);
  const again = await lookup.lookup('listed.example');
  t.same(again.listed, first.listed, 'from the kept answers');
  const fresh = await lookup.lookup('other.example');
  t.same(fresh.unreadableSources, ['small'], 'a new name reads the file: gone, and said so');
});

t.test('bad input is coded', async (t) => {
  const { deps } = await setup(t);
  const lookup = createLookup(deps);
  for (const bad of ['', 'a..b', 'a b.example', '1.2.3.4', 'x'.repeat(64)]) {
    t.equal(
      await lookup.lookup(bad).then(() => 'answered', codeOf),
      'ROJE_ERR_LOOKUP_NAME',
      JSON.stringify(bad),
    );
  }
  t.equal(
    await lookup.lookup('a.example', 'nowhere').then(() => 'answered', codeOf),
    'ROJE_ERR_LOOKUP_VENUE',
  );
  const none = createLookup({ ...deps, lists: () => null });
  t.equal(await none.lookup('a.example').then(() => 'answered', codeOf), 'ROJE_ERR_LOOKUP_NOT_READY');
});

t.test('a rule reaches a name by its scope', async (t) => {
  t.ok(ruleReaches({ name: 'a.example', scope: 'subtree' }, 'a.example'));
  t.ok(ruleReaches({ name: 'a.example', scope: 'subtree' }, 'x.a.example'));
  t.notOk(ruleReaches({ name: 'a.example', scope: 'subtree' }, 'xa.example'), 'a label boundary');
  t.ok(ruleReaches({ name: 'a.example', scope: 'exact' }, 'a.example'));
  t.notOk(ruleReaches({ name: 'a.example', scope: 'exact' }, 'x.a.example'));
  t.notOk(ruleReaches({ name: 'a.example', scope: 'below' }, 'a.example'));
  t.ok(ruleReaches({ name: 'a.example', scope: 'below' }, 'x.a.example'));
  t.notOk(ruleReaches({ name: '', scope: 'subtree' }, 'a.example'), 'a hashed abuse entry has no name');
});
