/**
 * Upstream failures as the client sees them: SERVFAIL with an Extended DNS Error when nothing
 * answers, failover to the next upstream, and RFC 8767 serve-stale from the cache.
 */
import { createSocket } from 'node:dgram';
import t, { type Test } from 'tap';
import { type FakeUpstream, startFakeUpstream } from '../helpers/fake-upstream.js';
import { sleep, startRoje, udpUrl } from '../helpers/roje.js';

async function fakeWith(t: Test): Promise<FakeUpstream> {
  const fake = await startFakeUpstream();
  t.teardown(() => fake.close());
  fake.zone.set('www.example.test', 'A', [{ data: '192.0.2.1', ttl: 300 }]);
  fake.zone.set('short.example.test', 'A', [{ data: '192.0.2.2', ttl: 1 }]);
  return fake;
}

/** A loopback UDP port with nothing listening on it (bound, then released). */
async function closedPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

// Short per-attempt timeouts keep these tests quick; a whole resolve is bounded by twice this.
const FAST = { timeout: '300ms' };

t.test('upstream timeout -> SERVFAIL with EDE 22', async (t) => {
  const fake = await fakeWith(t);
  fake.behave('www.example.test', { silent: true });
  const roje = await startRoje({ upstreams: [udpUrl(fake)], upstream: FAST }, { t });
  const r = await roje.dig(['www.example.test']);
  t.equal(r.status, 'SERVFAIL');
  t.same(r.answers, []);
  t.same(r.ede, [{ code: 22, purpose: 'No Reachable Authority', text: 'upstreams timed out' }]);
  t.match(r.stdout, /EDE: 22/);
  t.ok(fake.queriesFor('www.example.test') >= 1, 'the upstream was asked');

  // kdig prints the EDE too.
  const k = await roje.kdig(['+edns', 'www.example.test']);
  t.equal(k.status, 'SERVFAIL');
  t.equal(k.ede[0]?.code, 22);
});

t.test('all upstreams silent -> SERVFAIL with EDE 22', async (t) => {
  const a = await fakeWith(t);
  const b = await fakeWith(t);
  a.behave('*', { silent: true });
  b.behave('*', { silent: true });
  const roje = await startRoje({ upstreams: [udpUrl(a), udpUrl(b)], upstream: FAST }, { t });
  const r = await roje.dig(['www.example.test']);
  t.equal(r.status, 'SERVFAIL');
  t.equal(r.ede.length, 1);
  t.equal(r.ede[0].code, 22);
  t.equal(a.queriesFor('www.example.test'), 1, 'first upstream tried');
  t.equal(b.queriesFor('www.example.test'), 1, 'second upstream tried');
  t.equal(roje.logs.filter((l) => l.level >= 50).length, 0, 'an upstream failure is not logged as a bug');
});

t.test('upstream on a closed port -> SERVFAIL with EDE 23 (network error)', async (t) => {
  const port = await closedPort();
  const roje = await startRoje({ upstreams: [`udp://127.0.0.1:${port}`], upstream: FAST }, { t });
  const r = await roje.dig(['www.example.test']);
  t.equal(r.status, 'SERVFAIL');
  t.equal(r.ede.length, 1);
  t.equal(r.ede[0].code, 23, 'Network Error');
  t.match(r.ede[0].text ?? '', /network error/);
  t.notMatch(r.stdout, String(port), 'the EDE text never names the upstream');
});

t.test('failover: first upstream silent, second answers', async (t) => {
  const a = await fakeWith(t);
  const b = await fakeWith(t);
  a.behave('*', { silent: true });
  b.zone.set('www.example.test', 'A', [{ data: '192.0.2.200', ttl: 300 }]);
  const roje = await startRoje({ upstreams: [udpUrl(a), udpUrl(b)], upstream: FAST }, { t });
  const r = await roje.dig(['www.example.test']);
  t.equal(r.status, 'NOERROR');
  t.same(
    r.answers.map((x) => x.data),
    ['192.0.2.200'],
  );
  t.same(r.ede, []);
  t.equal(a.queriesFor('www.example.test'), 1);
  t.equal(b.queriesFor('www.example.test'), 1);
});

