import { createSocket, Socket, type SocketType } from 'node:dgram';
import dnsPacket from 'dns-packet';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { replyBuffer } from '../../src/dns/bytes.js';
import type { ClientInfo } from '../../src/pipeline/types.js';
import type { Responder } from '../../src/transport/types.js';
import { createUdpListener, type UdpListener } from '../../src/transport/udp.js';

const logger = pino({ level: 'silent' });

function query(id: number, name = 'example.com'): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'A', name }],
  });
}

/** The trivial responder: the query with its QR bit set. */
function echo(msg: Buffer): Buffer {
  const out = Buffer.from(msg);
  out[2] |= 0x80;
  return out;
}

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A UDP client on loopback that collects every datagram it receives. */
async function udpClient(t: Test, type: SocketType = 'udp4') {
  const socket = createSocket(type);
  const received: Buffer[] = [];
  socket.on('message', (msg) => received.push(msg));
  await new Promise<void>((r) => socket.bind(0, type === 'udp4' ? '127.0.0.1' : '::1', r));
  t.teardown(() => socket.close());
  return {
    port: socket.address().port,
    received,
    send: (msg: Buffer, port: number, host = '127.0.0.1') => socket.send(msg, port, host),
    next: async (count = 1) => {
      await waitFor(() => received.length >= count, `${count} answer(s)`);
      return received[count - 1];
    },
  };
}

type Io = 'batched' | 'dgram';

async function start(t: Test, io: Io, responder: Responder, host = '127.0.0.1', drainTimeoutMs?: number) {
  const listener: UdpListener = await createUdpListener({ host, port: 0 }, responder, {
    logger,
    drainTimeoutMs,
    io,
  });
  t.teardown(() => listener.close());
  return listener;
}

