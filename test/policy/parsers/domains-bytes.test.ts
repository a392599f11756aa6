/**
 * The domains parser's byte fast path (domains-bytes.ts) against the string path (openList + domains.ts):
 * the same rules, counts, samples and notes for every kind of line, and the same artifact.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import t, { type Test } from 'tap';
import { compileSources } from '../../../src/policy/compile.js';
import { createListBuilder } from '../../../src/policy/compiled/builder.js';
import { rememberDigest } from '../../../src/policy/lists-version.js';
import { openDomainNames } from '../../../src/policy/parsers/domains-bytes.js';
import { MAX_LINE_LENGTH, openList } from '../../../src/policy/parsers/index.js';
import type { ListRule, ListSource } from '../../../src/policy/types.js';

const src = (path: string, format?: ListSource['format']): ListSource => ({
  name: 'src',
  category: 'adult',
  path,
  ...(format !== undefined ? { format } : {}),
});

/** The string path: its rules, stats and the artifact of its rules. */
async function viaStrings(source: ListSource) {
  const opened = await openList(source);
  const rules: ListRule[] = [];
  for await (const r of opened.rules) rules.push(r);
  const builder = createListBuilder();
  const bit = builder.category('adult');
  for (const r of rules) builder.add(r, bit);
  return {
    rules: rules.map((r) => ({ name: r.name, scope: r.scope, line: r.line })),
    stats: opened.stats,
    sha256: opened.sha256(),
    artifact: builder.finish({ compiledAt: 'fixed' }),
  };
}

/** The byte path: the same, the names taken from the bytes it hands out. */
async function viaBytes(source: ListSource) {
  const opened = await openDomainNames(source);
  if (opened === null) throw new Error('expected the fast path');
  const rules: { name: string; scope: string; line: number }[] = [];
  const builder = createListBuilder();
  const bit = builder.category('adult');
  for await (const _ of opened.chunks({
    name(bytes, start, end, scope, line) {
      rules.push({
        name: Buffer.from(bytes.subarray(start, end)).toString('latin1').toLowerCase(),
        scope,
        line,
      });
      builder.addName(bytes, start, end, scope, bit, line);
    },
    rule(rule) {
      rules.push({ name: rule.name, scope: rule.scope, line: rule.line });
      builder.add(rule, bit);
    },
  })) {
  }
  return {
    rules,
    stats: opened.stats,
    sha256: opened.sha256(),
    artifact: builder.finish({ compiledAt: 'fixed' }),
  };
}

async function same(t: Test, path: string, format?: ListSource['format']) {
  const a = await viaStrings(src(path, format));
  const b = await viaBytes(src(path, format));
  t.same(b.rules, a.rules, 'the same rules, in order, with their lines');
  t.same(b.stats, a.stats, 'the same counts, samples and notes');
  t.equal(b.sha256, a.sha256, 'the same file hash');
  t.ok(b.artifact.equals(a.artifact), 'the same artifact bytes');
  return a;
}

const EDGE = [
  '\ufeffFirst.Example.COM',
  '# comment',
  '! bang',
  '',
  '   ',
  '\t',
  'a.com # trailing comment',
  'b.com\t#x',
  'a.com#nospace',
  'c.com   ',
  'D.COM.',
  'e.com..',
  '.f.com',
  '*.g.com',
  '*.H.com.',
  '*g.com',
  '*.',
  '*',
  '.',
  '..',
  'a..b',
  `${'x'.repeat(63)}.com`,
  `${'y'.repeat(64)}.com`,
  `${Array(23).fill('abcdefghij').join('.')}.com`,
  Array(25).fill('abcdefghij').join('.'),
  '1.2.3.4',
  '1.2.3.4.',
  'host.123',
  '123.host',
  '::1',
  'münchen.de',
  'xn--mnchen-3ya.de',
  'ÄÖÜ.example',
  'café.com # c',
  'bad!char.com',
  'two fields.com',
  '0.0.0.0 ads.com',
  'under_score.com',
  '-dash.com',
  '\x00nul.com',
  '\x0bvt.com\x0c',
  '  *.spaced.com  ',
  'same.com',
  'SAME.com',
  'same.com.',
  'a'.repeat(300),
  'last.example.org',
];

