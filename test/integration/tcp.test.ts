/**
 * DNS over TCP from clients: TC then TCP retry with dig, pipelining with answers out of order on one
 * connection, the connection limit and the idle timeout.
 */
import { connect, type Socket } from 'node:net';
import * as dnsPacket from 'dns-packet';
import t, { type Test } from 'tap';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { answerData, rcodeName, startRoje, udpUrl, waitFor } from '../helpers/roje.js';

const fake = await startFakeUpstream();
t.teardown(() => fake.close());

fake.zone.set('www.example.test', 'A', [{ data: '192.0.2.1', ttl: 300 }]);
fake.zone.set(
  'big.example.test',
  'A',
  Array.from({ length: 40 }, (_, i) => ({ data: `192.0.2.${i + 1}`, ttl: 300 })),
);
fake.zone.set(
  'txt.example.test',
  'TXT',
  Array.from({ length: 40 }, (_, i) => ({ data: `record ${i} ${'x'.repeat(40)}`, ttl: 300 })),
);
for (const name of ['slow.example.test', 'fast.example.test', 'k1.example.test', 'k2.example.test']) {
  fake.zone.set(name, 'A', [{ data: '192.0.2.77', ttl: 300 }]);
}

function encodeQuery(id: number, name: string): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type: 'A', class: 'IN' }],
  });
}

function framed(msg: Buffer): Buffer {
  const out = Buffer.allocUnsafe(msg.length + 2);
  out.writeUInt16BE(msg.length, 0);
  msg.copy(out, 2);
  return out;
}

/** A raw TCP client that records every framed answer and whether the server closed the connection. */
async function tcpClient(t: Test, server: { host: string; port: number }) {
  const socket: Socket = connect({ host: server.host, port: server.port, noDelay: true });
  const answers: dnsPacket.DecodedPacket[] = [];
  let pending = Buffer.alloc(0);
  let closed = false;
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
      const length = pending.readUInt16BE(0);
      answers.push(dnsPacket.decode(pending.subarray(2, 2 + length)));
      pending = pending.subarray(2 + length);
    }
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    closed = true;
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  t.teardown(() => socket.destroy());
  return {
    socket,
    answers,
    isClosed: () => closed,
    send: (msg: Buffer) => socket.write(framed(msg)),
    waitAnswers: (n: number) => waitFor(() => answers.length >= n, `${n} answer(s)`),
    waitClosed: (timeoutMs = 5000) => waitFor(() => closed, 'the server to close the connection', timeoutMs),
  };
}

t.test('TC over UDP, then the full answer over TCP', async (t) => {
  const roje = await startRoje({ upstreams: [udpUrl(fake)] }, { t });

  const truncated = await roje.dig(['big.example.test', '+bufsize=512', '+ignore']);
  t.equal(truncated.status, 'NOERROR');
  t.ok(truncated.flags.includes('tc'), 'tc flag set');
  t.same(truncated.answers, [], 'no partial RRset');
  t.equal(truncated.retriedTcp, false);

  const retried = await roje.dig(['big.example.test', '+bufsize=512']);
  t.equal(retried.retriedTcp, true, 'dig retried over TCP');
  t.equal(retried.status, 'NOERROR');
  t.notOk(retried.flags.includes('tc'));
  t.equal(retried.answers.length, 40, 'all 40 records over TCP');
  t.same(
    retried.answers.map((a) => a.data),
    Array.from({ length: 40 }, (_, i) => `192.0.2.${i + 1}`),
  );
  t.ok(retried.msgSize !== null && retried.msgSize > 1232, `${retried.msgSize} bytes`);

  const txt = await roje.dig(['txt.example.test', 'TXT', '+bufsize=1232']);
  t.equal(txt.retriedTcp, true);
  t.equal(txt.answers.length, 40, '40 TXT records over TCP');

  const notcp = await roje.dig(['big.example.test', '+notcp', '+ignore']);
  t.ok(notcp.flags.includes('tc'), '+notcp: UDP, truncated');
  const viaTcp = await roje.dig(['big.example.test', '+tcp']);
  t.equal(viaTcp.retriedTcp, false, '+tcp asks over TCP straight away');
  t.notOk(viaTcp.flags.includes('tc'));
  t.equal(viaTcp.answers.length, 40);
  t.match(viaTcp.stdout, /\(TCP\)/);
});

