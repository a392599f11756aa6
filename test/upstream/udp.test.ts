import * as dnsPacket from 'dns-packet';
import t, { type Test } from 'tap';
import { buildUpstreamQuery } from '../../src/dns/upstream-message.js';
import { isRojeError } from '../../src/errors.js';
import { createTransport } from '../../src/upstream/transport.js';
import { parseUpstreamUrl } from '../../src/upstream/url.js';
import { startFakeUpstream, toNameWire } from '../helpers/fake-upstream.js';
import { withClosedPort } from '../helpers/ports.js';

function q(name: string, qtype = 1): Buffer {
  return buildUpstreamQuery({ nameWire: toNameWire(name), qtype, qclass: 1, do: false, cd: false }, 0, 1232);
}

async function setup(t: Test, host: '127.0.0.1' | '::1' = '127.0.0.1') {
  const up = await startFakeUpstream({ host });
  t.teardown(() => up.close());
  up.zone.set('www.example.test', 'A', [{ data: '192.0.2.1' }]);
  up.zone.set(
    'big.example.test',
    'TXT',
    Array.from({ length: 40 }, (_, i) => ({ data: `txt ${i} ${'x'.repeat(60)}` })),
  );
  const bracket = host.includes(':') ? `[${host}]` : host;
  const transport = createTransport(parseUpstreamUrl(`udp://${bracket}:${up.port}`));
  t.teardown(() => transport.close());
  return { up, transport };
}

function decode(wire: Buffer) {
  return dnsPacket.decode(wire);
}

function data(res: dnsPacket.Packet): unknown[] {
  return (res.answers ?? []).map((a) => (a as { data?: unknown }).data);
}

t.test('answers over UDP, with a fresh random ID each query and the query left untouched', async (t) => {
  const { up, transport } = await setup(t);
  const query = q('www.example.test');
  const before = Buffer.from(query);
  const ids = new Set<number>();
  for (let i = 0; i < 8; i++) {
    const res = decode(await transport.exchange(query, 1000));
    t.same(data(res), ['192.0.2.1']);
    ids.add(up.lastQuery!.id!);
    t.equal(res.id, up.lastQuery!.id, 'answer carries the ID we sent');
  }
  t.ok(ids.size >= 7, `IDs vary (${ids.size} distinct of 8)`);
  t.same(query, before, 'query buffer not mutated');
  t.equal(up.counts.udp, 8);
});

t.test('IPv6 loopback', async (t) => {
  const { transport } = await setup(t, '::1');
  const res = decode(await transport.exchange(q('www.example.test'), 1000));
  t.equal(data(res)[0], '192.0.2.1');
});

t.test('TC answer is retried over TCP to the same host:port', async (t) => {
  const { up, transport } = await setup(t);
  const res = decode(await transport.exchange(q('big.example.test', 16), 1000));
  t.equal(res.flag_tc, false);
  t.equal(res.answers?.length, 40);
  t.equal(up.counts.udp, 1);
  t.equal(up.counts.tcp, 1);
});

t.test('forced TC on a small answer also goes to TCP', async (t) => {
  const { up, transport } = await setup(t);
  up.behave('www.example.test', { truncate: true });
  const res = decode(await transport.exchange(q('www.example.test'), 1000));
  t.equal(res.answers?.length, 1);
  t.equal(up.lastQuery?.transport, 'tcp');
});

t.test('anti-spoofing: wrong ID then right answer -> right answer accepted', async (t) => {
  const { up, transport } = await setup(t);
  up.behave('www.example.test', { wrongId: 'first' });
  const res = decode(await transport.exchange(q('www.example.test'), 1000));
  t.equal(data(res)[0], '192.0.2.1');
  t.equal(res.id, up.lastQuery!.id);
});

t.test('anti-spoofing: wrong question then right answer -> right answer accepted', async (t) => {
  const { up, transport } = await setup(t);
  up.behave('www.example.test', { wrongQuestion: 'first' });
  const res = decode(await transport.exchange(q('www.example.test'), 1000));
  t.equal(res.questions?.[0]?.name, 'www.example.test');
});

t.test('anti-spoofing: only wrong answers (or garbage) -> timeout', async (t) => {
  const { up, transport } = await setup(t);
  for (const b of [{ wrongId: 'only' as const }, { wrongQuestion: 'only' as const }, { garbage: true }]) {
    up.behave('www.example.test', b);
    await t.rejects(
      transport.exchange(q('www.example.test'), 150),
      { code: 'ROJE_ERR_UPSTREAM_TIMEOUT' },
      JSON.stringify(b),
    );
  }
});

t.test('silent upstream -> timeout', async (t) => {
  const { up, transport } = await setup(t);
  up.behave('*', { silent: true });
  await t.rejects(transport.exchange(q('www.example.test'), 100), { code: 'ROJE_ERR_UPSTREAM_TIMEOUT' });
});

t.test('a closed port fails fast with a network error (connected socket sees ICMP)', async (t) => {
  const err = await withClosedPort(
    'udp',
    (port) => {
      const transport = createTransport(parseUpstreamUrl(`udp://127.0.0.1:${port}`));
      t.teardown(() => transport.close());
      return transport.exchange(q('www.example.test'), 2000).catch((e: unknown) => e);
    },
    (e) => isRojeError(e, 'ROJE_ERR_UPSTREAM_NETWORK'),
  );
  t.ok(isRojeError(err, 'ROJE_ERR_UPSTREAM_NETWORK'), `got ${(err as Error).message}`);
});

t.test('close() fails queries in flight and refuses new ones', async (t) => {
  const { up, transport } = await setup(t);
  up.behave('*', { silent: true });
  const pending = transport.exchange(q('www.example.test'), 5000);
  await transport.close();
  await t.rejects(pending, { code: 'ROJE_ERR_UPSTREAM_NETWORK' });
  await t.rejects(transport.exchange(q('www.example.test'), 100), { code: 'ROJE_ERR_UPSTREAM_NETWORK' });
});
