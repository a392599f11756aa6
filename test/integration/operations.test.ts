/**
 * The operations plane end to end through a real roje: a client in a venue asks for a blocked name
 * with dig and gets the block page address; the block page (real HTTP, Host = the blocked name)
 * names the category and the venue; a wrong-block report from its form reaches the admin API; the
 * statistics count the blocks per venue and category and survive a restart.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { request } from 'undici';
import { hashToken } from '../../src/admin/auth.js';
import { adminClient } from '../helpers/admin-client.js';
import { LOCAL_ABUSE_CANARY } from '../helpers/canaries.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { startRoje, udpUrl } from '../helpers/roje.js';

const dir = t.testdir({});
writeFileSync(join(dir, 'adult.txt'), 'porn.example\n');
writeFileSync(join(dir, 'abuse.txt'), `${LOCAL_ABUSE_CANARY}\n`);
const TOKEN = 'roje_operations-test-token';

const fake = await startFakeUpstream({ apexes: ['example.test'] });
t.teardown(() => fake.close());
fake.zone.set('www.example.test', 'A', [{ data: '198.51.100.1', ttl: 300 }]);

const raw = {
  upstreams: [udpUrl(fake)],
  lists: [
    { category: 'adult', path: join(dir, 'adult.txt') },
    { category: 'abuse', path: join(dir, 'abuse.txt') },
  ],
  blockPage: { ipv4: '127.0.0.1', listen: ['127.0.0.1:0'], operatorName: 'Bashkia Tiranë' },
  policies: { default: { block: 'all', blockMode: 'blockpage' } },
  venues: [{ name: 'biblioteka', networks: ['127.0.0.3/32'], policy: 'default' }],
  stateDir: join(dir, 'state'),
  admin: { listen: '127.0.0.1:0', tokens: [{ name: 'ops', role: 'operator', sha256: hashToken(TOKEN) }] },
};

const today = new Date().toISOString().slice(0, 10);
const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);

t.test('blocked name -> block page -> report -> admin API -> statistics', async (t) => {
  let roje = await startRoje(raw);
  t.teardown(() => roje.stop());
  // roje is replaced by a restart below: each call asks the current one.
  const api = () => adminClient(roje, TOKEN);

  const blocked = await roje.dig(['-b', '127.0.0.3', 'www.porn.example', 'A']);
  t.equal(blocked.status, 'NOERROR');
  t.same(
    blocked.answers.map((a) => a.data),
    ['127.0.0.1'],
    'A points at the block page',
  );
  await roje.dig([LOCAL_ABUSE_CANARY, 'A']);
  t.equal((await roje.dig(['www.example.test', 'A'])).answers[0]?.data, '198.51.100.1');

  const status = await api().get('/api/v1/status');
  const pageAddress = (status.json.blockPage as { listen: Array<{ host: string; port: number }> }).listen[0];
  const page = `http://${pageAddress.host}:${pageAddress.port}`;

  // The browser asks the block page for the blocked site (from the venue's client address the page
  // cannot see here: loopback 127.0.0.1 is no venue, so the venue line is absent; the category is there).
  const res = await request(`${page}/some/path?x=1`, {
    headers: { host: 'www.porn.example', 'accept-language': 'en' },
  });
  t.equal(res.statusCode, 403);
  const html = await res.body.text();
  t.match(html, /www\.porn\.example/);
  t.match(html, /[Aa]dult/);
  t.match(html, /116 ?111/, 'the child helpline');

  const abuse = await request(`${page}/`, { headers: { host: LOCAL_ABUSE_CANARY } });
  t.equal(abuse.statusCode, 403);
  t.notMatch(await abuse.body.text(), /canary-abuse/, 'an abuse-feed name is never echoed');

  const report = await request(`${page}/report`, {
    method: 'POST',
    headers: {
      host: 'www.porn.example',
      'content-type': 'application/x-www-form-urlencoded',
      'sec-fetch-site': 'same-origin',
    },
    body: 'lang=en&message=this+is+a+school+site',
  });
  t.ok(report.statusCode < 400, `report accepted (${report.statusCode})`);
  await report.body.dump();

  const reports = await api().get('/api/v1/reports?status=open');
  t.match(reports.json, {
    total: 1,
    reports: [
      { name: 'www.porn.example', category: 'adult', message: 'this is a school site', status: 'open' },
    ],
  });
  const id = (reports.json.reports as Array<{ id: number }>)[0].id;
  const reviewed = await api().post(`/api/v1/reports/${id}`, { status: 'rejected' });
  t.equal(reviewed.status, 200);
  t.match(reviewed.json, { id, status: 'rejected', reviewedBy: 'ops' });
  t.equal((await api().post('/api/v1/reports/999', { status: 'accepted' })).status, 404);

  const summary = await api().get(`/api/v1/stats/summary?from=${today}&to=${tomorrow}`);
  t.equal(summary.status, 200);
  t.match(summary.json, { queries: 3, blocked: 2 });
  t.match(
    summary.json.byCategory,
    [
      { category: 'abuse', count: 1 },
      { category: 'adult', count: 1 },
    ].sort((a, b) => (a.category < b.category ? -1 : 1)),
  );
  t.ok(
    (summary.json.byVenue as Array<{ venue: string; blocked: number }>).some(
      (v) => v.venue === 'biblioteka' && v.blocked === 1,
    ),
    'the venue client counted under its venue',
  );

  // Restart on the same state directory: the counts are still there.
  await roje.stop();
  roje = await startRoje(raw);
  const again = await api().get(`/api/v1/stats/summary?from=${today}&to=${tomorrow}`);
  t.match(again.json, { queries: 3, blocked: 2 }, 'statistics survive a restart');
  const series = await api().get(`/api/v1/stats/series?from=${today}&to=${tomorrow}&bucket=hour&by=category`);
  t.equal(series.status, 200);
  t.equal((series.json.buckets as string[]).length, 24);
});
