/**
 * `workers: 2` through the real binary: two query loops on one address, both answering, with the
 * lists, metrics and statistics of both seen as one resolver; a list swap reaches every loop; and a
 * loop killed with SIGKILL is replaced while the other keeps answering (nothing lost: every query of
 * a bounded load is answered, a stub retrying once as real ones do).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { hashToken } from '../../src/admin/auth.js';
import { supportsReusePort } from '../../src/transport/reuse-port.js';
import { adminClient } from '../helpers/admin-client.js';
import { query, startFakeUpstream } from '../helpers/fake-upstream.js';
import { mapLimit, spawnRoje } from '../helpers/process.js';
import { answerData, rcodeName, udpUrl } from '../helpers/roje.js';

const TOKEN = 'roje_workers-test-token';
const fake = await startFakeUpstream({ apexes: ['example.test'] });
t.teardown(() => fake.close());
fake.zone.set('www.example.test', 'A', [{ data: '198.51.100.7', ttl: 300 }]);

interface WorkerStatus {
  mode: string;
  configured: number;
  running: number;
  restarts: number;
  workers: Array<{ index: number; id: number; state: string; queries: number }>;
}

/** One query as a stub resolver sends it: a fresh source port each time, one retry after a second. */
async function ask(server: { host: string; port: number }, name: string) {
  try {
    return await query(server, name, 'A', { timeoutMs: 1000 });
  } catch {
    return query(server, name, 'A', { timeoutMs: 1000 });
  }
}

type Reply = Awaited<ReturnType<typeof ask>>;
const isAnswer = (r: Reply) =>
  rcodeName(r.decoded) === 'NOERROR' && answerData(r.decoded).includes('198.51.100.7');
const isBlocked = (r: Reply) => rcodeName(r.decoded) === 'NXDOMAIN';

const modes: Array<'processes' | 'threads'> = supportsReusePort() ? ['processes', 'threads'] : ['processes'];

