/**
 * PostgreSQL stopped for a minute under traffic (issue #19), through the real binary: two roje
 * instances keep answering every query (DNS never fails), spool what they would have written, and when
 * the database is back every count arrives exactly once: the city total equals what was sent, per
 * instance too, and stays so (no batch replayed twice).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { hashToken } from '../../src/admin/auth.js';
import { adminClient } from '../helpers/admin-client.js';
import { askFrom, cityConfig, type Server, summaryOf } from '../helpers/city.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { postgresProblem, startPostgres } from '../helpers/postgres.js';
import { spawnRoje } from '../helpers/process.js';
import { udpUrl } from '../helpers/roje.js';

const TOKEN = 'roje_city-outage-token';
const OUTAGE_MS = 60_000;

// A minute of outage and the traffic around it take ~75 s; the default file timeout is 120 s.
t.setTimeout(240_000);
if (postgresProblem() !== null) throw new Error(postgresProblem() as string);
const pg = await startPostgres();
t.teardown(() => pg.stop());
const fake = await startFakeUpstream({ apexes: ['example.test'] });
t.teardown(() => fake.close());
fake.zone.set('open.example.test', 'A', [{ data: '198.51.100.60', ttl: 300 }]);

t.test('a minute without PostgreSQL: DNS answers, and every count arrives once', async (t) => {
  const dir = t.testdir({ 'adult.txt': 'blocked.example.test\n' });
  const start = async (instance: string) => {
    const file = join(dir, `${instance}.yaml`);
    const raw = cityConfig({ dir, instance, url: pg.url, upstream: udpUrl(fake), token: hashToken(TOKEN) });
    writeFileSync(file, JSON.stringify(raw));
    const roje = spawnRoje(['serve', '--config', file], { t });
    const { line, addresses } = await roje.ready(30_000);
    return { roje, dns: addresses[0] as Server, api: adminClient(line.admin as string, TOKEN) };
  };
  const a = await start('a');
  const b = await start('b');

  const sent = { a: 0, b: 0 };
  let unanswered = 0;
  let wrong = 0;
  // One query every 50 ms, alternately to a (cafe) and b (square), a blocked name every fifth: bounded
  // by time (the phase's end) and count (at most 2,000 in all).
  const traffic = async (until: number) => {
    while (Date.now() < until && sent.a + sent.b < 2000) {
      const toA = (sent.a + sent.b) % 2 === 0;
      const blocked = (sent.a + sent.b) % 5 === 0;
      const reply = await askFrom(
        toA ? a.dns : b.dns,
        toA ? '127.0.0.2' : '127.0.0.4',
        blocked ? 'blocked.example.test' : 'open.example.test',
      );
      if (toA) sent.a++;
      else sent.b++;
      if (reply === null) unanswered++;
      else if (blocked ? reply.rcode !== 'NXDOMAIN' : reply.address !== '198.51.100.60') wrong++;
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  await traffic(Date.now() + 3000);
  await pg.stopServer();
  const stoppedAt = Date.now();
  await traffic(stoppedAt + 10_000);
  const down = await a.api.get('/api/v1/status');
  t.match(down.json.store, { kind: 'postgres', up: false }, 'status says the store is down');
  t.ok(
    (down.json.store as { spooledBatches: number }).spooledBatches > 0,
    'what a would have written waits in its spool',
  );
  const metrics = (await a.api.get('/metrics')).text;
  t.match(metrics, /^roje_store_up 0$/m, 'roje_store_up is 0');
  await traffic(stoppedAt + OUTAGE_MS);
  await pg.startServer();
  await traffic(Date.now() + 3000);

  t.equal(unanswered, 0, `every one of ${sent.a + sent.b} queries was answered`);
  t.equal(wrong, 0, 'and answered right (blocked names NXDOMAIN, the rest resolved)');
  const total = sent.a + sent.b;
  const city = await summaryOf(a.api, {}, (s) => s.queries >= total);
  t.equal(city.queries, total, `the city total is what was sent: ${total}`);
  t.equal((await summaryOf(a.api, { instance: 'a' }, () => true)).queries, sent.a, "a's part, once");
  t.equal((await summaryOf(a.api, { instance: 'b' }, () => true)).queries, sent.b, "b's part, once");
  // Three more flushes: nothing is written twice.
  await new Promise((r) => setTimeout(r, 3000));
  t.equal((await summaryOf(b.api, {}, () => true)).queries, total, 'and it stays so');
  const up = await a.api.get('/api/v1/status');
  t.match(up.json.store, { up: true, spooledBatches: 0 }, 'the spool is empty again');
});
