import { createServer, type Socket } from 'node:net';
import * as dnsPacket from 'dns-packet';
import t, { type Test } from 'tap';
import { buildUpstreamQuery } from '../../src/dns/upstream-message.js';
import { isRojeError } from '../../src/errors.js';
import { createStreamTransport } from '../../src/upstream/stream.js';
import { createTransport } from '../../src/upstream/transport.js';
import { parseUpstreamUrl } from '../../src/upstream/url.js';
import { startFakeUpstream, toNameWire } from '../helpers/fake-upstream.js';
import { withClosedPort } from '../helpers/ports.js';

function q(name: string, qtype = 1): Buffer {
  return buildUpstreamQuery({ nameWire: toNameWire(name), qtype, qclass: 1, do: false, cd: false }, 0, 1232);
}

function data(wire: Buffer): unknown[] {
  return (dnsPacket.decode(wire).answers ?? []).map((a) => (a as { data?: unknown }).data);
}

async function setup(t: Test, opts: { tls?: boolean } = {}) {
  const up = await startFakeUpstream({ tls: opts.tls });
  t.teardown(() => up.close());
  for (let i = 0; i < 200; i++) up.zone.set(`n${i}.example.test`, 'A', [{ data: `192.0.2.${i % 250}` }]);
  up.zone.set('www.example.test', 'A', [{ data: '192.0.2.1' }]);
  return up;
}

/** Polls a condition a bounded number of times (no timing assertion: only an upper bound). */
async function eventually(fn: () => boolean, tries = 100, everyMs = 20): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (fn()) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return fn();
}

t.test(
  'tcp: 200 concurrent queries pipelined on two connections (cap 128 each), each matched to its answer',
  async (t) => {
    const up = await setup(t);
    const transport = createTransport(parseUpstreamUrl(`tcp://127.0.0.1:${up.port}`));
    t.teardown(() => transport.close());
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => transport.exchange(q(`n${i}.example.test`), 5000)),
    );
    answers.forEach((wire, i) => {
      if (data(wire)[0] !== `192.0.2.${i % 250}`) t.fail(`answer ${i} mismatched`);
    });
    t.equal(up.counts.tcp, 200);
    t.equal(up.connections().accepted, 2, '128 in flight on the first, the rest on a second');
    // Reuse after a pause.
    t.same(data(await transport.exchange(q('www.example.test'), 1000)), ['192.0.2.1']);
    t.equal(up.connections().accepted, 2, 'reused, not reopened');
  },
);

t.test('tcp: in-flight cap opens more connections, then refuses', async (t) => {
  const up = await setup(t);
  up.behave('*', { delayMs: 100 });
  const transport = createStreamTransport(parseUpstreamUrl(`tcp://127.0.0.1:${up.port}`), {
    maxInFlight: 2,
    maxConnections: 2,
  });
  t.teardown(() => transport.close());
  const ok = [1, 2, 3, 4].map((i) => transport.exchange(q(`n${i}.example.test`), 2000));
  await t.rejects(transport.exchange(q('n5.example.test'), 2000), { code: 'ROJE_ERR_UPSTREAM_NETWORK' });
  t.equal((await Promise.all(ok)).length, 4);
  t.equal(up.connections().accepted, 2);
});

t.test('tcp: reconnects after the server closes the connection', async (t) => {
  const up = await setup(t);
  const transport = createTransport(parseUpstreamUrl(`tcp://127.0.0.1:${up.port}`));
  t.teardown(() => transport.close());
  await transport.exchange(q('www.example.test'), 1000);
  up.dropConnections();
  await eventually(() => up.connections().open === 0);
  t.same(data(await transport.exchange(q('www.example.test'), 1000)), ['192.0.2.1']);
  t.equal(up.connections().accepted, 2);
});

t.test('tcp: a query whose connection is closed under it is retried once, then fails', async (t) => {
  const up = await setup(t);
  up.behave('www.example.test', { closeConnection: true });
  const transport = createTransport(parseUpstreamUrl(`tcp://127.0.0.1:${up.port}`));
  t.teardown(() => transport.close());
  await t.rejects(transport.exchange(q('www.example.test'), 2000), { code: 'ROJE_ERR_UPSTREAM_NETWORK' });
  t.equal(up.queriesFor('www.example.test'), 2, 'sent twice');
});

t.test('tcp: idle connections are closed', async (t) => {
  const up = await setup(t);
  const transport = createStreamTransport(parseUpstreamUrl(`tcp://127.0.0.1:${up.port}`), { idleMs: 30 });
  t.teardown(() => transport.close());
  await transport.exchange(q('www.example.test'), 1000);
  t.ok(await eventually(() => up.connections().open === 0), 'server saw the close');
  t.same(data(await transport.exchange(q('www.example.test'), 1000)), ['192.0.2.1'], 'and a new one opens');
});

