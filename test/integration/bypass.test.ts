/**
 * Bypass prevention through a real roje, with dig: the Firefox canary and iCloud Private Relay get
 * NXDOMAIN, DDR (resolver.arpa) gets NODATA, for every query type and whatever the venue allows, with
 * EDE 17; the upstream is never asked; each rule can be switched off.
 */
import t from 'tap';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { startRoje, udpUrl } from '../helpers/roje.js';

const fake = await startFakeUpstream({ apexes: ['example.test', 'net', 'com', 'arpa'] });
t.teardown(() => fake.close());
for (const name of ['use-application-dns.net', 'mask.icloud.com', 'mask-h2.icloud.com', 'www.example.test']) {
  fake.zone.set(name, 'A', [{ data: '198.51.100.9', ttl: 300 }]);
}

t.test('each rule, every query type, every venue; the upstream never asked', async (t) => {
  const roje = await startRoje({
    upstreams: [udpUrl(fake)],
    lists: [],
    // A venue that allows everything still gets the bypass answers.
    policies: {
      open: { block: ['abuse'], blockMode: 'nxdomain', allow: ['icloud.com', 'use-application-dns.net'] },
    },
    venues: [{ name: 'lobby', networks: ['127.0.0.2/32'], policy: 'open' }],
  });
  t.teardown(() => roje.stop());
  const asked = () =>
    [
      'use-application-dns.net',
      'mask.icloud.com',
      'mask-h2.icloud.com',
      '_dns.resolver.arpa',
      'resolver.arpa',
    ]
      .map((n) => fake.queriesFor(n))
      .reduce((a, b) => a + b, 0);
  const cases: Array<[string, string, string]> = [
    ['use-application-dns.net', 'A', 'NXDOMAIN'],
    ['use-application-dns.net', 'AAAA', 'NXDOMAIN'],
    ['mask.icloud.com', 'A', 'NXDOMAIN'],
    ['mask.icloud.com', 'HTTPS', 'NXDOMAIN'],
    ['MASK-H2.iCloud.com', 'AAAA', 'NXDOMAIN'],
    ['_dns.resolver.arpa', 'SVCB', 'NOERROR'],
    ['resolver.arpa', 'A', 'NOERROR'],
  ];
  for (const source of ['127.0.0.1', '127.0.0.2']) {
    for (const [name, type, status] of cases) {
      const r = await roje.dig(['-b', source, name, type]);
      t.equal(r.status, status, `${name} ${type} from ${source}`);
      t.equal(r.answers.length, 0, `${name} ${type}: no records`);
      t.match(r.ede, [{ code: 17, text: 'bypass prevention' }]);
    }
  }
  t.equal(asked(), 0, 'none of them reached the upstream');
  t.equal((await roje.dig(['www.example.test', 'A'])).answers[0]?.data, '198.51.100.9', 'the rest resolves');
  t.equal(
    (await roje.dig(['icloud.com', 'A'])).status !== 'SERVFAIL',
    true,
    'only the mask hosts, not icloud.com',
  );
});

t.test('each rule can be switched off', async (t) => {
  const roje = await startRoje({
    upstreams: [udpUrl(fake)],
    lists: [],
    bypass: { firefoxCanary: false, privateRelay: true, ddr: false },
  });
  t.teardown(() => roje.stop());
  t.equal((await roje.dig(['use-application-dns.net', 'A'])).answers[0]?.data, '198.51.100.9');
  t.equal((await roje.dig(['mask.icloud.com', 'A'])).status, 'NXDOMAIN');
  t.not((await roje.dig(['_dns.resolver.arpa', 'SVCB'])).ede?.[0]?.code, 17, 'DDR answered by the upstream');
});
