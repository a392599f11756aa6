/**
 * `roje compile` and list loading in `roje serve`, as processes running dist/ (which also covers the
 * compile worker from the built .js files): compile the shared real lists, serve them with --list and
 * --compiled, reload on SIGHUP keeping the last good lists.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { binaryProblem, type LogLine, runRoje, spawnRoje } from '../helpers/process.js';

const DATA = fileURLToPath(new URL('../../../shared/data/', import.meta.url));
const byMsg = (msg: string) => (line: LogLine) => line.msg === msg;

/** Decompresses a shared .xz list into `dir` (the data stays outside the repository). */
function unxz(relative: string, dir: string, name: string): string {
  const out = join(dir, name);
  writeFileSync(out, execFileSync('xz', ['-dc', join(DATA, relative)], { maxBuffer: 64 * 1024 * 1024 }));
  return out;
}

const problem = binaryProblem();
if (problem !== null) {
  t.fail(problem);
} else {
  t.test(
    'usage and failures: exit 2 for the command line, 1 for a list that cannot be compiled',
    async (t) => {
      const dir = t.testdir({ 'a.txt': 'one.example\n' });
      let r = await runRoje(['compile', '--list', `adult=${join(dir, 'a.txt')}`]);
      t.equal(r.code, 2);
      t.match(r.stderr, /roje compile: --out FILE is missing\nUsage: roje compile/);
      r = await runRoje(['compile', '--out', join(dir, 'x.roje')]);
      t.equal(r.code, 2);
      t.match(r.stderr, /no lists: give --list CATEGORY=PATH, --squidguard DIR or --config FILE/);
      r = await runRoje(['compile', '--list', 'adult', '--out', join(dir, 'x.roje')]);
      t.equal(r.code, 2);
      t.match(r.stderr, /--list "adult": expected CATEGORY=PATH/);
      r = await runRoje(['compile', '--lists', 'adult=a.txt', '--out', join(dir, 'x.roje')]);
      t.equal(r.code, 2);
      t.match(r.stderr, /Unknown option '--lists'/);
      r = await runRoje([
        'compile',
        '--list',
        `adult=${join(dir, 'missing.txt')}`,
        '--out',
        join(dir, 'x.roje'),
      ]);
      t.equal(r.code, 1);
      t.match(r.stderr, /roje compile: list "missing" \(.*missing\.txt\) cannot be read/);
      t.notOk(existsSync(join(dir, 'x.roje')), 'nothing written');
    },
  );

  const haveData = existsSync(join(DATA, 'adult/hagezi-nsfw.adblock.txt.xz'));
  t.test(
    'compile the shared adult lists, then serve them',
    { skip: haveData ? false : `${DATA} is absent` },
    async (t) => {
      const dir = t.testdir({});
      const nsfw = unxz('adult/hagezi-nsfw.adblock.txt.xz', dir, 'hagezi-nsfw.txt');
      const sinf = unxz('adult/sinfonietta.pornography-hosts.xz', dir, 'sinfonietta.hosts');
      const gambling = unxz('categories/sinfonietta.gambling-hosts.xz', dir, 'gambling.hosts');
      const out = join(dir, 'lists.roje');
      const args = [
        'compile',
        '--list',
        `adult=${nsfw}`,
        '--list',
        `adult=${sinf}`,
        '--list',
        `gambling=${gambling}`,
      ];

      const text = await runRoje([...args, '--out', out], { timeoutMs: 60_000 });
      t.equal(text.code, 0, text.stderr);
      t.match(
        text.stdout,
        /^hagezi-nsfw {2}\(adult, adblock\) {2}\S+hagezi-nsfw\.txt\n {2}93469 rules from \d+ lines, 0 skipped/m,
      );
      t.match(text.stdout, /^sinfonietta {2}\(adult, hosts\)/m);
      t.match(
        text.stdout,
        /skipped: not-a-name 5\n {4}line 111 \(not-a-name\): "0\.0\.0\.0 85\.17\.187\.83"/,
      );
      t.match(text.stdout, /^total: \d+ entries from 3 sources in 2 categories \(adult, gambling\)$/m);
      t.match(text.stdout, /^wrote .*lists\.roje: [\d.]+ MiB, version [0-9a-f]{64}, \d+ ms$/m);

      const json = await runRoje([...args, '--out', out, '--format', 'json'], { timeoutMs: 60_000 });
      t.equal(json.code, 0, json.stderr);
      const report = JSON.parse(json.stdout) as {
        out: string;
        version: string;
        entries: number;
        artifactBytes: number;
        categories: string[];
        sources: Array<{
          name: string;
          rules: number;
          skipped: Record<string, number>;
          sha256: string;
          path: string;
        }>;
      };
      t.equal(report.out, out);
      t.same(report.categories, ['adult', 'gambling']);
      t.same(
        report.sources.map((s) => s.name),
        ['hagezi-nsfw', 'sinfonietta', 'gambling'],
      );
      t.equal(report.sources[0].rules, 93469);
      t.same(report.sources[1].skipped, { 'not-a-name': 5 });
      t.equal(report.sources[1].rules, 61182);
      t.equal(
        report.entries,
        report.sources.reduce((n, s) => n + s.rules, 0),
      );
      for (const s of report.sources) {
        t.equal(
          s.sha256,
          createHash('sha256').update(readFileSync(s.path)).digest('hex'),
          `${s.name} sha256`,
        );
      }
      t.equal(readFileSync(out).length, report.artifactBytes);

      // --compiled: loaded, not compiled.
      const served = spawnRoje(
        ['serve', '--listen', '127.0.0.1:0', '--upstream', 'udp://127.0.0.1:9', '--compiled', out],
        {
          t,
        },
      );
      const { line } = await served.ready(30_000);
      t.same(line.lists, {
        from: 'compiled',
        sources: ['hagezi-nsfw', 'sinfonietta', 'gambling'],
        categories: ['adult', 'gambling'],
        entries: report.entries,
        version: report.version.slice(0, 16),
      });
      served.kill('SIGTERM');
      t.equal((await served.waitForExit()).code, 0);

      // --list: compiled at start, in the worker (the list is far above the in-thread limit).
      const listed = spawnRoje(
        ['serve', '--listen', '127.0.0.1:0', '--upstream', 'udp://127.0.0.1:9', '--list', `adult=${nsfw}`],
        {
          t,
        },
      );
      const ready = await listed.ready(60_000);
      t.same(ready.line.lists, {
        from: 'lists',
        sources: ['hagezi-nsfw'],
        categories: ['adult'],
        entries: 93469,
        version: (ready.line.lists as { version: string }).version,
      });
      const loaded = await listed.waitForLog(byMsg('lists loaded'));
      t.same(loaded.sources, ['hagezi-nsfw (adult, adblock, 93469 rules, 0 skipped)']);
      listed.kill('SIGTERM');
      t.equal((await listed.waitForExit()).code, 0);
    },
  );

  t.test(
    'squidGuard tree: one source per category folder',
    { skip: haveData ? false : `${DATA} is absent` },
    async (t) => {
      const dir = t.testdir({});
      execFileSync('tar', ['-xJf', join(DATA, 'categories/ut1-blacklists-subset.tar.xz'), '-C', dir]);
      const out = join(dir, 'ut1.roje');
      const tree = join(dir, 'ut1-blacklists');
      const r = await runRoje(
        [
          'compile',
          '--squidguard',
          tree,
          '--category',
          'gambling',
          '--category',
          'drugs',
          '--out',
          out,
          '--format',
          'json',
        ],
        { timeoutMs: 60_000 },
      );
      t.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout) as {
        categories: string[];
        sources: Array<{ name: string; format: string; rules: number }>;
      };
      t.same(report.categories, ['drogue', 'gambling'], '"drugs" is an alias (a link) of "drogue"');
      t.same(
        report.sources.map((s) => [s.name, s.format, s.rules]),
        [
          ['ut1-blacklists-drogue', 'squidguard', 436],
          ['ut1-blacklists-gambling', 'squidguard', 32233],
        ],
      );
      const bad = await runRoje(['compile', '--squidguard', tree, '--category', 'nope', '--out', out]);
      t.equal(bad.code, 2);
      t.match(bad.stderr, /no category folder "nope"/);
    },
  );

  t.test('squidGuard tree without --category: every block folder, allow lists left out', async (t) => {
    const dir = t.testdir({
      tree: {
        global_usage: 'NAME: adult\nDEFAULT_TYPE: black\n\nNAME:\tchild\nDEFAULT_TYPE: white\n',
        adult: { domains: 'porn.example\n' },
        child: { domains: 'kids.example\n' },
        gambling: { domains: 'bet.example\n' },
      },
    });
    const out = join(dir, 'tree.roje');
    const r = await runRoje(['compile', '--squidguard', join(dir, 'tree'), '--out', out, '--format', 'json']);
    t.equal(r.code, 0, r.stderr);
    t.same((JSON.parse(r.stdout) as { categories: string[] }).categories, ['adult', 'gambling']);
    t.match(r.stderr, /skipping 1 folders its catalogue marks as allow lists \(child\)/);
    const named = await runRoje([
      'compile',
      '--squidguard',
      join(dir, 'tree'),
      '--category',
      'child',
      '--out',
      out,
    ]);
    t.equal(named.code, 0, named.stderr);
    t.notMatch(named.stderr, /skipping/, 'named with --category: compiled');
  });

  t.test('SIGHUP: lists recompiled; an unreadable list keeps the last good ones', async (t) => {
    const dir = t.testdir({ 'adult.txt': 'one.example\ntwo.example\n' });
    const list = join(dir, 'adult.txt');
    const file = join(dir, 'roje.yaml');
    writeFileSync(
      file,
      `listen: ["127.0.0.1:0"]\nupstreams: ["udp://127.0.0.1:9"]\nlists:\n  - { category: adult, path: adult.txt }\n`,
    );
    const roje = spawnRoje(['serve', '--config', file], { t });
    const { line } = await roje.ready();
    t.same((line.lists as { sources: string[]; entries: number }).sources, ['adult']);
    t.equal((line.lists as { entries: number }).entries, 2);

    renameSync(list, join(dir, 'gone.txt'));
    roje.kill('SIGHUP');
    const failed = await roje.waitForLog(byMsg('lists reload failed; keeping the last good lists'));
    t.equal(failed.level, 'error');
    t.equal(failed.code, 'ROJE_ERR_LIST_READ');
    t.match(failed.err, /adult\.txt\) cannot be read/);
    t.ok(
      String(failed.version).startsWith((line.lists as { version: string }).version),
      'the running version is named',
    );
    await roje.waitForLog(byMsg('config reloaded'));

    writeFileSync(list, 'one.example\ntwo.example\nthree.example\n');
    roje.kill('SIGHUP');
    const reloaded = await roje.waitForLog(byMsg('lists reloaded'));
    t.equal(reloaded.entries, 3);
    roje.kill('SIGTERM');
    t.equal((await roje.waitForExit()).code, 0);
  });

  t.test(
    'serve with `lists: []` warns that it is not filtering; a missing list stops the start',
    async (t) => {
      const dir = t.testdir({
        'none.yaml': 'listen: ["127.0.0.1:0"]\nupstreams: ["udp://127.0.0.1:9"]\nlists: []\n',
        'missing.yaml':
          'listen: ["127.0.0.1:0"]\nupstreams: ["udp://127.0.0.1:9"]\nlists: [{ category: adult, path: nope.txt }]\n',
      });
      const roje = spawnRoje(['serve', '--config', join(dir, 'none.yaml')], { t });
      const { line } = await roje.ready();
      t.same(line.lists, {
        from: 'none',
        sources: [],
        categories: [],
        entries: 0,
        version: (line.lists as { version: string }).version,
      });
      const warning = await roje.waitForLog(byMsg('no lists: not filtering'));
      t.equal(warning.level, 'warn');
      roje.kill('SIGTERM');
      await roje.waitForExit();

      const r = await runRoje(['serve', '--config', join(dir, 'missing.yaml')]);
      t.equal(r.code, 1);
      t.match(r.stderr, /roje: list "nope" \(.*nope\.txt\) cannot be read/);
    },
  );
}
