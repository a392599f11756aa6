/**
 * roje_query_duration_seconds through the real server: dig and kdig (UDP and TCP) ask for names the
 * cache holds, names a list blocks, and names whose loopback upstream answers after 120 ms; /metrics then
 * counts every query once, the upstream answers above 100 ms, the cache hits and blocks in the lowest
 * buckets. With `workers: 2` the loops' histograms are summed into one.
 */
import t, { type Test } from 'tap';
import { supportsReusePort } from '../../src/transport/reuse-port.js';
import type { WorkerPoolStatus } from '../../src/workers/supervisor.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { seriesOf } from '../helpers/metrics.js';
import { type Roje, startRoje, udpUrl } from '../helpers/roje.js';

// Over 100 ms (a bucket bound) by more than a timer's slack, so that no upstream answer can land under it.
const UPSTREAM_DELAY_MS = 120;
const SLOW = Array.from({ length: 8 }, (_, i) => `slow${i}.example.test`);

const fake = await startFakeUpstream({ apexes: ['example.test'] });
t.teardown(() => fake.close());
fake.zone.set('www.example.test', 'A', [{ data: '198.51.100.7', ttl: 300 }]);
for (const name of SLOW) {
  fake.zone.set(name, 'A', [{ data: '198.51.100.8', ttl: 300 }]);
  fake.behave(name, { delayMs: UPSTREAM_DELAY_MS });
}
// Never answered: SERVFAIL once the upstream timeout (below) has passed.
fake.behave('silent.example.test', { silent: true });
const UPSTREAM_TIMEOUT_MS = 500;

async function scrape(roje: Roje): Promise<Map<string, number>> {
  return seriesOf((await roje.app.admin.metrics()).body);
}

/** What the queries between two scrapes added to the histogram and to roje_queries_total. */
function delta(before: Map<string, number>, after: Map<string, number>) {
  const d = (series: string) => (after.get(series) ?? 0) - (before.get(series) ?? 0);
  const total = (prefix: string, m: Map<string, number>) =>
    [...m].filter(([k]) => k.startsWith(prefix)).reduce((n, [, v]) => n + v, 0);
  return {
    count: (source: string) => d(`roje_query_duration_seconds_count{source="${source}"}`),
    le: (bound: string, source: string) =>
      d(`roje_query_duration_seconds_bucket{le="${bound}",source="${source}"}`),
    sum: (source: string) => d(`roje_query_duration_seconds_sum{source="${source}"}`),
    counts: () =>
      total('roje_query_duration_seconds_count{', after) -
      total('roje_query_duration_seconds_count{', before),
    queries: () => total('roje_queries_total{', after) - total('roje_queries_total{', before),
  };
}

const config = (dir: string) => ({
  upstreams: [udpUrl(fake)],
  upstream: { timeout: `${UPSTREAM_TIMEOUT_MS}ms` },
  lists: [{ category: 'adult', path: `${dir}/adult.txt` }],
  policies: { default: { block: ['abuse', 'adult'], blockMode: 'nxdomain' } },
  stateDir: `${dir}/state`,
});

/** Asks `name` once with dig or kdig, over UDP or TCP, and checks the answer's status. */
async function ask(t: Test, roje: Roje, tool: 'dig' | 'kdig', name: string, tcp = false) {
  const r = await roje[tool]([...(tcp ? ['+tcp'] : []), name, 'A']);
  const expected = name.startsWith('blocked')
    ? 'NXDOMAIN'
    : name.startsWith('silent')
      ? 'SERVFAIL'
      : 'NOERROR';
  t.equal(r.status, expected, `${tool} ${tcp ? 'tcp' : 'udp'} ${name}`);
}

/** Each path answered once before the measured queries: a first answer pays for cold code and lazy loads. */
async function warm(t: Test, roje: Roje): Promise<void> {
  for (const tool of ['dig', 'kdig'] as const) {
    for (const tcp of [false, true]) {
      await ask(t, roje, tool, 'www.example.test', tcp);
      await ask(t, roje, tool, 'blocked.example.test', tcp);
    }
  }
}

