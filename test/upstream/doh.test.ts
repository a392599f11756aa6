import * as dnsPacket from 'dns-packet';
import t, { type Test } from 'tap';
import { buildUpstreamQuery } from '../../src/dns/upstream-message.js';
import { isRojeError } from '../../src/errors.js';
import { createTransport } from '../../src/upstream/transport.js';
import { parseUpstreamUrl } from '../../src/upstream/url.js';
import { startFakeUpstream, toNameWire } from '../helpers/fake-upstream.js';

function q(name: string, qtype = 1): Buffer {
  return buildUpstreamQuery({ nameWire: toNameWire(name), qtype, qclass: 1, do: true, cd: true }, 0, 1232);
}

function data(wire: Buffer): unknown[] {
  return (dnsPacket.decode(wire).answers ?? []).map((a) => (a as { data?: unknown }).data);
}

async function setup(t: Test, host: '127.0.0.1' | '::1' = '127.0.0.1') {
  const up = await startFakeUpstream({ doh: true, host });
  t.teardown(() => up.close());
  up.zone.set('www.example.test', 'A', [{ data: '192.0.2.1' }]);
  up.zone.set(
    'big.example.test',
    'TXT',
    Array.from({ length: 40 }, (_, i) => ({ data: `txt ${i} ${'x'.repeat(60)}` })),
  );
  const transport = createTransport(parseUpstreamUrl(up.dohUrl!), { ca: up.cert!.cert });
  t.teardown(() => transport.close());
  return { up, transport };
}

t.test('DoH POST with ID 0, flags passed through, large answers whole', async (t) => {
  const { up, transport } = await setup(t);
  const wire = await transport.exchange(q('www.example.test'), 2000);
  t.same(data(wire), ['192.0.2.1']);
  t.equal(up.lastQuery?.id, 0, 'RFC 8484 ID 0');
  t.equal(up.lastQuery?.flag_cd, true);
  t.equal(up.lastQuery?.transport, 'doh');
  t.equal(wire.readUInt16BE(0), 0);
  t.equal(dnsPacket.decode(await transport.exchange(q('big.example.test', 16), 2000)).answers?.length, 40);
  const many = await Promise.all(
    Array.from({ length: 20 }, () => transport.exchange(q('www.example.test'), 2000)),
  );
  t.equal(many.length, 20);
});

t.test('DoH over IPv6 loopback', async (t) => {
  const { transport } = await setup(t, '::1');
  t.same(data(await transport.exchange(q('www.example.test'), 2000)), ['192.0.2.1']);
});

t.test('DoH: HTTP errors, wrong content-type and wrong answers are BAD_RESPONSE', async (t) => {
  const { up, transport } = await setup(t);
  up.behave('www.example.test', { httpStatus: 500 });
  await t.rejects(transport.exchange(q('www.example.test'), 2000), {
    code: 'ROJE_ERR_UPSTREAM_BAD_RESPONSE',
  });
  up.behave('www.example.test', { contentType: 'text/html' });
  await t.rejects(transport.exchange(q('www.example.test'), 2000), {
    code: 'ROJE_ERR_UPSTREAM_BAD_RESPONSE',
  });
  up.behave('www.example.test', { garbage: true });
  await t.rejects(transport.exchange(q('www.example.test'), 2000), {
    code: 'ROJE_ERR_UPSTREAM_BAD_RESPONSE',
  });
  up.behave('www.example.test', null);
  t.same(data(await transport.exchange(q('www.example.test'), 2000)), ['192.0.2.1'], 'recovers');
});

t.test('DoH: silent -> timeout', async (t) => {
  const { up, transport } = await setup(t);
  up.behave('*', { silent: true });
  await t.rejects(transport.exchange(q('www.example.test'), 150), { code: 'ROJE_ERR_UPSTREAM_TIMEOUT' });
});

t.test('DoH: untrusted certificate -> network error', async (t) => {
  const { up } = await setup(t);
  const untrusted = createTransport(parseUpstreamUrl(up.dohUrl!));
  t.teardown(() => untrusted.close());
  const err = await untrusted.exchange(q('www.example.test'), 2000).catch((e: unknown) => e);
  t.ok(isRojeError(err, 'ROJE_ERR_UPSTREAM_NETWORK'), String(err));
  t.equal(up.counts.doh, 0);
});
