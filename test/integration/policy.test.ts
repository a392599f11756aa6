/**
 * Policies through the real server: lists compiled from files, venues picked by client address (dig
 * binds 127.0.0.x sources), every block mode, EDE in dig's output, allow over block, venue additions,
 * CNAME chains into blocked names (fresh and from the cache), and the upstream never asked for a
 * blocked name.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { startRoje, udpUrl } from '../helpers/roje.js';

const dir = t.testdir({});
const files = {
  adult: join(dir, 'adult.txt'),
  abuse: join(dir, 'abuse.txt'),
  gambling: join(dir, 'gambling.txt'),
};
writeFileSync(files.adult, '! adblock style\n||porn.example^\n@@||safe.porn.example^\n||xxx^\n');
writeFileSync(files.abuse, 'abuse.example\n');
writeFileSync(files.gambling, '0.0.0.0 casino.example\n');

const fake = await startFakeUpstream({ apexes: ['example.test'] });
t.teardown(() => fake.close());
fake.zone.set('www.example.test', 'A', [{ data: '198.51.100.1', ttl: 300 }]);
fake.zone.set('safe.porn.example', 'A', [{ data: '198.51.100.2', ttl: 300 }]);
fake.zone.set('www.social.example', 'A', [{ data: '198.51.100.3', ttl: 300 }]);
fake.zone.set('cdn.example.test', 'CNAME', [{ data: 'edge.example.test', ttl: 300 }]);
fake.zone.set('edge.example.test', 'CNAME', [{ data: 'video.porn.example', ttl: 300 }]);
fake.zone.set('video.porn.example', 'A', [{ data: '198.51.100.7', ttl: 300 }]);

const roje = await startRoje(
  {
    upstreams: [udpUrl(fake)],
    lists: [
      { category: 'adult', path: files.adult, format: 'adblock' },
      { category: 'abuse', path: files.abuse },
      { category: 'gambling', path: files.gambling },
    ],
    blockTtl: '30s',
    blockPage: { ipv4: '192.0.2.80', ipv6: '2001:db8::80' },
    policies: {
      default: { block: 'all', blockMode: 'nxdomain' },
      cafe: { block: ['adult', 'abuse'], blockMode: 'blockpage', deny: ['social.example'] },
      arcade: { block: ['gambling', 'abuse'], blockMode: 'null' },
      school: { block: 'all', blockMode: 'refused', allow: ['casino.example'] },
    },
    venues: [
      { name: 'cafe', networks: ['127.0.0.2/32'], policy: 'cafe' },
      { name: 'arcade', networks: ['127.0.0.3/32'], policy: 'arcade' },
      { name: 'school', networks: ['127.0.0.4/32'], policy: 'school' },
    ],
  },
  {},
);
t.teardown(() => roje.stop());

const from = (source: string) => ['-b', source];

t.test('default policy: NXDOMAIN with EDE 15, the synthetic SOA, blockTtl', async (t) => {
  const r = await roje.dig(['WWW.Porn.Example', 'A']);
  t.equal(r.status, 'NXDOMAIN');
  t.same(r.answers, []);
  t.match(r.stdout, /EDE: 15 \(Blocked\)/);
  t.same(r.ede, [{ code: 15, purpose: 'Blocked', text: 'blocked: adult' }]);
  t.equal(r.authority[0]?.type, 'SOA');
  t.equal(r.authority[0]?.ttl, 30);
  t.same(r.question, { name: 'WWW.Porn.Example.', class: 'IN', type: 'A' }, 'the client case');
  t.ok(r.flags.includes('ra') && r.flags.includes('rd') && !r.flags.includes('aa'), `flags ${r.flags}`);
  const abuse = await roje.dig(['deep.abuse.example', 'AAAA']);
  t.same(abuse.ede, [{ code: 15, purpose: 'Blocked', text: 'blocked: abuse' }]);
  t.equal((await roje.dig(['shop.xxx', 'MX'])).status, 'NXDOMAIN', 'a bare TLD entry blocks the TLD');
  const plain = await roje.dig(['porn.example', '+noedns']);
  t.equal(plain.status, 'NXDOMAIN');
  t.equal(plain.opt, null, 'no OPT for a client without EDNS');
});

t.test('blockpage venue: A and AAAA at the block page, HTTPS and MX NODATA', async (t) => {
  const a = await roje.dig([...from('127.0.0.2'), 'porn.example', 'A']);
  t.equal(a.status, 'NOERROR');
  t.same(
    a.answers.map((r) => [r.type, r.data, r.ttl]),
    [['A', '192.0.2.80', 30]],
  );
  t.same(a.ede, [{ code: 15, purpose: 'Blocked', text: 'blocked: adult' }]);
  const aaaa = await roje.dig([...from('127.0.0.2'), 'porn.example', 'AAAA']);
  t.same(
    aaaa.answers.map((r) => r.data),
    ['2001:db8::80'],
  );
  for (const type of ['HTTPS', 'SVCB', 'MX']) {
    const r = await roje.dig([...from('127.0.0.2'), 'porn.example', type]);
    t.equal(r.status, 'NOERROR', type);
    t.same(r.answers, [], `${type}: NODATA`);
    t.equal(r.authority[0]?.type, 'SOA');
  }
  const casino = await roje.dig([...from('127.0.0.2'), 'casino.example']);
  t.same([casino.status, casino.ede], ['NXDOMAIN', []], "cafe: gambling not blocked (the fake's NXDOMAIN)");
});

t.test('null venue: 0.0.0.0 and ::; refused venue: REFUSED', async (t) => {
  const a = await roje.dig([...from('127.0.0.3'), 'casino.example', 'A']);
  t.same(
    a.answers.map((r) => r.data),
    ['0.0.0.0'],
  );
  t.same(a.ede, [{ code: 15, purpose: 'Blocked', text: 'blocked: gambling' }]);
  const aaaa = await roje.dig([...from('127.0.0.3'), 'casino.example', 'AAAA']);
  t.same(
    aaaa.answers.map((r) => r.data),
    ['::'],
  );
  const https = await roje.dig([...from('127.0.0.3'), 'casino.example', 'HTTPS']);
  t.same([https.status, https.answers], ['NOERROR', []]);
  for (const type of ['A', 'HTTPS', 'MX']) {
    const r = await roje.dig([...from('127.0.0.4'), 'porn.example', type]);
    t.equal(r.status, 'REFUSED', `school ${type}`);
    t.same(r.ede, [{ code: 15, purpose: 'Blocked', text: 'blocked: adult' }]);
  }
});

t.test('allow over block: list exceptions and venue allow additions resolve upstream', async (t) => {
  const r = await roje.dig(['safe.porn.example']);
  t.equal(r.status, 'NOERROR');
  t.same(
    r.answers.map((a) => a.data),
    ['198.51.100.2'],
  );
  t.same(r.ede, []);
  const before = fake.queriesFor('casino.example');
  const school = await roje.dig([...from('127.0.0.4'), 'casino.example']);
  t.equal(school.status, 'NXDOMAIN', "the upstream's answer: the fake has no such name");
  t.same(school.ede, [], 'not a block');
  t.equal(fake.queriesFor('casino.example'), before + 1, 'asked upstream');
});

t.test('venue deny additions: EDE 17 Filtered, only for that venue', async (t) => {
  const r = await roje.dig([...from('127.0.0.2'), 'www.social.example', 'A']);
  t.equal(r.status, 'NOERROR');
  t.same(
    r.answers.map((a) => a.data),
    ['192.0.2.80'],
  );
  t.match(r.stdout, /EDE: 17 \(Filtered\)/);
  t.same(r.ede, [{ code: 17, purpose: 'Filtered', text: 'blocked: venue-deny' }]);
  const other = await roje.dig(['www.social.example', 'A']);
  t.same(
    other.answers.map((a) => a.data),
    ['198.51.100.3'],
  );
});

t.test('a CNAME chain into a blocked name is blocked, from the upstream and from the cache', async (t) => {
  // The arcade does not block adult: it gets the chain, and the answer is cached.
  const open = await roje.dig([...from('127.0.0.3'), 'cdn.example.test']);
  t.equal(open.status, 'NOERROR');
  t.same(
    open.answers.map((a) => a.type),
    ['CNAME', 'CNAME', 'A'],
  );
  const hitsBefore = roje.app.cacheStats().hits;
  const blocked = await roje.dig(['cdn.example.test']);
  t.equal(roje.app.cacheStats().hits, hitsBefore + 1, 'answered from the cache');
  t.equal(blocked.status, 'NXDOMAIN');
  t.same(blocked.answers, []);
  t.same(blocked.ede, [{ code: 15, purpose: 'Blocked', text: 'blocked: adult' }]);
  const cafe = await roje.dig([...from('127.0.0.2'), 'edge.example.test', 'A']);
  t.same(
    cafe.answers.map((a) => [a.type, a.data]),
    [['A', '192.0.2.80']],
    'fresh from the upstream, blocked in the venue mode',
  );
});

t.test('allowed names resolve; the upstream never saw a blocked name', async (t) => {
  const r = await roje.dig(['www.example.test']);
  t.same(
    r.answers.map((a) => a.data),
    ['198.51.100.1'],
  );
  for (const name of ['porn.example', 'www.porn.example', 'deep.abuse.example', 'shop.xxx']) {
    t.equal(fake.queriesFor(name), 0, `${name} never forwarded`);
  }
  const tcp = await roje.dig(['porn.example', '+tcp']);
  t.equal(tcp.status, 'NXDOMAIN', 'over TCP too');
  t.equal(fake.queriesFor('porn.example'), 0);
});

t.test('a reload applies new policies and venues', async (t) => {
  const raw = {
    upstreams: [udpUrl(fake)],
    lists: [{ category: 'adult', path: files.adult, format: 'adblock' }],
    policies: { default: { block: ['abuse'], blockMode: 'nxdomain' } },
  };
  const r2 = await startRoje(raw, { t });
  t.same(
    (await r2.dig(['video.porn.example'])).answers.map((a) => a.data),
    ['198.51.100.7'],
    'nothing blocked',
  );
  await r2.app.reload(
    await r2.configFor({
      ...raw,
      policies: {
        default: { block: ['abuse'], blockMode: 'nxdomain' },
        kiosk: { block: ['adult', 'abuse'], blockMode: 'null' },
      },
      venues: [{ name: 'kiosk', networks: ['127.0.0.5'], policy: 'kiosk' }],
    }),
  );
  const kiosk = await r2.dig([...from('127.0.0.5'), 'video.porn.example']);
  t.same(
    kiosk.answers.map((a) => a.data),
    ['0.0.0.0'],
    'the new venue blocks in null mode',
  );
  t.equal((await r2.dig(['video.porn.example'])).answers[0]?.data, '198.51.100.7', 'other clients unchanged');
});
