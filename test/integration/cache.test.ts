/**
 * The answer cache through the real server: TTLs counting down on hits, negative caching
 * (RFC 2308), TTL clamps, case preservation on hits, and coalescing of identical queries.
 */
import { createSocket } from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import t, { type Test } from 'tap';
import { type FakeUpstream, query, startFakeUpstream } from '../helpers/fake-upstream.js';
import { answerData, rcodeName, sleep, startRoje, udpUrl } from '../helpers/roje.js';

async function fakeWith(t: Test): Promise<FakeUpstream> {
  const fake = await startFakeUpstream({ apexes: ['example.test'] });
  t.teardown(() => fake.close());
  return fake;
}

t.test('TTLs count down on cache hits; the upstream is asked once', async (t) => {
  const fake = await fakeWith(t);
  fake.zone.set('www.example.test', 'A', [{ data: '192.0.2.1', ttl: 300 }]);
  const roje = await startRoje({ upstreams: [udpUrl(fake)] }, { t });
  const first = await roje.dig(['www.example.test']);
  t.equal(first.answers[0]?.ttl, 300);
  await sleep(1100);
  const second = await roje.dig(['www.example.test']);
  const ttl = second.answers[0]?.ttl ?? -1;
  t.ok(ttl <= 299 && ttl >= 290, `TTL went down by at least 1 (${ttl})`);
  t.same(
    second.answers.map((a) => a.data),
    ['192.0.2.1'],
  );
  t.equal(fake.queriesFor('www.example.test'), 1, 'one upstream query');
  t.match(roje.app.cacheStats(), { hits: 1, inserts: 1 });
});

t.test('negative answers are cached for min(SOA TTL, SOA MINIMUM)', async (t) => {
  const fake = await fakeWith(t);
  // SOA TTL 300, MINIMUM 1: the negative TTL is 1 s.
  fake.zone.addApex('neg.test', { ttl: 300, minimum: 1 });
  fake.zone.set('exists.neg.test', 'A', [{ data: '192.0.2.5', ttl: 300 }]);
  const roje = await startRoje({ upstreams: [udpUrl(fake)] }, { t });

  const nx = await roje.dig(['missing.neg.test']);
  t.equal(nx.status, 'NXDOMAIN');
  t.same(
    nx.authority.map((a) => [a.name, a.type, a.ttl]),
    [['neg.test.', 'SOA', 1]],
    'the SOA is served with the negative TTL, as unbound does (RFC 2308 §3)',
  );
  const nodata = await roje.dig(['exists.neg.test', 'AAAA']);
  t.equal(nodata.status, 'NOERROR');
  t.same(nodata.answers, []);
  t.equal(nodata.authority[0]?.ttl, 1);

  t.equal((await roje.dig(['missing.neg.test'])).status, 'NXDOMAIN');
  t.equal((await roje.dig(['exists.neg.test', 'AAAA'])).status, 'NOERROR');
  t.equal(fake.queriesFor('missing.neg.test'), 1, 'NXDOMAIN cached');
  t.equal(fake.queriesFor('exists.neg.test'), 1, 'NODATA cached');

  await sleep(1200);
  t.equal((await roje.dig(['missing.neg.test'])).status, 'NXDOMAIN');
  t.equal(
    fake.queriesFor('missing.neg.test'),
    2,
    'expired after the 1 s negative TTL, not the 300 s SOA TTL',
  );
});

t.test('negative TTLs are capped at cache.negativeMaxTtl', async (t) => {
  const fake = await fakeWith(t);
  fake.zone.addApex('long.test', { ttl: 86400, minimum: 86400 });
  const roje = await startRoje({ upstreams: [udpUrl(fake)], cache: { negativeMaxTtl: '1s' } }, { t });
  const nx = await roje.dig(['missing.long.test']);
  t.equal(nx.status, 'NXDOMAIN');
  t.equal(nx.authority[0]?.ttl, 1, 'the SOA TTL shows the cap');
  await roje.dig(['missing.long.test']);
  t.equal(fake.queriesFor('missing.long.test'), 1);
  await sleep(1200);
  await roje.dig(['missing.long.test']);
  t.equal(fake.queriesFor('missing.long.test'), 2, 'expired after negativeMaxTtl');
});

t.test('cache.minTtl and cache.maxTtl clamp served TTLs', async (t) => {
  const fake = await fakeWith(t);
  fake.zone.set('low.example.test', 'A', [{ data: '192.0.2.11', ttl: 5 }]);
  fake.zone.set('high.example.test', 'A', [{ data: '192.0.2.12', ttl: 86400 }]);
  const roje = await startRoje(
    { upstreams: [udpUrl(fake)], cache: { minTtl: '60s', maxTtl: '100s' } },
    { t },
  );
  t.equal((await roje.dig(['low.example.test'])).answers[0]?.ttl, 60, 'raised to minTtl');
  t.equal((await roje.dig(['high.example.test'])).answers[0]?.ttl, 100, 'cut to maxTtl');
  // The clamped TTL also governs the cache: 5 s raised to 60 s is still cached.
  await roje.dig(['low.example.test']);
  t.equal(fake.queriesFor('low.example.test'), 1);
});

