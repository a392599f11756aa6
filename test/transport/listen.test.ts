import { createSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import dnsPacket from 'dns-packet';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { isRojeError } from '../../src/errors.js';
import { batchedUdp } from '../../src/transport/batched-udp.js';
import { type Listeners, listen, listenerOptions } from '../../src/transport/listen.js';
import { createTcpListener } from '../../src/transport/tcp.js';
import { createUdpListener } from '../../src/transport/udp.js';
import { holdTcpPort, ownSocketsOn } from '../helpers/ports.js';

const logger = pino({ level: 'silent' });

function query(id: number): Buffer {
  return dnsPacket.encode({ type: 'query', id, questions: [{ type: 'A', name: 'example.com' }] });
}

function echo(msg: Buffer): Buffer {
  const out = Buffer.from(msg);
  out[2] |= 0x80;
  return out;
}

async function start(t: Test, port = 0, host = '127.0.0.1'): Promise<Listeners> {
  const listeners = await listen({ host, port }, echo, { logger });
  t.teardown(() => listeners.close());
  return listeners;
}

function askUdp(t: Test, port: number, id: number): Promise<number> {
  const socket = createSocket('udp4');
  t.teardown(() => socket.close());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no udp answer')), 3000);
    socket.on('message', (msg) => {
      clearTimeout(timer);
      resolve(msg.readUInt16BE(0));
    });
    socket.send(query(id), port, '127.0.0.1');
  });
}

function askTcp(t: Test, port: number, id: number): Promise<number> {
  const socket = connect({ port, host: '127.0.0.1' });
  t.teardown(() => socket.destroy());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no tcp answer')), 3000);
    let got = Buffer.alloc(0);
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= 4) {
        clearTimeout(timer);
        resolve(got.readUInt16BE(2));
      }
    });
    const msg = query(id);
    const frame = Buffer.alloc(2 + msg.length);
    frame.writeUInt16BE(msg.length, 0);
    msg.copy(frame, 2);
    socket.write(frame);
  });
}

t.test('port 0 gives UDP and TCP the same port, and both answer', async (t) => {
  const listeners = await start(t);
  const port = listeners.address.port;
  t.ok(port > 0);
  t.equal(listeners.udp.address().port, port);
  t.equal(listeners.tcp.address().port, port);
  t.same(listeners.address, { host: '127.0.0.1', port, family: 'IPv4' });
  t.equal(await askUdp(t, port, 1), 1);
  t.equal(await askTcp(t, port, 2), 2);
  t.match(listeners.stats(), { messages: 2, responses: 2, dropped: 0, tcpConnections: 1 });
});

t.test('an address in use is a ROJE_ERR_LISTEN_FAILED naming transport, address and cause', async (t) => {
  const first = await start(t);
  const port = first.address.port;
  const err = await listen({ host: '127.0.0.1', port }, echo, { logger }).then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(isRojeError(err, 'ROJE_ERR_LISTEN_FAILED'));
  t.match((err as Error).message, `cannot listen on udp 127.0.0.1:${port}: EADDRINUSE (already in use`);
  t.equal(await askUdp(t, port, 3), 3, 'the first listener is untouched');
});

t.test('a TCP port in use fails on tcp and releases the UDP port it took', async (t) => {
  // The TCP port is held here; its UDP twin must be free for the case to arise, and another program
  // may hold that one: then roje fails on udp instead, and the case is tried on another port.
  let port = 0;
  let err: unknown = null;
  for (let attempt = 0; attempt < 5; attempt++) {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    t.teardown(() => blocker.close());
    port = (blocker.address() as { port: number }).port;
    err = await listen({ host: '127.0.0.1', port }, echo, { logger }).then(
      (listeners) => listeners.close().then(() => new Error(`listening on ${port} held by TCP`)),
      (e: unknown) => e,
    );
    if (
      !(err instanceof Error && err.message.startsWith(`cannot listen on udp 127.0.0.1:${port}: EADDRINUSE`))
    )
      break;
    blocker.close();
  }
  t.ok(isRojeError(err, 'ROJE_ERR_LISTEN_FAILED'), String(err));
  t.match((err as Error).message, `cannot listen on tcp 127.0.0.1:${port}: EADDRINUSE (already in use`);
  t.same(ownSocketsOn(port), ['tcp'], 'only the blocker is left: the UDP port was released');
});

