/**
 * The lists version is a hash of what decides answers: the same files give the same version on every
 * compile, in `roje compile`, status and the policy.roje CH TXT string; a reload or refresh that changes
 * nothing swaps nothing and writes no list history row; a config-only reload does not compile.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { hashToken } from '../../src/admin/auth.js';
import { adminClient } from '../helpers/admin-client.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { startRoje, udpUrl } from '../helpers/roje.js';

const run = promisify(execFile);
const TOKEN = 'roje_lists-version-test-token';

const fake = await startFakeUpstream({ apexes: ['example.test'] });
t.teardown(() => fake.close());

t.test('one version per content; unchanged reloads swap nothing and add no history row', async (t) => {
  const dir = t.testdir({ 'adult.txt': 'one.adult.test\ntwo.adult.test\n' });
  const file = join(dir, 'adult.txt');
  const raw = {
    upstreams: [udpUrl(fake)],
    stateDir: join(dir, 'state'),
    lists: [{ category: 'adult', path: file }],
    admin: { listen: '127.0.0.1:0', tokens: [{ name: 'aud', role: 'admin', sha256: hashToken(TOKEN) }] },
  };
  const roje = await startRoje(raw, { t });
  const api = adminClient(roje, TOKEN);
  const version = async () => ((await api.get('/api/v1/status')).json.lists as { version: string }).version;
  const history = async () => {
    const month = new Date().toISOString().slice(0, 7);
    const r = await api.get(`/api/v1/reports/transparency?month=${month}&format=json`);
    t.equal(r.status, 200);
    return r.json.listUpdates as Array<{ version: string; reason: string }>;
  };
  const v1 = await version();
  t.match(v1, /^[0-9a-f]{16}/);
  t.equal((await history()).length, 1, 'the first load is in the history');

  // The same files, compiled by `roje compile` from another directory: the same version.
  const elsewhere = join(dir, 'elsewhere');
  mkdirSync(elsewhere);
  copyFileSync(file, join(elsewhere, 'adult.txt'));
  const main = join(process.cwd(), 'dist/main.js');
  const compiled = await run(process.execPath, [
    main,
    'compile',
    '--list',
    `adult=${join(elsewhere, 'adult.txt')}`,
    '--out',
    join(elsewhere, 'lists.rojebl'),
    '--format',
    'json',
  ]);
  const out = JSON.parse(compiled.stdout) as { version: string };
  t.equal(out.version.slice(0, 16), v1.slice(0, 16), 'roje compile gives the version in force');

  // Two reloads and a refresh of unchanged files, and a config-only reload: nothing swapped.
  await roje.app.reload(roje.config);
  await roje.app.reload(await roje.configFor({ ...raw, blockTtl: '5m' }));
  const refreshed = await api.post('/api/v1/lists/refresh');
  t.equal(refreshed.status, 200);
  t.equal(await version(), v1, 'the same version');
  t.equal((await history()).length, 1, 'no history row for a change of nothing');
  t.equal(
    roje.logs.filter((l) => l.msg === 'lists unchanged: nothing to swap').length,
    3,
    'each was recognised as unchanged',
  );
  const chaos = await roje.dig(['-c', 'CH', '-t', 'TXT', 'policy.roje.']);
  t.ok(chaos.stdout.includes(`version=${v1.slice(0, 12)}`), 'policy.roje names the same version');

  // A change of content: a new version and one history row.
  writeFileSync(file, 'one.adult.test\ntwo.adult.test\nthree.adult.test\n');
  await api.post('/api/v1/lists/refresh');
  const v2 = await version();
  t.not(v2, v1);
  const rows = await history();
  t.equal(rows.length, 2);
  t.equal((await roje.dig(['three.adult.test', 'A'])).status, 'NXDOMAIN', 'the new content blocks');
});
