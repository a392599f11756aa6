/**
 * A real roje with its statistics in a real PostgreSQL (store.url): the status's store part and the
 * store metrics scraped from /metrics, the admin API's ?instance= filter (validated), and an outage:
 * DNS keeps answering, the status and metrics say the store is down, the statistics answer 503, and
 * every count arrives once it is back. The URL's password is in no log, status or config view.
 */
import { join } from 'node:path';
import t from 'tap';
import { Agent, request } from 'undici';
import { hashToken } from '../../src/admin/auth.js';
import { adminClient } from '../helpers/admin-client.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { startPostgres } from '../helpers/postgres.js';
import { startRoje, udpUrl } from '../helpers/roje.js';

const pg = await startPostgres();
t.teardown(() => pg.stop());
const fake = await startFakeUpstream({ apexes: ['example.test'] });
t.teardown(() => fake.close());
fake.zone.set('www.example.test', 'A', [{ data: '198.51.100.1', ttl: 0 }]);

fake.zone.set('craft.example.test', 'A', [{ data: '198.51.100.30', ttl: 300 }]);

const dir = t.testdir({ 'store-url': `${pg.url}\n`, 'adult.txt': 'craft.example.test\n' });
const TOKEN = 'roje_auditor-token-for-store-tests';
const roje = await startRoje({
  upstreams: [udpUrl(fake)],
  stateDir: join(dir, 'state'),
  store: { urlFile: join(dir, 'store-url'), instance: 'gw-1' },
  lists: [{ category: 'adult', path: join(dir, 'adult.txt') }],
  blockPage: { ipv4: '127.0.0.1', listen: ['127.0.0.1:0'] },
  policies: { kids: { block: 'all', blockMode: 'blockpage' } },
  venues: [{ name: 'cafe', networks: ['127.0.0.2/32'], policy: 'kids' }],
  admin: { listen: '127.0.0.1:0', tokens: [{ name: 'viewer', role: 'auditor', sha256: hashToken(TOKEN) }] },
  metrics: { listen: '127.0.0.1:0' },
});
t.teardown(() => roje.stop());
const admin = adminClient(roje, TOKEN);
const TODAY = new Date().toISOString().slice(0, 10);
const TOMORROW = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
const summary = (extra = '') => admin.get(`/api/v1/stats/summary?from=${TODAY}&to=${TOMORROW}${extra}`);

async function scrape(): Promise<string> {
  const res = await request(`http://${roje.app.opsAddresses().metrics}/metrics`);
  return res.body.text();
}
const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);

async function queries(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const { decoded } = await roje.query('www.example.test', 'A');
    const rcode = (decoded as { rcode?: string }).rcode;
    if (rcode !== 'NOERROR') throw new Error(`DNS failed: ${rcode}`);
  }
}

t.test('status, metrics and ?instance= with the shared store up', async (t) => {
  await queries(3);
  const s = await summary();
  t.equal(s.status, 200);
  t.equal(s.json.queries, 3, 'flushed before the read: the counts up to now');
  t.equal((await summary('&instance=gw-1')).json.queries, 3);
  t.equal((await summary('&instance=gw-2')).json.queries, 0, 'another instance counted nothing');
  const bad = await summary('&instance=not%20a%20name');
  t.equal(bad.status, 400, 'the instance name is validated');
  const series = await admin.get(
    `/api/v1/stats/series?from=${TODAY}&to=${TOMORROW}&bucket=day&instance=gw-1`,
  );
  t.same((series.json.totals as { queries: number[] }).queries, [3]);
  const month = TODAY.slice(0, 7);
  const report = await admin.get(`/api/v1/reports/transparency?month=${month}&instance=gw-1`);
  t.equal(report.status, 200);
  t.match(report.json, { instance: 'gw-1', queries: { total: 3 } });
  const badReport = await admin.get(`/api/v1/reports/transparency?month=${month}&instance=${'x'.repeat(65)}`);
  t.equal(badReport.status, 400, 'the transparency report validates the instance too');

  const listed = await admin.get('/api/v1/stats/instances');
  t.equal(listed.status, 200);
  t.match(listed.json, { kind: 'postgres', instance: 'gw-1', instances: [{ instance: 'gw-1' }] });
  const status = await admin.get('/api/v1/status');
  t.match(status.json.store, {
    kind: 'postgres',
    instance: 'gw-1',
    up: true,
    spooledBatches: 0,
    dropped: 0,
    lastError: null,
  });
  t.match(status.json.stats, { path: null });
  t.notMatch(status.text, pg.password, 'no password in the status');
  const config = await admin.get('/api/v1/config');
  t.notMatch(config.text, pg.password, 'no password in the config view');

  const text = await scrape();
  t.equal(metric(text, 'roje_store_up'), 1);
  t.equal(metric(text, 'roje_store_spool_batches'), 0);
  t.equal(metric(text, 'roje_store_dropped_batches_total'), 0);
  t.ok(metric(text, 'roje_store_write_seconds_count') >= 1, 'batch writes timed');
});

