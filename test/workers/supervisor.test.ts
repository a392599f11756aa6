/**
 * The worker pool on its own, in both modes this Node.js has: loops start on one address and answer,
 * report statistics and metrics, and a loop that fails (here: handed a damaged artifact, which it cannot
 * load) is replaced with the current lists while the pool goes on answering.
 */
import { join } from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import { validateConfig } from '../../src/config/load.js';
import { loadLists } from '../../src/policy/lists-loader.js';
import type { HourCounts } from '../../src/stats/recorder.js';
import { supportsReusePort } from '../../src/transport/reuse-port.js';
import type { ListsMessage } from '../../src/workers/protocol.js';
import { createWorkerPool } from '../../src/workers/supervisor.js';
import { query, startFakeUpstream } from '../helpers/fake-upstream.js';
import { answerData, rcodeName, udpUrl } from '../helpers/roje.js';

const fake = await startFakeUpstream({ apexes: ['example.test'] });
t.teardown(() => fake.close());
fake.zone.set('www.example.test', 'A', [{ data: '198.51.100.9', ttl: 300 }]);

const modes: Array<'threads' | 'processes'> = supportsReusePort() ? ['threads', 'processes'] : ['processes'];

for (const mode of modes) {
  t.test(`${mode}: two loops answer, report, and a failed loop is replaced`, async (t) => {
    const dir = t.testdir({ 'adult.txt': 'blocked.example.test\n' });
    const config = await validateConfig(
      {
        listen: ['127.0.0.1:0'],
        upstreams: [udpUrl(fake)],
        workers: 2,
        workerMode: mode,
        lists: [{ category: 'adult', path: join(dir, 'adult.txt'), name: 'adult' }],
        policies: { default: { block: ['abuse', 'adult'], blockMode: 'nxdomain' } },
        log: { level: 'silent' },
      },
      join(dir, 'roje.yaml'),
    );
    const loaded = await loadLists(config);
    const good: ListsMessage = {
      type: 'lists',
      bytes: loaded.lists.artifact as Uint8Array,
      missing: [],
      abuseKey: null,
    };
    const counts: HourCounts[] = [];
    const pool = createWorkerPool({
      count: 2,
      mode,
      logger: pino({ level: 'silent' }),
      lists: () => good,
      state: () => ({ type: 'state', checkedAt: [], overrides: [] }),
      salt: () => null,
      onCounts: (c) => counts.push(...c),
    });
    t.teardown(() => pool.stop());
    const [address] = await pool.start(config);
    const server = { host: '127.0.0.1', port: (address as { port: number }).port };
    t.match(pool.status(), { mode, configured: 2, running: 2, restarts: 0 });

    const answersRight = async (n: number) => {
      let right = 0;
      for (let i = 0; i < n; i++) {
        const blocked = await query(server, 'blocked.example.test', 'A');
        const www = await query(server, 'www.example.test', 'A');
        if (rcodeName(blocked.decoded) === 'NXDOMAIN' && answerData(www.decoded).includes('198.51.100.9'))
          right++;
      }
      return right;
    };
    t.equal(await answersRight(20), 20, 'blocked and forwarded names answered right');

    const metrics = await pool.metrics();
    t.equal(metrics.length, 2, 'one metrics set per loop');
    const queries = metrics
      .flatMap((m) => m.filter((x) => x.name === 'roje_queries_total'))
      .flatMap((m) => m.values)
      .reduce((n, v) => n + v.value, 0);
    t.equal(queries, 40, 'the loops counted every query');

    await new Promise((r) => setTimeout(r, 1300));
    t.equal(
      counts.reduce((n, c) => n + c.blocked, 0),
      20,
      'statistics deltas arrive from the loops',
    );

    // A damaged artifact: each loop fails to load it, is ended and replaced with the current lists.
    pool.broadcast({ ...good, bytes: new Uint8Array(64) });
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && !(pool.status().restarts === 2 && pool.status().running === 2)) {
      await new Promise((r) => setTimeout(r, 100));
    }
    t.match(pool.status(), { running: 2, restarts: 2 }, 'both loops replaced');
    t.equal(await answersRight(10), 10, 'the new loops answer with the good lists');

    await pool.stop();
    t.equal(pool.status().running, 0);
  });
}