for (const mode of modes) {
  const killed = mode === 'processes' ? ', a loop killed with SIGKILL replaced' : '';
  t.test(`workers: 2 in ${mode}: one resolver, swapped lists${killed}`, async (t) => {
    const dir = t.testdir({ 'adult.txt': 'blocked.example.test\n' });
    const listFile = join(dir, 'adult.txt');
    const configFile = join(dir, 'roje.yaml');
    writeFileSync(
      configFile,
      JSON.stringify({
        listen: ['127.0.0.1:0'],
        upstreams: [udpUrl(fake)],
        workers: 2,
        workerMode: mode,
        stateDir: join(dir, 'state'),
        lists: [{ category: 'adult', path: listFile, name: 'adult' }],
        admin: {
          listen: '127.0.0.1:0',
          tokens: [{ name: 'ops', role: 'operator', sha256: hashToken(TOKEN) }],
        },
        policies: { default: { block: ['abuse', 'adult'], blockMode: 'nxdomain' } },
      }),
    );
    const upstreamBefore = fake.counts.total;
    const roje = spawnRoje(['serve', '--config', configFile], { t });
    const { line, addresses } = await roje.ready(30_000);
    const server = addresses[0] as { host: string; port: number };
    const api = adminClient(line.admin as string, TOKEN);
    const workers = async () => (await api.get('/api/v1/status')).json.workers as WorkerStatus;

    const first = await workers();
    t.match(first, { mode, configured: 2, running: 2, restarts: 0 });
    t.equal(new Set(first.workers.map((w) => w.id)).size, 2, 'two distinct loops');

    // 400 queries, each from its own source port: both loops take a share.
    const names = Array.from({ length: 400 }, (_, i) =>
      i % 2 === 0 ? 'www.example.test' : 'blocked.example.test',
    );
    const answers = await mapLimit(names, 20, (name) => ask(server, name));
    t.equal(
      answers.filter((r, i) => (i % 2 === 0 ? isAnswer(r) : isBlocked(r))).length,
      400,
      'every answer right',
    );

    // Reports arrive every second.
    let status = await workers();
    for (let i = 0; i < 20 && status.workers.reduce((n, w) => n + w.queries, 0) < 400; i++) {
      await new Promise((r) => setTimeout(r, 250));
      status = await workers();
    }
    t.ok(
      status.workers.every((w) => w.queries > 0),
      `both loops answered (${status.workers.map((w) => w.queries).join(' + ')})`,
    );

    // The upstreams as the loops saw them: every query that reached the fake upstream, summed over loops
    // (the status once read the primary's idle pool: queries 0, srttMs null).
    const upstreams = (await api.get('/api/v1/status')).json.upstreams as Array<{
      queries: number;
      srttMs: number | null;
      state: string;
    }>;
    t.equal(upstreams.length, 1);
    t.equal(
      upstreams[0]?.queries,
      fake.counts.total - upstreamBefore,
      'upstream queries summed over the loops',
    );
    t.ok((upstreams[0]?.queries ?? 0) >= 1, 'the upstream was asked');
    t.type(upstreams[0]?.srttMs, 'number', 'with a round-trip time');
    t.equal(upstreams[0]?.state, 'up');

    const metrics = (await api.get('/metrics')).text;
    const sum = (re: RegExp) =>
      metrics
        .split('\n')
        .filter((l) => re.test(l))
        .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    t.ok(sum(/^roje_queries_total\{/) >= 400, 'queries summed over the loops');
    t.equal(sum(/^roje_blocked_total\{.*category="adult"/), 200, 'blocks summed over the loops');
    t.match(metrics, /roje_workers\{state="running"\} 2/);
    t.equal((metrics.match(/^# TYPE roje_queries_total /gm) ?? []).length, 1, 'one family, not one per loop');

    const today = new Date().toISOString().slice(0, 10);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const summary = (await api.get(`/api/v1/stats/summary?from=${today}&to=${tomorrow}`)).json;
    t.equal(summary.blocked, 200, 'the statistics store has every loop’s blocks');

    // A list swap reaches every loop.
    writeFileSync(listFile, 'blocked.example.test\nnew.example.test\n');
    t.equal((await api.post('/api/v1/lists/refresh')).status, 200);
    const swapped = await mapLimit(
      Array.from({ length: 40 }, () => 'new.example.test'),
      10,
      (name) => ask(server, name),
    );
    t.equal(swapped.filter(isBlocked).length, 40, 'every loop blocks the new name');

    if (mode === 'processes') {
      // kill -9 of one loop under load: the other answers, a new one takes the dead one's place.
      const victim = (status.workers[0] as { id: number }).id;
      const load = mapLimit(
        Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? 'blocked.example.test' : 'www.example.test')),
        10,
        async (name) => {
          const r = await ask(server, name);
          return name.startsWith('blocked') ? isBlocked(r) : isAnswer(r);
        },
      );
      await new Promise((r) => setTimeout(r, 100));
      process.kill(victim, 'SIGKILL');
      const results = await load;
      t.equal(results.filter(Boolean).length, 300, 'no query lost while a loop died');
      let after = await workers();
      for (let i = 0; i < 40 && !(after.running === 2 && after.restarts === 1); i++) {
        await new Promise((r) => setTimeout(r, 250));
        after = await workers();
      }
      t.match(after, { running: 2, restarts: 1 }, 'replaced');
      t.notOk(
        after.workers.some((w) => w.id === victim),
        'by a new process',
      );
      const again = await mapLimit(
        Array.from({ length: 40 }, () => 'new.example.test'),
        10,
        (n) => ask(server, n),
      );
      t.equal(again.filter(isBlocked).length, 40, 'the new loop has the swapped lists');
      t.match((await api.get('/metrics')).text, /roje_worker_restarts_total 1/);
    }

    roje.kill('SIGTERM');
    t.equal((await roje.waitForExit(20_000)).code, 0, 'stops cleanly');
  });
}