t.test('kdig keeps one TCP connection open for several queries', async (t) => {
  const roje = await startRoje({ upstreams: [udpUrl(fake)] }, { t });
  const r = await roje.kdig(['+tcp', '+keepopen', 'k1.example.test', 'A', 'k2.example.test', 'A']);
  const statuses = [...r.stdout.matchAll(/status: (\w+)/g)].map((m) => m[1]);
  t.same(statuses, ['NOERROR', 'NOERROR'], r.stdout);
  t.equal((r.stdout.match(/192\.0\.2\.77/g) ?? []).length, 2);
  t.equal((r.stdout.match(/\(TCP\)/g) ?? []).length, 2);
});

t.test('pipelined queries on one connection are answered out of order', async (t) => {
  const roje = await startRoje({ upstreams: [udpUrl(fake)] }, { t });
  fake.behave('slow.example.test', { delayMs: 300 });
  t.teardown(() => fake.behave('slow.example.test', null));
  const client = await tcpClient(t, roje);
  client.send(encodeQuery(1001, 'slow.example.test'));
  client.send(encodeQuery(1002, 'fast.example.test'));
  await client.waitAnswers(2);
  t.same(
    client.answers.map((a) => a.id),
    [1002, 1001],
    'the fast answer overtook the slow one',
  );
  for (const a of client.answers) {
    t.equal(rcodeName(a), 'NOERROR');
    const expected = a.id === 1001 ? 'slow.example.test' : 'fast.example.test';
    t.equal(a.questions?.[0].name, expected, `answer ${a.id} matches its question`);
    t.same(answerData(a), ['192.0.2.77']);
  }
  t.notOk(client.isClosed(), 'the connection stays open');
});

t.test('connection limit: the third connection is closed at once', async (t) => {
  const roje = await startRoje(
    { upstreams: [udpUrl(fake)], tcp: { maxConnections: 2, idleTimeout: '10s' } },
    { t },
  );
  const a = await tcpClient(t, roje);
  const b = await tcpClient(t, roje);
  a.send(encodeQuery(1, 'www.example.test'));
  b.send(encodeQuery(2, 'www.example.test'));
  await a.waitAnswers(1);
  await b.waitAnswers(1);

  const c = await tcpClient(t, roje);
  c.send(encodeQuery(3, 'www.example.test'));
  await c.waitClosed();
  t.same(c.answers, [], 'no answer on the refused connection');

  // The two admitted connections still work.
  a.send(encodeQuery(4, 'www.example.test'));
  await a.waitAnswers(2);
  t.equal(a.answers[1].id, 4);
  t.notOk(a.isClosed());
  t.notOk(b.isClosed());

  // Once one closes, a new connection is admitted.
  a.socket.destroy();
  await waitFor(() => a.isClosed(), 'client a to close');
  let admitted: Awaited<ReturnType<typeof tcpClient>> | undefined;
  for (let i = 0; i < 20 && admitted === undefined; i++) {
    const d = await tcpClient(t, roje);
    d.send(encodeQuery(5, 'www.example.test'));
    await waitFor(() => d.answers.length > 0 || d.isClosed(), 'an answer or a close');
    if (d.answers.length > 0) admitted = d;
  }
  t.ok(admitted, 'a slot freed by a closed connection is reused');
  t.equal(admitted?.answers[0].id, 5);
});

t.test('idle connections are closed after tcp.idleTimeout', async (t) => {
  const roje = await startRoje({ upstreams: [udpUrl(fake)], tcp: { idleTimeout: '1s' } }, { t });
  const silent = await tcpClient(t, roje);
  const used = await tcpClient(t, roje);
  used.send(encodeQuery(9, 'www.example.test'));
  await used.waitAnswers(1);
  t.equal(rcodeName(used.answers[0]), 'NOERROR');
  await silent.waitClosed(5000);
  await used.waitClosed(5000);
  t.pass('both idle connections were closed by the server');
  // The server itself keeps serving.
  const again = await roje.dig(['www.example.test', '+tcp']);
  t.equal(again.status, 'NOERROR');
});

t.test('a reload applies new tcp settings to the listeners it keeps', async (t) => {
  const roje = await startRoje({ upstreams: [udpUrl(fake)], tcp: { idleTimeout: '1h' } }, { t });
  await roje.app.reload(await roje.configFor({ upstreams: [udpUrl(fake)], tcp: { idleTimeout: '1s' } }));
  const client = await tcpClient(t, roje);
  client.send(encodeQuery(10, 'www.example.test'));
  await client.waitAnswers(1);
  await client.waitClosed(5000);
  t.pass('the kept listener closed an idle connection after the new 1 s, not the old hour');
});