t.test('failover: first upstream SERVFAIL or REFUSED, second answers', async (t) => {
  for (const behaviour of [{ servfail: true }, { refused: true }]) {
    const a = await fakeWith(t);
    const b = await fakeWith(t);
    a.behave('*', behaviour);
    b.zone.set('www.example.test', 'A', [{ data: '192.0.2.201', ttl: 300 }]);
    const roje = await startRoje({ upstreams: [udpUrl(a), udpUrl(b)], upstream: FAST }, { t });
    const r = await roje.dig(['www.example.test']);
    const what = Object.keys(behaviour)[0];
    t.equal(r.status, 'NOERROR', what);
    t.same(
      r.answers.map((x) => x.data),
      ['192.0.2.201'],
      what,
    );
    t.equal(a.queriesFor('www.example.test'), 1, `${what}: first asked`);
  }
});

t.test("every upstream SERVFAIL -> the upstream's SERVFAIL is passed on", async (t) => {
  const a = await fakeWith(t);
  const b = await fakeWith(t);
  a.behave('*', { servfail: true });
  b.behave('*', { servfail: true });
  const roje = await startRoje({ upstreams: [udpUrl(a), udpUrl(b)], upstream: FAST }, { t });
  const r = await roje.dig(['www.example.test']);
  t.equal(r.status, 'SERVFAIL');
  t.equal(b.queriesFor('www.example.test'), 1, 'the second upstream was tried');
  // A SERVFAIL is never cached: the next query goes upstream again.
  await roje.dig(['www.example.test']);
  t.equal(a.queriesFor('www.example.test') + b.queriesFor('www.example.test'), 4);
});

t.test('serve-stale: an expired answer with TTL 30 and EDE 3 when the upstream is silent', async (t) => {
  const fake = await fakeWith(t);
  const roje = await startRoje(
    { upstreams: [udpUrl(fake)], upstream: FAST, cache: { serveStale: { enabled: true, answerTtl: '30s' } } },
    { t },
  );
  const fresh = await roje.dig(['short.example.test']);
  t.equal(fresh.answers[0]?.ttl, 1);
  await sleep(1200);
  fake.behave('short.example.test', { silent: true });
  const stale = await roje.dig(['short.example.test']);
  t.equal(stale.status, 'NOERROR');
  t.same(
    stale.answers.map((a) => [a.data, a.ttl]),
    [['192.0.2.2', 30]],
    'stale data with answerTtl',
  );
  t.same(
    stale.ede.map((e) => e.code),
    [3],
    'EDE 3 (Stale Answer)',
  );
  t.equal(fake.queriesFor('short.example.test'), 2, 'the upstream was asked before serving stale');
  t.equal(roje.app.cacheStats().staleHits, 1);

  // Once the upstream is back, the fresh answer replaces the stale one.
  fake.behave('short.example.test', null);
  fake.zone.set('short.example.test', 'A', [{ data: '192.0.2.3', ttl: 300 }]);
  const back = await roje.dig(['short.example.test']);
  t.same(
    back.answers.map((a) => [a.data, a.ttl]),
    [['192.0.2.3', 300]],
  );
  t.same(back.ede, []);
});

t.test('serve-stale also covers upstreams that answer SERVFAIL', async (t) => {
  const fake = await fakeWith(t);
  const roje = await startRoje({ upstreams: [udpUrl(fake)], upstream: FAST }, { t });
  t.equal((await roje.dig(['short.example.test'])).status, 'NOERROR');
  await sleep(1200);
  fake.behave('short.example.test', { servfail: true });
  const stale = await roje.dig(['short.example.test']);
  t.equal(stale.status, 'NOERROR', 'the stale answer beats the SERVFAIL');
  t.same(
    stale.answers.map((a) => [a.data, a.ttl]),
    [['192.0.2.2', 30]],
  );
  t.same(
    stale.ede.map((e) => e.code),
    [3],
  );
  // Without anything stale to serve, the SERVFAIL is passed on.
  fake.behave('www.example.test', { servfail: true });
  t.equal((await roje.dig(['www.example.test'])).status, 'SERVFAIL');
});

