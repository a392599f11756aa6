import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import { openList, readSquidGuardTree, skippedTotal } from '../../../src/policy/parsers/index.js';
import type { ListFormat, ListRule, ParseStats } from '../../../src/policy/types.js';

const DATA = fileURLToPath(new URL('../../../../shared/data/', import.meta.url));

interface Expected {
  file: string;
  format: ListFormat;
  lines: number;
  rules: number;
  skipped: ParseStats['skipped'];
  notes?: ParseStats['notes'];
}

// Measured on the files of /work/shared/data (README there: entry counts per list).
const LISTS: Expected[] = [
  { file: 'adult/hagezi-nsfw.adblock.txt.xz', format: 'adblock', lines: 93482, rules: 93469, skipped: {} },
  {
    // 61,186 entries: 61,182 names and 5 IPv4 addresses listed as names (one name is listed twice).
    file: 'adult/sinfonietta.pornography-hosts.xz',
    format: 'hosts',
    lines: 61188,
    rules: 61182,
    skipped: { 'not-a-name': 5 },
  },
  { file: 'adult/clefspeare13-pornhosts.hosts.xz', format: 'hosts', lines: 16968, rules: 16932, skipped: {} },
  { file: 'adult/tiuxo.porn.hosts.xz', format: 'hosts', lines: 369, rules: 369, skipped: {} },
  {
    file: 'categories/hagezi-gambling.adblock.txt.xz',
    format: 'adblock',
    lines: 196776,
    rules: 196763,
    skipped: {},
  },
  {
    file: 'categories/sinfonietta.gambling-hosts.xz',
    format: 'hosts',
    lines: 2642,
    rules: 2642,
    skipped: {},
  },
  {
    file: 'categories/blocklistproject-phishing.domains.txt.xz',
    format: 'domains',
    lines: 190228,
    rules: 190215,
    skipped: {},
  },
  {
    // 9,116 names to 0.0.0.0 (blocked) and 194 SafeSearch addresses (google.*, bing.com: local data).
    file: 'categories/clefspeare13-safesearch.hosts.xz',
    format: 'hosts',
    lines: 9335,
    rules: 9310,
    skipped: {},
    notes: { 'hosts-local': 194 },
  },
  {
    // 40,764 records: each name as `name CNAME .` and `*.name CNAME .`, one subtree rule per pair.
    file: 'rpz/oisd-nsfw_small.rpz.xz',
    format: 'rpz',
    lines: 40778,
    rules: 20382,
    skipped: {},
    notes: { 'rpz-merged': 20382 },
  },
  {
    file: 'rpz/hagezi-doh.rpz.xz',
    format: 'rpz',
    lines: 6955,
    rules: 3469,
    skipped: {},
    notes: { 'rpz-merged': 3469 },
  },
  {
    file: 'rpz/hagezi-nosafesearch.rpz.xz',
    format: 'rpz',
    lines: 426,
    rules: 205,
    skipped: {},
    notes: { 'rpz-merged': 205 },
  },
];

