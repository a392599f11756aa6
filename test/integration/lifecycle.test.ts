/**
 * Start and stop: a listen address that cannot be bound fails start() and leaves nothing open;
 * stop() lets queries in flight be answered, then nothing answers on the port any more.
 */
import { createSocket } from 'node:dgram';
import { pino } from 'pino';
import t from 'tap';
import { createApp } from '../../src/app.js';
import { query, startFakeUpstream } from '../helpers/fake-upstream.js';
import { answerData, rcodeName, startRoje, udpUrl, waitFor } from '../helpers/roje.js';

const fake = await startFakeUpstream();
t.teardown(() => fake.close());
fake.zone.set('www.example.test', 'A', [{ data: '192.0.2.1', ttl: 300 }]);
fake.zone.set('slow.example.test', 'A', [{ data: '192.0.2.2', ttl: 300 }]);
fake.zone.set('slow-tcp.example.test', 'A', [{ data: '192.0.2.3', ttl: 300 }]);
fake.behave('slow.example.test', { delayMs: 300 });
fake.behave('slow-tcp.example.test', { delayMs: 300 });

t.test('start() fails on a busy port and leaves nothing open', async (t) => {
  const busy = createSocket('udp4');
  await new Promise<void>((resolve) => busy.bind(0, '127.0.0.1', () => resolve()));
  t.teardown(() => busy.close());
  const roje = await startRoje({ upstreams: [udpUrl(fake)] }, { t });
  const config = await roje.configFor({
    upstreams: [udpUrl(fake)],
    listen: ['127.0.0.2:0', `127.0.0.1:${busy.address().port}`],
  });
  const app = createApp(config, { logger: pino({ level: 'silent' }) });
  t.teardown(() => app.stop());
  await t.rejects(app.start(), { code: 'ROJE_ERR_LISTEN_FAILED' });
  t.same(app.addresses(), [], 'the listener opened first was closed again');
});

t.test('stop() answers the queries in flight, then the port goes quiet', async (t) => {
  const roje = await startRoje({ upstreams: [udpUrl(fake)] }, { t });
  t.equal(rcodeName((await roje.query('www.example.test', 'A')).decoded), 'NOERROR');
  const udp = roje.query('slow.example.test', 'A', { id: 21, timeoutMs: 5000 });
  const tcp = roje.query('slow-tcp.example.test', 'A', { id: 22, transport: 'tcp', timeoutMs: 5000 });
  await waitFor(
    () => fake.queriesFor('slow.example.test') > 0 && fake.queriesFor('slow-tcp.example.test') > 0,
    'both queries to reach the upstream',
  );
  await roje.stop();
  const [u, c] = await Promise.all([udp, tcp]);
  t.equal(u.decoded.id, 21);
  t.same(answerData(u.decoded), ['192.0.2.2'], 'the UDP query in flight was answered');
  t.equal(c.decoded.id, 22);
  t.same(answerData(c.decoded), ['192.0.2.3'], 'the TCP query in flight was answered');
  t.same(roje.app.addresses(), []);
  await t.rejects(
    query(roje, 'www.example.test', 'A', { timeoutMs: 300 }),
    /no answer/,
    'nothing answers after stop',
  );
});

t.test('an ephemeral port listed twice opens two listeners', async (t) => {
  const roje = await startRoje({ upstreams: [udpUrl(fake)], listen: ['127.0.0.1:0', '127.0.0.1:0'] }, { t });
  const ports = roje.app.addresses().map((a) => a.port);
  t.equal(ports.length, 2);
  t.not(ports[0], ports[1]);
  for (const port of ports) {
    t.equal((await roje.dig(['www.example.test'], { host: '127.0.0.1', port })).status, 'NOERROR');
  }
});
