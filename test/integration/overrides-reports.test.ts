/**
 * Reports close the loop through a real roje: a child at venue A (127.0.0.2) reports a wrong block from
 * the block page's form; the reporter's reference page says pending; an operator accepts it with
 * allow=venue; dig from venue A resolves the site within 5 s while venue B (127.0.0.3) still gets it
 * blocked; the reference page says accepted, and nothing else.
 */
import { join } from 'node:path';
import t from 'tap';
import { Agent, request } from 'undici';
import { hashToken } from '../../src/admin/auth.js';
import { adminClient } from '../helpers/admin-client.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { startRoje, udpUrl } from '../helpers/roje.js';

const OPS = 'roje_overrides-reports-token';
const fake = await startFakeUpstream({ apexes: ['example.test'] });
t.teardown(() => fake.close());
fake.zone.set('craft.example.test', 'A', [{ data: '198.51.100.30', ttl: 300 }]);
fake.zone.set('news.example.test', 'A', [{ data: '198.51.100.31', ttl: 300 }]);

t.test('a report accepted with allow=venue unblocks the site for that venue', async (t) => {
  const dir = t.testdir({ 'adult.txt': 'craft.example.test\nnews.example.test\n' });
  const roje = await startRoje({
    upstreams: [udpUrl(fake)],
    lists: [{ category: 'adult', path: join(dir, 'adult.txt') }],
    blockPage: { ipv4: '127.0.0.1', listen: ['127.0.0.1:0'] },
    policies: {
      kids: { block: 'all', blockMode: 'blockpage' },
      default: { block: 'all', blockMode: 'nxdomain' },
    },
    venues: [
      { name: 'cafe', networks: ['127.0.0.2/32'], policy: 'kids' },
      { name: 'library', networks: ['127.0.0.3/32'], policy: 'kids' },
    ],
    stateDir: join(dir, 'state'),
    admin: { listen: '127.0.0.1:0', tokens: [{ name: 'ops', role: 'operator', sha256: hashToken(OPS) }] },
  });
  t.teardown(() => roje.stop());
  const api = adminClient(roje, OPS);
  const page = roje.app.admin.status() as { blockPage: { listen: Array<{ host: string; port: number }> } };
  const { host, port } = page.blockPage.listen[0]!;
  // The child's browser at venue A: its connections come from 127.0.0.2.
  const child = new Agent({ localAddress: '127.0.0.2' });
  t.teardown(() => child.close());
  const form = (name: string) =>
    request(`http://${host}:${port}/report`, {
      method: 'POST',
      dispatcher: child,
      headers: {
        host: name,
        'content-type': 'application/x-www-form-urlencoded',
        'sec-fetch-site': 'same-origin',
      },
      body: 'lang=en&message=my+craft+club',
    });

  const blocked = await roje.dig(['-b', '127.0.0.2', 'craft.example.test', 'A']);
  t.equal(blocked.answers[0]?.data, '127.0.0.1', 'venue A gets the block page');
  const sent = await form('craft.example.test');
  t.equal(sent.statusCode, 200);
  const thanks = await sent.body.text();
  const reference = /\/report\/([A-Za-z0-9_-]{22})\?/.exec(thanks)?.[1];
  t.ok(reference, 'the thank-you page gives the reporter a reference');
  t.match(thanks, `<strong>${reference}</strong>`);
  const outcome = async (lang: string) => {
    const res = await request(`http://${host}:${port}/report/${reference}?lang=${lang}`, {
      headers: { host: 'craft.example.test' },
    });
    return { status: res.statusCode, text: await res.body.text() };
  };
  const pending = await outcome('en');
  t.equal(pending.status, 200);
  t.match(pending.text, /Pending/);
  t.match((await outcome('sq')).text, /Në pritje/, 'in Albanian too');

  const reports = (await api.get('/api/v1/reports?status=open')).json.reports as Array<{
    id: number;
    name: string;
    venue: string;
    reference: string;
  }>;
  const report = reports.find((r) => r.name === 'craft.example.test')!;
  t.match(report, { venue: 'cafe', reference });

  const wrong = await api.post(`/api/v1/reports/${report.id}`, { status: 'rejected', allow: 'venue' });
  t.equal(wrong.status, 400, 'allow goes with accepted only');
  t.equal(wrong.json.code, 'ROJE_ERR_OVERRIDE_INVALID');
  const accepted = await api.post(`/api/v1/reports/${report.id}`, {
    status: 'accepted',
    allow: 'venue',
    note: 'a craft club, not adult',
  });
  t.equal(accepted.status, 200);
  t.match(accepted.json, {
    status: 'accepted',
    reviewedBy: 'ops',
    note: 'a craft club, not adult',
    override: { name: 'craft.example.test', action: 'allow', venue: 'cafe', who: 'ops' },
  });
  const started = Date.now();
  let resolved = '';
  while (Date.now() - started < 5000) {
    resolved = (await roje.dig(['-b', '127.0.0.2', 'craft.example.test', 'A'])).answers[0]?.data ?? '';
    if (resolved === '198.51.100.30') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  t.equal(resolved, '198.51.100.30', `venue A resolves the site (${Date.now() - started} ms)`);
  const other = await roje.dig(['-b', '127.0.0.3', 'craft.example.test', 'A']);
  t.equal(other.answers[0]?.data, '127.0.0.1', 'venue B still gets the block page');

  const done = await outcome('en');
  t.match(done.text, /Accepted/);
  t.notMatch(done.text, /craft|club|adult/, 'the outcome page shows the outcome and nothing else');
  t.match((await outcome('sq')).text, /Pranuar/);

  // Rejected, and a reference nobody has.
  const second = await form('news.example.test');
  const ref2 = /\/report\/([A-Za-z0-9_-]{22})\?/.exec(await second.body.text())?.[1];
  const id2 = (
    (await api.get('/api/v1/reports?status=open')).json.reports as Array<{ id: number; reference: string }>
  ).find((r) => r.reference === ref2)!.id;
  t.equal(
    (await api.post(`/api/v1/reports/${id2}`, { status: 'rejected', note: 'news site, adult ads' })).status,
    200,
  );
  const rejected = await request(`http://${host}:${port}/report/${ref2}?lang=en`, {
    headers: { host: 'x.test' },
  });
  t.match(await rejected.body.text(), /Rejected/);
  t.equal(
    (await roje.dig(['-b', '127.0.0.2', 'news.example.test', 'A'])).answers[0]?.data,
    '127.0.0.1',
    'still blocked',
  );
  const none = await request(`http://${host}:${port}/report/${'A'.repeat(22)}`, {
    headers: { host: 'x.test' },
  });
  t.equal(none.statusCode, 404);
  t.match(await none.body.text(), /No report has this reference|Asnjë raport/);
});
