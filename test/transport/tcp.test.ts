import { connect } from 'node:net';
import dnsPacket from 'dns-packet';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import type { ClientInfo } from '../../src/pipeline/types.js';
import { createTcpListener, type TcpListenerOptions } from '../../src/transport/tcp.js';
import type { Responder } from '../../src/transport/types.js';

const logger = pino({ level: 'silent' });

function query(id: number): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'A', name: 'example.com' }],
  });
}

function framed(msg: Buffer): Buffer {
  const out = Buffer.alloc(msg.length + 2);
  out.writeUInt16BE(msg.length, 0);
  msg.copy(out, 2);
  return out;
}

function echo(msg: Buffer): Buffer {
  const out = Buffer.from(msg);
  out[2] |= 0x80;
  return out;
}

const idOf = (msg: Buffer) => msg.readUInt16BE(0);

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function start(
  t: Test,
  responder: Responder,
  options: Partial<TcpListenerOptions> = {},
  host = '127.0.0.1',
) {
  const listener = await createTcpListener({ host, port: 0 }, responder, { logger, ...options });
  t.teardown(() => listener.close());
  return listener;
}

/** A TCP client that parses the answers with its own (naive) framing code. */
async function tcpClient(t: Test, port: number, host = '127.0.0.1') {
  const socket = connect({ port, host, noDelay: true });
  const answers: Buffer[] = [];
  let pending = Buffer.alloc(0);
  let closed = false;
  let closedAfter = -1;
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
      const length = pending.readUInt16BE(0);
      answers.push(pending.subarray(2, 2 + length));
      pending = pending.subarray(2 + length);
    }
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    closed = true;
    closedAfter = answers.length;
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
    /** How many answers had arrived when the connection closed. */
    answersAtClose: () => closedAfter,
    write: (data: Buffer) => new Promise<void>((r) => socket.write(data, () => r())),
    next: async (count = 1) => {
      await waitFor(() => answers.length >= count, `${count} answer(s)`);
      return answers[count - 1];
    },
    closed: () => waitFor(() => closed, 'the connection to close'),
  };
}

t.test('a round trip, sync and async, with the client reported', async (t) => {
  const seen: ClientInfo[] = [];
  const listener = await start(t, (msg, client) => {
    seen.push(client);
    return idOf(msg) === 2 ? Promise.resolve(echo(msg)) : echo(msg);
  });
  t.match(listener.address(), { host: '127.0.0.1', family: 'IPv4' });
  const client = await tcpClient(t, listener.address().port);
  await client.write(framed(query(1)));
  t.equal(dnsPacket.decode(await client.next(1)).id, 1);
  await client.write(framed(query(2)));
  const answer = dnsPacket.decode(await client.next(2));
  t.equal(answer.id, 2);
  t.equal(answer.type, 'response');
  t.same(seen[0], {
    address: '127.0.0.1',
    port: client.socket.localPort,
    transport: 'tcp',
    sendsAtOnce: true,
  });
  t.match(listener.stats(), { messages: 2, responses: 2, dropped: 0, tcpConnections: 1, tcpOpen: 1 });
});

t.test('IPv6 on ::1', async (t) => {
  const seen: ClientInfo[] = [];
  const listener = await start(
    t,
    (msg, client) => {
      seen.push(client);
      return echo(msg);
    },
    {},
    '::1',
  );
  t.match(listener.address(), { host: '::1', family: 'IPv6' });
  const client = await tcpClient(t, listener.address().port, '::1');
  await client.write(framed(query(6)));
  t.equal(idOf(await client.next()), 6);
  t.equal(seen[0].address, '::1');
});

t.test("'::' serves IPv4 clients too and reports them as plain IPv4", async (t) => {
  const seen: ClientInfo[] = [];
  const listener = await start(
    t,
    (msg, client) => {
      seen.push(client);
      return echo(msg);
    },
    {},
    '::',
  );
  const client = await tcpClient(t, listener.address().port, '127.0.0.1');
  await client.write(framed(query(7)));
  t.equal(idOf(await client.next()), 7);
  t.equal(seen[0].address, '127.0.0.1');
});

t.test('a message written one byte at a time', async (t) => {
  const listener = await start(t, echo);
  const client = await tcpClient(t, listener.address().port);
  const wire = framed(query(77));
  for (let i = 0; i < wire.length; i++) {
    await client.write(wire.subarray(i, i + 1));
    await new Promise((r) => setImmediate(r));
  }
  t.equal(idOf(await client.next()), 77);
  t.equal(listener.stats().messages, 1);
});

