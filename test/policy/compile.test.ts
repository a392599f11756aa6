import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { SAMPLE_LISTS } from '../../src/config/filtering.js';
import { isRojeError } from '../../src/errors.js';
import { ephemeralAbuseKey } from '../../src/policy/abuse/key.js';
import { compileSources } from '../../src/policy/compile.js';
import { loadArtifact } from '../../src/policy/compiled/index.js';
import { ACTION } from '../../src/policy/types.js';

const clock = () => new Date('2026-01-02T03:04:05.000Z');
const ABUSE = { key: ephemeralAbuseKey(), pageEntries: 'count' as const };

t.test('the bundled samples compile: four formats, four categories, the demo names blocked', async (t) => {
  const { artifact, report } = await compileSources(SAMPLE_LISTS, { now: clock, abuse: ABUSE });
  t.same(report.categories, ['adult', 'gambling', 'doh-bypass', 'abuse']);
  t.same(
    report.sources.map((s) => [s.name, s.category, s.format, s.rules, s.skippedTotal]),
    [
      ['sample-adult', 'adult', 'hosts', 4, 0],
      ['sample-gambling', 'gambling', 'adblock', 4, 0],
      ['sample-doh-bypass', 'doh-bypass', 'rpz', 2, 0],
      ['sample-abuse', 'abuse', 'abuse', 2, 0],
    ],
  );
  t.match(report.sources[3], { pages: 2, pagesBlocked: false }, 'two page entries, counted');
  t.equal(report.entries, 12);
  t.equal(report.artifactBytes, artifact.length);
  t.equal(report.compiledAt, '2026-01-02T03:04:05.000Z');
  for (const s of report.sources) {
    const bytes = readFileSync(s.path);
    t.equal(s.sha256, createHash('sha256').update(bytes).digest('hex'), `${s.name} sha256`);
    t.equal(s.bytes, bytes.length);
    t.equal(s.readAt, '2026-01-02T03:04:05.000Z');
  }
  t.same(report.sources[2].notes, { 'rpz-merged': 1 }, 'the RPZ name and *.name pair read as one rule');

  const lists = loadArtifact(artifact, '(test)', { abuseKey: ABUSE.key });
  t.equal(lists.entries, 12);
  t.equal(lists.hashedEntries, 2);
  t.equal(lists.compiledAt, '2026-01-02T03:04:05.000Z');
  t.same(
    lists.sources.map((s) => [s.name, s.entries, s.sha256]),
    report.sources.map((s) => [s.name, s.rules, s.sha256]),
  );
  const bit = (c: string) => 1 << lists.categories.indexOf(c);
  t.equal(lists.lookup('adult.roje.test').blocked, bit('adult'));
  t.equal(lists.lookup('WWW.Adult.roje.test.').blocked, bit('adult'), 'subdomain, any case, trailing dot');
  t.equal(lists.lookup('casino.roje.test').blocked, bit('gambling'));
  const lottery = lists.lookup('lottery.casino.roje.test');
  t.equal(lottery.blocked, 0, 'the adblock exception allows it');
  t.equal(lottery.allowed, bit('gambling'));
  const doh = lists.lookup('x.doh.roje.test');
  t.equal(doh.blocked, bit('doh-bypass'));
  t.equal(doh.action, ACTION.NXDOMAIN);
  t.equal(lists.lookup('dns.roje.test').action, ACTION.NODATA);
  t.equal(lists.lookup('roje.test').blocked, 0);
  t.equal(lists.lookup('example.com').blocked, 0);
});

