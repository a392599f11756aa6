/**
 * Queries per venue with `workers: 2`: the counts are made in the query loops and drained from them
 * into the statistics store, so /api/v1/stats/summary?venue=X counts every answer the venue's clients
 * got, from whichever loop answered. dig binds a second loopback address (127.0.0.2) as the venue's
 * client; 127.0.0.1 is a client of no venue.
 */
import t from 'tap';
import { hashToken } from '../../src/admin/auth.js';
import { supportsReusePort } from '../../src/transport/reuse-port.js';
import { adminClient } from '../helpers/admin-client.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { startRoje, udpUrl } from '../helpers/roje.js';

const TOKEN = 'roje_report-workers-token';
const fake = await startFakeUpstream({ apexes: ['example.test'] });
t.teardown(() => fake.close());
fake.zone.set('www.example.test', 'A', [{ data: '198.51.100.1', ttl: 300 }]);

const mode = supportsReusePort() ? 'threads' : 'processes';

t.test(`queries per venue counted in the loops (workers: 2, ${mode})`, async (t) => {
  const dir = t.testdir({ 'adult.txt': 'porn.example\n' });
  const roje = await startRoje({
    upstreams: [udpUrl(fake)],
    workers: 2,
    workerMode: mode,
    lists: [{ category: 'adult', path: `${dir}/adult.txt` }],
    policies: { default: { block: ['abuse', 'adult'] } },
    venues: [{ name: 'kafe', networks: ['127.0.0.2/32'], policy: 'default' }],
    stateDir: `${dir}/state`,
    admin: { listen: '127.0.0.1:0', tokens: [{ name: 'a', role: 'auditor', sha256: hashToken(TOKEN) }] },
  });
  t.teardown(() => roje.stop());
  // 7 from the venue (over UDP and TCP, so that both listeners and loops may take them), 3 from no venue.
  const asked: Array<[string, string[]]> = [
    ...Array.from({ length: 4 }, (): [string, string[]] => ['127.0.0.2', ['www.example.test', 'A']]),
    ['127.0.0.2', ['+tcp', 'www.example.test', 'A']],
    ['127.0.0.2', ['porn.example', 'A']],
    ['127.0.0.2', ['+tcp', 'porn.example', 'A']],
    ['127.0.0.1', ['www.example.test', 'A']],
    ['127.0.0.1', ['+tcp', 'www.example.test', 'A']],
    ['127.0.0.1', ['porn.example', 'A']],
  ];
  for (const [client, args] of asked) {
    const r = await roje.dig(['-b', client, ...args]);
    t.ok(r.status === 'NOERROR' || r.status === 'NXDOMAIN', `${client} ${args.join(' ')}: ${r.status}`);
  }
  const api = adminClient(roje, TOKEN);
  const from = new Date(Date.now() - 3_600_000).toISOString();
  const to = new Date(Date.now() + 3_600_000).toISOString();
  // Loops send their counts every second, each on its own timer: ask until all are in (bounded).
  const summary = async (venue = '') =>
    JSON.parse((await api.get(`/api/v1/stats/summary?from=${from}&to=${to}${venue}`)).text);
  let all = await summary();
  for (let i = 0; i < 40 && all.queries < 10; i++) {
    await new Promise((r) => setTimeout(r, 250));
    all = await summary();
  }
  const venue = await summary('&venue=kafe');
  t.match(venue, { venue: 'kafe', queries: 7, blocked: 2, cacheHits: null });
  t.match(all, { queries: 10, blocked: 3 });
  t.match(
    Object.fromEntries(all.byVenue.map((v: { venue: string; queries: number }) => [v.venue, v.queries])),
    { kafe: 7, '(none)': 3 },
  );
});
