import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import dnsPacket from 'dns-packet';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { replyBuffer } from '../../src/dns/bytes.js';
import { batchedUdp, batchedUdpLoadError } from '../../src/transport/batched-udp.js';
import type { Responder } from '../../src/transport/types.js';
import { createUdpListener } from '../../src/transport/udp.js';

// The suite both paths share is udp.test.ts; this file holds what only batching can get wrong.
const logger = pino({ level: 'silent' });

function query(id: number): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'A', name: 'example.com' }],
  });
}

async function listener(t: Test, responder: Responder) {
  const l = await createUdpListener({ host: '127.0.0.1', port: 0 }, responder, { logger, io: 'batched' });
  t.teardown(() => l.close());
  return l;
}

/** A client that sends `ids` in one burst (before the server's loop can take a turn) and collects the answers. */
async function burst(t: Test, port: number, ids: number[], make = query) {
  const socket = createSocket('udp4');
  const received: Buffer[] = [];
  socket.on('message', (msg) => received.push(msg));
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  t.teardown(() => socket.close());
  for (const id of ids) socket.send(make(id), port, '127.0.0.1');
  for (let i = 0; i < 400 && received.length < ids.length; i++) await new Promise((r) => setTimeout(r, 5));
  return { received, port: socket.address().port };
}

const ids = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);
const idsOf = (answers: Buffer[]): number[] => answers.map((a) => a.readUInt16BE(0)).sort((a, b) => a - b);

t.test('the native module is built on Linux (npm ci builds it with node-gyp)', async (t) => {
  if (process.platform !== 'linux') {
    t.equal(batchedUdp(), null, 'elsewhere the listener uses dgram');
    return;
  }
  t.not(batchedUdp(), null, `loaded: ${String(batchedUdpLoadError())}`);
  t.equal(batchedUdp()?.maxBatch, 256);
});

t.test('a burst reaches the responder in batches: many datagrams to one call from the loop', async (t) => {
  // Microtasks run between two calls from the event loop: with dgram every datagram is a call of its
  // own, so calls per microtask checkpoint stay at 1.
  let calls = 0;
  let most = 0;
  let pending = false;
  const l = await listener(t, (msg) => {
    calls++;
    most = Math.max(most, calls);
    if (!pending) {
      pending = true;
      queueMicrotask(() => {
        pending = false;
        calls = 0;
      });
    }
    const out = Buffer.from(msg);
    out[2] |= 0x80;
    return out;
  });
  // The loop is busy while the client sends, so the datagrams queue up in the socket.
  const sent = burst(t, l.address().port, ids(1, 200));
  const until = Date.now() + 30;
  while (Date.now() < until) {
    // Busy on purpose: the server socket fills while this loop holds the thread.
  }
  const { received } = await sent;
  t.same(idsOf(received), ids(1, 200), 'every datagram answered once');
  t.ok(most > 1, `up to ${most} datagrams in one call`);
  t.match(l.stats(), { messages: 200, responses: 200, dropped: 0, errors: 0 });
});

t.test('a reply buffer the chain lends again for each message is copied before the next one', async (t) => {
  const l = await listener(t, (msg) => {
    const out = replyBuffer(msg.length);
    msg.copy(out);
    out[2] |= 0x80;
    return out;
  });
  const busy = burst(t, l.address().port, ids(100, 150));
  const until = Date.now() + 30;
  while (Date.now() < until) {
    // Let the burst queue up, so that one batch holds many answers written into the same buffer.
  }
  const { received } = await busy;
  t.same(idsOf(received), ids(100, 150), 'each answer kept its own ID');
});

t.test('in one batch, synchronous and asynchronous answers each reach their own client', async (t) => {
  const l = await listener(t, (msg, client) => {
    const out = Buffer.from(msg);
    out[2] |= 0x80;
    // The client's port in the answer's ID field's neighbour (ARCOUNT) tells where it was meant to go.
    out.writeUInt16BE(client.port, 10);
    if (msg.readUInt16BE(0) % 2 === 0) return out;
    return new Promise((resolve) => setImmediate(() => resolve(out)));
  });
  const port = l.address().port;
  const [a, b, c] = await Promise.all([
    burst(t, port, ids(1, 60)),
    burst(t, port, ids(61, 60)),
    burst(t, port, ids(121, 60)),
  ]);
  for (const [client, want] of [
    [a, ids(1, 60)],
    [b, ids(61, 60)],
    [c, ids(121, 60)],
  ] as const) {
    t.same(idsOf(client.received), want, 'each client got exactly its answers');
    t.ok(
      client.received.every((m) => m.readUInt16BE(10) === client.port),
      'and each answer says it was computed for that client',
    );
  }
  t.match(l.stats(), { messages: 180, responses: 180, dropped: 0 });
});

t.test('a datagram far over the usual sizes goes in and comes back whole', async (t) => {
  const l = await listener(t, (msg) => {
    const out = Buffer.from(msg);
    out[2] |= 0x80;
    return out;
  });
  const big = (id: number): Buffer => {
    const b = Buffer.alloc(9000, id & 0xff);
    b.writeUInt16BE(id, 0);
    return b;
  };
  const { received } = await burst(t, l.address().port, [7, 8], big);
  t.same(
    received.map((m) => m.length),
    [9000, 9000],
  );
  t.ok(
    received.every((m) => m.subarray(12).every((x) => x === (m.readUInt16BE(0) & 0xff))),
    'bytes intact',
  );
});

t.test(
  'a worker thread that ends with its socket open (terminate) and the process exiting both end cleanly',
  async (t) => {
    if (batchedUdp() === null) {
      t.pass('not built here');
      return;
    }
    // The poll's close callback lives in the module: the thread must not unload it before libuv calls it.
    const addon = fileURLToPath(new URL('../../src/native/build/Release/batched_udp.node', import.meta.url));
    const open = `const n = require(${JSON.stringify(addon)}); const B = 64, S = 65536;
    globalThis.h = n.open(4, '127.0.0.1', 0, 0, 0, 0, 0, Buffer.allocUnsafeSlow(B * S), Buffer.alloc(B * 4),
      Buffer.alloc(B * n.addressSize), Buffer.allocUnsafeSlow(B * S), Buffer.alloc(B * 8), () => {});`;
    const script = `const { Worker } = require('node:worker_threads');
    (async () => {
      for (let i = 0; i < 3; i++) {
        const w = new Worker(${JSON.stringify(`${open} require('node:worker_threads').parentPort.postMessage(h.port);`)}, { eval: true });
        await new Promise((r) => w.once('message', r));
        await w.terminate();
      }
      ${open}
      process.exit(0);
    })();`;
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
    t.equal(child.signal, null, `no crash: ${child.stderr}`);
    t.equal(child.status, 0);
  },
);