t.test('skipped lines are counted per reason with their line numbers', async (t) => {
  const dir = t.testdir({
    'bad.hosts': [
      '# a comment',
      '0.0.0.0 good.example',
      `0.0.0.0 ${'a'.repeat(64)}.example`,
      '0.0.0.0 bad_char!.example',
      '0.0.0.0 192.0.2.1',
      '0.0.0.0 also-good.example',
      '',
    ].join('\n'),
  });
  const { report } = await compileSources([{ name: 'bad', category: 'adult', path: join(dir, 'bad.hosts') }]);
  const [s] = report.sources;
  t.equal(s.format, 'hosts', 'detected from the content');
  t.equal(s.rules, 2);
  t.equal(s.lines, 6);
  t.equal(s.skippedTotal, 3);
  t.same(s.skipped, { 'label-too-long': 1, 'bad-character': 1, 'not-a-name': 1 });
  t.same(
    s.samples.map((x) => [x.line, x.reason]),
    [
      [3, 'label-too-long'],
      [4, 'bad-character'],
      [5, 'not-a-name'],
    ],
  );
  t.equal(report.entries, 2);

  // The abuse category reads its own format (one name or URL a line): hosts lines are not entries.
  writeFileSync(join(dir, 'abuse.txt'), `${readFileSync(join(dir, 'bad.hosts'), 'utf8')}entry.example\n`);
  const abuse = await compileSources([{ name: 'feed', category: 'abuse', path: join(dir, 'abuse.txt') }], {
    abuse: ABUSE,
  });
  await t.rejects(
    compileSources([{ name: 'feed', category: 'abuse', path: join(dir, 'bad.hosts') }], { abuse: ABUSE }),
    { code: 'ROJE_ERR_LIST_FORMAT', message: /holds no entry \(6 lines, 5 skipped\)/ },
    'an abuse list that matches nothing fails the compile (fail closed)',
  );
  t.same(
    abuse.report.sources[0].samples.map((x) => [x.line, x.reason, x.text]),
    [2, 3, 4, 5, 6].map((line) => [line, 'unsupported-syntax', '[confidential]']),
    'a confidential category reports line numbers and reasons, never the lines',
  );
});

t.test(
  'a long compile says how far it got: rules so far and the source being read, counts only',
  async (t) => {
    const names = Array.from({ length: 50_000 }, (_, i) => `n${i}.progress.example`);
    const dir = t.testdir({ 'a.txt': `${names.join('\n')}\n`, 'b.txt': 'one.example\ntwo.example\n' });
    const sources = [
      { name: 'big', category: 'adult', path: join(dir, 'a.txt') },
      { name: 'small', category: 'adult', path: join(dir, 'b.txt') },
    ];
    const seen: [number, string][] = [];
    // A zero interval stands in for two seconds of a real compile: every chunk of the file reports.
    const { report } = await compileSources(sources, {
      progressEveryMs: 0,
      onProgress: (rules, source) => seen.push([rules, source]),
    });
    t.ok(seen.length >= 2, `${seen.length} progress calls: the big file is read in several chunks`);
    t.ok(
      seen.every(([rules], i) => rules > 0 && (i === 0 || rules >= seen[i - 1][0])),
      'the count only grows',
    );
    t.ok(
      seen.every(([rules]) => rules <= report.entries),
      'never more than the rules compiled',
    );
    t.same([...new Set(seen.map(([, s]) => s))], ['big', 'small'], 'named by source, in order');
    t.equal(seen.at(-1)?.[0], report.entries, 'the last call counts every rule');

    const quiet: number[] = [];
    await compileSources(sources, { progressEveryMs: 60_000, onProgress: (rules) => quiet.push(rules) });
    t.same(quiet, [], 'a compile shorter than the interval says nothing');
  },
);

t.test('no sources: a valid artifact that blocks nothing', async (t) => {
  const { artifact, report } = await compileSources([]);
  t.same(report.sources, []);
  t.same(report.categories, []);
  const lists = loadArtifact(artifact);
  t.equal(lists.entries, 0);
  t.same(lists.categories, []);
  t.equal(lists.lookup('adult.roje.test').blocked, 0);
});

t.test('errors carry their code and name the source', async (t) => {
  const dir = t.testdir({ 'a.txt': 'one.example\n', 'garbage.bin': '\u0001\u0002 ??? !!!\n%%%\n' });
  const a = join(dir, 'a.txt');
  const rejects = async (sources: Parameters<typeof compileSources>[0], code: string, pattern: RegExp) => {
    try {
      await compileSources(sources);
      t.fail(`expected ${code}`);
    } catch (err) {
      t.ok(isRojeError(err), 'a RojeError');
      t.equal((err as { code: string }).code, code);
      t.match((err as Error).message, pattern);
    }
  };
  await rejects(
    [
      { name: 'same', category: 'adult', path: a },
      { name: 'same', category: 'gambling', path: a },
    ],
    'ROJE_ERR_LIST_COMPILE',
    /two list sources are named "same"/,
  );
  await rejects(
    [{ name: 'gone', category: 'adult', path: join(dir, 'missing.txt') }],
    'ROJE_ERR_LIST_READ',
    /list "gone" \(.*missing\.txt\) cannot be read/,
  );
  await rejects(
    [{ name: 'junk', category: 'adult', path: join(dir, 'garbage.bin') }],
    'ROJE_ERR_LIST_FORMAT',
    /junk/,
  );
  const many = Array.from({ length: 33 }, (_, i) => ({ name: `s${i}`, category: `c${i}`, path: a }));
  await rejects(many, 'ROJE_ERR_LIST_CATEGORIES', /32/);
});
