/**
 * The verify client against the fake upstream on 127.0.0.1: UDP and TCP, EDE decoding, truncation,
 * silence (bounded by the timeout), refused connections, CH TXT.
 */
import { createSocket } from 'node:dgram';
import t from 'tap';
import { decodeAnswer, encodeQuery, exchange, qtypeNumber } from '../../src/verify/client.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { startRoje, udpUrl } from '../helpers/roje.js';

const fake = await startFakeUpstream({ apexes: ['example.test'] });
t.teardown(() => fake.close());
fake.zone.set('www.example.test', 'A', [{ data: '198.51.100.1', ttl: 300 }]);
fake.zone.set('www.example.test', 'TXT', [{ data: 'hello world', ttl: 300 }]);
fake.zone.set('alias.example.test', 'CNAME', [{ data: 'www.example.test', ttl: 300 }]);
const server = { host: fake.host, port: fake.port };

t.test('qtype names', async (t) => {
  t.equal(qtypeNumber('a'), 1);
  t.equal(qtypeNumber('SVCB'), 64);
  t.equal(qtypeNumber('TYPE65'), 65);
  t.equal(qtypeNumber('TYPE70000'), null);
  t.equal(qtypeNumber('BOGUS'), null);
});

t.test('the query: RD, one question, an OPT record', async (t) => {
  const q = encodeQuery(0x1234, 'www.example.test.', 1, 1);
  t.equal(q.readUInt16BE(0), 0x1234);
  t.equal(q.readUInt16BE(2), 0x0100, 'RD only');
  t.same([q.readUInt16BE(4), q.readUInt16BE(6), q.readUInt16BE(8), q.readUInt16BE(10)], [1, 0, 0, 1]);
});

for (const transport of ['udp', 'tcp'] as const) {
  t.test(`${transport}: an answer, a CNAME chain, NXDOMAIN, TXT`, async (t) => {
    fake.resetCounts();
    const a = await exchange(server, { qname: 'www.example.test', qtype: 'A', transport, timeoutMs: 2000 });
    t.match(a, {
      rcode: 'NOERROR',
      answers: [{ name: 'www.example.test', type: 'A', data: '198.51.100.1' }],
    });
    t.equal(fake.counts[transport], 1, `asked over ${transport}`);
    const alias = await exchange(server, {
      qname: 'alias.example.test',
      qtype: 'A',
      transport,
      timeoutMs: 2000,
    });
    t.same(
      alias.answers.map((r) => `${r.type} ${r.data}`),
      ['CNAME www.example.test', 'A 198.51.100.1'],
    );
    const nx = await exchange(server, { qname: 'nope.example.test', qtype: 'A', transport, timeoutMs: 2000 });
    t.equal(nx.rcode, 'NXDOMAIN');
    const txt = await exchange(server, {
      qname: 'www.example.test',
      qtype: 'TXT',
      transport,
      timeoutMs: 2000,
    });
    t.equal(txt.answers[0]?.data, 'hello world');
    t.ok(a.ms >= 0 && a.ms < 2000);
  });
}

t.test('a truncated UDP answer is asked again over TCP', async (t) => {
  fake.behave('www.example.test', { truncate: true });
  t.teardown(() => fake.behave('www.example.test', null));
  const a = await exchange(server, {
    qname: 'www.example.test',
    qtype: 'A',
    transport: 'udp',
    timeoutMs: 2000,
  });
  t.match(a, { rcode: 'NOERROR', retriedTcp: true, answers: [{ data: '198.51.100.1' }] });
});

t.test('silence ends at the timeout; a closed port is an error, not a throw', async (t) => {
  fake.behave('slow.example.test', { silent: true });
  const slow = await exchange(server, {
    qname: 'slow.example.test',
    qtype: 'A',
    transport: 'udp',
    timeoutMs: 300,
  });
  t.match(slow, { rcode: null, error: 'timeout after 300 ms' });
  const tcpSlow = await exchange(server, {
    qname: 'slow.example.test',
    qtype: 'A',
    transport: 'tcp',
    timeoutMs: 300,
  });
  t.match(tcpSlow, { rcode: null, error: 'timeout after 300 ms' });
  // A port nobody listens on (bound then closed).
  const s = createSocket('udp4');
  await new Promise<void>((ok) => s.bind(0, '127.0.0.1', ok));
  const port = s.address().port;
  await new Promise<void>((ok) => s.close(() => ok()));
  const refused = await exchange(
    { host: '127.0.0.1', port },
    { qname: 'x.test', qtype: 'A', transport: 'tcp', timeoutMs: 1000 },
  );
  t.match(refused, { rcode: null, error: /ECONNREFUSED/ });
});

t.test('EDE from a real roje, and CH TXT', async (t) => {
  const roje = await startRoje({ upstreams: [udpUrl(fake)], lists: [] }, { t });
  const r = await exchange(
    { host: roje.host, port: roje.port },
    { qname: 'use-application-dns.net', qtype: 'A', transport: 'udp', timeoutMs: 2000 },
  );
  t.match(r, { rcode: 'NXDOMAIN', ede: [{ code: 17, text: 'bypass prevention' }] });
  const ch = await exchange(
    { host: roje.host, port: roje.port },
    { qname: 'version.bind', qtype: 'TXT', qclass: 'CH', transport: 'udp', timeoutMs: 2000 },
  );
  t.not(ch.rcode, null, 'CH questions are answered (REFUSED or TXT)');
});

t.test('decodeAnswer throws on a message cut short (exchange turns it into an error)', async (t) => {
  t.throws(() => decodeAnswer(Buffer.alloc(5)));
});