t.test('every kind of line: the same rules, stats and artifact as the string path', async (t) => {
  const dir = t.testdir({});
  const lf = join(dir, 'lf.txt');
  writeFileSync(lf, `${EDGE.join('\n')}\n`);
  const a = await same(t, lf, 'domains');
  t.ok(a.rules.length > 10 && a.stats.samples.length > 10, 'the file has rules and skips');
  t.ok(
    a.rules.some((r) => r.name === 'xn--mnchen-3ya.de' && r.line === 32),
    'an IDN is mapped (string path)',
  );

  const crlf = join(dir, 'crlf.txt');
  writeFileSync(crlf, EDGE.join('\r\n'));
  await same(t, crlf, 'domains');

  // No final line end, a lone CR at the end, invalid UTF-8.
  const raw = join(dir, 'raw.txt');
  writeFileSync(
    raw,
    Buffer.concat([
      Buffer.from('ok.example\n\xff\xfe.com\n', 'latin1'),
      Buffer.from('half\xe2\x82.com\nend.example\r', 'latin1'),
    ]),
  );
  await same(t, raw, 'domains');

  const auto = join(dir, 'auto.txt');
  writeFileSync(auto, `# a list\n${Array.from({ length: 300 }, (_, i) => `n${i}.Example.com`).join('\n')}\n`);
  await same(t, auto);
});

t.test('lines across chunks, and a long line carried over', async (t) => {
  const dir = t.testdir({});
  const names = Array.from({ length: 40_000 }, (_, i) =>
    i % 5 ? `N${i}.Example-${i % 97}.COM` : `*.w${i}.example.net.`,
  );
  const long = [...names];
  long.splice(20_000, 0, 'z'.repeat(MAX_LINE_LENGTH - 10));
  const file = join(dir, 'long.txt');
  writeFileSync(file, long.join('\r\n'));
  await same(t, file, 'domains');
  await same(t, file);

  // A line longer than MAX_LINE_LENGTH still open at the end of a chunk (256 KiB): the same error.
  const bad = join(dir, 'bad.txt');
  writeFileSync(
    bad,
    `${'p.example\n'.repeat(19_000)}${'q'.repeat(MAX_LINE_LENGTH + 20_000)}\nafter.example\n`,
  );
  const e1 = await viaStrings(src(bad, 'domains')).then(
    () => null,
    (e: Error) => e,
  );
  const e2 = await viaBytes(src(bad, 'domains')).then(
    () => null,
    (e: Error) => e,
  );
  t.match(e1, { code: 'ROJE_ERR_LIST_READ', message: /line 19001 is longer than/ });
  t.same(e2 && { code: (e2 as Error & { code: string }).code, message: e2.message }, {
    code: 'ROJE_ERR_LIST_READ',
    message: e1?.message,
  });
});

t.test('only an uncompressed domains list takes the fast path', async (t) => {
  const dir = t.testdir({
    'hosts.txt': '0.0.0.0 a.example\n0.0.0.0 b.example\n',
    'names.txt': 'a.example\n',
  });
  writeFileSync(join(dir, 'names.gz'), gzipSync('a.example\n'));
  t.equal(await openDomainNames(src(join(dir, 'hosts.txt'))), null, 'detected hosts');
  t.equal(await openDomainNames(src(join(dir, 'names.txt'), 'hosts')), null, 'named hosts');
  t.equal(await openDomainNames(src(join(dir, 'names.gz'), 'domains')), null, 'gzip');
  t.equal(
    await openDomainNames(src(join(dir, 'missing.txt'), 'domains')),
    null,
    'unreadable: openList says why',
  );
  const opened = await openDomainNames(src(join(dir, 'names.txt')));
  t.equal(opened?.format, 'domains');
  opened?.close();
});

t.test('compileSources reports what the string path counts', async (t) => {
  const dir = t.testdir({});
  const file = join(dir, 'list.txt');
  writeFileSync(file, `${EDGE.join('\n')}\n`);
  const expected = await viaStrings(src(file, 'domains'));
  const { report } = await compileSources([src(file, 'domains')]);
  const s = report.sources[0];
  t.equal(s.format, 'domains');
  t.equal(report.entries, expected.rules.length);
  t.equal(s.lines, expected.stats.lines);
  t.same(s.skipped, expected.stats.skipped);
  t.same(s.samples, expected.stats.samples);
  t.same(s.notes, expected.stats.notes);
  t.equal(s.sha256, expected.sha256);
});

t.test(
  "a digest remembered for the very file is taken, not computed again; a changed file's is computed",
  async (t) => {
    const dir = t.testdir({ 'copy.txt': 'a.example\nb.example\n' });
    const file = join(dir, 'copy.txt');
    const real = (await viaStrings(src(file, 'domains'))).sha256;
    // A marker no file hashes to: seen only if the remembered digest is used.
    await rememberDigest(file, 'f'.repeat(64));
    t.equal((await viaBytes(src(file, 'domains'))).sha256, 'f'.repeat(64), 'the remembered digest');
    // Another size: a rewrite within one tick of the file system's clock would keep the times.
    writeFileSync(file, 'a.example\nchanged.example\n');
    const changed = await viaBytes(src(file, 'domains'));
    t.not(changed.sha256, 'f'.repeat(64), 'the file changed: hashed as read');
    t.not(changed.sha256, real);
    t.equal(changed.sha256, (await viaStrings(src(file, 'domains'))).sha256);
  },
);
