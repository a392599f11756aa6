/**
 * The file guard's first check of a file it has no good copy of stops at the first rule (the compile
 * parses the file anyway); the compile's counts then replace the partial ones, so that a later halving
 * of the file is measured against the whole list.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { createFileGuard } from '../../src/feeds/files.js';
import { compileSources } from '../../src/policy/compile.js';

const quiet = { info() {}, warn() {} };
const names = (n: number) => Array.from({ length: n }, (_, i) => `site${i}.adult.example`).join('\n');

t.test('a first check stops at the first rule; the compile counts the rest', async (t) => {
  // Large enough to span several line chunks, so that the first batch is not the whole file.
  const dir = t.testdir({ 'adult.txt': `${names(60_000)}\n` });
  const file = join(dir, 'adult.txt');
  const stateDir = join(dir, 'state');
  const guard = await createFileGuard({ stateDir, logger: quiet });
  t.teardown(() => guard.close());
  const source = { name: 'adult-file', category: 'adult', path: file };

  const copy = await guard.guard(source);
  t.not(copy.path, file, 'a copy is compiled, not the file');
  const goodPath = join(stateDir, 'files', 'adult-file');
  t.notOk(existsSync(goodPath), 'the new copy is not the good one until the lists are made');
  t.equal(guard.status()[0]?.good, null);
  t.equal(guard.finalPath(copy.path), goodPath, 'reported by the path it will have');
  t.equal(guard.finalPath(file), file, 'any other path as it is');
  await guard.settle(null);
  t.ok(existsSync(goodPath) && !existsSync(copy.path), 'settled: moved into place');
  const partial = guard.status()[0]?.good?.rules ?? 0;
  t.ok(partial > 0 && partial < 60_000, `the first check counted part of the file (${partial} rules)`);
  const metaFile = join(stateDir, 'files', 'adult-file.json');
  t.equal(JSON.parse(readFileSync(metaFile, 'utf8')).counted, false, 'the stored count says it is partial');

  const { report } = await compileSources([{ ...copy, path: goodPath }]);
  await guard.settle(report);
  t.equal(guard.status()[0]?.good?.rules, 60_000, 'the compile counted every rule');
  t.notOk('counted' in JSON.parse(readFileSync(metaFile, 'utf8')), 'the stored count is complete');

  // Halved: measured against the whole list, so it is held.
  writeFileSync(file, `${names(25_000)}\n`);
  const again = await guard.guard(source);
  t.equal(again.path, goodPath, 'the good copy is compiled');
  t.match(guard.status()[0], { good: { rules: 60_000 }, held: { rules: 25_000, previousRules: 60_000 } });
});

t.test('a count from another content is not taken', async (t) => {
  const dir = t.testdir({ 'adult.txt': `${names(60_000)}\n`, 'other.txt': `${names(10)}\n` });
  const guard = await createFileGuard({ stateDir: join(dir, 'state'), logger: quiet });
  t.teardown(() => guard.close());
  await guard.guard({ name: 'adult-file', category: 'adult', path: join(dir, 'adult.txt') });
  await guard.settle(null);
  const partial = guard.status()[0]?.good?.rules;
  const { report } = await compileSources([
    { name: 'adult-file', category: 'adult', path: join(dir, 'other.txt') },
  ]);
  await guard.settle(report);
  t.equal(guard.status()[0]?.good?.rules, partial, 'a report of other bytes leaves the count alone');
});

t.test('a file with no good copy that yields no rule still stops the start', async (t) => {
  const dir = t.testdir({ 'adult.txt': '# nothing yet\n' });
  const guard = await createFileGuard({ stateDir: join(dir, 'state'), logger: quiet });
  t.teardown(() => guard.close());
  await t.rejects(guard.guard({ name: 'adult-file', category: 'adult', path: join(dir, 'adult.txt') }), {
    code: 'ROJE_ERR_LIST_EMPTY',
  });
});

t.test('a compile that fails leaves the good copy as it was, on disk and after a restart', async (t) => {
  const dir = t.testdir({ 'adult.txt': 'a.example\nb.example\n' });
  const file = join(dir, 'adult.txt');
  const stateDir = join(dir, 'state');
  const source = { name: 'adult-file', category: 'adult', path: file };
  const goodPath = join(stateDir, 'files', 'adult-file');
  const first = await createFileGuard({ stateDir, logger: quiet });
  await first.guard(source);
  await first.settle(null);
  const good = readFileSync(goodPath, 'utf8');

  writeFileSync(file, 'a.example\nb.example\nc.example\n');
  const copy = await first.guard(source);
  t.equal(
    readFileSync(copy.path, 'utf8'),
    'a.example\nb.example\nc.example\n',
    'the compile reads the new bytes',
  );
  await first.discard();
  t.notOk(existsSync(copy.path), 'the new copy is gone');
  t.equal(readFileSync(goodPath, 'utf8'), good, 'the good copy is untouched');
  t.match(first.status()[0], { good: { rules: 2 } });

  // Stopped between the write and settle(): the next start sees the old good copy.
  const stopped = await first.guard(source);
  await first.close();
  t.notOk(existsSync(stopped.path), 'a stop removes the copy it did not settle');
  const second = await createFileGuard({ stateDir, logger: quiet });
  t.teardown(() => second.close());
  t.equal(readFileSync(goodPath, 'utf8'), good);
  const again = await second.guard(source);
  t.not(again.path, goodPath, 'the changed file is copied again');
  await second.settle(null);
  t.equal(readFileSync(goodPath, 'utf8'), 'a.example\nb.example\nc.example\n', 'and made good once settled');
});
