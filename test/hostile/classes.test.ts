/**
 * Classes and ANY over a real roje in front of the fake upstream (issue #18): every class but IN and
 * CHAOS is answered NOTIMP locally and never forwarded; a burst of odd-class queries leaves the upstream
 * up while a legitimate client is served; QTYPE ANY gets RFC 8482's HINFO without an upstream query,
 * and a blocked name's ANY keeps its block answer. Every load is bounded in count and time.
 */
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { hashToken } from '../../src/admin/auth.js';
import { adminClient } from '../helpers/admin-client.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { rcodeName, startRoje, udpUrl } from '../helpers/roje.js';

const dir = t.testdir({});
const adult = join(dir, 'adult.txt');
writeFileSync(adult, 'porn.example\n');

const fake = await startFakeUpstream({ apexes: ['example.test'] });
t.teardown(() => fake.close());
fake.zone.set('www.example.test', 'A', [{ data: '198.51.100.1', ttl: 300 }]);
fake.zone.set('www.example.test', 'TXT', [{ data: 'hello', ttl: 300 }]);

const TOKEN = 'roje_classes-test-token';
const roje = await startRoje({
  upstreams: [udpUrl(fake)],
  lists: [{ category: 'adult', path: adult }],
  policies: { default: { block: 'all', blockMode: 'nxdomain' } },
  rateLimit: { enabled: false },
  admin: { listen: '127.0.0.1:0', tokens: [{ name: 'ops', role: 'admin', sha256: hashToken(TOKEN) }] },
});
t.teardown(() => roje.stop());

t.beforeEach(() => fake.resetCounts());

t.test('HS, NONE, ANY-class and numbered classes: NOTIMP, never forwarded (dig and kdig)', async (t) => {
  for (const cls of ['HS', 'NONE', 'ANY', 'CLASS42', 'CLASS0', 'CLASS65535']) {
    for (const tool of ['dig', 'kdig'] as const) {
      // kdig knows HS only by number.
      const name = tool === 'kdig' && cls === 'HS' ? 'CLASS4' : cls;
      const r = await roje[tool](['-c', name, '-t', 'A', 'www.example.test.']);
      // Knot spells it NOTIMPL.
      t.match(r.status, /^NOTIMPL?$/, `${tool} -c ${cls}: NOTIMP`);
      t.same(r.answers, [], `${tool} -c ${cls}: no records`);
    }
  }
  const tcp = await roje.dig(['+tcp', '-c', 'HS', '-t', 'TXT', 'www.example.test.']);
  t.equal(tcp.status, 'NOTIMP', 'over TCP too');
  const ede = await roje.dig(['-c', 'HS', '-t', 'A', 'porn.example.']);
  t.equal(ede.status, 'NOTIMP', 'a blocked name in another class: NOTIMP, not a block answer in class IN');
  t.match(ede.ede, [{ code: 21 }], 'EDE 21 Not Supported');
  t.equal(fake.counts.total, 0, 'no odd-class query reached the upstream');
});

t.test('CHAOS stays as it was: version.roje answered, others REFUSED, none forwarded', async (t) => {
  const v = await roje.dig(['-c', 'CH', '-t', 'TXT', 'version.roje.']);
  t.equal(v.status, 'NOERROR');
  t.equal(v.answers[0]?.class, 'CH');
  t.equal((await roje.kdig(['-c', 'CH', '-t', 'TXT', 'version.bind.'])).status, 'REFUSED');
  t.equal(fake.counts.total, 0);
});

t.test('a burst of odd-class queries leaves the upstream up and a legitimate client served', async (t) => {
  const BURST = 600;
  const classes = [0, 2, 4, 42, 254, 255, 65535];
  const burst = udpBurst(roje, BURST, (i) => classes[i % classes.length], 8_000);
  // The legitimate client: one name, asked while the burst runs; the first answer is fetched upstream.
  const latencies: number[] = [];
  let ok = 0;
  const LEGIT = 60;
  for (let i = 0; i < LEGIT; i++) {
    const start = performance.now();
    try {
      const r = await roje.query(`n${i}.example.test`, 'A', { timeoutMs: 1000 });
      if (rcodeName(r.decoded) === 'NXDOMAIN') ok++;
      latencies.push(performance.now() - start);
    } catch {
      latencies.push(Number.POSITIVE_INFINITY);
    }
  }
  const result = await burst;
  t.equal(result.sent, BURST);
  t.ok(
    (result.rcodes.get(4) ?? 0) >= BURST * 0.95,
    `odd-class answers NOTIMP: ${JSON.stringify([...result.rcodes])}`,
  );
  t.ok(ok >= LEGIT * 0.99, `legitimate client: ${ok}/${LEGIT} answered correctly within 1 s`);
  t.equal(fake.counts.total, LEGIT, 'only the legitimate queries were forwarded');
  for (const h of roje.app.upstreamHealth()) {
    t.equal(h.state, 'up', `${h.url} still up`);
    t.equal(h.failures, 0, `${h.url}: no failure counted`);
  }
  const api = adminClient(roje, TOKEN);
  const metrics = (await api.get('/metrics')).text;
  t.match(metrics, /^roje_upstream_up\{[^}]*\} 1$/m, 'roje_upstream_up 1');
  t.notMatch(metrics, /^roje_upstream_up\{[^}]*\} 0$/m, 'no upstream at 0');
  const status = (await api.get('/api/v1/status')).json as { upstreams?: Array<{ state: string }> };
  t.ok(
    (status.upstreams ?? []).length > 0 && status.upstreams?.every((u) => u.state === 'up'),
    'status: every upstream up',
  );
  const sorted = latencies.filter(Number.isFinite).sort((a, b) => a - b);
  t.comment(
    `burst ${result.sent} sent, ${result.received} answered in ${Math.round(result.ms)} ms; ` +
      `legit ${ok}/${LEGIT}, p50 ${sorted[Math.floor(sorted.length / 2)]?.toFixed(1)} ms, ` +
      `max ${sorted.at(-1)?.toFixed(1)} ms; forwarded ${fake.counts.total - LEGIT} odd-class`,
  );
});