if (!existsSync(DATA)) {
  t.plan(0, `the shared data folder ${DATA} is absent: real-list tests skipped`);
} else {
  const dir = t.testdir({});
  const plain = (file: string): string => {
    const out = join(dir, basename(file, '.xz'));
    if (!existsSync(out))
      writeFileSync(out, execFileSync('xz', ['-dc', join(DATA, file)], { maxBuffer: 64 << 20 }));
    return out;
  };

  for (const e of LISTS) {
    t.test(`${e.file}: detected as ${e.format}, counted exactly`, async (t) => {
      const path = plain(e.file);
      const list = await openList({ name: basename(path), category: 'test', path });
      t.teardown(list.close);
      t.equal(list.format, e.format);
      const rules: ListRule[] = [];
      for await (const r of list.rules) rules.push(r);
      t.equal(rules.length, e.rules);
      t.equal(list.stats.rules, e.rules);
      t.equal(list.stats.lines, e.lines);
      t.same(list.stats.skipped, e.skipped);
      t.same(list.stats.notes, e.notes ?? {});
      const bytes = readFileSync(path);
      t.equal(list.bytes(), bytes.length);
      t.equal(list.sha256(), createHash('sha256').update(bytes).digest('hex'));
      // Line numbers point at the line the rule came from.
      const text = bytes.toString('utf8').split('\n');
      for (const r of [rules[0], rules[Math.floor(rules.length / 2)], rules[rules.length - 1]]) {
        const line = text[r.line - 1].toLowerCase();
        t.ok(line.includes(r.name), `line ${r.line} "${line}" holds ${r.name}`);
      }
    });
  }

  t.test('hagezi nsfw: the rules themselves', async (t) => {
    const list = await openList({
      name: 'hagezi',
      category: 'adult',
      path: plain(LISTS[0].file),
      format: 'adblock',
    });
    const rules: ListRule[] = [];
    for await (const batch of list.batches) rules.push(...batch);
    t.same(rules[0], { name: '001260.xyz', scope: 'subtree', action: 'block', line: 14 });
    t.ok(rules.every((r) => r.scope === 'subtree' && r.action === 'block'));
    t.equal(new Set(rules.map((r) => r.name)).size, 93469, 'no name lost or doubled');
  });

  t.test('oisd rpz: pairs read as subtree nxdomain rules', async (t) => {
    const list = await openList({
      name: 'oisd',
      category: 'adult',
      path: plain('rpz/oisd-nsfw_small.rpz.xz'),
    });
    const rules: ListRule[] = [];
    for await (const r of list.rules) rules.push(r);
    t.same(rules[0], { name: '01tube.com', scope: 'subtree', action: 'nxdomain', line: 15 });
    t.ok(rules.every((r) => r.scope === 'subtree' && r.action === 'nxdomain'));
  });

  t.test('safesearch hosts: google.* become local data, not blocks', async (t) => {
    const list = await openList({ name: 'ss', category: 'safesearch', path: plain(LISTS[7].file) });
    const local: ListRule[] = [];
    for await (const r of list.rules) if (r.action === 'local') local.push(r);
    const google = local.find((r) => r.name === 'google.com');
    t.same(google?.local, [{ type: 'A', data: '216.239.38.120' }]);
    t.equal(google?.scope, 'exact');
    t.same(local.find((r) => r.name === 'bing.com')?.local, [{ type: 'A', data: '204.79.197.220' }]);
  });

  t.test('a gzip file is read the same, hashed as stored', async (t) => {
    const path = plain(LISTS[3].file);
    const gz = join(dir, 'tiuxo.gz');
    const packed = gzipSync(readFileSync(path));
    writeFileSync(gz, packed);
    const list = await openList({ name: 'tiuxo', category: 'adult', path: gz });
    t.equal(list.format, 'hosts');
    let n = 0;
    for await (const _ of list.rules) n++;
    t.equal(n, 369);
    t.equal(list.sha256(), createHash('sha256').update(packed).digest('hex'));
    t.equal(list.bytes(), packed.length);
  });

  t.test('squidGuard tree (UT1 subset)', async (t) => {
    const tree = t.testdir({});
    execFileSync('tar', ['-xJf', join(DATA, 'categories/ut1-blacklists-subset.tar.xz'), '-C', tree]);
    // The checkout's root: categories are found in its blacklists/ folder.
    const categories = await readSquidGuardTree(join(tree, 'ut1-blacklists'));
    const byName = new Map(categories.map((c) => [c.category, c]));
    t.same(byName.get('agressif')?.aliases, ['aggressive', 'violence']);
    t.same(byName.get('drogue')?.aliases, ['drugs']);
    t.notOk(byName.has('aggressive'), 'an alias is not a category of its own');
    t.notOk(byName.has('adult'), 'adult has urls and expressions only in this subset');
    // global_usage marks the allow lists: a compile of the whole tree leaves them out.
    t.equal(byName.get('child')?.usage, 'white');
    t.equal(byName.get('sexual_education')?.usage, 'white');
    t.equal(byName.get('gambling')?.usage, 'black');
    t.same(
      categories.map((c) => c.category),
      [...categories.map((c) => c.category)].sort(),
    );
    const counts: Record<string, [number, ParseStats['skipped']]> = {};
    for (const name of ['gambling', 'redirector', 'dating', 'vpn', 'doh', 'drogue', 'agressif', 'child']) {
      const c = byName.get(name);
      if (c === undefined) {
        t.fail(`category ${name} missing`);
        continue;
      }
      const list = await openList({ name, category: name, path: c.path, format: 'squidguard' });
      t.equal(list.format, 'squidguard');
      for await (const _ of list.batches);
      counts[name] = [list.stats.rules, list.stats.skipped];
      // README: gambling 32,247; redirector 132,323; dating 6,504; vpn 6,039; doh 3,015; drogue 603;
      // agressif 360; child 75 entries. The rest are IPv4 addresses (not-a-name).
      t.equal(
        list.stats.rules + skippedTotal(list.stats),
        list.stats.lines,
        `${name}: every line a rule or a skip`,
      );
    }
    t.same(counts, {
      gambling: [32233, { 'not-a-name': 14 }],
      redirector: [109793, { 'not-a-name': 22530 }],
      dating: counts.dating,
      vpn: counts.vpn,
      doh: [2996, { 'not-a-name': 19 }],
      drogue: counts.drogue,
      agressif: counts.agressif,
      child: [75, {}],
    });
    // Content detection answers domains for a squidGuard file.
    const auto = await openList({ name: 'child', category: 'child', path: byName.get('child')!.path });
    t.teardown(auto.close);
    t.equal(auto.format, 'domains');
  });
}