t.test(
  'one loop: counts per source, upstream answers above 100 ms, hits and blocks at the bottom',
  async (t) => {
    const dir = t.testdir({ 'adult.txt': 'blocked.example.test\n' });
    const roje = await startRoje(config(dir), { t });
    await warm(t, roje);
    const before = await scrape(roje);

    const upstream = SLOW.slice(0, 4);
    for (const name of upstream) await ask(t, roje, 'dig', name);
    for (const tcp of [false, true]) {
      for (let i = 0; i < 3; i++) await ask(t, roje, 'dig', 'www.example.test', tcp);
      for (let i = 0; i < 3; i++) await ask(t, roje, 'kdig', 'blocked.example.test', tcp);
    }
    for (const name of upstream) t.equal(fake.queriesFor(name), 1, `${name} asked upstream once`);
    // A SERVFAIL after the upstream timed out waited on the upstream too: not one of roje's own answers.
    await ask(t, roje, 'dig', 'silent.example.test');

    const d = delta(before, await scrape(roje));
    t.equal(d.count('upstream'), 5, '4 upstream answers and a timeout');
    t.equal(d.count('cache'), 6, '6 cache hits');
    t.equal(d.count('blocked'), 6, '6 blocked answers');
    t.equal(d.count('local'), 0, 'the timeout is not a local answer');
    t.equal(d.counts(), 17, 'every query timed once');
    t.equal(d.queries(), 17, 'as many as roje_queries_total counted');

    // The upstream waited 120 ms before answering: none at or under 100 ms, and all well under 2.5 s.
    // (Timing belongs in bench/: the bounds here hold on a busy machine, where tests run in parallel.)
    t.equal(d.le('0.1', 'upstream'), 0, 'no upstream answer at or under 100 ms');
    t.ok(d.le('0.25', 'upstream') <= 4, 'the timeout (500 ms) above 250 ms');
    t.equal(d.le('2.5', 'upstream'), 5, 'all at or under 2.5 s');
    const floor = 4 * (UPSTREAM_DELAY_MS / 1000) + UPSTREAM_TIMEOUT_MS / 1000;
    t.ok(d.sum('upstream') >= floor, `upstream sum ${d.sum('upstream')} s >= ${floor} s`);
    t.comment(`upstream answers at or under 250 ms: ${d.le('0.25', 'upstream')} of 5`);

    // Cache hits and blocks are answered in one synchronous call: at the bottom, far below the upstream's.
    t.equal(d.le('0.25', 'cache'), 6, 'cache hits at or under 250 ms');
    t.equal(d.le('0.25', 'blocked'), 6, 'blocks at or under 250 ms');
    t.ok(d.le('0.005', 'cache') >= 3, `most cache hits at or under 5 ms (${d.le('0.005', 'cache')} of 6)`);
    t.ok(d.le('0.005', 'blocked') >= 3, `most blocks at or under 5 ms (${d.le('0.005', 'blocked')} of 6)`);
    t.comment(
      `at or under 250 µs: cache ${d.le('0.00025', 'cache')} of 6, blocked ${d.le('0.00025', 'blocked')} of 6`,
    );
  },
);

const mode = supportsReusePort() ? 'threads' : 'processes';

t.test(`workers: 2 (${mode}): the loops' histograms summed`, async (t) => {
  const dir = t.testdir({ 'adult.txt': 'blocked.example.test\n' });
  const roje = await startRoje({ ...config(dir), workers: 2, workerMode: mode }, { t });
  // dig takes a new source port each time: both loops get a share (SO_REUSEPORT, or the primary's
  // round robin between processes). Warm twice, so that each loop has likely answered each path.
  await warm(t, roje);
  await warm(t, roje);
  const before = await scrape(roje);
  const blocked = 30;
  for (let i = 0; i < blocked; i++) await ask(t, roje, i % 2 === 0 ? 'dig' : 'kdig', 'blocked.example.test');
  const upstream = SLOW.slice(4);
  for (const name of upstream) await ask(t, roje, 'dig', name);

  // Each loop reports its listener counts every second: wait (bounded) until both have answered.
  const perLoop = () => {
    const status = roje.app.admin.status() as { workers: WorkerPoolStatus | null };
    return (status.workers?.workers ?? []).map((w) => w.queries);
  };
  for (let i = 0; i < 40 && !(perLoop().length === 2 && perLoop().every((q) => q > 0)); i++) {
    await new Promise((r) => setTimeout(r, 250));
  }
  t.ok(
    perLoop().length === 2 && perLoop().every((q) => q > 0),
    `both loops answered (${perLoop().join(' + ')})`,
  );

  const body = (await roje.app.admin.metrics()).body;
  const d = delta(before, seriesOf(body));
  t.equal(d.count('blocked'), blocked, 'every block, from both loops');
  t.equal(d.count('upstream'), upstream.length);
  t.equal(d.counts(), blocked + upstream.length, 'every query timed once');
  t.equal(d.queries(), blocked + upstream.length, 'as many as roje_queries_total counted');
  t.equal(d.le('0.1', 'upstream'), 0, 'no upstream answer at or under 100 ms');
  t.equal(d.le('2.5', 'upstream'), upstream.length, 'all at or under 2.5 s');
  t.equal(d.le('0.25', 'blocked'), blocked, 'blocks at or under 250 ms');
  t.ok(d.le('0.005', 'blocked') >= blocked / 2, `most blocks at or under 5 ms (${d.le('0.005', 'blocked')})`);
  const bucketLines = body.split('\n').filter((l) => l.startsWith('roje_query_duration_seconds_bucket{'));
  t.equal(bucketLines.length, 4 * 18, 'one series per source and bound (17 and +Inf), not one per loop');
  t.equal((body.match(/^# TYPE roje_query_duration_seconds /gm) ?? []).length, 1, 'one family');
});
