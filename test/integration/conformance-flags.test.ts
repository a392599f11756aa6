/**
 * Header bits as a recursive resolver must set them, through the real server and real dig/kdig:
 * - RFC 1035 §4.1.1, RFC 1034 §4.3.2: AA and RA describe roje, not the upstream: an authoritative
 *   upstream's AA never reaches the client, RA is always set, fresh and cached alike;
 * - RFC 6840 §5.7-5.8: the upstream is asked with AD, and AD reaches only a client that set AD or DO;
 * - RFC 1034 §4.3.1-4.3.2: RD=0 is not resolved upstream (REFUSED, EDE 20), cached names included,
 *   while a blocked name stays blocked and a special-use name is still answered.
 * The upstream here answers like an authoritative server (AA, no RA) and sets AD when asked for it.
 */
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as dnsPacket from 'dns-packet';
import t from 'tap';
import { startRoje } from '../helpers/roje.js';

const AA = 0x0400;
const AD = 0x0020;

/** An authoritative-style upstream on loopback UDP: A 192.0.2.<n> for any name, AA, no RA, AD if asked. */
async function startAuthority() {
  const socket = createSocket('udp4');
  const asked: Array<{ name: string; type: string; flags: number }> = [];
  socket.on('message', (msg, from) => {
    const q = dnsPacket.decode(msg);
    const question = q.questions![0];
    asked.push({ name: question.name.toLowerCase(), type: question.type, flags: msg.readUInt16BE(2) });
    const flags = AA | (msg.readUInt16BE(2) & (AD | 0x0100 | 0x0010));
    const answers: dnsPacket.Answer[] =
      question.type === 'A' ? [{ name: question.name, type: 'A', ttl: 300, data: '192.0.2.53' }] : [];
    socket.send(
      dnsPacket.encode({ type: 'response', id: q.id, flags, questions: [question], answers }),
      from.port,
      from.address,
    );
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    port: socket.address().port,
    asked,
    queriesFor: (name: string) => asked.filter((a) => a.name === name).length,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

const upstream = await startAuthority();
t.teardown(() => upstream.close());
const dir = t.testdir({});
writeFileSync(join(dir, 'adult.txt'), '||porn.example^\n');
const roje = await startRoje(
  {
    upstreams: [`udp://127.0.0.1:${upstream.port}`],
    lists: [{ category: 'adult', path: join(dir, 'adult.txt'), format: 'adblock' }],
    policies: { default: { block: 'all', blockMode: 'nxdomain' } },
  },
  { t },
);

t.test(
  'RFC 1035 §4.1.1, RFC 1034 §4.3.2: AA=0 and RA=1 from an authoritative upstream, fresh and cached',
  async (t) => {
    const fresh = await roje.kdig(['sip.example.test', 'A', '+noadflag']);
    t.equal(fresh.status, 'NOERROR');
    t.same(
      fresh.answers.map((a) => a.data),
      ['192.0.2.53'],
    );
    t.same(fresh.flags, ['qr', 'rd', 'ra'], 'kdig: qr rd ra, no aa (the upstream said aa, no ra)');
    const cached = await roje.dig(['sip.example.test', 'A', '+noadflag']);
    t.equal(upstream.queriesFor('sip.example.test'), 1, 'the second answer came from the cache');
    t.same(cached.flags, ['qr', 'rd', 'ra'], 'dig: the cache hit too');
    t.notMatch(cached.stdout, /recursion requested but not available/);
  },
);

t.test('RFC 1034 §4.3.2: nslookup says "Non-authoritative answer", fresh and cached', async (t) => {
  const nslookup = () =>
    new Promise<string>((resolve, reject) => {
      const args = [`-port=${roje.port}`, '-timeout=2', '-retry=0', 'nsl.example.test', roje.host];
      execFile('nslookup', args, { timeout: 10_000 }, (err, stdout) =>
        err !== null && stdout === '' ? reject(err) : resolve(stdout),
      );
    });
  const fresh = await nslookup();
  t.match(fresh, /Non-authoritative answer:/, 'fresh');
  t.match(fresh, /Address: 192\.0\.2\.53/);
  // nslookup asks A and AAAA; this upstream's empty AAAA has no SOA, so only the A answer is cached.
  const aQueries = () => upstream.asked.filter((a) => a.name === 'nsl.example.test' && a.type === 'A').length;
  t.equal(aQueries(), 1);
  const cached = await nslookup();
  t.match(cached, /Non-authoritative answer:/, 'cached');
  t.equal(aQueries(), 1, 'the second A answer from the cache');
});

t.test(
  'RFC 6840 §5.7-5.8: AD asked upstream; passed to AD and DO clients only, from one cache entry',
  async (t) => {
    const plain = await roje.dig(['ad.example.test', 'A', '+noadflag']);
    t.equal(plain.status, 'NOERROR');
    t.notOk(plain.flags.includes('ad'), `no AD for a client that did not ask: ${plain.flags}`);
    const last = upstream.asked.at(-1)!;
    t.equal(last.name, 'ad.example.test');
    t.equal(last.flags & AD, AD, 'the upstream was asked with AD');
    const withAd = await roje.dig(['ad.example.test', 'A', '+adflag', '+noedns']);
    t.ok(withAd.flags.includes('ad'), `AD=1 without EDNS: AD passed on (${withAd.flags})`);
    t.equal(upstream.queriesFor('ad.example.test'), 1, 'from the same cache entry: no AD in the cache key');
    const dnssec = await roje.dig(['ad.example.test', 'A', '+noadflag', '+dnssec']);
    t.ok(dnssec.flags.includes('ad'), 'DO keeps AD');
    t.equal(upstream.queriesFor('ad.example.test'), 2, 'DO has its own entry, as before');
  },
);

t.test('RFC 1034 §4.3.1-4.3.2: RD=0 is REFUSED (EDE 20), cached or not, never sent upstream', async (t) => {
  await roje.dig(['cached.example.test', 'A']);
  const before = upstream.asked.length;
  for (const name of ['cached.example.test', 'fresh.example.test']) {
    const r = await roje.dig([name, 'A', '+norec']);
    t.equal(r.status, 'REFUSED', name);
    t.same(r.ede, [{ code: 20, purpose: 'Not Authoritative' }]);
    t.notOk(r.flags.includes('rd'));
    t.ok(r.flags.includes('ra'));
    t.same(r.answers, [], 'no answer from the cache: no cache snooping');
  }
  t.equal(upstream.asked.length, before, 'nothing reached the upstream');
  const blocked = await roje.dig(['www.porn.example', 'A', '+norec']);
  t.equal(blocked.status, 'NXDOMAIN', 'a blocked name is still blocked without RD');
  t.equal(blocked.ede[0]?.code, 15);
  const local = await roje.dig(['localhost', 'A', '+norec']);
  t.equal(local.status, 'NOERROR', 'special-use names are answered without RD');
  t.same(local.flags, ['qr', 'aa', 'ra']);
  t.equal(upstream.asked.length, before);
});