t.test(
  'PostgreSQL stopped: DNS answers, status and metrics say so, counts arrive once when back',
  async (t) => {
    await pg.stopServer();
    let started = false;
    t.teardown(async () => {
      if (!started) await pg.startServer();
    });
    await queries(4);
    const down = await summary();
    t.equal(down.status, 503, 'statistics cannot be read while the store is down');
    t.match(down.json, { code: 'ROJE_ERR_STORE_UNAVAILABLE' });
    await queries(2);
    await summary();
    const status = await admin.get('/api/v1/status');
    t.match(status.json.store, { kind: 'postgres', up: false, dropped: 0 });
    t.ok(
      (status.json.store as { spooledBatches: number }).spooledBatches >= 2,
      'the batches wait in the spool',
    );
    t.notMatch(status.text, pg.password);
    const text = await scrape();
    t.equal(metric(text, 'roje_store_up'), 0);
    t.ok(metric(text, 'roje_store_spool_batches') >= 2);
    t.ok(metric(text, 'roje_store_spool_bytes') > 0);

    await pg.startServer();
    started = true;
    await queries(1);
    const back = await summary();
    t.equal(back.status, 200);
    t.equal(back.json.queries, 3 + 4 + 2 + 1, 'every count once');
    t.match((await admin.get('/api/v1/status')).json.store, { up: true, spooledBatches: 0 });
    t.notMatch(JSON.stringify(roje.logs), pg.password, 'no password in any log line');
    t.ok(
      roje.logs.some((l) => l.code === 'ROJE_ERR_STORE_UNAVAILABLE'),
      'the outage was logged',
    );
  },
);

t.test(
  'a wrong-block report needs the store: refused (503) while it is down, kept once it is back',
  async (t) => {
    const page = roje.app.admin.status() as { blockPage: { listen: Array<{ host: string; port: number }> } };
    const { host, port } = page.blockPage.listen[0] as { host: string; port: number };
    const child = new Agent({ localAddress: '127.0.0.2' });
    t.teardown(() => child.close());
    const send = async () => {
      const res = await request(`http://${host}:${port}/report`, {
        method: 'POST',
        dispatcher: child,
        headers: {
          host: 'craft.example.test',
          'content-type': 'application/x-www-form-urlencoded',
          'sec-fetch-site': 'same-origin',
        },
        body: 'lang=en&message=my+craft+club',
      });
      return { status: res.statusCode, text: await res.body.text() };
    };
    await pg.stopServer();
    let started = false;
    t.teardown(async () => {
      if (!started) await pg.startServer();
    });
    const refused = await send();
    t.equal(refused.status, 503, 'the reporter is told it failed, not thanked');
    await pg.startServer();
    started = true;
    const sent = await send();
    t.equal(sent.status, 200);
    const listed = await admin.get('/api/v1/reports');
    t.equal(listed.status, 200);
    t.match(listed.json, {
      total: 1,
      reports: [{ venue: 'cafe', category: 'adult', name: 'craft.example.test' }],
    });
  },
);