t.test('ANY: RFC 8482 HINFO without an upstream query; a blocked name keeps its block answer', async (t) => {
  for (const tool of ['dig', 'kdig'] as const) {
    const r = await roje[tool](['-t', 'ANY', 'www.example.test.']);
    t.equal(r.status, 'NOERROR', `${tool}: NOERROR`);
    t.match(r.answers, [{ name: 'www.example.test.', class: 'IN', type: 'HINFO', ttl: 3600 }]);
    t.match(r.answers[0]?.data, /"RFC8482" ""/);
    t.equal(r.answers.length, 1, 'one record, nothing amplified');
  }
  const tcp = await roje.dig(['+tcp', '-t', 'ANY', 'WWW.Example.Test.']);
  t.equal(tcp.answers[0]?.type, 'HINFO', 'over TCP too');
  t.equal(tcp.question?.name, 'WWW.Example.Test.', 'the client case echoed');
  t.equal(fake.counts.total, 0, 'no ANY query was forwarded');

  const blocked = await roje.dig(['-t', 'ANY', 'www.porn.example.']);
  t.equal(blocked.status, 'NXDOMAIN', 'blocked: the policy answer');
  t.match(blocked.ede, [{ code: 15 }], 'EDE 15 Blocked');
  t.notOk(
    blocked.answers.some((a) => a.type === 'HINFO'),
    'the block answer, not RFC 8482',
  );
  t.equal(fake.counts.total, 0);
});

interface BurstResult {
  sent: number;
  received: number;
  rcodes: Map<number, number>;
  ms: number;
}

/** `count` A queries for random names in the classes given, from one socket, bounded by `maxMs`. */
function udpBurst(
  server: { host: string; port: number },
  count: number,
  classOf: (i: number) => number,
  maxMs: number,
): Promise<BurstResult> {
  const socket = createSocket('udp4');
  const rcodes = new Map<number, number>();
  let received = 0;
  const start = performance.now();
  socket.on('message', (msg) => {
    received++;
    const rcode = msg[3] & 0x0f;
    rcodes.set(rcode, (rcodes.get(rcode) ?? 0) + 1);
  });
  return new Promise((resolve) => {
    let sent = 0;
    const finish = () => {
      clearTimeout(deadline);
      socket.close();
      resolve({ sent, received, rcodes, ms: performance.now() - start });
    };
    const deadline = setTimeout(finish, maxMs);
    const sendSome = () => {
      // 20 at a time, then yield: a burst, not a flood that would also hit the kernel's buffers.
      for (let k = 0; k < 20 && sent < count; k++, sent++) {
        socket.send(oddClassQuery(sent, classOf(sent)), server.port, server.host);
      }
      if (sent < count && performance.now() - start < maxMs) setTimeout(sendSome, 5);
      else setTimeout(() => (received >= sent ? finish() : setTimeout(finish, 500)), 200);
    };
    sendSome();
  });
}

function oddClassQuery(i: number, qclass: number): Buffer {
  const labels = [`r${i}x${Math.random().toString(36).slice(2, 8)}`, 'example', 'test'];
  const name = Buffer.concat([
    ...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
    Buffer.from([0]),
  ]);
  const msg = Buffer.alloc(12 + name.length + 4);
  msg.writeUInt16BE(i & 0xffff, 0);
  msg.writeUInt16BE(0x0100, 2);
  msg.writeUInt16BE(1, 4);
  name.copy(msg, 12);
  msg.writeUInt16BE(1, 12 + name.length);
  msg.writeUInt16BE(qclass, 14 + name.length);
  return msg;
}
