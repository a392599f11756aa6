/**
 * The certifier's list: every common list format read to names (comments, hosts, adblock, RPZ), errors
 * naming the file, and a seeded draw that is reproducible, without repeats and uniform.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { drawSample, nameOfLine, readSampleList } from '../../src/verify/sample-list.js';

t.test('lines of every format', async (t) => {
  t.equal(nameOfLine('Example.COM.'), 'example.com');
  t.equal(nameOfLine('0.0.0.0 adult.example'), 'adult.example', 'hosts');
  t.equal(nameOfLine('127.0.0.1\tadult.example # note'), 'adult.example');
  t.equal(nameOfLine('||adult.example^'), 'adult.example', 'adblock');
  t.equal(nameOfLine('adult.example CNAME .'), 'adult.example', 'RPZ');
  t.equal(nameOfLine('https://site.example/'), 'site.example', 'a URL: its host');
  t.equal(nameOfLine('http://page.example:8080/a/b.jpg?x=1'), 'page.example');
  t.equal(nameOfLine('page.example/gallery/1.jpg'), 'page.example', 'a URL without a scheme');
  t.equal(nameOfLine('# comment'), null);
  t.equal(nameOfLine('! adblock comment'), null);
  t.equal(nameOfLine('   '), null);
  t.equal(nameOfLine('127.0.0.1 localhost'), undefined, 'not a site');
  t.equal(nameOfLine('*.adult.example CNAME .'), undefined, 'a wildcard is not a name to ask');
  t.equal(nameOfLine('$TTL 300'), undefined);
  t.equal(nameOfLine('nodot'), undefined);
});

t.test('a file: distinct names, skipped lines, digest; errors name the file', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'list.txt');
  writeFileSync(file, '# mine\na.example\n0.0.0.0 b.example\nA.example\nnot a name!\n||c.example^\n');
  const list = await readSampleList(file);
  t.same(list.names, ['a.example', 'b.example', 'c.example']);
  t.equal(list.skipped, 1);
  t.match(list.sha256, /^[0-9a-f]{64}$/);
  const empty = join(dir, 'empty.txt');
  writeFileSync(empty, '# nothing\n\n');
  await t.rejects(readSampleList(empty), {
    code: 'ROJE_ERR_VERIFY_SAMPLE',
    message: /empty\.txt holds no domain name/,
  });
  await t.rejects(readSampleList(join(dir, 'missing.txt'), '--allow-sample '), {
    code: 'ROJE_ERR_VERIFY_SAMPLE',
    message: /--allow-sample .*missing\.txt cannot be read \(ENOENT\)/,
  });
});

t.test('the draw: seeded, distinct, the whole list when smaller, uniform', async (t) => {
  const names = Array.from({ length: 1000 }, (_, i) => `n${i}.example`);
  const a = drawSample(names, 100, 42);
  t.same(drawSample(names, 100, 42), a, 'the same seed, the same sample');
  t.not(drawSample(names, 100, 43).join(), a.join(), 'another seed, another sample');
  t.equal(new Set(a).size, 100, 'no name twice');
  t.same(
    [...drawSample(names.slice(0, 10), 100, 1)].sort(),
    names.slice(0, 10).sort(),
    'all of a small list',
  );
  // Each of 10 names drawn 3 at a time over 3,000 seeds: expected 900 each; a bias would show.
  const counts = new Map<string, number>();
  for (let seed = 0; seed < 3000; seed++) {
    for (const n of drawSample(names.slice(0, 10), 3, seed)) counts.set(n, (counts.get(n) ?? 0) + 1);
  }
  const values = [...counts.values()];
  t.equal(values.length, 10);
  t.ok(Math.min(...values) > 780 && Math.max(...values) < 1020, `counts ${values.join(' ')}`);
});
