/**
 * app.reload(config) on a running server: queries in flight are answered, the new upstreams take
 * over at once, the listeners (and their ports) stay, and the cache survives unless its bounds change.
 */
import { createSocket } from 'node:dgram';
import t from 'tap';
import { query, startFakeUpstream } from '../helpers/fake-upstream.js';
import { answerData, rcodeName, startRoje, udpUrl, waitFor } from '../helpers/roje.js';

const oldUp = await startFakeUpstream();
const newUp = await startFakeUpstream();
t.teardown(() => Promise.all([oldUp.close(), newUp.close()]));
for (const [up, ip] of [
  [oldUp, '192.0.2.1'],
  [newUp, '198.51.100.1'],
] as const) {
  for (const name of ['inflight.example.test', 'inflight-tcp.example.test', 'moved.example.test']) {
    up.zone.set(name, 'A', [{ data: ip, ttl: 300 }]);
  }
  up.zone.set('kept.example.test', 'A', [{ data: ip, ttl: 300 }]);
}

t.test('in-flight queries are answered; the new upstream takes over', async (t) => {
  const roje = await startRoje({ upstreams: [udpUrl(oldUp)] }, { t });
  const port = roje.port;
  oldUp.behave('inflight.example.test', { delayMs: 300 });
  oldUp.behave('inflight-tcp.example.test', { delayMs: 300 });
  t.teardown(() => {
    oldUp.behave('inflight.example.test', null);
    oldUp.behave('inflight-tcp.example.test', null);
  });

  const udp = query(roje, 'inflight.example.test', 'A', { id: 11, timeoutMs: 5000 });
  const tcp = query(roje, 'inflight-tcp.example.test', 'A', { id: 12, transport: 'tcp', timeoutMs: 5000 });
  // Both queries must have reached the old upstream before the reload starts.
  await waitFor(
    () => oldUp.queriesFor('inflight.example.test') > 0 && oldUp.queriesFor('inflight-tcp.example.test') > 0,
    'both queries to reach the old upstream',
  );
  t.equal(oldUp.queriesFor('inflight.example.test'), 1);
  t.equal(oldUp.queriesFor('inflight-tcp.example.test'), 1);

  await roje.app.reload(await roje.configFor({ upstreams: [udpUrl(newUp)] }));

  const [u, c] = await Promise.all([udp, tcp]);
  t.equal(u.decoded.id, 11);
  t.equal(rcodeName(u.decoded), 'NOERROR', 'the UDP query in flight was answered');
  t.same(answerData(u.decoded), ['192.0.2.1'], 'by the old upstream');
  t.equal(c.decoded.id, 12);
  t.equal(rcodeName(c.decoded), 'NOERROR', 'the TCP query in flight was answered');

  const moved = await roje.dig(['moved.example.test']);
  t.same(
    moved.answers.map((a) => a.data),
    ['198.51.100.1'],
    'a new query goes to the new upstream',
  );
  t.equal(oldUp.queriesFor('moved.example.test'), 0);
  t.equal(newUp.queriesFor('moved.example.test'), 1);
  t.equal(roje.app.addresses()[0].port, port, 'same listener, same port');
  t.same(
    roje.app.upstreamHealth().map((h) => h.url),
    [udpUrl(newUp)],
  );
  t.ok(
    roje.logs.some((l) => l.msg === 'config reloaded'),
    'the reload is logged',
  );
});

t.test('the cache survives a reload that keeps its settings, and not one that changes them', async (t) => {
  const roje = await startRoje({ upstreams: [udpUrl(oldUp)] }, { t });
  const first = await roje.dig(['kept.example.test']);
  t.same(
    first.answers.map((a) => a.data),
    ['192.0.2.1'],
  );

  await roje.app.reload(await roje.configFor({ upstreams: [udpUrl(newUp)] }));
  const kept = await roje.dig(['kept.example.test']);
  t.same(
    kept.answers.map((a) => a.data),
    ['192.0.2.1'],
    'answered from the kept cache',
  );
  t.equal(newUp.queriesFor('kept.example.test'), 0);

  await roje.app.reload(await roje.configFor({ upstreams: [udpUrl(newUp)], cache: { maxEntries: 500 } }));
  const fresh = await roje.dig(['kept.example.test']);
  t.same(
    fresh.answers.map((a) => a.data),
    ['198.51.100.1'],
    'a new cache: asked upstream again',
  );
  t.equal(newUp.queriesFor('kept.example.test'), 1);
});

t.test('a reload that adds a listener opens it without closing the first', async (t) => {
  const roje = await startRoje({ upstreams: [udpUrl(oldUp)] }, { t });
  const port = roje.port;
  await roje.app.reload(
    await roje.configFor({ upstreams: [udpUrl(oldUp)], listen: ['127.0.0.1:0', '127.0.0.2:0'] }),
  );
  const addresses = roje.app.addresses();
  t.same(addresses.map((a) => a.host).sort(), ['127.0.0.1', '127.0.0.2']);
  t.equal(addresses.find((a) => a.host === '127.0.0.1')?.port, port);
  const second = addresses.find((a) => a.host === '127.0.0.2')!;
  const r = await roje.dig(['moved.example.test'], second);
  t.equal(r.status, 'NOERROR');
  t.equal((await roje.dig(['moved.example.test'])).status, 'NOERROR', 'the first listener still serves');

  await roje.app.reload(await roje.configFor({ upstreams: [udpUrl(oldUp)], listen: ['127.0.0.2:0'] }));
  t.same(
    roje.app.addresses().map((a) => a.host),
    ['127.0.0.2'],
    'a listener dropped from the config is closed',
  );
});

t.test('a reload that cannot bind a new address changes nothing', async (t) => {
  const roje = await startRoje({ upstreams: [udpUrl(oldUp)] }, { t });
  const port = roje.port;
  const busy = createSocket('udp4');
  await new Promise<void>((resolve) => busy.bind(0, '127.0.0.1', () => resolve()));
  t.teardown(() => busy.close());
  const busyPort = busy.address().port;
  const next = await roje.configFor({
    upstreams: [udpUrl(newUp)],
    listen: ['127.0.0.1:0', '127.0.0.2:0', `127.0.0.1:${busyPort}`],
  });
  await t.rejects(roje.app.reload(next), { code: 'ROJE_ERR_LISTEN_FAILED' });

  t.same(
    roje.app.addresses().map((a) => [a.host, a.port]),
    [['127.0.0.1', port]],
    'the listener opened before the failure was closed again',
  );
  t.same(
    roje.app.upstreamHealth().map((h) => h.url),
    [udpUrl(oldUp)],
    'the old upstreams are still in use',
  );
  const before = newUp.counts.total;
  const r = await roje.dig(['moved.example.test']);
  t.same(
    r.answers.map((a) => a.data),
    ['192.0.2.1'],
    'answered by the old upstream',
  );
  t.equal(newUp.counts.total, before, 'the new upstream was never asked');
});