t.test('serve-stale also covers an upstream that went away', async (t) => {
  const fake = await fakeWith(t);
  const roje = await startRoje({ upstreams: [udpUrl(fake)], upstream: FAST }, { t });
  t.equal((await roje.dig(['short.example.test'])).status, 'NOERROR');
  await sleep(1200);
  await fake.close();
  const stale = await roje.dig(['short.example.test']);
  t.equal(stale.status, 'NOERROR');
  t.equal(stale.answers[0]?.ttl, 30, 'the default answerTtl is 30 s');
  t.equal(stale.ede[0]?.code, 3);
});

t.test('serve-stale disabled -> SERVFAIL', async (t) => {
  const fake = await fakeWith(t);
  const roje = await startRoje(
    { upstreams: [udpUrl(fake)], upstream: FAST, cache: { serveStale: { enabled: false } } },
    { t },
  );
  t.equal((await roje.dig(['short.example.test'])).answers[0]?.ttl, 1);
  await sleep(1200);
  fake.behave('short.example.test', { silent: true });
  const r = await roje.dig(['short.example.test']);
  t.equal(r.status, 'SERVFAIL');
  t.same(r.answers, []);
  t.same(
    r.ede.map((e) => e.code),
    [22],
  );
});

t.test(
  'an upstream answering garbage or only with a wrong ID -> SERVFAIL with EDE, then the next one',
  async (t) => {
    for (const behaviour of [{ garbage: true }, { wrongId: 'only' as const }]) {
      const fake = await fakeWith(t);
      fake.behave('www.example.test', behaviour);
      const roje = await startRoje({ upstreams: [udpUrl(fake)], upstream: FAST }, { t });
      const r = await roje.dig(['www.example.test']);
      t.equal(r.status, 'SERVFAIL', JSON.stringify(behaviour));
      t.equal(r.ede.length, 1, 'with an Extended DNS Error');
      t.same(r.answers, [], 'nothing forged or unparsable reaches the client');
      const good = await fakeWith(t);
      const both = await startRoje({ upstreams: [udpUrl(fake), udpUrl(good)], upstream: FAST }, { t });
      const ok = await both.dig(['www.example.test']);
      t.equal(ok.status, 'NOERROR', 'failover to a sound upstream');
      t.equal(ok.answers[0]?.data, '192.0.2.1');
    }
  },
);

t.test(
  'a TCP upstream that refuses connections -> SERVFAIL with EDE 23; serve-stale if cached',
  async (t) => {
    const port = await closedPort();
    const fake = await fakeWith(t);
    const roje = await startRoje(
      { upstreams: [udpUrl(fake)], upstream: FAST, cache: { serveStale: { enabled: true } } },
      { t },
    );
    t.equal((await roje.dig(['short.example.test'])).status, 'NOERROR', 'cached (TTL 1)');
    const refused = await startRoje({ upstreams: [`tcp://127.0.0.1:${port}`], upstream: FAST }, { t });
    const r = await refused.dig(['www.example.test']);
    t.equal(r.status, 'SERVFAIL');
    t.equal(r.ede[0]?.code, 23, 'Network Error');
    // The first roje's upstream goes away: its expired answer is served stale.
    fake.behave('*', { silent: true });
    await sleep(1100);
    const stale = await roje.dig(['short.example.test']);
    t.equal(stale.status, 'NOERROR');
    t.equal(stale.answers[0]?.data, '192.0.2.2');
    t.match(stale.ede, [{ code: 3 }], 'EDE 3 Stale Answer');
  },
);
