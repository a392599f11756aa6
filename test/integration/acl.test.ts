/**
 * Who may query: clients outside acl.allow get REFUSED before any upstream work (over TCP their
 * connection is closed at accept), and an IPv6
 * loopback listener serves [::1] clients.
 */
import { createSocket } from 'node:dgram';
import t from 'tap';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { startRoje, udpUrl } from '../helpers/roje.js';

const fake = await startFakeUpstream();
t.teardown(() => fake.close());
fake.zone.set('www.example.test', 'A', [{ data: '192.0.2.1', ttl: 300 }]);
fake.zone.set('www.example.test', 'AAAA', [{ data: '2001:db8::1', ttl: 300 }]);

/** True when this host can bind a UDP socket on ::1 (containers often run without IPv6). */
async function hasIpv6Loopback(): Promise<boolean> {
  const s = createSocket('udp6');
  try {
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(0, '::1', () => resolve());
    });
    return true;
  } catch {
    return false;
  } finally {
    try {
      s.close();
    } catch {
      // never bound
    }
  }
}

t.test('a client outside acl.allow gets REFUSED; the upstream sees nothing', async (t) => {
  const roje = await startRoje({ upstreams: [udpUrl(fake)], acl: { allow: ['10.0.0.0/8'] } }, { t });
  const before = fake.counts.total;
  const udp = await roje.dig(['www.example.test']);
  t.equal(udp.status, 'REFUSED');
  t.same(udp.answers, []);
  t.same(udp.question, { name: 'www.example.test.', class: 'IN', type: 'A' }, 'the question is echoed');
  t.ok(udp.flags.includes('qr'));
  // Over TCP the connection is closed at accept (issue #18): an outsider cannot even hold a slot.
  const tcp = await roje.dig(['www.example.test', '+tcp']);
  t.equal(tcp.status, null, 'over TCP: no answer, the connection was closed at accept');
  t.equal(fake.counts.total, before, 'nothing was forwarded');
  t.equal(roje.app.cacheStats().misses, 0, 'not even the cache was consulted');
});

t.test('a client inside acl.allow is served', async (t) => {
  const roje = await startRoje({ upstreams: [udpUrl(fake)], acl: { allow: ['127.0.0.0/8'] } }, { t });
  const r = await roje.dig(['www.example.test']);
  t.equal(r.status, 'NOERROR');
  t.same(
    r.answers.map((a) => a.data),
    ['192.0.2.1'],
  );
});

const noIpv6 = (await hasIpv6Loopback()) ? false : 'no IPv6 loopback on this host';

t.test('an IPv6 loopback listener answers on [::1]', { skip: noIpv6 }, async (t) => {
  const roje = await startRoje(
    { upstreams: [udpUrl(fake)], listen: ['127.0.0.1:0', '[::1]:0'], acl: { allow: ['::1/128'] } },
    { t },
  );
  const v6 = roje.app.addresses().find((a) => a.family === 'IPv6');
  t.ok(v6, 'an IPv6 listener is bound');
  t.equal(v6?.host, '::1');
  const server = { host: '::1', port: v6!.port };
  const udp = await roje.dig(['www.example.test', 'AAAA'], server);
  t.equal(udp.status, 'NOERROR');
  t.same(
    udp.answers.map((a) => a.data),
    ['2001:db8::1'],
  );
  t.match(udp.stdout, /SERVER: ::1#\d+/);
  const tcp = await roje.dig(['www.example.test', '+tcp'], server);
  t.equal(tcp.status, 'NOERROR');

  // The same roje refuses its IPv4 clients: the ACL only admits ::1.
  const v4 = await roje.dig(['www.example.test']);
  t.equal(v4.status, 'REFUSED');
});

t.test('an IPv6 loopback upstream works', { skip: noIpv6 }, async (t) => {
  const fake6 = await startFakeUpstream({ host: '::1' });
  t.teardown(() => fake6.close());
  fake6.zone.set('six.example.test', 'A', [{ data: '192.0.2.6', ttl: 300 }]);
  const roje = await startRoje({ upstreams: [udpUrl(fake6)] }, { t });
  const r = await roje.dig(['six.example.test']);
  t.equal(r.status, 'NOERROR');
  t.same(
    r.answers.map((a) => a.data),
    ['192.0.2.6'],
  );
  t.equal(fake6.queriesFor('six.example.test'), 1);
});
