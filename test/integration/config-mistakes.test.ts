/**
 * Configuration mistakes are errors, and every config change is audited (issue #15), with `roje` as a
 * process (dist/): a policy blocking a category no list provides (`porn` for `adult`) fails
 * check-config and is refused by a SIGHUP reload while the running config keeps blocking;
 * `optionalCategories` lets such a config start with a status warning; SIGHUP and --watch-config
 * reloads, taken or refused, are in GET /api/v1/audit (who, the changed keys, the lists version before
 * and after, the error code). Every roje here listens on loopback and forwards to a fake upstream on
 * loopback.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { hashToken } from '../../src/admin/auth.js';
import { adminClient } from '../helpers/admin-client.js';
import { type FakeUpstream, startFakeUpstream } from '../helpers/fake-upstream.js';
import { binaryProblem, dig, type LogLine, runRoje, spawnRoje, until } from '../helpers/process.js';

const TOKEN = 'roje_config-mistakes-test-token';
/** Every name the fake upstream answers, with this address: a blocked one answers 0.0.0.0 instead. */
const REAL = '192.0.2.1';
const NAMES = ['adult-one', 'adult-two', 'bet', 'open'].map((n) => `${n}.example.test`);

interface AuditEntry {
  who: string;
  role: string;
  action: string;
  result: string;
  detail?: string;
  changes?: string[];
  lists?: { before: string | null; after: string | null };
  code?: string;
}

async function fakeUpstream(t: Test): Promise<FakeUpstream> {
  const up = await startFakeUpstream();
  t.teardown(() => up.close());
  for (const name of NAMES) up.zone.set(name, 'A', [{ data: REAL, ttl: 300 }]);
  return up;
}

/** A site's config: its lists (adult, gambling) and one policy blocking `block` with null answers. */
function site(dir: string, up: FakeUpstream, block: string[], extra: Record<string, unknown> = {}) {
  return {
    listen: ['127.0.0.1:0'],
    upstreams: [`udp://127.0.0.1:${up.port}`],
    admin: { listen: '127.0.0.1:0', tokens: [{ name: 'root', role: 'admin', sha256: hashToken(TOKEN) }] },
    selfTest: { enabled: false },
    lists: [
      { category: 'adult', path: join(dir, 'adult.txt') },
      { category: 'gambling', path: join(dir, 'gambling.txt') },
    ],
    policies: { default: { block, blockMode: 'null' } },
    ...extra,
  };
}

/** JSON is YAML: the file is the config as a test reads it. */
function writeConfig(file: string, config: unknown): void {
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
}

function setup(t: Test) {
  const dir = t.testdir({
    'adult.txt': 'adult-one.example.test\n',
    'gambling.txt': 'bet.example.test\n',
  });
  return { dir, file: join(dir, 'roje.yaml') };
}

/** The A answer for `name`: 0.0.0.0 when blocked, the fake upstream's address when not. */
async function answer(server: { host: string; port: number }, name: string): Promise<string[]> {
  return (await dig(server, name)).answers.filter((a) => a.type === 'A').map((a) => a.data);
}

/** The reload entries of the audit log, oldest first. */
async function reloads(admin: string): Promise<AuditEntry[]> {
  const r = await adminClient(admin, TOKEN).get('/api/v1/audit');
  if (r.status !== 200) throw new Error(`GET /api/v1/audit: ${r.status} ${r.text}`);
  return (r.json.entries as AuditEntry[]).filter((e) => e.action === 'config reload').reverse();
}

const reloadFailed = (line: LogLine) => line.msg === 'reload failed; keeping the running config';
const TYPO = ['abuse', 'porn', 'gambling'];

