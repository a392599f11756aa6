/**
 * The kept self-test runs on disk: a file per venue holding the report bytes its SHA-256 names, an
 * index per run, the oldest runs pruned whole, a damaged index skipped.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { pruneRuns, readRuns, reportFileName, reportText, writeRun } from '../../src/selftest/kept.js';

const ID = (n: number) => `2026-12-0${n}T10-00-00-000Z`;

t.test('file names: one per venue, clients of no venue apart', async (t) => {
  t.equal(reportFileName(ID(1), null), `${ID(1)}.no-venue.json`);
  t.equal(reportFileName(ID(1), 'school'), `${ID(1)}.venue-school.json`);
  t.not(reportFileName(ID(1), 'no-venue'), reportFileName(ID(1), null), 'a venue named no-venue is apart');
});

t.test('a run written, read back and pruned', async (t) => {
  const dir = t.testdir({});
  for (const n of [1, 2, 3]) {
    const none = reportText({ run: n, venue: null });
    const school = reportText({ run: n, venue: 'school' });
    await writeRun(dir, ID(n), { id: ID(n), sha256: [none.sha256, school.sha256] }, [
      { file: reportFileName(ID(n), null), text: none.text },
      { file: reportFileName(ID(n), 'school'), text: school.text },
    ]);
  }
  const file = join(dir, reportFileName(ID(3), 'school'));
  t.equal(
    createHash('sha256').update(readFileSync(file)).digest('hex'),
    reportText({ run: 3, venue: 'school' }).sha256,
    'the digest is of the bytes on disk',
  );
  await pruneRuns(dir, 2);
  t.same(
    readdirSync(dir).sort(),
    [2, 3].flatMap((n) => [`${ID(n)}.json`, `${ID(n)}.no-venue.json`, `${ID(n)}.venue-school.json`]),
    'the oldest run went whole',
  );
  writeFileSync(join(dir, `${ID(2)}.json`), '{ damaged');
  const runs = await readRuns(dir, 10);
  t.equal(runs.length, 1, 'a damaged index is skipped');
  t.match(runs[0]?.summary, { id: ID(3) });
  t.same([...(runs[0]?.reports.keys() ?? [])].sort(), [
    `${ID(3)}.no-venue.json`,
    `${ID(3)}.venue-school.json`,
  ]);
});

t.test('no folder yet: no runs', async (t) => {
  t.same(await readRuns(join(t.testdir({}), 'missing'), 10), []);
});
