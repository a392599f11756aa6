/**
 * A city on one PostgreSQL (issue #19), through the real binary: two roje processes (instances a and b)
 * with their own venues share a real PostgreSQL (Debian's server, started on loopback by the test).
 * - dig traffic from different venues at each instance adds up: each instance's admin API shows one
 *   city total equal to the sum of what was sent, and `?instance=` shows each instance's own part;
 * - an override made through instance a is enforced by instance b within 60 s (LISTEN/NOTIFY: seconds);
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { hashToken } from '../../src/admin/auth.js';
import { type AdminClient, adminClient } from '../helpers/admin-client.js';
import { askFrom, cityConfig, type Server, summaryOf } from '../helpers/city.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { postgresProblem, startPostgres } from '../helpers/postgres.js';
import { type RojeProcess, spawnRoje } from '../helpers/process.js';
import { udpUrl } from '../helpers/roje.js';

const TOKEN = 'roje_city-store-token';

if (postgresProblem() !== null) throw new Error(postgresProblem() as string);
const pg = await startPostgres();
t.teardown(() => pg.stop());
const fake = await startFakeUpstream({ apexes: ['example.test'] });
t.teardown(() => fake.close());
fake.zone.set('open.example.test', 'A', [{ data: '198.51.100.50', ttl: 300 }]);
fake.zone.set('craft.example.test', 'A', [{ data: '198.51.100.51', ttl: 300 }]);

interface Instance {
  roje: RojeProcess;
  dns: Server;
  api: AdminClient;
}

async function startInstance(dir: string, instance: string): Promise<Instance> {
  const file = join(dir, `${instance}.yaml`);
  writeFileSync(
    file,
    JSON.stringify(
      cityConfig({
        dir,
        instance,
        url: pg.url,
        upstream: udpUrl(fake),
        token: hashToken(TOKEN),
      }),
    ),
  );
  const roje = spawnRoje(['serve', '--config', file]);
  const { line, addresses } = await roje.ready(30_000);
  return { roje, dns: addresses[0] as Server, api: adminClient(line.admin as string, TOKEN) };
}

t.test('two instances, one city', async (t) => {
  const dir = t.testdir({ 'adult.txt': 'craft.example.test\nblocked.example.test\n' });
  const a = await startInstance(dir, 'a');
  t.teardown(() => a.roje.kill('SIGTERM'));
  const b = await startInstance(dir, 'b');
  t.teardown(() => b.roje.kill('SIGTERM'));

  // a serves the cafe (127.0.0.2) and the library (127.0.0.3); b the square (127.0.0.4). Each query is
  // answered; the blocked ones NXDOMAIN.
  const sent = { a: { cafe: 0, library: 0 }, b: { square: 0 } };
  const blocked = { a: 0, b: 0 };
  const send = async (at: Instance, source: string, name: string, times: number) => {
    for (let i = 0; i < times; i++) {
      const reply = await askFrom(at.dns, source, name);
      t.not(reply, null, `${name} from ${source} answered`);
    }
  };
  await send(a, '127.0.0.2', 'open.example.test', 7);
  await send(a, '127.0.0.2', 'craft.example.test', 3);
  sent.a.cafe = 10;
  blocked.a += 3;
  await send(a, '127.0.0.3', 'open.example.test', 4);
  sent.a.library = 4;
  await send(b, '127.0.0.4', 'blocked.example.test', 5);
  await send(b, '127.0.0.4', 'open.example.test', 6);
  sent.b.square = 11;
  blocked.b += 5;
  const total = sent.a.cafe + sent.a.library + sent.b.square;

  // Each instance writes every second; the city total is there when both have written.
  const city = await summaryOf(a.api, {}, (s) => s.queries === total);
  t.equal(city.queries, total, `the city total is the sum: ${total}`);
  t.equal(city.blocked, blocked.a + blocked.b);
  t.same(
    Object.fromEntries(city.byVenue.map((v) => [v.venue, v.queries])),
    { cafe: 10, library: 4, square: 11 },
    'per venue, from both instances',
  );
  const fromB = await summaryOf(b.api, {}, (s) => s.queries === total);
  t.equal(fromB.queries, total, 'instance b shows the same city');
  const onlyA = await summaryOf(a.api, { instance: 'a' }, () => true);
  t.equal(onlyA.queries, sent.a.cafe + sent.a.library, "?instance=a: a's own queries");
  t.equal(onlyA.blocked, blocked.a);
  const onlyB = await summaryOf(a.api, { instance: 'b' }, () => true);
  t.equal(onlyB.queries, sent.b.square, "?instance=b: b's own queries");

  // An override through a is in force at b (its own NOTIFY listener, or its poll at the latest).
  t.equal((await askFrom(b.dns, '127.0.0.4', 'craft.example.test'))?.rcode, 'NXDOMAIN');
  const made = await a.api.post('/api/v1/overrides', { name: 'craft.example.test', action: 'allow' });
  t.equal(made.status, 201, 'override made through a');
  const started = Date.now();
  let answer = '';
  while (Date.now() - started < 60_000) {
    answer = (await askFrom(b.dns, '127.0.0.4', 'craft.example.test'))?.address ?? '';
    if (answer === '198.51.100.51') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const ms = Date.now() - started;
  t.equal(answer, '198.51.100.51', `b resolves the allowed name (${ms} ms)`);
  t.ok(ms < 60_000, 'within 60 s');
  const listed = (await b.api.get('/api/v1/overrides')).json.overrides as Array<{
    name: string;
    who: string;
  }>;
  t.match(listed, [{ name: 'craft.example.test', who: 'ops' }], "b's API lists the override made at a");
  t.equal((await a.api.delete(`/api/v1/overrides/${made.json.id}`)).status, 200);
  const again = Date.now();
  let rcode = '';
  while (Date.now() - again < 60_000) {
    rcode = (await askFrom(b.dns, '127.0.0.4', 'craft.example.test'))?.rcode ?? '';
    if (rcode === 'NXDOMAIN') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  t.equal(rcode, 'NXDOMAIN', `deleted at a, blocked again at b (${Date.now() - again} ms)`);

  // The store's state, per instance, in status (and never the password).
  const status = await b.api.get('/api/v1/status');
  t.match(status.json.store, { kind: 'postgres', instance: 'b', up: true });
  t.notMatch(status.text, pg.password, 'status never shows the database password');
  t.notMatch(a.roje.stdout() + b.roje.stdout(), pg.password, 'nor does the log');
});
