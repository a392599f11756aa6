import { pino } from 'pino';
import t, { type Test } from 'tap';
import { createTcpListener, type TcpListenerOptions } from '../../src/transport/tcp.js';
import { framedQuery, openTcp, type RawTcp, sleep } from '../helpers/tcp-client.js';

const logger = pino({ level: 'silent' });

function echo(msg: Buffer): Buffer {
  const out = Buffer.from(msg);
  out[2] |= 0x80;
  return out;
}

async function start(t: Test, options: Partial<TcpListenerOptions> = {}) {
  const listener = await createTcpListener({ host: '127.0.0.1', port: 0 }, echo, { logger, ...options });
  t.teardown(() => listener.close());
  return { listener, port: listener.address().port };
}

async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

t.test('a connection from outside the served networks is closed at accept', async (t) => {
  const { listener, port } = await start(t, { isAllowed: (a) => a === '127.0.0.2' });
  const outside = await openTcp(port, '127.0.0.3');
  t.teardown(() => outside.socket.destroy());
  await within(outside.closed, 2000, 'the outsider closed');
  t.equal(outside.answers.length, 0);
  const inside = await openTcp(port, '127.0.0.2');
  t.teardown(() => inside.socket.destroy());
  inside.socket.write(framedQuery(7));
  await within(
    (async () => {
      while (inside.answers.length === 0) await sleep(5);
    })(),
    2000,
    'an answer',
  );
  t.match(listener.stats(), { tcpRejected: 1, tcpConnections: 1, tcpOpen: 1 });
  listener.configure({ isAllowed: () => false });
  const later = await openTcp(port, '127.0.0.2');
  await within(later.closed, 2000, 'refused after a reload of the ACL');
});

t.test('connections per client are capped; other clients are not affected', async (t) => {
  const { listener, port } = await start(t, { maxConnectionsPerClient: 2 });
  const a = [await openTcp(port, '127.0.0.4'), await openTcp(port, '127.0.0.4')];
  const third = await openTcp(port, '127.0.0.4');
  const other = await openTcp(port, '127.0.0.5');
  t.teardown(() => {
    for (const s of [...a, third, other]) s.socket.destroy();
  });
  await within(third.closed, 2000, 'the third connection closed');
  await sleep(50);
  t.notOk(a[0].isClosed() || a[1].isClosed() || other.isClosed(), 'the others stay open');
  a[0].socket.destroy();
  await a[0].closed;
  await sleep(50);
  const again = await openTcp(port, '127.0.0.4');
  t.teardown(() => again.socket.destroy());
  await sleep(100);
  t.notOk(again.isClosed(), 'a slot given back can be taken again');
  t.match(listener.stats(), { tcpRejected: 1, tcpOpen: 3 });
});

t.test('a connection dribbling bytes misses its first-query deadline', async (t) => {
  const { port } = await start(t, { firstQueryTimeoutMs: 300, idleTimeoutMs: 5000 });
  const slow = await openTcp(port, '127.0.0.6');
  t.teardown(() => slow.socket.destroy());
  const bytes = framedQuery(1);
  let i = 0;
  const dribble = setInterval(() => {
    if (i < bytes.length && !slow.isClosed()) slow.socket.write(bytes.subarray(i, ++i));
  }, 50);
  t.teardown(() => clearInterval(dribble));
  const after = await within(slow.closed, 3000, 'the dribbler closed');
  t.ok(after < 2000, `closed after ${after} ms though a byte came every 50 ms`);
  t.equal(slow.answers.length, 0);
});

t.test('each following query has a deadline too; answers given keep a good client open', async (t) => {
  const { port } = await start(t, { firstQueryTimeoutMs: 1000, idleTimeoutMs: 400 });
  const c = await openTcp(port, '127.0.0.7');
  t.teardown(() => c.socket.destroy());
  for (let id = 1; id <= 4; id++) {
    c.socket.write(framedQuery(id));
    await sleep(200);
  }
  t.equal(c.answers.length, 4, 'a query every 200 ms under a 400 ms deadline: served');
  t.notOk(c.isClosed());
  const bytes = framedQuery(9);
  let i = 0;
  const dribble = setInterval(() => {
    if (i < bytes.length && !c.isClosed()) c.socket.write(bytes.subarray(i, ++i));
  }, 100);
  t.teardown(() => clearInterval(dribble));
  const after = await within(c.closed, 3000, 'closed once the next query was late');
  t.ok(after < 2500, `closed ${after} ms after connect`);
});

t.test('under pressure the deadlines are cut short', async (t) => {
  const { port } = await start(t, { maxConnections: 8, firstQueryTimeoutMs: 5000 });
  const early: RawTcp[] = [];
  for (let i = 0; i < 7; i++) early.push(await openTcp(port, `127.0.1.${i + 1}`));
  const late = await openTcp(port, '127.0.1.100');
  t.teardown(() => {
    for (const s of [...early, late]) s.socket.destroy();
  });
  const after = await within(late.closed, 3000, 'the connection opened under pressure closed');
  t.ok(after < 2000, `closed after ${after} ms, not 5 s`);
  const before = await within(Promise.all(early.map((s) => s.closed)), 3000, 'the earlier ones closed too');
  t.ok(
    Math.max(...before) < 4000,
    `those opened before the pressure were cut too: ${Math.max(...before)} ms`,
  );
});

t.test('under pressure a connection waiting for its answer is not cut', async (t) => {
  let release: (() => void) | null = null;
  const listener = await createTcpListener(
    { host: '127.0.0.1', port: 0 },
    (msg) =>
      new Promise<Buffer>((resolve) => {
        release = () => resolve(echo(msg));
      }),
    { logger, maxConnections: 4, firstQueryTimeoutMs: 5000, idleTimeoutMs: 5000 },
  );
  t.teardown(() => listener.close());
  const port = listener.address().port;
  const waiting = await openTcp(port, '127.0.2.1');
  waiting.socket.write(framedQuery(3));
  await sleep(100);
  const others: RawTcp[] = [];
  for (let i = 0; i < 3; i++) others.push(await openTcp(port, `127.0.2.${i + 2}`));
  t.teardown(() => {
    for (const s of [waiting, ...others]) s.socket.destroy();
  });
  await within(Promise.all(others.map((s) => s.closed)), 3000, 'the quiet ones cut under pressure');
  t.notOk(waiting.isClosed(), 'the one waiting for its answer stays');
  (release as (() => void) | null)?.();
  await within(
    (async () => {
      while (waiting.answers.length === 0) await sleep(5);
    })(),
    2000,
    'its answer',
  );
});
