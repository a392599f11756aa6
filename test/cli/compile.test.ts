import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { compile } from '../../src/cli/compile.js';
import { readArtifact } from '../../src/policy/compiled/index.js';
import { capture } from '../helpers/io.js';

// In-process: usage errors, and one compile of a config's lists (through the worker, under tap's
// TypeScript loader). The real lists and dist/ are covered by test/integration/cli-compile.test.ts.

t.test('usage errors exit 2 and print the usage line', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['--list', 'adult=a.txt'], /--out FILE is missing/],
    [['--out', 'x.roje'], /no lists/],
    [
      ['--list', 'adult=a.txt', '--out', 'x.roje', '--format', 'yaml'],
      /--format "yaml": expected json or text/,
    ],
    [['--category', 'adult', '--list', 'adult=a.txt', '--out', 'x.roje'], /--category picks folders/],
    [['--frobnicate'], /Unknown option/],
  ];
  for (const [argv, pattern] of cases) {
    const c = capture();
    t.equal(await compile(argv, c.io), 2, JSON.stringify(argv));
    t.match(c.err(), pattern);
    t.match(c.err(), /\nUsage: roje compile /);
    t.equal(c.out(), '');
  }
});

t.test(
  "--config: compiles the config file's lists (no resolv.conf needed), written atomically",
  async (t) => {
    const dir = t.testdir({
      'adult.hosts': '0.0.0.0 one.example\n0.0.0.0 two.example\n',
      'gambling.txt': '||bet.example^\n@@||ok.bet.example^\n',
      'roje.yaml': [
        'resolvConf: /nonexistent/resolv.conf',
        'lists:',
        '  - { category: adult, path: adult.hosts }',
        '  - { category: gambling, path: gambling.txt, name: bets, format: adblock }',
      ].join('\n'),
      'compiled.yaml': 'upstreams: [udp://127.0.0.1:53]\ncompiled: x.roje\n',
    });
    const out = join(dir, 'out', '..', 'lists.roje');
    const c = capture();
    t.equal(await compile(['--config', join(dir, 'roje.yaml'), '--out', out], c.io), 0, c.err());
    t.match(c.out(), /^adult {2}\(adult, hosts\) {2}.*adult\.hosts\n {2}2 rules from 2 lines, 0 skipped/);
    t.match(c.out(), /^bets {2}\(gambling, adblock\)/m);
    t.match(c.out(), /^total: 4 entries from 2 sources in 2 categories \(adult, gambling\)$/m);
    const lists = await readArtifact(join(dir, 'lists.roje'));
    t.same(
      lists.sources.map((s) => [s.name, s.category, s.format, s.entries]),
      [
        ['adult', 'adult', 'hosts', 2],
        ['bets', 'gambling', 'adblock', 2],
      ],
    );
    t.equal(lists.lookup('www.bet.example').blocked, 2);
    t.equal(lists.lookup('ok.bet.example').blocked, 0);
    t.match(c.out(), `version ${lists.version}`);

    const bad = capture();
    t.equal(await compile(['--config', join(dir, 'compiled.yaml'), '--out', join(dir, 'y.roje')], bad.io), 2);
    t.match(bad.err(), /no `lists` to compile \(it names a compiled artifact/);
    t.notOk(existsSync(join(dir, 'y.roje')));
  },
);
