import { createServer } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import t from 'tap';
import { createConnectionGuard } from '../../src/blockpage/connection-guard.js';

/** A connection from `from`; resolves once the server has seen it (or closed it at once). */
async function open(port: number, from: string): Promise<{ socket: Socket; closed: () => boolean }> {
  let closed = false;
  const socket = connect({ host: '127.0.0.1', port, localAddress: from });
  socket.on('error', () => {});
  socket.on('close', () => {
    closed = true;
  });
  await new Promise((r) => socket.once('connect', r));
  await new Promise((r) => setTimeout(r, 100));
  return { socket, closed: () => closed };
}

t.test('per client, in total, and the heaviest client gives way to a newcomer', async (t) => {
  const refusals: string[] = [];
  const guard = createConnectionGuard({ maxTotal: 4, maxPerClient: 3 }, (why) => refusals.push(why));
  const server = createServer(() => {});
  guard.attach(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const all: Socket[] = [];
  t.teardown(() => {
    for (const s of all) s.destroy();
    server.close();
  });
  const a = [];
  for (let i = 0; i < 4; i++) a.push(await open(port, '127.0.0.31'));
  all.push(...a.map((c) => c.socket));
  t.same(
    a.map((c) => c.closed()),
    [false, false, false, true],
    'the fourth from one client is closed at once',
  );
  t.same(refusals, ['client']);
  const b = await open(port, '127.0.0.32');
  const c = await open(port, '127.0.0.33');
  all.push(b.socket, c.socket);
  t.notOk(b.closed(), 'another client fills the last slot');
  t.notOk(c.closed(), 'a newcomer past the total gets in...');
  t.ok(a[0]?.closed(), "...in place of the heaviest client's oldest");
  t.match(guard.stats(), { open: 4, jostled: 1 });
  const d = await open(port, '127.0.0.34');
  all.push(d.socket);
  t.notOk(d.closed(), 'and again while one client holds more than the others');
  t.ok(a[1]?.closed());
  const e = await open(port, '127.0.0.35');
  all.push(e.socket);
  t.ok(e.closed(), 'all even: the newcomer is refused');
  t.match(guard.stats(), { open: 4, jostled: 2 });
  t.same(refusals, ['client', 'total']);
  b.socket.destroy();
  await new Promise((r) => setTimeout(r, 100));
  t.equal(guard.stats().open, 3, 'a closed connection frees its slot');
});
