import t, { type Test } from 'tap';
import { EDE } from '../../src/dns/constants.js';
import { createUpstreamPool, UpstreamFailedError } from '../../src/upstream/pool.js';
import type { UpstreamRequest } from '../../src/upstream/types.js';
import { startFakeUpstream, toNameWire } from '../helpers/fake-upstream.js';

function req(name: string, client: number, venue = -1): UpstreamRequest {
  return { nameWire: toNameWire(name), name, qtype: 1, qclass: 1, do: false, cd: false, client, venue };
}

async function slowPool(t: Test, extra: Record<string, number>) {
  const up = await startFakeUpstream();
  t.teardown(() => up.close());
  up.behave('*', { delayMs: 300 });
  let full = 0;
  const p = createUpstreamPool(
    { upstreams: [{ url: `udp://127.0.0.1:${up.port}` }], timeoutMs: 2000, udpSize: 1232, ...extra },
    { onQueueFull: () => full++ },
  );
  t.teardown(() => p.close());
  return { up, p, full: () => full };
}

t.test('a client over its share gets SERVFAIL at once; another client is served', async (t) => {
  const { up, p, full } = await slowPool(t, { maxPending: 8, maxPendingPerClient: 2 });
  const mine = [p.resolve(req('a0.example.test', 5)), p.resolve(req('a1.example.test', 5))];
  const started = performance.now();
  const over = await p.resolve(req('a2.example.test', 5)).catch((e: unknown) => e);
  t.ok(over instanceof UpstreamFailedError);
  t.match(over, { ede: { code: EDE.OTHER, text: 'upstream queue full for this client' } });
  t.ok(performance.now() - started < 100, 'at once');
  t.equal(up.queriesFor('a2.example.test'), 0, 'never sent');
  t.ok(await p.resolve(req('b0.example.test', 2)), 'another client is served');
  await Promise.all(mine);
  t.equal(full(), 1);
});

t.test("a venue's clients together are capped", async (t) => {
  const { p } = await slowPool(t, { maxPending: 8, maxPendingPerVenue: 2 });
  const both = [p.resolve(req('a0.example.test', 1, 0)), p.resolve(req('a1.example.test', 2, 0))];
  await t.rejects(p.resolve(req('a2.example.test', 3, 0)), {
    message: /upstream queue full for this venue/,
  });
  t.ok(await p.resolve(req('a3.example.test', 3, 1)), 'another venue is served');
  await Promise.all(both);
});

t.test(
  'queue full: the oldest query of the heaviest client gives way to another client (jostle)',
  async (t) => {
    const { p } = await slowPool(t, { maxPending: 3, maxPendingPerClient: 3, jostleAfterMs: 50 });
    const oldest = p.resolve(req('a0.example.test', 5)).catch((e: unknown) => e);
    const rest = [p.resolve(req('a1.example.test', 5)), p.resolve(req('a2.example.test', 5))];
    await t.rejects(
      p.resolve(req('b0.example.test', 2)),
      { message: /upstream queue full$/ },
      'not yet slow',
    );
    await new Promise((r) => setTimeout(r, 80));
    const started = performance.now();
    const newcomer = p.resolve(req('b1.example.test', 2));
    const jostled = await oldest;
    t.ok(performance.now() - started < 100, 'the jostled query is answered at once');
    t.match(jostled, { code: 'ROJE_ERR_UPSTREAM_ALL_FAILED', ede: { text: 'upstream queue full' } });
    t.ok(await newcomer, 'the newcomer is answered');
    await Promise.all(rest);
    // A coalesced duplicate of the jostled name starts afresh rather than joining the dropped exchange.
    t.ok(await p.resolve(req('a0.example.test', 5)));
  },
);
