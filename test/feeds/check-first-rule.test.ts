/**
 * A file guard's first check stops at the first rule (feeds/store.ts checkList, firstRuleOnly) and reads
 * the list in small chunks to find it: the same format and verdict as a full check, a fraction of the
 * lines parsed. openList's chunk size never changes what a list yields.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { checkList } from '../../src/feeds/store.js';
import { openList } from '../../src/policy/parsers/index.js';

function writeList(dir: string, name: string, lines: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

const many = (n: number, line: (i: number) => string) => Array.from({ length: n }, (_, i) => line(i));

t.test('firstRuleOnly: the format of the full check, partial counts, far fewer rules read', async (t) => {
  const dir = t.testdir({});
  for (const [file, lines, format] of [
    ['plain.txt', many(40_000, (i) => `host-${i}.example.test`), 'domains'],
    ['hosts.txt', ['# a hosts file', ...many(40_000, (i) => `0.0.0.0 host-${i}.example.test`)], 'hosts'],
    ['adblock.txt', ['! adblock', ...many(40_000, (i) => `||host-${i}.example.test^`)], 'adblock'],
  ] as const) {
    const path = writeList(dir, file, [...lines]);
    const source = { name: 'x', category: 'adult' };
    const full = await checkList(source, path, file);
    const first = await checkList(source, path, file, undefined, { firstRuleOnly: true });
    t.equal(full.format, format, `${file}: detected`);
    t.equal(first.format, full.format, `${file}: the same format`);
    t.equal(full.complete, true);
    t.equal(first.complete, false, `${file}: stopped early`);
    t.equal(full.rules, 40_000);
    t.ok(first.rules > 0 && first.rules < 2_000, `${file}: ${first.rules} rules read to find the first`);
  }
});

t.test('firstRuleOnly still refuses a list that yields nothing', async (t) => {
  const path = writeList(
    t.testdir({}),
    'empty.txt',
    many(5_000, (i) => `# comment ${i}`),
  );
  await t.rejects(
    checkList({ name: 'x', category: 'adult', format: 'domains' }, path, 'empty.txt', undefined, {
      firstRuleOnly: true,
    }),
    { code: 'ROJE_ERR_FEED_INVALID' },
  );
});

t.test('openList: any chunk size gives the same rules, lines cut across chunks included', async (t) => {
  const lines = many(3_000, (i) =>
    i % 100 === 0 ? `${'a'.repeat(50)}-${i}.example.test` : `h${i}.example.test`,
  );
  const path = writeList(t.testdir({}), 'list.txt', lines);
  const read = async (chunkBytes?: number) => {
    const opened = await openList(
      { name: 'x', category: 'adult', path },
      chunkBytes === undefined ? {} : { chunkBytes },
    );
    const names: string[] = [];
    for await (const rule of opened.rules) names.push(rule.name);
    return { names, sha256: opened.sha256() };
  };
  const whole = await read();
  t.equal(whole.names.length, 3_000);
  for (const size of [7, 64, 1024]) t.same(await read(size), whole, `chunks of ${size} bytes`);
});