t.test('several messages in one write', async (t) => {
  const listener = await start(t, echo);
  const client = await tcpClient(t, listener.address().port);
  await client.write(Buffer.concat([1, 2, 3, 4, 5].map((id) => framed(query(id)))));
  await client.next(5);
  t.same(client.answers.map(idOf), [1, 2, 3, 4, 5]);
});

t.test('pipelining: a slow first answer does not hold back the second', async (t) => {
  let releaseFirst: (() => void) | undefined;
  const listener = await start(t, (msg) => {
    if (idOf(msg) !== 1) return echo(msg);
    return new Promise((r) => {
      releaseFirst = () => r(echo(msg));
    });
  });
  const client = await tcpClient(t, listener.address().port);
  await client.write(Buffer.concat([framed(query(1)), framed(query(2))]));
  t.equal(idOf(await client.next(1)), 2, 'the second answer came first');
  releaseFirst!();
  t.equal(idOf(await client.next(2)), 1);
});

t.test('reading pauses at maxInFlightPerConnection', async (t) => {
  const waiting: Array<() => void> = [];
  const listener = await start(
    t,
    (msg) =>
      new Promise((r) => {
        waiting.push(() => r(echo(msg)));
      }),
    { maxInFlightPerConnection: 2 },
  );
  const client = await tcpClient(t, listener.address().port);
  await client.write(Buffer.concat([1, 2, 3, 4, 5].map((id) => framed(query(id)))));
  await waitFor(() => waiting.length >= 2, 'two queries');
  await new Promise((r) => setTimeout(r, 50));
  t.equal(waiting.length, 2, 'the third query waits for a free slot');
  waiting[0]();
  await waitFor(() => waiting.length === 3, 'the third query');
  t.equal(idOf(await client.next(1)), 1);
  for (let i = 1; i < 5; i++) {
    await waitFor(() => waiting.length > i, `query ${i + 1}`);
    waiting[i]();
  }
  await client.next(5);
  t.same(client.answers.map(idOf).sort(), [1, 2, 3, 4, 5]);
});

t.test('reading pauses while the client does not read its answers', async (t) => {
  let calls = 0;
  const big = Buffer.alloc(30_000);
  const listener = await start(t, (msg) => {
    calls++;
    const out = Buffer.from(big);
    msg.copy(out, 0, 0, 12);
    return out;
  });
  const client = await tcpClient(t, listener.address().port);
  client.socket.pause();
  const total = 1000;
  await client.write(Buffer.concat(Array.from({ length: total }, (_, i) => framed(query(i)))));
  await waitFor(() => calls > 0, 'the first query');
  // Let the kernel buffers fill up; without backpressure all 1000 would be answered at once.
  let last = -1;
  for (let i = 0; i < 100 && calls !== last; i++) {
    last = calls;
    await new Promise((r) => setTimeout(r, 30));
  }
  t.ok(calls < total, `stopped reading after ${calls} of ${total} queries`);
  client.socket.resume();
  await client.next(total);
  t.equal(calls, total);
  t.equal(client.answers[total - 1].length, 30_000);
});

t.test('the idle timeout closes a quiet connection', async (t) => {
  const listener = await start(t, echo, { idleTimeoutMs: 200 });
  const client = await tcpClient(t, listener.address().port);
  await client.write(framed(query(1)));
  await client.next();
  await client.closed();
  await waitFor(() => listener.stats().tcpOpen === 0, 'the server side to close');
  t.pass('closed by the server');
});

t.test('the idle timeout waits for a pending answer', async (t) => {
  const listener = await start(
    t,
    (msg) => (idOf(msg) === 3 ? new Promise((r) => setTimeout(() => r(echo(msg)), 600)) : echo(msg)),
    { idleTimeoutMs: 200 },
  );
  const client = await tcpClient(t, listener.address().port);
  await client.write(framed(query(3)));
  t.equal(idOf(await client.next(1)), 3);
  t.notOk(client.isClosed(), 'the connection outlived the idle timeout while the answer was pending');
  await client.write(framed(query(4)));
  t.equal(idOf(await client.next(2)), 4, 'and it still takes queries');
  await client.closed();
});

