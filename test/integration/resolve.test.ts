/**
 * Plain resolution through the real server with dig: positive answers, CNAME chains, negative
 * answers, and EDNS (payload size, OPT, DO and CD) as seen by the client and by the upstream.
 */
import * as dnsPacket from 'dns-packet';
import t from 'tap';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { startRoje, udpUrl } from '../helpers/roje.js';

const fake = await startFakeUpstream();
t.teardown(() => fake.close());
const roje = await startRoje({ upstreams: [udpUrl(fake)] }, { t });

fake.zone.set('www.example.test', 'A', [{ data: '192.0.2.1', ttl: 300 }]);
fake.zone.set('www.example.test', 'AAAA', [{ data: '2001:db8::1', ttl: 300 }]);
fake.zone.set('chain.example.test', 'CNAME', [{ data: 'alias.example.test', ttl: 300 }]);
fake.zone.set('alias.example.test', 'CNAME', [{ data: 'target.example.test', ttl: 300 }]);
fake.zone.set('target.example.test', 'A', [{ data: '192.0.2.10', ttl: 300 }]);
fake.zone.set('v4only.example.test', 'A', [{ data: '192.0.2.4', ttl: 300 }]);
// 20 A records (~700 bytes): over 512, under roje's 1232.
fake.zone.set(
  'medium.example.test',
  'A',
  Array.from({ length: 20 }, (_, i) => ({ data: `192.0.2.${i + 1}`, ttl: 300 })),
);
// 40 A records (~1300 bytes): over roje's edns.udpSize of 1232.
fake.zone.set(
  'large.example.test',
  'A',
  Array.from({ length: 40 }, (_, i) => ({ data: `198.51.100.${i + 1}`, ttl: 300 })),
);
for (const name of ['do.example.test', 'cd.example.test', 'dokey.example.test']) {
  fake.zone.set(name, 'A', [{ data: '192.0.2.99', ttl: 300 }]);
}

function lastQueryDo(): boolean {
  const opt = fake.lastQuery?.additionals?.find((a) => a.type === 'OPT') as dnsPacket.OptAnswer | undefined;
  return opt !== undefined && (opt.flags & dnsPacket.DNSSEC_OK) !== 0;
}

t.test('A and AAAA answers', async (t) => {
  const a = await roje.dig(['www.example.test', 'A']);
  t.equal(a.status, 'NOERROR');
  t.same(a.flags, ['qr', 'rd', 'ra']);
  t.same(a.question, { name: 'www.example.test.', class: 'IN', type: 'A' });
  t.same(a.answers, [{ name: 'www.example.test.', ttl: 300, class: 'IN', type: 'A', data: '192.0.2.1' }]);

  const aaaa = await roje.dig(['www.example.test', 'AAAA']);
  t.equal(aaaa.status, 'NOERROR');
  t.same(
    aaaa.answers.map((r) => [r.type, r.data]),
    [['AAAA', '2001:db8::1']],
  );
  t.equal(fake.lastQuery?.questions?.[0].type, 'AAAA', 'the upstream was asked for AAAA');
});

t.test('a CNAME chain is returned whole, in order', async (t) => {
  const r = await roje.dig(['chain.example.test', 'A']);
  t.equal(r.status, 'NOERROR');
  t.same(
    r.answers.map((a) => [a.name, a.type, a.data]),
    [
      ['chain.example.test.', 'CNAME', 'alias.example.test.'],
      ['alias.example.test.', 'CNAME', 'target.example.test.'],
      ['target.example.test.', 'A', '192.0.2.10'],
    ],
  );
});

t.test('NXDOMAIN carries the SOA in authority', async (t) => {
  const r = await roje.dig(['nothing-here.example.test', 'A']);
  t.equal(r.status, 'NXDOMAIN');
  t.same(r.answers, []);
  t.equal(r.authority.length, 1);
  t.match(r.authority[0], { name: 'example.test.', type: 'SOA' });
  t.match(r.authority[0].data, /^ns\.example\.test\. hostmaster\.example\.test\. 1 /);
});

t.test('NODATA: NOERROR, no answers, SOA in authority', async (t) => {
  const r = await roje.dig(['v4only.example.test', 'AAAA']);
  t.equal(r.status, 'NOERROR');
  t.same(r.answers, []);
  t.same(
    r.authority.map((a) => [a.name, a.type]),
    [['example.test.', 'SOA']],
  );
});

t.test('EDNS: answers carry roje OPT; the client payload size is honoured', async (t) => {
  const small = await roje.dig(['medium.example.test', '+bufsize=512', '+ignore']);
  t.equal(small.status, 'NOERROR');
  t.ok(small.flags.includes('tc'), 'TC: 700 bytes do not fit in 512');
  t.same(small.answers, []);
  t.ok(small.msgSize !== null && small.msgSize <= 512, `truncated answer fits 512 (${small.msgSize})`);
  t.same(small.opt, { version: 0, flags: [], udp: 1232 }, 'the truncated answer still carries OPT');

  const big = await roje.dig(['medium.example.test', '+bufsize=4096', '+ignore']);
  t.notOk(big.flags.includes('tc'));
  t.equal(big.answers.length, 20);
  t.same(big.opt, { version: 0, flags: [], udp: 1232 }, 'roje advertises its own udpSize');

  // The client's 4096 is capped at roje's 1232, so a 1300-byte answer is truncated all the same.
  const capped = await roje.dig(['large.example.test', '+bufsize=4096', '+ignore']);
  t.ok(capped.flags.includes('tc'), 'capped at edns.udpSize');
  t.same(capped.answers, []);

  // Without EDNS: 512 bytes and no OPT in the answer.
  const plain = await roje.dig(['medium.example.test', '+noedns', '+ignore']);
  t.ok(plain.flags.includes('tc'));
  t.equal(plain.opt, null, 'no OPT for a client that sent none');
  const plainSmall = await roje.dig(['www.example.test', '+noedns']);
  t.equal(plainSmall.status, 'NOERROR');
  t.equal(plainSmall.opt, null);
  t.equal(plainSmall.answers.length, 1);
});

t.test('DO and CD travel upstream and come back', async (t) => {
  const withDo = await roje.dig(['do.example.test', '+dnssec']);
  t.equal(withDo.status, 'NOERROR');
  t.same(withDo.opt?.flags, ['do'], 'DO reflected in our OPT');
  t.equal(lastQueryDo(), true, 'the upstream saw DO');

  const withCd = await roje.dig(['cd.example.test', '+cdflag']);
  t.equal(withCd.status, 'NOERROR');
  t.ok(withCd.flags.includes('cd'), 'CD echoed to the client');
  t.same(withCd.opt?.flags, [], 'no DO when the client did not set it');
  t.equal(fake.lastQuery?.flag_cd, true, 'the upstream saw CD');
  t.equal(lastQueryDo(), false);
});

t.test('DO is part of the cache key', async (t) => {
  const name = 'dokey.example.test';
  const before = fake.queriesFor(name);
  t.equal((await roje.dig([name])).opt?.flags.length, 0);
  const d1 = await roje.dig([name, '+dnssec']);
  t.same(d1.opt?.flags, ['do']);
  t.equal(fake.queriesFor(name) - before, 2, 'a DO query is not answered from the non-DO entry');
  const d2 = await roje.dig([name, '+dnssec']);
  const n2 = await roje.dig([name]);
  t.same(d2.opt?.flags, ['do']);
  t.same(n2.opt?.flags, []);
  t.equal(fake.queriesFor(name) - before, 2, 'both entries are cache hits afterwards');
});