// Both UDP paths pass the same suite: batched I/O (the native module, the default on Linux) and dgram.
for (const io of ['batched', 'dgram'] as const) {
  t.test(`${io} I/O`, async (t) => {
    t.test('answers synchronously and reports the client', async (t) => {
      const seen: ClientInfo[] = [];
      const listener = await start(t, io, (msg, client) => {
        seen.push({ ...client });
        return echo(msg);
      });
      const client = await udpClient(t);
      client.send(query(4242), listener.address().port);
      const answer = dnsPacket.decode(await client.next());
      t.equal(answer.id, 4242);
      t.equal(answer.type, 'response');
      t.same(seen, [{ address: '127.0.0.1', port: client.port, transport: 'udp', sendsAtOnce: true }]);
      t.match(listener.address(), { host: '127.0.0.1', family: 'IPv4' });
      t.ok(listener.address().port > 0);
      t.match(listener.stats(), { messages: 1, responses: 1, dropped: 0, errors: 0 });
    });

    t.test('answers asynchronously', async (t) => {
      const listener = await start(t, io, (msg) => new Promise((r) => setTimeout(() => r(echo(msg)), 20)));
      const client = await udpClient(t);
      client.send(query(1), listener.address().port);
      client.send(query(2), listener.address().port);
      await client.next(2);
      t.same(client.received.map((m) => dnsPacket.decode(m).id).sort(), [1, 2]);
      t.match(listener.stats(), { messages: 2, responses: 2 });
    });

    t.test(
      'a client kept by an async answer is not refilled by the datagrams answered meanwhile',
      async (t) => {
        const held: ClientInfo[] = [];
        let release: (() => void) | null = null;
        const listener = await start(t, io, (msg, client) => {
          if (msg.readUInt16BE(0) !== 1) return echo(msg);
          held.push(client);
          return new Promise((resolve) => {
            release = () => resolve(echo(msg));
          });
        });
        const slow = await udpClient(t);
        const fast = await udpClient(t);
        const port = listener.address().port;
        slow.send(query(1), port);
        await waitFor(() => held.length === 1, 'the async query');
        fast.send(query(2), port);
        await fast.next();
        t.equal(held[0].port, slow.port, 'the held client is still the first sender');
        (release as unknown as () => void)();
        t.equal(dnsPacket.decode(await slow.next()).id, 1, 'the async answer went to its own client');
      },
    );

    if (io === 'dgram')
      t.test(
        'a reply buffer is lent again only when dgram handed the datagram to the kernel at once',
        async (t) => {
          const SIZE = 37;
          const lent: Buffer[] = [];
          const listener = await start(t, io, (msg) => {
            // As a block answer is built: into the reply buffer of its size, the query's ID in it.
            const out = replyBuffer(SIZE).fill(0);
            msg.copy(out, 0, 0, 2);
            out[2] = 0x80;
            lent.push(out);
            return out;
          });
          const client = await udpClient(t);
          const port = listener.address().port;
          client.send(query(1), port);
          await client.next(1);
          client.send(query(2), port);
          await client.next(2);
          t.equal(lent[0], lent[1], 'sent at once: the same buffer serves the next answer');

          // A send the kernel did not take at once stays queued in dgram, holding the buffer until it leaves.
          const original = Socket.prototype.getSendQueueCount;
          Socket.prototype.getSendQueueCount = () => 1;
          t.teardown(() => {
            Socket.prototype.getSendQueueCount = original;
          });
          client.send(query(3), port);
          await client.next(3);
          Socket.prototype.getSendQueueCount = original;
          client.send(query(4), port);
          await client.next(4);
          t.not(lent[3], lent[2], 'queued: the next answer of that size gets a buffer of its own');
          t.equal(lent[2].readUInt16BE(0), 3, 'the queued answer was not written again');
          t.same(
            client.received.map((m) => m.readUInt16BE(0)),
            [1, 2, 3, 4],
          );
        },
      );

    t.test(
      'a throwing or rejecting responder drops that message and the listener keeps answering',
      async (t) => {
        const listener = await start(t, io, (msg) => {
          const id = msg.readUInt16BE(0);
          if (id === 1) throw new Error('boom');
          if (id === 2) return Promise.reject(new Error('async boom'));
          return echo(msg);
        });
        const client = await udpClient(t);
        const port = listener.address().port;
        client.send(query(1), port);
        client.send(query(2), port);
        await waitFor(() => listener.stats().errors === 2, 'two responder errors');
        client.send(query(3), port);
        t.equal(dnsPacket.decode(await client.next()).id, 3);
        t.equal(client.received.length, 1, 'nothing was sent for the failed messages');
        t.match(listener.stats(), { messages: 3, responses: 1, dropped: 2, errors: 2 });
      },
    );

    t.test('null sends nothing; datagrams shorter than a header never reach the responder', async (t) => {
      let calls = 0;
      const listener = await start(t, io, (msg) => {
        calls++;
        return msg.readUInt16BE(0) === 1 ? null : echo(msg);
      });
      const client = await udpClient(t);
      const port = listener.address().port;
      client.send(query(1), port);
      client.send(Buffer.from([0, 2, 1, 0, 0]), port);
      await waitFor(() => listener.stats().dropped === 2, 'two drops');
      client.send(query(3), port);
      t.equal(dnsPacket.decode(await client.next()).id, 3);
      t.equal(client.received.length, 1);
      t.equal(calls, 2, 'the short datagram was not passed on');
    });

    t.test('IPv6 on ::1', async (t) => {
      const seen: ClientInfo[] = [];
      const listener = await start(
        t,
        io,
        (msg, client) => {
          seen.push({ ...client });
          return echo(msg);
        },
        '::1',
      );
      t.match(listener.address(), { host: '::1', family: 'IPv6' });
      const client = await udpClient(t, 'udp6');
      client.send(query(6), listener.address().port, '::1');
      t.equal(dnsPacket.decode(await client.next()).id, 6);
      t.same(seen, [{ address: '::1', port: client.port, transport: 'udp', sendsAtOnce: true }]);
    });

    t.test("'::' serves IPv4 clients too and reports them as plain IPv4", async (t) => {
      const seen: ClientInfo[] = [];
      const listener = await start(
        t,
        io,
        (msg, client) => {
          seen.push({ ...client });
          return echo(msg);
        },
        '::',
      );
      const client = await udpClient(t);
      client.send(query(7), listener.address().port, '127.0.0.1');
      t.equal(dnsPacket.decode(await client.next()).id, 7);
      t.equal(seen[0].address, '127.0.0.1');
    });

    t.test('close waits for an in-flight answer, then refuses new messages', async (t) => {
      let release: (() => void) | undefined;
      let calls = 0;
      const listener = await createUdpListener(
        { host: '127.0.0.1', port: 0 },
        (msg) => {
          calls++;
          return new Promise((r) => {
            release = () => r(echo(msg));
          });
        },
        { logger, drainTimeoutMs: 5000, io },
      );
      const client = await udpClient(t);
      const port = listener.address().port;
      client.send(query(9), port);
      await waitFor(() => release !== undefined, 'the query to arrive');
      let closed = false;
      const closing = listener.close().then(() => {
        closed = true;
      });
      client.send(query(10), port);
      await waitFor(() => listener.stats().messages === 2, 'the second message');
      t.equal(calls, 1, 'a message arriving while closing is not answered');
      t.notOk(closed, 'close is waiting for the in-flight answer');
      release!();
      t.equal(dnsPacket.decode(await client.next()).id, 9, 'the in-flight answer was still sent');
      await closing;
      t.match(listener.stats(), { messages: 2, responses: 1, dropped: 1 });
    });

    t.test('close gives up on answers that never come after drainTimeoutMs', async (t) => {
      const listener = await createUdpListener({ host: '127.0.0.1', port: 0 }, () => new Promise(() => {}), {
        logger,
        drainTimeoutMs: 50,
        io,
      });
      const client = await udpClient(t);
      client.send(query(11), listener.address().port);
      await waitFor(() => listener.stats().messages === 1, 'the query');
      await listener.close();
      t.pass('closed');
    });
  });
}