t.test('the idle timer restarts after a pending query that got no answer', async (t) => {
  const listener = await start(t, () => new Promise((r) => setTimeout(() => r(null), 400)), {
    idleTimeoutMs: 200,
  });
  const client = await tcpClient(t, listener.address().port);
  await client.write(framed(query(3)));
  await waitFor(() => listener.stats().dropped === 1, 'the null answer');
  t.notOk(client.isClosed());
  await client.closed();
  t.pass('closed after the pending query was done');
});

t.test('past the connection limit new connections are closed and counted', async (t) => {
  const listener = await start(t, echo, { maxConnections: 2 });
  const port = listener.address().port;
  const a = await tcpClient(t, port);
  const b = await tcpClient(t, port);
  await waitFor(() => listener.stats().tcpOpen === 2, 'two open connections');
  const c = await tcpClient(t, port);
  await c.closed();
  t.match(listener.stats(), { tcpConnections: 2, tcpRejected: 1, tcpOpen: 2 });
  await a.write(framed(query(1)));
  await b.write(framed(query(2)));
  t.equal(idOf(await a.next()), 1);
  t.equal(idOf(await b.next()), 2);
});

t.test('a frame shorter than a DNS header closes the connection', async (t) => {
  let calls = 0;
  const listener = await start(t, (msg) => {
    calls++;
    return echo(msg);
  });
  const client = await tcpClient(t, listener.address().port);
  await client.write(Buffer.concat([framed(query(1)), Buffer.from([0, 5, 1, 2, 3, 4, 5]), framed(query(2))]));
  await client.closed();
  t.equal(calls, 1, 'the message before the bad frame was handled, nothing after it');
  t.equal(listener.stats().dropped, 1);
});

t.test(
  'a throwing responder, a rejecting one and an unframeable answer only drop that message',
  async (t) => {
    const listener = await start(t, (msg) => {
      const id = idOf(msg);
      if (id === 1) throw new Error('boom');
      if (id === 2) return Promise.reject(new Error('async boom'));
      if (id === 3) return Buffer.alloc(70_000);
      return echo(msg);
    });
    const client = await tcpClient(t, listener.address().port);
    await client.write(Buffer.concat([1, 2, 3, 4].map((id) => framed(query(id)))));
    t.equal(idOf(await client.next()), 4);
    await waitFor(() => listener.stats().dropped === 3, 'three drops');
    t.equal(client.answers.length, 1);
    t.notOk(client.isClosed());
    t.match(listener.stats(), { messages: 4, responses: 1, dropped: 3, errors: 2 });
  },
);

t.test('a client that half-closes after its query still gets the answer', async (t) => {
  const listener = await start(t, (msg) => new Promise((r) => setTimeout(() => r(echo(msg)), 50)));
  const client = await tcpClient(t, listener.address().port);
  client.socket.end(framed(query(8)));
  await client.closed();
  t.same(client.answers.map(idOf), [8]);
});

t.test('close stops accepting, writes the in-flight answer, then ends the connection', async (t) => {
  let release: (() => void) | undefined;
  const listener = await createTcpListener(
    { host: '127.0.0.1', port: 0 },
    (msg) =>
      new Promise((r) => {
        release = () => r(echo(msg));
      }),
    { logger, drainTimeoutMs: 5000 },
  );
  const port = listener.address().port;
  const client = await tcpClient(t, port);
  await client.write(framed(query(21)));
  await waitFor(() => release !== undefined, 'the query');
  let closed = false;
  const closing = listener.close().then(() => {
    closed = true;
  });
  await t.rejects(tcpClient(t, port), 'new connections are refused');
  await new Promise((r) => setTimeout(r, 50));
  t.notOk(closed, 'close waits for the answer');
  t.notOk(client.isClosed());
  release!();
  await closing;
  await client.closed();
  t.same(client.answers.map(idOf), [21]);
});

t.test('close cuts connections whose answers never come, after drainTimeoutMs', async (t) => {
  const listener = await createTcpListener({ host: '127.0.0.1', port: 0 }, () => new Promise(() => {}), {
    logger,
    drainTimeoutMs: 50,
  });
  const client = await tcpClient(t, listener.address().port);
  await client.write(framed(query(1)));
  await waitFor(() => listener.stats().messages === 1, 'the query');
  await listener.close();
  await client.closed();
  t.equal(client.answers.length, 0);
});
