import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import { MAX_LINE_LENGTH, openList } from '../../../src/policy/parsers/index.js';
import type { ListRule, ListSource } from '../../../src/policy/types.js';

async function all(source: ListSource): Promise<{ rules: ListRule[]; format: string }> {
  const list = await openList(source);
  const rules: ListRule[] = [];
  for await (const r of list.rules) rules.push(r);
  return { rules, format: list.format };
}

const src = (path: string, format?: ListSource['format']): ListSource => ({
  name: 'src',
  category: 'adult',
  path,
  format,
});

t.test('read errors name the source, the path and the system reason', async (t) => {
  const dir = t.testdir({ folder: {} });
  const missing = join(dir, 'missing.txt');
  await t.rejects(openList(src(missing)), {
    code: 'ROJE_ERR_LIST_READ',
    message: `list "src" (${missing}) cannot be read: no such file (ENOENT)`,
  });
  await t.rejects(openList(src(join(dir, 'folder'), 'domains')), {
    code: 'ROJE_ERR_LIST_READ',
    message: /cannot be read: not a regular file/,
  });
});

t.test('format errors say what was tried and how to name one', async (t) => {
  const dir = t.testdir({
    'prose.txt': 'Dear reader,\nthis is not a list at all.\nRegards\n',
    'empty.txt': '',
    'comments.txt': '# only\n# comments\n',
    'ok.txt': 'a.example\n',
  });
  await t.rejects(openList(src(join(dir, 'prose.txt'))), {
    code: 'ROJE_ERR_LIST_FORMAT',
    message:
      /cannot detect its format .*tried hosts, domains, adblock, rpz.*no format fits.*name the format of the source \(hosts, domains, adblock, rpz, squidguard\)/,
  });
  await t.rejects(openList(src(join(dir, 'empty.txt'))), {
    code: 'ROJE_ERR_LIST_FORMAT',
    message: /the file is empty/,
  });
  await t.rejects(openList(src(join(dir, 'comments.txt'))), { code: 'ROJE_ERR_LIST_FORMAT' });
  await t.rejects(openList(src(join(dir, 'ok.txt'), 'csv' as never)), {
    code: 'ROJE_ERR_LIST_FORMAT',
    message: /unknown format "csv": expected one of hosts, domains, adblock, rpz, squidguard or auto/,
  });
  // A named format needs no detection: an empty file is an empty list.
  const empty = await openList(src(join(dir, 'empty.txt'), 'domains'));
  for await (const _ of empty.rules) t.fail('no rules');
  t.equal(empty.stats.lines, 0);
  t.equal(empty.sha256(), createHash('sha256').digest('hex'));
});

t.test('lines: CRLF, a BOM, no final newline; detection replays the buffered lines', async (t) => {
  const text = '\ufeff# header\r\n0.0.0.0 a.example\r\n\r\n0.0.0.0 b.example';
  const dir = t.testdir({ 'crlf.hosts': text });
  const list = await openList(src(join(dir, 'crlf.hosts')));
  t.equal(list.format, 'hosts');
  const rules: ListRule[] = [];
  for await (const r of list.rules) rules.push(r);
  t.same(
    rules.map((r) => [r.name, r.line]),
    [
      ['a.example', 2],
      ['b.example', 4],
    ],
  );
  t.equal(list.stats.lines, 4);
  t.equal(list.bytes(), Buffer.byteLength(text));
  t.equal(list.sha256(), createHash('sha256').update(text).digest('hex'));
});

t.test('many lines across chunks and past the detection buffer keep their numbers', async (t) => {
  const n = 120_000; // 1.4 MB: several read chunks
  const names = Array.from({ length: n }, (_, i) => `n${i}.example`);
  const dir = t.testdir({ 'big.txt': `# big\n${names.join('\n')}\n` });
  const { rules, format } = await all(src(join(dir, 'big.txt')));
  t.equal(format, 'domains');
  t.equal(rules.length, n);
  t.same(rules[0], { name: 'n0.example', scope: 'subtree', action: 'block', line: 2 });
  t.same(rules[n - 1], { name: `n${n - 1}.example`, scope: 'subtree', action: 'block', line: n + 1 });
  let ordered = true;
  for (let i = 0; i < n && ordered; i++) ordered = rules[i].line === i + 2;
  t.ok(ordered, 'every rule on its line, in order');
});

t.test('gzip: detected by its magic bytes; a corrupt one is a read error', async (t) => {
  const body = '||a.example^\n||b.example^\n';
  const packed = gzipSync(body);
  const bad = Buffer.concat([packed.subarray(0, 12), Buffer.from('not gzip at all, really not')]);
  const dir = t.testdir({ 'list.txt': packed, 'bad.gz': bad });
  const { rules, format } = await all(src(join(dir, 'list.txt')));
  t.equal(format, 'adblock');
  t.same(
    rules.map((r) => r.name),
    ['a.example', 'b.example'],
  );
  await t.rejects(all(src(join(dir, 'bad.gz'), 'adblock')), {
    code: 'ROJE_ERR_LIST_READ',
    message: /list "src" \(.*bad\.gz\) is not valid gzip after line 0/,
  });
});

t.test('a line longer than MAX_LINE_LENGTH is a read error, not a memory hog', async (t) => {
  const dir = t.testdir({ 'long.txt': `a.example\n${'x'.repeat(MAX_LINE_LENGTH * 4)}\n` });
  await t.rejects(all(src(join(dir, 'long.txt'), 'domains')), {
    code: 'ROJE_ERR_LIST_READ',
    message: /line 2 is longer than 65536 characters/,
  });
});

t.test('stopping early releases the file; close() is idempotent', async (t) => {
  const names = Array.from({ length: 100_000 }, (_, i) => `n${i}.example`).join('\n');
  const dir = t.testdir({ 'big.txt': names });
  const handles = () => process.getActiveResourcesInfo().filter((r) => r === 'FileHandle').length;
  const before = handles();
  const list = await openList(src(join(dir, 'big.txt')));
  t.throws(() => list.sha256(), /known once its rules are consumed/);
  let seen = 0;
  for await (const _ of list.rules) if (++seen === 10) break;
  t.equal(seen, 10);
  list.close();
  list.close();
  // The handle closes asynchronously.
  for (let i = 0; i < 50 && handles() > before; i++) await new Promise((r) => setTimeout(r, 10));
  t.equal(handles(), before);
  const unread = await openList(src(join(dir, 'big.txt')));
  unread.close();
  for (let i = 0; i < 50 && handles() > before; i++) await new Promise((r) => setTimeout(r, 10));
  t.equal(handles(), before, 'a list never iterated is released by close()');
});
