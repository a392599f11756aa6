/**
 * Special-use names never leave the network, through the real server and dig: answered by roje as
 * unbound's default local zones answer them (AA RA, the records, or NXDOMAIN/NODATA with the zone's
 * SOA), the upstream never asked. RFC 6761 §6.3-6.4 (localhost, invalid), RFC 6762 §22.1 (local),
 * RFC 7686 §2 (onion), RFC 8375 §4 (home.arpa), RFC 6303 §4 (private reverse zones). And before the
 * lists are loaded: they need none, so `localhost` resolves while everything else fails closed.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { startRoje, udpUrl } from '../helpers/roje.js';

const fake = await startFakeUpstream({ apexes: ['example.test'] });
t.teardown(() => fake.close());
fake.zone.set('www.example.test', 'A', [{ data: '192.0.2.1', ttl: 300 }]);
const roje = await startRoje({ upstreams: [udpUrl(fake)] }, { t });

const SOA = 'localhost. nobody.invalid. 1 3600 1200 604800 10800';

t.test('RFC 6761 §6.3: localhost, any case, any depth: loopback, AA RA, nothing sent upstream', async (t) => {
  const before = fake.counts.total;
  for (const name of ['localhost', 'LOCALHOST', 'app.localhost']) {
    const a = await roje.dig([name, 'A']);
    t.equal(a.status, 'NOERROR', name);
    t.same(a.flags, ['qr', 'aa', 'rd', 'ra']);
    t.same(
      a.answers.map((r) => [r.name, r.ttl, r.type, r.data]),
      [[`${name}.`, 10800, 'A', '127.0.0.1']],
    );
    const aaaa = await roje.kdig([name, 'AAAA']);
    t.same(
      aaaa.answers.map((r) => r.data),
      ['::1'],
    );
  }
  t.equal(fake.counts.total, before, 'the upstream was never asked');
});

t.test(
  'RFC 7686, RFC 6761 §6.4, RFC 8375, RFC 6762 §22.1, RFC 6303: NXDOMAIN with the SOA, never forwarded',
  async (t) => {
    const before = fake.counts.total;
    const cases: Array<[string, string, string, string]> = [
      ['hidden.onion', 'A', 'NXDOMAIN', 'onion.'],
      ['duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion', 'AAAA', 'NXDOMAIN', 'onion.'],
      ['x.invalid', 'A', 'NXDOMAIN', 'invalid.'],
      ['printer.home.arpa', 'A', 'NXDOMAIN', 'home.arpa.'],
      ['home.arpa', 'A', 'NOERROR', 'home.arpa.'],
      ['macbook.local', 'A', 'NXDOMAIN', 'local.'],
      ['1.1.168.192.in-addr.arpa', 'PTR', 'NXDOMAIN', '168.192.in-addr.arpa.'],
      ['4.3.2.10.in-addr.arpa', 'PTR', 'NXDOMAIN', '10.in-addr.arpa.'],
      ['2.0.0.127.in-addr.arpa', 'PTR', 'NXDOMAIN', '127.in-addr.arpa.'],
    ];
    for (const [name, type, status, zone] of cases) {
      const r = await roje.dig([name, type]);
      t.equal(r.status, status, `${name} ${type}`);
      t.same(r.flags, ['qr', 'aa', 'rd', 'ra']);
      t.same(r.answers, []);
      t.same(
        r.authority.map((a) => [a.name, a.type, a.data]),
        [[zone, 'SOA', SOA]],
      );
    }
    const ptr = await roje.dig(['-x', '127.0.0.1']);
    t.same(
      ptr.answers.map((a) => [a.name, a.type, a.data]),
      [['1.0.0.127.in-addr.arpa.', 'PTR', 'localhost.']],
    );
    const ptr6 = await roje.dig(['-x', '::1']);
    t.same(
      ptr6.answers.map((a) => a.data),
      ['localhost.'],
    );
    t.equal(fake.counts.total, before, 'none of them reached the upstream');
    const ordinary = await roje.dig(['www.example.test', 'A']);
    t.equal(ordinary.status, 'NOERROR', 'an ordinary name still goes upstream');
    t.equal(fake.counts.total, before + 1);
  },
);

t.test('special-use names are answered while the lists are not loaded; others fail closed', async (t) => {
  // A feed that never answers: roje stays not ready (SERVFAIL, EDE 14) for every ordinary name.
  const feed = createServer((_req, res) => res.writeHead(503).end('not yet'));
  await new Promise<void>((resolve) => feed.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => feed.close(() => resolve())));
  const url = `http://127.0.0.1:${(feed.address() as AddressInfo).port}/adult.txt`;
  const waiting = await startRoje(
    {
      upstreams: [udpUrl(fake)],
      stateDir: join(t.testdir({}), 'state'),
      lists: [{ category: 'adult', url, name: 'never', timeout: '2s' }],
    },
    { t },
  );
  const ordinary = await waiting.dig(['www.example.test', 'A']);
  t.equal(ordinary.status, 'SERVFAIL');
  t.match(ordinary.ede, [{ code: 14 }]);
  const local = await waiting.dig(['localhost', 'A']);
  t.equal(local.status, 'NOERROR', 'localhost needs no list');
  t.same(
    local.answers.map((a) => a.data),
    ['127.0.0.1'],
  );
  t.equal((await waiting.dig(['x.onion', 'A'])).status, 'NXDOMAIN');
});