const problem = binaryProblem();
if (problem !== null) {
  t.fail(problem);
} else {
  t.test(
    'check-config: a category no list provides exits 2, naming the policy and the category',
    async (t) => {
      const up = await fakeUpstream(t);
      const { dir, file } = setup(t);
      writeConfig(file, site(dir, up, TYPO));
      const bad = await runRoje(['check-config', file]);
      t.equal(bad.code, 2, bad.stderr);
      t.match(bad.stderr, 'policies.default.block');
      t.match(bad.stderr, 'policy "default" blocks the category "porn", which no list provides');
      t.match(bad.stderr, 'did you mean adult?');
      t.match(bad.stderr, 'policies.default.optionalCategories');

      // The same mistake at start: serve refuses to run at all.
      const serve = await runRoje(['serve', '--config', file]);
      t.equal(serve.code, 2, serve.stderr);
      t.match(serve.stderr, 'blocks the category "porn"');

      writeConfig(file, site(dir, up, ['abuse', 'adult', 'gambling']));
      const good = await runRoje(['check-config', file]);
      t.equal(good.code, 0, good.stderr);
    },
  );

  t.test(
    'optionalCategories: the config starts, the status warns, the category blocks nothing',
    async (t) => {
      const up = await fakeUpstream(t);
      const { dir, file } = setup(t);
      const config = site(dir, up, TYPO);
      config.policies.default = { ...config.policies.default, optionalCategories: ['porn'] } as never;
      writeConfig(file, config);
      const checked = await runRoje(['check-config', file]);
      t.equal(checked.code, 0, checked.stderr);
      t.match(
        checked.stdout,
        '\n  optional   policy "default" blocks the optional category "porn", which no list provides',
      );
      const roje = spawnRoje(['serve', '--config', file], { t });
      const { line, addresses } = await roje.ready();
      const status = await adminClient(String(line.admin), TOKEN).get('/api/v1/status');
      t.equal(status.status, 200);
      t.same(
        (status.json.warnings as string[]).filter((w) => w.includes('optional category')),
        [
          'policy "default" blocks the optional category "porn", which no list provides: nothing is blocked for it',
        ],
        'one warning names the policy and the category',
      );
      t.same(await answer(addresses[0], 'bet.example.test'), ['0.0.0.0'], 'the other categories block');
      t.same(await answer(addresses[0], 'open.example.test'), [REAL]);
      roje.kill('SIGTERM');
      t.equal((await roje.waitForExit()).code, 0);
    },
  );

  t.test(
    'SIGHUP: a reload is audited; a typo is refused and audited, the old config keeps blocking',
    async (t) => {
      const up = await fakeUpstream(t);
      const { dir, file } = setup(t);
      writeConfig(file, site(dir, up, ['abuse', 'adult', 'gambling']));
      const roje = spawnRoje(['serve', '--config', file], { t });
      const { line, addresses } = await roje.ready();
      const [server] = addresses;
      const admin = String(line.admin);
      const started = (line.lists as { version: string }).version;
      t.same(await answer(server, 'adult-one.example.test'), ['0.0.0.0'], 'blocked from the start');
      t.same(await answer(server, 'adult-two.example.test'), [REAL], 'not listed yet');
      t.same(await reloads(admin), [], 'starting is not a reload');

      // A good reload: one more listed name, a changed key.
      writeFileSync(join(dir, 'adult.txt'), 'adult-one.example.test\nadult-two.example.test\n');
      writeConfig(file, site(dir, up, ['abuse', 'adult', 'gambling'], { blockTtl: '30s' }));
      roje.kill('SIGHUP');
      await roje.waitForLog((l) => l.msg === 'config reloaded');
      const [taken] = await reloads(admin);
      t.match(taken, { who: 'signal', role: 'system', result: 'ok', changes: ['blockTtl'] });
      t.equal(taken.lists?.before, started, 'the lists version before is the one the ready line showed');
      t.match(taken.lists?.after, /^[0-9a-f]{16}$/);
      t.not(taken.lists?.after, taken.lists?.before, 'a list changed: a new version');
      t.notOk('code' in taken);
      t.same(await answer(server, 'adult-two.example.test'), ['0.0.0.0'], 'the new list blocks');

      // The typo: refused, audited with its code, and the running config keeps blocking adult.
      writeConfig(file, site(dir, up, TYPO, { blockTtl: '30s' }));
      roje.kill('SIGHUP');
      const failed = await roje.waitForLog(reloadFailed);
      t.match(
        failed.err,
        /policy "default" blocks the category "porn", which no list provides.*did you mean adult\?/,
      );
      const [, refused] = await reloads(admin);
      t.match(refused, {
        who: 'signal',
        result: 'failed',
        code: 'ROJE_ERR_CONFIG_CATEGORY_MISSING',
        detail: /^refused, the running config stays: .*"porn"/,
        lists: { before: taken.lists?.after, after: taken.lists?.after },
      });
      for (const name of ['adult-one.example.test', 'adult-two.example.test', 'bet.example.test']) {
        t.same(await answer(server, name), ['0.0.0.0'], `${name} still blocked`);
      }
      t.same(await answer(server, 'open.example.test'), [REAL]);
      t.equal(up.queriesFor('adult-one.example.test'), 0, 'a blocked name never reached the upstream');

      roje.kill('SIGTERM');
      t.equal((await roje.waitForExit()).code, 0);
    },
  );

  t.test(
    '--watch-config: a saved file reloads as who=file, a typo saved is refused as who=file',
    async (t) => {
      const up = await fakeUpstream(t);
      const { dir, file } = setup(t);
      writeConfig(file, site(dir, up, ['abuse', 'adult', 'gambling']));
      const roje = spawnRoje(['serve', '--config', file, '--watch-config'], { t });
      const { line, addresses } = await roje.ready();
      const [server] = addresses;
      const admin = String(line.admin);
      t.equal(line.watchConfig, true);

      writeConfig(file, site(dir, up, ['abuse', 'adult', 'gambling'], { blockTtl: '45s' }));
      await until(() => roje.logs().some((l) => l.msg === 'config reloaded'), 10_000, 'the file reload');
      const [taken] = await reloads(admin);
      t.match(taken, { who: 'file', result: 'ok', changes: ['blockTtl'] });
      t.equal(taken.lists?.before, taken.lists?.after, 'no list changed: the same version');
      const blocked = await dig(server, 'adult-one.example.test');
      t.same(
        blocked.answers.map((a) => [a.data, a.ttl]),
        [['0.0.0.0', 45]],
        'the new blockTtl is in force',
      );

      // Saved the way editors do: a new file renamed over the old one.
      const temp = join(dir, '.roje.yaml.swp');
      writeConfig(temp, site(dir, up, TYPO, { blockTtl: '45s' }));
      renameSync(temp, file);
      const failed = await roje.waitForLog(reloadFailed, 10_000);
      t.equal(failed.who, 'file');
      const entries = await reloads(admin);
      t.equal(entries.length, 2, 'one entry per change, the editor swap file aside');
      t.match(entries[1], { who: 'file', result: 'failed', code: 'ROJE_ERR_CONFIG_CATEGORY_MISSING' });
      t.same(await answer(server, 'adult-one.example.test'), ['0.0.0.0'], 'the old config keeps blocking');

      roje.kill('SIGTERM');
      t.equal((await roje.waitForExit()).code, 0);
    },
  );

  t.test('--watch-config needs a config file', async (t) => {
    const r = await runRoje(['serve', '--watch-config', '--upstream', 'udp://127.0.0.1:9']);
    t.equal(r.code, 2);
    t.match(r.stderr, '--watch-config needs --config FILE');
  });
}