t.test('tcp: wrong answers are errors, wrong-ID answers are skipped', async (t) => {
  const up = await setup(t);
  const transport = createTransport(parseUpstreamUrl(`tcp://127.0.0.1:${up.port}`));
  t.teardown(() => transport.close());
  up.behave('www.example.test', { wrongQuestion: 'only' });
  await t.rejects(transport.exchange(q('www.example.test'), 1000), {
    code: 'ROJE_ERR_UPSTREAM_BAD_RESPONSE',
  });
  up.behave('www.example.test', { garbage: true });
  await t.rejects(transport.exchange(q('www.example.test'), 1000), {
    code: 'ROJE_ERR_UPSTREAM_BAD_RESPONSE',
  });
  // An ID we have no query for is a late answer, not an error; the right one still counts.
  up.behave('www.example.test', { wrongId: 'first' });
  t.same(data(await transport.exchange(q('www.example.test'), 1000)), ['192.0.2.1']);
  up.behave('www.example.test', { silent: true });
  await t.rejects(transport.exchange(q('www.example.test'), 100), { code: 'ROJE_ERR_UPSTREAM_TIMEOUT' });
});

t.test('tcp: frames split across reads and several frames in one read', async (t) => {
  // A hand-made server: answers two queries at once in one write, split at odd offsets.
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    let buf = Buffer.alloc(0);
    const held: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
        const name = msg.questions![0].name;
        held.push(
          dnsPacket.streamEncode({
            type: 'response',
            id: msg.id,
            flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
            questions: msg.questions,
            answers: [{ name, type: 'A', ttl: 60, data: name.startsWith('a') ? '192.0.2.10' : '192.0.2.20' }],
          }),
        );
      }
      if (held.length === 2) {
        const all = Buffer.concat(held.splice(0));
        // Byte 1 alone (half a length), then the rest in two pieces that straddle the frame boundary.
        socket.write(all.subarray(0, 1));
        setImmediate(() => {
          socket.write(all.subarray(1, 30));
          setImmediate(() => socket.write(all.subarray(30)));
        });
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  const port = (server.address() as { port: number }).port;
  const transport = createTransport(parseUpstreamUrl(`tcp://127.0.0.1:${port}`));
  t.teardown(() => transport.close());
  const [a, b] = await Promise.all([
    transport.exchange(q('a.example.test'), 2000),
    transport.exchange(q('b.example.test'), 2000),
  ]);
  t.same(data(a), ['192.0.2.10']);
  t.same(data(b), ['192.0.2.20']);
});

t.test('tcp: connection refused -> network error', async (t) => {
  const err = await withClosedPort(
    'tcp',
    (port) => {
      const transport = createTransport(parseUpstreamUrl(`tcp://127.0.0.1:${port}`));
      t.teardown(() => transport.close());
      return transport.exchange(q('www.example.test'), 2000).catch((e: unknown) => e);
    },
    (e) => isRojeError(e, 'ROJE_ERR_UPSTREAM_NETWORK'),
  );
  t.ok(isRojeError(err, 'ROJE_ERR_UPSTREAM_NETWORK'), String(err));
});

t.test('tls: verified against the servername with a private CA', async (t) => {
  const up = await setup(t, { tls: true });
  const ca = up.cert!.cert;
  const good = createTransport(parseUpstreamUrl(`tls://127.0.0.1:${up.tlsPort}#${up.cert!.servername}`), {
    ca,
  });
  t.teardown(() => good.close());
  const answers = await Promise.all(
    Array.from({ length: 20 }, (_, i) => good.exchange(q(`n${i}.example.test`), 2000)),
  );
  t.same(data(answers[7]), ['192.0.2.7']);
  t.equal(up.counts.tls, 20);

  // No servername: the certificate's IP SAN is checked.
  const byIp = createTransport(parseUpstreamUrl(`tls://127.0.0.1:${up.tlsPort}`), { ca });
  t.teardown(() => byIp.close());
  t.same(data(await byIp.exchange(q('www.example.test'), 2000)), ['192.0.2.1']);
});

t.test('tls: wrong servername or untrusted certificate -> network error, no answer', async (t) => {
  const up = await setup(t, { tls: true });
  const wrongName = createTransport(parseUpstreamUrl(`tls://127.0.0.1:${up.tlsPort}#other.example`), {
    ca: up.cert!.cert,
  });
  t.teardown(() => wrongName.close());
  const e1 = await wrongName.exchange(q('www.example.test'), 2000).catch((e: unknown) => e);
  t.ok(isRojeError(e1, 'ROJE_ERR_UPSTREAM_NETWORK'), String(e1));
  t.match((e1 as Error).message, /other\.example|altnames|Hostname/i);

  const untrusted = createTransport(parseUpstreamUrl(`tls://127.0.0.1:${up.tlsPort}#${up.cert!.servername}`));
  t.teardown(() => untrusted.close());
  const e2 = await untrusted.exchange(q('www.example.test'), 2000).catch((e: unknown) => e);
  t.ok(isRojeError(e2, 'ROJE_ERR_UPSTREAM_NETWORK'), String(e2));
  t.equal(up.counts.tls, 0, 'no query reached the server');
});
