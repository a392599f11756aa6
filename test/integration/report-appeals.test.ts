/**
 * Appeals in the transparency report through a real roje: wrong-block reports sent from the block
 * page's form (real HTTP, Host = the blocked name), accepted and rejected by an operator over the admin
 * API, are counted per category in the month's report, which names no site.
 */
import { join } from 'node:path';
import t from 'tap';
import { request } from 'undici';
import { hashToken } from '../../src/admin/auth.js';
import { adminClient } from '../helpers/admin-client.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { startRoje, udpUrl } from '../helpers/roje.js';

const TOKEN = 'roje_report-appeals-token';
const fake = await startFakeUpstream({ apexes: ['example.test'] });
t.teardown(() => fake.close());

t.test('reports from the block page, reviewed, counted per category in the report', async (t) => {
  const dir = t.testdir({ 'adult.txt': 'porn.example\n', 'gambling.txt': 'casino.example\n' });
  const roje = await startRoje({
    upstreams: [udpUrl(fake)],
    lists: [
      { category: 'adult', path: join(dir, 'adult.txt') },
      { category: 'gambling', path: join(dir, 'gambling.txt') },
    ],
    blockPage: { ipv4: '127.0.0.1', listen: ['127.0.0.1:0'] },
    policies: { default: { block: 'all', blockMode: 'blockpage' } },
    stateDir: join(dir, 'state'),
    admin: { listen: '127.0.0.1:0', tokens: [{ name: 'ops', role: 'operator', sha256: hashToken(TOKEN) }] },
  });
  t.teardown(() => roje.stop());
  const api = adminClient(roje, TOKEN);
  const listen = (
    (await api.get('/api/v1/status')).json.blockPage as { listen: Array<{ host: string; port: number }> }
  ).listen[0] as { host: string; port: number };

  for (const host of ['a.porn.example', 'b.porn.example', 'casino.example']) {
    const sent = await request(`http://${listen.host}:${listen.port}/report`, {
      method: 'POST',
      headers: { host, 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
      body: 'lang=en&message=a+school+site',
    });
    await sent.body.dump();
    t.ok(sent.statusCode < 400, `${host}: report taken (${sent.statusCode})`);
  }
  const open = (await api.get('/api/v1/reports?status=open')).json.reports as Array<{
    id: number;
    name: string;
  }>;
  const id = (name: string) => open.find((r) => r.name === name)?.id;
  t.equal((await api.post(`/api/v1/reports/${id('a.porn.example')}`, { status: 'accepted' })).status, 200);
  t.equal((await api.post(`/api/v1/reports/${id('b.porn.example')}`, { status: 'rejected' })).status, 200);
  t.equal(
    (await api.post(`/api/v1/reports/${id('casino.example')}`, { status: 'open' })).status,
    400,
    'schema',
  );

  const month = new Date().toISOString().slice(0, 7);
  const res = await api.get(`/api/v1/reports/transparency?month=${month}`);
  t.equal(res.status, 200);
  t.same(res.json.appeals, {
    received: 3,
    accepted: 1,
    rejected: 1,
    byCategory: [
      { category: 'adult', received: 2, accepted: 1, rejected: 1 },
      { category: 'gambling', received: 1, accepted: 0, rejected: 0 },
    ],
  });
  const csv = (await api.get(`/api/v1/reports/transparency?month=${month}&format=csv`)).text;
  t.match(csv, /appeals,,,adult,accepted,1\r\n/);
  const html = (await api.get(`/api/v1/reports/transparency?month=${month}&format=html`)).text;
  t.match(html, /Wrong-block reports/);
  for (const text of [res.text, csv, html]) t.notMatch(text, /porn|casino|school/, 'no site, no message');
});
