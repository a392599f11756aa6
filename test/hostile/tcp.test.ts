/**
 * Issue #18, TCP slots: a slowloris (1,000 connections, one byte every 4 s) from outside acl.allow (A)
 * and from one allowed address (B), while a legitimate client at 127.0.0.2 asks over TCP and UDP.
 * Target: at least 99 % of its queries answered correctly within 1 s, and every attacking connection
 * closed by roje. Bounded: 1,000 sockets, 10 s of legitimate queries per attack.
 */
import t from 'tap';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { startRoje, udpUrl } from '../helpers/roje.js';
import { runLegitClient, type SlowlorisOptions, startSlowloris } from '../helpers/tcp-attack.js';

const ATTACK_CONNECTIONS = 1000;
const LEGIT_MS = 10_000;

const fake = await startFakeUpstream();
t.teardown(() => fake.close());
fake.zone.set('www.example.test', 'A', [{ data: '192.0.2.1', ttl: 300 }]);

const roje = await startRoje({ upstreams: [udpUrl(fake)], acl: { allow: ['127.0.0.0/24'] } }, { t });
const target = { host: roje.host, port: roje.port };

async function underAttack(attack: SlowlorisOptions) {
  const slowloris = startSlowloris(target, attack);
  const legit = await runLegitClient(target, {
    source: '127.0.0.2',
    name: 'www.example.test',
    expect: '192.0.2.1',
    durationMs: LEGIT_MS,
    maxQueries: 400,
    intervalMs: 20,
  });
  await slowloris.opened;
  return { legit, attack: slowloris.stop() };
}

t.test('A: 1,000 trickling connections from outside acl.allow are closed at accept', async (t) => {
  const { legit, attack } = await underAttack({
    sources: ['127.0.1.1'],
    connections: ATTACK_CONNECTIONS,
    byteEveryMs: 4000,
  });
  t.comment(JSON.stringify({ legit, attack }));
  t.ok(legit.sent >= 100, `${legit.sent} legitimate queries`);
  t.ok(
    legit.rate >= 0.99,
    `legitimate client: ${legit.ok}/${legit.sent} within 1 s ${legit.failures.join('; ')}`,
  );
  t.equal(attack.openAtStop, 0, 'no attacking connection left open');
  t.equal(attack.closedByServer, attack.connected, 'every attacking connection closed by roje');
  t.equal(attack.heldOverTwoSeconds, 0, `closed at accept (median ${attack.closeMsMedian} ms)`);
});

t.test(
  'B: 1,000 trickling connections from one allowed address: capped, then cut at the deadline',
  async (t) => {
    const { legit, attack } = await underAttack({
      sources: ['127.0.0.9'],
      connections: ATTACK_CONNECTIONS,
      byteEveryMs: 4000,
    });
    t.comment(JSON.stringify({ legit, attack }));
    t.ok(legit.sent >= 100, `${legit.sent} legitimate queries`);
    t.ok(
      legit.rate >= 0.99,
      `legitimate client: ${legit.ok}/${legit.sent} within 1 s ${legit.failures.join('; ')}`,
    );
    t.equal(attack.openAtStop, 0, 'no attacking connection left open');
    t.equal(attack.closedByServer, attack.connected, 'every attacking connection closed by roje');
    t.ok(attack.heldOverTwoSeconds <= 16, `only the per-client cap held on: ${attack.heldOverTwoSeconds}`);
    // The 16 held ones miss the 3 s first-query deadline though a byte came every 4 s; generous bound for a
    // loaded machine.
    t.ok(attack.closeMsMax < 8000, `the slowest was cut after ${attack.closeMsMax} ms`);
  },
);