t.test('with port 0, a TCP port taken by someone else is retried on a new port', async (t) => {
  const blocked: number[] = [];
  // Before the first TCP bind, a real server grabs that very port (unless another program has it
  // already): the bind then fails for real.
  const grabFirst: typeof createTcpListener = async (address, responder, options) => {
    if (blocked.length === 0) {
      const blocker = await holdTcpPort(address.port);
      t.teardown(() => blocker?.close());
      blocked.push(address.port);
    }
    return createTcpListener(address, responder, options);
  };
  const listeners = await listen(
    { host: '127.0.0.1', port: 0 },
    echo,
    { logger, bindAttempts: 3 },
    {
      createUdpListener,
      createTcpListener: grabFirst,
    },
  );
  t.teardown(() => listeners.close());
  t.equal(blocked.length, 1);
  t.not(listeners.address.port, blocked[0], 'moved to another port');
  t.equal(listeners.udp.address().port, listeners.tcp.address().port);
  t.equal(await askTcp(t, listeners.address.port, 4), 4);
});

t.test('with port 0 the retries are bounded', async (t) => {
  let attempts = 0;
  // Every TCP port is taken: by a server of this test, or by another program that had it already.
  const alwaysTaken: typeof createTcpListener = async (address, responder, options) => {
    attempts++;
    const blocker = await holdTcpPort(address.port);
    try {
      return await createTcpListener(address, responder, options);
    } finally {
      blocker?.close();
    }
  };
  await t.rejects(
    listen(
      { host: '127.0.0.1', port: 0 },
      echo,
      { logger, bindAttempts: 3 },
      {
        createUdpListener,
        createTcpListener: alwaysTaken,
      },
    ),
    { code: 'ROJE_ERR_LISTEN_FAILED', message: /EADDRINUSE/ },
  );
  t.equal(attempts, 3);
});

t.test('IPv6 ::1', async (t) => {
  const listeners = await start(t, 0, '::1');
  t.match(listeners.address, { host: '::1', family: 'IPv6' });
  t.equal(listeners.tcp.address().port, listeners.address.port);
});

t.test('close releases both ports', async (t) => {
  const listeners = await listen({ host: '127.0.0.1', port: 0 }, echo, { logger });
  const port = listeners.address.port;
  t.same(ownSocketsOn(port).sort(), ['tcp', 'udp'], 'held while listening');
  await listeners.close();
  // Not "bind it again": another program may take the port the moment it is free.
  t.same(ownSocketsOn(port), [], 'this process holds neither any more');
});

t.test(
  'config udp.batchedIo picks how the UDP socket is read: batched where built, else dgram',
  async (t) => {
    const base = {
      shutdown: { drainTimeoutMs: 1000 },
      tcp: {
        firstQueryTimeoutMs: 3000,
        idleTimeoutMs: 10_000,
        maxConnections: 10,
        maxConnectionsPerClient: 4,
        maxPipelined: 10,
      },
      acl: { allow: ['127.0.0.0/8'] },
    };
    for (const batchedIo of [true, false]) {
      const lines: Array<{ msg: string; io?: string }> = [];
      const seen = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) });
      const options = listenerOptions({ ...base, udp: { batchedIo } });
      const listeners = await listen({ host: '127.0.0.1', port: 0 }, echo, { logger: seen, ...options });
      t.teardown(() => listeners.close());
      t.equal(await askUdp(t, listeners.address.port, batchedIo ? 21 : 22), batchedIo ? 21 : 22, 'answers');
      const want = batchedIo && batchedUdp() !== null ? 'batched' : 'dgram';
      t.same(
        lines.filter((l) => l.io !== undefined).map((l) => l.io),
        [want],
        `udp.batchedIo: ${batchedIo} -> ${want}`,
      );
    }
  },
);