t.test('a zero TTL answer is served but not cached', async (t) => {
  const fake = await fakeWith(t);
  fake.zone.set('zero.example.test', 'A', [{ data: '192.0.2.13', ttl: 0 }]);
  const roje = await startRoje({ upstreams: [udpUrl(fake)] }, { t });
  const r = await roje.dig(['zero.example.test']);
  t.equal(r.answers[0]?.ttl, 0);
  await roje.dig(['zero.example.test']);
  t.equal(fake.queriesFor('zero.example.test'), 2);
});

/**
 * A minimal upstream that compresses like real resolvers do: the answer owner is a pointer to the
 * question name (0xC00C). dns-packet never compresses, so the fake upstream cannot show this.
 */
async function startCompressingUpstream(t: Test) {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  t.teardown(() => socket.close());
  const names: string[] = [];
  socket.on('message', (msg, rinfo) => {
    let p = 12;
    while (p < msg.length && msg[p] !== 0) p += msg[p] + 1;
    const questionEnd = p + 5;
    const question = msg.subarray(12, questionEnd);
    names.push(question.subarray(0, question.length - 4).toString('latin1'));
    const header = Buffer.alloc(12);
    msg.copy(header, 0, 0, 2);
    header.writeUInt16BE(0x8180, 2); // QR RD RA, NOERROR
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(1, 6);
    const answer = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x01, 0x2c, 0, 4, 192, 0, 2, 7]);
    socket.send(Buffer.concat([header, question, answer]), rinfo.port, rinfo.address);
  });
  return { host: '127.0.0.1', port: socket.address().port, names };
}

t.test('case is preserved in the question and the answer owner, also on cache hits', async (t) => {
  const upstream = await startCompressingUpstream(t);
  const roje = await startRoje({ upstreams: [udpUrl(upstream)] }, { t });

  const first = await roje.dig(['WwW.ExAmPle.TeSt', 'A']);
  t.equal(first.status, 'NOERROR');
  t.equal(first.question?.name, 'WwW.ExAmPle.TeSt.', 'question keeps the client case');
  t.same(
    first.answers.map((a) => [a.name, a.data]),
    [['WwW.ExAmPle.TeSt.', '192.0.2.7']],
    'answer owner keeps the client case',
  );
  t.equal(upstream.names.length, 1);
  t.equal(upstream.names[0], '\x03www\x07example\x04test\x00', 'the upstream is asked in lowercase');

  const second = await roje.dig(['wWw.EXAMPLE.test', 'A']);
  t.equal(upstream.names.length, 1, 'a different case is a cache hit');
  t.equal(second.question?.name, 'wWw.EXAMPLE.test.');
  t.same(
    second.answers.map((a) => a.name),
    ['wWw.EXAMPLE.test.'],
    'the hit carries the second client case',
  );
});

t.test('case preserved in the question with an upstream that does not compress', async (t) => {
  const fake = await fakeWith(t);
  fake.zone.set('mixed.example.test', 'A', [{ data: '192.0.2.8', ttl: 300 }]);
  const roje = await startRoje({ upstreams: [udpUrl(fake)] }, { t });
  const r = await roje.dig(['MiXeD.Example.TEST']);
  t.equal(r.question?.name, 'MiXeD.Example.TEST.');
  t.same(
    r.answers.map((a) => a.data),
    ['192.0.2.8'],
  );
  t.equal(fake.lastQuery?.questions?.[0].name, 'mixed.example.test');
});

t.test('coalescing: 20 identical concurrent queries make one upstream query', async (t) => {
  const fake = await fakeWith(t);
  fake.zone.set('hot.example.test', 'A', [{ data: '192.0.2.20', ttl: 300 }]);
  fake.behave('hot.example.test', { delayMs: 200 });
  const roje = await startRoje({ upstreams: [udpUrl(fake)] }, { t });
  const ids = Array.from({ length: 20 }, (_, i) => 1000 + i);
  const answers = await Promise.all(
    ids.map((id) => query(roje, 'hot.example.test', 'A', { id, timeoutMs: 5000 })),
  );
  t.equal(fake.queriesFor('hot.example.test'), 1, 'the upstream saw one query');
  t.same(
    answers.map((a) => a.decoded.id),
    ids,
    'each client got its own ID',
  );
  for (const a of answers) {
    t.equal(rcodeName(a.decoded), 'NOERROR');
    t.same(answerData(a.decoded), ['192.0.2.20']);
  }
  t.equal(roje.app.cacheStats().inserts, 1);
});

t.test('coalescing keeps DO and non-DO queries apart', async (t) => {
  const fake = await fakeWith(t);
  fake.zone.set('split.example.test', 'A', [{ data: '192.0.2.21', ttl: 300 }]);
  fake.behave('split.example.test', { delayMs: 200 });
  const roje = await startRoje({ upstreams: [udpUrl(fake)] }, { t });
  const [plain, withDo] = await Promise.all([
    query(roje, 'split.example.test', 'A', { id: 1 }),
    query(roje, 'split.example.test', 'A', { id: 2, do: true }),
  ]);
  t.equal(fake.queriesFor('split.example.test'), 2);
  const flagsOf = (p: dnsPacket.DecodedPacket) =>
    (p.additionals?.find((a) => a.type === 'OPT') as dnsPacket.OptAnswer | undefined)?.flags ?? -1;
  t.equal(flagsOf(plain.decoded) & dnsPacket.DNSSEC_OK, 0);
  t.equal(flagsOf(withDo.decoded) & dnsPacket.DNSSEC_OK, dnsPacket.DNSSEC_OK);
});
