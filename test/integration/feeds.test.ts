/**
 * List feeds through a real roje: a feed served over HTTP on loopback. Until its first good copy
 * arrives roje answers SERVFAIL with EDE 14 (never unfiltered) and /ready says why; a refresh through
 * the admin API swaps the list in; a feed that suddenly shrinks is held until an operator accepts it;
 * a restart with the feed unreachable serves the copy kept on disk.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { hashToken } from '../../src/admin/auth.js';
import { adminClient } from '../helpers/admin-client.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { startRoje, udpUrl } from '../helpers/roje.js';

const TOKEN = 'roje_feeds-test-token';
const dir = t.testdir({});

// The feed: what it serves is set by the test; 503 until then.
let body: string | null = null;
let requests = 0;
const server = createServer((_req, res) => {
  requests++;
  if (body === null) res.writeHead(503).end('not yet');
  else res.writeHead(200, { 'content-type': 'text/plain' }).end(body);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
const feedUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/adult.txt`;

const fake = await startFakeUpstream({ apexes: ['example.test'] });
t.teardown(() => fake.close());
fake.zone.set('www.example.test', 'A', [{ data: '198.51.100.1', ttl: 300 }]);

const raw = {
  upstreams: [udpUrl(fake)],
  stateDir: join(dir, 'state'),
  lists: [{ category: 'adult', url: feedUrl, name: 'adult-feed', timeout: '2s' }],
  admin: { listen: '127.0.0.1:0', tokens: [{ name: 'ops', role: 'operator', sha256: hashToken(TOKEN) }] },
};

/** Blocked by the lists: NXDOMAIN with EDE 15 (an upstream NXDOMAIN has no EDE). */
async function blocked(roje: Awaited<ReturnType<typeof startRoje>>, name: string): Promise<boolean> {
  const r = await roje.dig([name, 'A']);
  return r.status === 'NXDOMAIN' && (r.ede ?? []).some((e) => e.code === 15);
}

const names = (n: number) => Array.from({ length: n }, (_, i) => `site${i}.adult.example`).join('\n');

t.test(
  'no copy yet: SERVFAIL + EDE 14; refresh swaps in; shrink held; restart uses the stored copy',
  async (t) => {
    let roje = await startRoje(raw);
    t.teardown(() => roje.stop());
    // roje is replaced by a restart below: each call asks the current one.
    const api = () => adminClient(roje, TOKEN);

    const early = await roje.dig(['www.example.test', 'A']);
    t.equal(early.status, 'SERVFAIL', 'never unfiltered while the feed has no copy');
    t.match(early.ede, [{ code: 14, purpose: 'Not Ready' }]);
    const notReady = await api().get('/ready', { token: null });
    t.equal(notReady.status, 503);
    t.match(notReady.json, { ready: false, reason: /adult-feed/ });

    // The scheduler's own first attempt (0-1 s after start, then up to three retries over ~10 s, all 503)
    // must be over before the publisher serves, or it would take the list first and the refresh below
    // would find it "unchanged".
    const retryLater = async () => {
      const [feed] = (await api().get('/api/v1/status')).json.feeds as Array<{
        nextRefreshAt: string | null;
      }>;
      return feed?.nextRefreshAt != null && Date.parse(feed.nextRefreshAt) - Date.now() > 10_000;
    };
    for (let i = 0; i < 150 && !(await retryLater()); i++) await sleep(100);
    t.ok(await retryLater(), 'the scheduled first attempt failed; the next is a minute away');

    body = `${names(100)}\n`;
    const refreshed = await api().post('/api/v1/lists/refresh');
    t.equal(refreshed.status, 200);
    t.match(refreshed.json, { feeds: [{ name: 'adult-feed', result: 'updated', rules: 100 }] });
    t.ok(await blocked(roje, 'site7.adult.example'), 'the feed blocks');
    t.equal((await roje.dig(['www.example.test', 'A'])).status, 'NOERROR', 'the rest resolves');
    t.equal((await api().get('/ready', { token: null })).status, 200);

    // The publisher suddenly serves 30 names: held, the 100 stay in force.
    body = `${names(30)}\n`;
    const held = await api().post('/api/v1/lists/refresh');
    t.match(held.json, { feeds: [{ name: 'adult-feed', result: 'held', rules: 30, previousRules: 100 }] });
    t.ok(await blocked(roje, 'site77.adult.example'), 'still the last good copy');
    const status = await api().get('/api/v1/status');
    t.match(status.json.feeds, [{ name: 'adult-feed', good: { rules: 100 }, held: { rules: 30 } }]);
    const accepted = await api().post('/api/v1/lists/adult-feed/accept');
    t.equal(accepted.status, 200);
    t.notOk(await blocked(roje, 'site77.adult.example'), 'accepted: 30 names now');
    t.ok(await blocked(roje, 'site7.adult.example'));
    t.equal((await api().post('/api/v1/lists/adult-feed/accept')).status, 404, 'nothing held any more');

    // Restart with the feed down: the stored copy is used at once.
    await roje.stop();
    body = null;
    const before = requests;
    roje = await startRoje(raw);
    t.ok(await blocked(roje, 'site7.adult.example'), 'filtered from the stored copy');
    t.equal((await roje.dig(['www.example.test', 'A'])).status, 'NOERROR');
    t.ok(requests >= before, 'the feed may be asked again; its failure changes nothing');
  },
);
