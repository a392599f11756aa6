/**
 * Overrides with `workers: 2` through the real binary: an override made on the primary reaches both
 * query loops (each with its own chain) within 5 s, and its deletion too.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { hashToken } from '../../src/admin/auth.js';
import { adminClient } from '../helpers/admin-client.js';
import { query, startFakeUpstream } from '../helpers/fake-upstream.js';
import { mapLimit, spawnRoje } from '../helpers/process.js';
import { answerData, rcodeName, udpUrl } from '../helpers/roje.js';

const TOKEN = 'roje_overrides-workers-token';
const fake = await startFakeUpstream({ apexes: ['example.test'] });
t.teardown(() => fake.close());
fake.zone.set('blocked.example.test', 'A', [{ data: '198.51.100.40', ttl: 300 }]);

t.test('workers: 2: an override reaches every query loop', async (t) => {
  const dir = t.testdir({ 'adult.txt': 'blocked.example.test\n' });
  const configFile = join(dir, 'roje.yaml');
  writeFileSync(
    configFile,
    JSON.stringify({
      listen: ['127.0.0.1:0'],
      upstreams: [udpUrl(fake)],
      workers: 2,
      workerMode: 'processes',
      stateDir: join(dir, 'state'),
      lists: [{ category: 'adult', path: join(dir, 'adult.txt'), name: 'adult' }],
      admin: { listen: '127.0.0.1:0', tokens: [{ name: 'ops', role: 'operator', sha256: hashToken(TOKEN) }] },
      policies: { default: { block: ['abuse', 'adult'], blockMode: 'nxdomain' } },
    }),
  );
  const roje = spawnRoje(['serve', '--config', configFile], { t });
  const { line, addresses } = await roje.ready(30_000);
  const server = addresses[0] as { host: string; port: number };
  const api = adminClient(line.admin as string, TOKEN);
  // 40 queries, each from its own source port: the kernel spreads them over both loops.
  const round = async () => {
    const replies = await mapLimit(Array.from({ length: 40 }), 10, () =>
      query(server, 'blocked.example.test', 'A', { timeoutMs: 1000 }).catch(() => null),
    );
    return {
      resolved: replies.filter((r) => r !== null && answerData(r.decoded).includes('198.51.100.40')).length,
      blocked: replies.filter((r) => r !== null && rcodeName(r.decoded) === 'NXDOMAIN').length,
    };
  };
  const within5s = async (done: (r: { resolved: number; blocked: number }) => boolean) => {
    const started = Date.now();
    let last = await round();
    while (!done(last) && Date.now() - started < 5000) {
      await new Promise((r) => setTimeout(r, 100));
      last = await round();
    }
    return { ...last, ms: Date.now() - started };
  };

  t.equal((await round()).blocked, 40, 'blocked by both loops');
  const created = await api.post('/api/v1/overrides', { name: 'blocked.example.test', action: 'allow' });
  t.equal(created.status, 201);
  const allowed = await within5s((r) => r.resolved === 40);
  t.equal(allowed.resolved, 40, `every loop resolves it (${allowed.ms} ms)`);
  t.equal((await api.delete(`/api/v1/overrides/${created.json.id}`)).status, 200);
  const again = await within5s((r) => r.blocked === 40);
  t.equal(again.blocked, 40, `every loop blocks it again (${again.ms} ms)`);
  const status = (await api.get('/api/v1/status')).json.workers as { running: number };
  t.equal(status.running, 2);
});
