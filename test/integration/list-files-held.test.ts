/**
 * File lists are guarded like feeds: an operator who empties a list file, or saves half of it, does not
 * switch its category off. The file is held, the last good copy stays in force (and survives a restart),
 * status and metrics say so, and the accept/reject routes decide.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { hashToken } from '../../src/admin/auth.js';
import { adminClient } from '../helpers/admin-client.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { type Roje, startRoje, udpUrl } from '../helpers/roje.js';

const TOKEN = 'roje_list-files-held-test-token';
const fake = await startFakeUpstream({ apexes: ['example.test', 'adult.example'] });
t.teardown(() => fake.close());

const names = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => `site${from + i}.adult.example`).join('\n');

/** Blocked by the lists: NXDOMAIN with EDE 15 (an upstream NXDOMAIN has no EDE). */
async function blocked(roje: Roje, name: string): Promise<boolean> {
  const r = await roje.dig([name, 'A']);
  return r.status === 'NXDOMAIN' && r.ede.some((e) => e.code === 15);
}

t.test('an emptied or halved list file is held; the category stays blocked', async (t) => {
  const dir = t.testdir({ 'adult.txt': `${names(0, 100)}\n` });
  const file = join(dir, 'adult.txt');
  const raw = {
    upstreams: [udpUrl(fake)],
    stateDir: join(dir, 'state'),
    lists: [{ name: 'adult-file', category: 'adult', path: file }],
    admin: { listen: '127.0.0.1:0', tokens: [{ name: 'ops', role: 'operator', sha256: hashToken(TOKEN) }] },
  };
  let roje = await startRoje(raw);
  t.teardown(() => roje.stop());
  const api = () => adminClient(roje, TOKEN);
  const fileStatus = async () =>
    ((await api().get('/api/v1/status')).json.files as Array<Record<string, unknown>>)[0];
  const refreshMetric = async () =>
    /roje_list_refresh_success\{source="adult-file"\} (\d)/.exec((await api().get('/metrics')).text)?.[1];
  t.ok(await blocked(roje, 'site7.adult.example'));
  const listsVersion = async () =>
    ((await api().get('/api/v1/status')).json.lists as { version: string }).version;
  const version = await listsVersion();

  // Comments only, as someone who "clears the list for now" would leave it: held on reload (SIGHUP).
  writeFileSync(file, '# cleared for now\n');
  await roje.app.reload(roje.config);
  t.ok(await blocked(roje, 'site7.adult.example'), 'the emptied file is held: still blocked');
  t.match(await fileStatus(), {
    name: 'adult-file',
    category: 'adult',
    good: { rules: 100 },
    held: { rules: 0, previousRules: 100, why: 'it yields no rule' },
  });
  t.equal(await refreshMetric(), '0', 'the metric shows the file held');
  t.ok(
    roje.logs.some((l) => l.level === 40 && String(l.msg).startsWith('list file held: it yields no rule')),
    'a warning, not an info line',
  );
  t.equal(await listsVersion(), version, 'the same lists in force');

  // Rejected: the good copy stays; the same file is held again on the next refresh.
  t.equal((await api().post('/api/v1/lists/adult-file/reject')).status, 200);
  t.equal((await fileStatus()).held, null);
  await api().post('/api/v1/lists/refresh');
  t.match(await fileStatus(), { held: { rules: 0 } }, 'held again while the file stays empty');

  // Half of it (an editor that saved a truncated file): held as well, with its share lost.
  writeFileSync(file, `${names(0, 40)}\n`);
  await api().post('/api/v1/lists/refresh');
  t.match(await fileStatus(), {
    good: { rules: 100 },
    held: { rules: 40, why: 'it lost 60 % of its rules' },
  });
  t.ok(await blocked(roje, 'site77.adult.example'), 'the 100 stay in force');

  // A restart keeps the good copy from the state folder: the held file is held again, not compiled.
  await roje.stop();
  roje = await startRoje(raw);
  t.ok(await blocked(roje, 'site77.adult.example'), 'after a restart, still the good copy');
  t.match(await fileStatus(), { held: { rules: 40 } });

  // Accepted: the 40 names are the list now.
  const accepted = await api().post('/api/v1/lists/adult-file/accept');
  t.equal(accepted.status, 200);
  t.same(accepted.json, { accepted: 'adult-file' });
  t.notOk(await blocked(roje, 'site77.adult.example'), 'accepted: 40 names now');
  t.ok(await blocked(roje, 'site7.adult.example'));
  t.equal(await refreshMetric(), '1');
  t.equal((await api().post('/api/v1/lists/adult-file/accept')).status, 404, 'nothing held any more');

  // A small edit (one name more) is no shrink: it goes in at once.
  writeFileSync(file, `${names(0, 41)}\n`);
  await api().post('/api/v1/lists/refresh');
  t.ok(await blocked(roje, 'site40.adult.example'));
  t.equal((await fileStatus()).held, null);
});

t.test('a file that blocks nothing and has no good copy stops the start', async (t) => {
  const dir = t.testdir({
    'adult.txt': '# nothing yet\n',
    'hosts.txt': '127.0.0.1 localhost\n::1 localhost\n',
  });
  for (const path of ['adult.txt', 'hosts.txt']) {
    await t.rejects(
      startRoje({
        upstreams: [udpUrl(fake)],
        stateDir: join(dir, 'state'),
        lists: [{ category: 'adult', path: join(dir, path) }],
      }),
      { code: 'ROJE_ERR_LIST_EMPTY', message: /yields no rule.*switch the category "adult" off/ },
      `${path}: refused`,
    );
  }
});
