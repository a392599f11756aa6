import * as dnsPacket from 'dns-packet';
import t, { type Test } from 'tap';
import { EDE } from '../../src/dns/constants.js';
import { isRojeError } from '../../src/errors.js';
import {
  createUpstreamPool,
  UpstreamFailedError,
  type UpstreamPoolOptions,
} from '../../src/upstream/pool.js';
import type { UpstreamRequest } from '../../src/upstream/types.js';
import { type FakeUpstream, startFakeUpstream, toNameWire } from '../helpers/fake-upstream.js';

function req(name: string, qtype = 1, flags: { do?: boolean; cd?: boolean } = {}): UpstreamRequest {
  return { nameWire: toNameWire(name), name, qtype, qclass: 1, do: flags.do ?? false, cd: flags.cd ?? false };
}

function rcode(wire: Buffer): number {
  return wire.readUInt16BE(2) & 0x0f;
}

async function upstreams(t: Test, n: number): Promise<FakeUpstream[]> {
  const ups: FakeUpstream[] = [];
  for (let i = 0; i < n; i++) {
    const up = await startFakeUpstream();
    t.teardown(() => up.close());
    up.zone.set('www.example.test', 'A', [{ data: `192.0.2.${i + 1}` }]);
    ups.push(up);
  }
  return ups;
}

function pool(t: Test, ups: FakeUpstream[], extra: Partial<UpstreamPoolOptions> = {}) {
  const p = createUpstreamPool({
    upstreams: ups.map((u) => ({ url: `udp://127.0.0.1:${u.port}` })),
    timeoutMs: 200,
    udpSize: 1232,
    ...extra,
  });
  t.teardown(() => p.close());
  return p;
}

async function eventually(fn: () => boolean, tries = 100, everyMs = 20): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (fn()) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return fn();
}

t.test('resolves from the first upstream, passing DO and CD through with RD set', async (t) => {
  const ups = await upstreams(t, 2);
  const p = pool(t, ups);
  const r = await p.resolve(req('www.example.test', 1, { do: true, cd: true }));
  t.equal(r.upstream, `udp://127.0.0.1:${ups[0].port}`);
  t.equal((dnsPacket.decode(r.wire).answers![0] as { data: string }).data, '192.0.2.1');
  t.ok(r.rttMs >= 0);
  const last = ups[0].lastQuery!;
  t.equal(last.flag_rd, true);
  t.equal(last.flag_cd, true);
  t.equal((last.additionals!.find((a) => a.type === 'OPT') as dnsPacket.OptAnswer).flag_do, true);
  t.equal(ups[1].counts.total, 0);
  const h = p.health();
  t.equal(h[0].state, 'up');
  t.equal(h[0].queries, 1);
  t.type(h[0].srttMs, 'number');
  t.equal(h[1].srttMs, null);
});

t.test('fails over to the second upstream when the first is silent', async (t) => {
  const ups = await upstreams(t, 2);
  ups[0].behave('*', { silent: true });
  const p = pool(t, ups);
  const r = await p.resolve(req('www.example.test'));
  t.equal(r.upstream, `udp://127.0.0.1:${ups[1].port}`);
  t.equal(ups[0].counts.udp, 1);
  const h = p.health();
  t.equal(h[0].consecutiveFailures, 1);
  t.equal(h[0].lastError, 'ROJE_ERR_UPSTREAM_TIMEOUT');
  t.equal(h[0].state, 'up', 'one failure is not enough to be down');
});

t.test('marked down after 3 consecutive failures, not before', async (t) => {
  const ups = await upstreams(t, 1);
  ups[0].behave('*', { silent: true });
  const p = pool(t, ups, { timeoutMs: 50, backoffMs: 60_000 });
  for (let i = 0; i < 2; i++) await p.resolve(req(`q${i}.example.test`)).catch(() => {});
  t.equal(p.health()[0].state, 'up');
  t.equal(p.health()[0].consecutiveFailures, 2);
  await p.resolve(req('q2.example.test')).catch(() => {});
  t.equal(p.health()[0].state, 'down');
  t.equal(p.health()[0].failures, 3);
});

t.test(
  'a down upstream is skipped until its backoff, then probed in the background and back up',
  async (t) => {
    const ups = await upstreams(t, 2);
    ups[0].behave('*', { silent: true });
    // Long backoff: the down upstream is left alone.
    const slow = pool(t, ups, { backoffMs: 60_000, downAfter: 1, timeoutMs: 100 });
    await slow.resolve(req('www.example.test'));
    t.equal(slow.health()[0].state, 'down');
    const before = ups[0].counts.udp;
    for (let i = 0; i < 5; i++) {
      t.equal((await slow.resolve(req(`a${i}.example.test`))).upstream, `udp://127.0.0.1:${ups[1].port}`);
    }
    t.equal(ups[0].counts.udp, before, 'not asked while backing off');

    // Short backoff: once it answers again, a probe brings it back.
    const fast = pool(t, ups, { backoffMs: 30, downAfter: 1, timeoutMs: 100 });
    await fast.resolve(req('www.example.test'));
    t.equal(fast.health()[0].state, 'down');
    ups[0].behave('*', null);
    const recovered = await eventually(() => {
      void fast.resolve(req('www.example.test')).catch(() => {});
      return fast.health()[0].state === 'up';
    });
    t.ok(recovered, 'recovered');
    t.equal(fast.health()[0].consecutiveFailures, 0);
  },
);

t.test('all down: every upstream is still tried in the foreground', async (t) => {
  const ups = await upstreams(t, 1);
  ups[0].behave('*', { silent: true });
  const p = pool(t, ups, { timeoutMs: 50, backoffMs: 60_000 });
  for (let i = 0; i < 3; i++) await p.resolve(req(`q${i}.example.test`)).catch(() => {});
  t.equal(p.health()[0].state, 'down');
  ups[0].behave('*', null);
  const r = await p.resolve(req('www.example.test'));
  t.equal(r.upstream, `udp://127.0.0.1:${ups[0].port}`);
  t.equal(p.health()[0].state, 'up');
});

t.test('all failing -> ALL_FAILED with an EDE that names no address', async (t) => {
  const ups = await upstreams(t, 2);
  for (const u of ups) u.behave('*', { silent: true });
  const p = pool(t, ups, { timeoutMs: 100 });
  const err = await p.resolve(req('www.example.test')).catch((e: unknown) => e);
  t.ok(isRojeError(err, 'ROJE_ERR_UPSTREAM_ALL_FAILED'));
  t.ok(err instanceof UpstreamFailedError);
  const e = err as UpstreamFailedError;
  t.equal(e.ede.code, EDE.NO_REACHABLE_AUTHORITY);
  t.equal(e.ede.text, 'upstreams timed out');
  t.notMatch(e.ede.text!, /127\.0\.0\.1|udp:/);
  t.notMatch(e.message, /127\.0\.0\.1/);
  t.equal(e.attempts.length, 2);

  for (const u of ups) u.behave('*', { refused: true });
  const refused = (await p.resolve(req('www.example.test')).catch((x: unknown) => x)) as UpstreamFailedError;
  t.equal(refused.code, 'ROJE_ERR_UPSTREAM_ALL_FAILED');
  t.equal(refused.ede.text, 'upstreams refused the query');
});

t.test('network errors -> EDE network error', async (t) => {
  const ups = await upstreams(t, 1);
  const port = ups[0].port;
  await ups[0].close();
  const p = createUpstreamPool({
    upstreams: [{ url: `udp://127.0.0.1:${port}` }],
    timeoutMs: 500,
    udpSize: 1232,
  });
  t.teardown(() => p.close());
  const err = (await p.resolve(req('www.example.test')).catch((e: unknown) => e)) as UpstreamFailedError;
  t.equal(err.code, 'ROJE_ERR_UPSTREAM_ALL_FAILED');
  t.equal(err.ede.code, EDE.NETWORK_ERROR);
  t.equal(err.ede.text, 'upstreams failed: network error');
});

t.test('SERVFAIL: next upstream asked; if none does better, the SERVFAIL is passed on', async (t) => {
  const ups = await upstreams(t, 2);
  ups[0].behave('*', { servfail: true });
  const p = pool(t, ups);
  const r = await p.resolve(req('www.example.test'));
  t.equal(r.upstream, `udp://127.0.0.1:${ups[1].port}`);
  t.equal(rcode(r.wire), 0);
  t.equal(p.health()[0].lastError, 'SERVFAIL');
  t.equal(p.health()[0].state, 'up', 'SERVFAIL does not mark down');

  ups[1].behave('*', { silent: true });
  const r2 = await p.resolve(req('www.example.test'));
  t.equal(rcode(r2.wire), 2, 'SERVFAIL from the first');
  t.equal(r2.upstream, `udp://127.0.0.1:${ups[0].port}`);
  for (let i = 0; i < 4; i++) await p.resolve(req(`s${i}.example.test`)).catch(() => {});
  t.equal(p.health()[0].state, 'up', 'many SERVFAILs still do not mark down');
});

t.test(
  'REFUSED: next upstream asked; the refusing one stays up (one odd query is not its health)',
  async (t) => {
    const ups = await upstreams(t, 2);
    ups[0].behave('*', { refused: true });
    const p = pool(t, ups);
    const r = await p.resolve(req('www.example.test'));
    t.equal(r.upstream, `udp://127.0.0.1:${ups[1].port}`);
    t.equal(p.health()[0].state, 'up');
    t.equal(p.health()[0].lastError, 'REFUSED');
    t.equal(p.health()[0].failures, 1, 'counted for the operator');
  },
);

t.test('class HS answered REFUSED or SERVFAIL by every upstream: none is marked down', async (t) => {
  const ups = await upstreams(t, 2);
  const p = pool(t, ups);
  const hs = (name: string): UpstreamRequest => ({ ...req(name), qclass: 4 });
  for (const behaviour of [{ refused: true }, { servfail: true }]) {
    for (const u of ups) u.behave('*', behaviour);
    // More than downAfter (3) in a row, from the same "client": still no RCODE marks an upstream down.
    for (let i = 0; i < 6; i++) await p.resolve(hs(`hs${i}.example.test`)).catch(() => {});
  }
  for (const u of ups) u.behave('*', null);
  t.same(
    p.health().map((h) => h.state),
    ['up', 'up'],
  );
  t.equal(rcode((await p.resolve(req('www.example.test'))).wire), 0, 'and class IN still answered');
  t.equal(ups[0].lastQuery?.questions?.[0]?.class, 'IN');
});

t.test('health: timeouts still mark an upstream down after downAfter in a row', async (t) => {
  const ups = await upstreams(t, 1);
  ups[0].behave('*', { silent: true });
  const p = pool(t, ups, { timeoutMs: 50 });
  for (let i = 0; i < 2; i++) await p.resolve(req(`t${i}.example.test`)).catch(() => {});
  t.equal(p.health()[0].state, 'up', 'not after 2');
  await p.resolve(req('t2.example.test')).catch(() => {});
  t.equal(p.health()[0].state, 'down', 'after 3');
});

t.test('health: malformed answers mark an upstream down after downAfter in a row', async (t) => {
  const ups = await upstreams(t, 1);
  ups[0].behave('*', { garbage: true });
  const p = pool(t, ups, { timeoutMs: 50 });
  for (let i = 0; i < 3; i++) await p.resolve(req(`g${i}.example.test`)).catch(() => {});
  t.equal(p.health()[0].state, 'down');
});

t.test('NXDOMAIN and NODATA are answers, not failures', async (t) => {
  const ups = await upstreams(t, 2);
  const p = pool(t, ups);
  const nx = await p.resolve(req('nope.example.test'));
  t.equal(rcode(nx.wire), 3);
  t.equal(nx.upstream, `udp://127.0.0.1:${ups[0].port}`);
  const nodata = await p.resolve(req('www.example.test', 28));
  t.equal(rcode(nodata.wire), 0);
  t.equal(dnsPacket.decode(nodata.wire).authorities?.[0]?.type, 'SOA');
  t.equal(ups[1].counts.total, 0);
});

t.test('the overall deadline bounds a resolve across many silent upstreams', async (t) => {
  const ups = await upstreams(t, 4);
  for (const u of ups) u.behave('*', { silent: true });
  const p = pool(t, ups, { timeoutMs: 100 });
  await t.rejects(p.resolve(req('www.example.test')), { code: 'ROJE_ERR_UPSTREAM_ALL_FAILED' });
  const asked = ups.reduce((n, u) => n + u.counts.total, 0);
  t.ok(asked <= 3, `2 x timeout leaves room for at most 2 full attempts (+1 cut short); asked ${asked}`);
});

t.test('coalescing: 50 identical concurrent resolves -> 1 upstream query, same wire', async (t) => {
  const ups = await upstreams(t, 1);
  ups[0].behave('*', { delayMs: 50 });
  const p = pool(t, ups, { timeoutMs: 1000 });
  const results = await Promise.all(Array.from({ length: 50 }, () => p.resolve(req('www.example.test'))));
  t.equal(ups[0].queriesFor('www.example.test'), 1);
  t.ok(
    results.every((r) => r.wire === results[0].wire),
    'one shared buffer',
  );
  // Different DO bit or type -> separate exchanges.
  await Promise.all([
    p.resolve(req('www.example.test')),
    p.resolve(req('www.example.test', 1, { do: true })),
    p.resolve(req('www.example.test', 28)),
  ]);
  t.equal(ups[0].queriesFor('www.example.test'), 4);
  // Finished requests are not cached by the pool.
  await p.resolve(req('www.example.test'));
  t.equal(ups[0].queriesFor('www.example.test'), 5);
});

t.test('mixed transports in one pool', async (t) => {
  const up = await startFakeUpstream({ tls: true, doh: true });
  t.teardown(() => up.close());
  up.zone.set('www.example.test', 'A', [{ data: '192.0.2.9' }]);
  up.behave('*', { silent: true });
  const ca = up.cert!.cert;
  const p = createUpstreamPool({
    upstreams: [
      { url: `udp://127.0.0.1:${up.port}`, timeoutMs: 50 },
      { url: `tcp://127.0.0.1:${up.port}`, timeoutMs: 50 },
      { url: `tls://127.0.0.1:${up.tlsPort}#${up.cert!.servername}`, ca, timeoutMs: 50 },
      { url: up.dohUrl!, ca },
    ],
    timeoutMs: 1000,
    udpSize: 1232,
  });
  t.teardown(() => p.close());
  await t.rejects(p.resolve(req('www.example.test')), { code: 'ROJE_ERR_UPSTREAM_ALL_FAILED' });
  t.same(
    { udp: up.counts.udp, tcp: up.counts.tcp, tls: up.counts.tls, doh: up.counts.doh },
    { udp: 1, tcp: 1, tls: 1, doh: 1 },
  );
});

t.test('close(): in-flight resolves finish, new ones are refused', async (t) => {
  const ups = await upstreams(t, 1);
  ups[0].behave('*', { delayMs: 50 });
  const p = createUpstreamPool({
    upstreams: [{ url: `udp://127.0.0.1:${ups[0].port}` }],
    timeoutMs: 1000,
    udpSize: 1232,
  });
  const inFlight = p.resolve(req('www.example.test'));
  const closing = p.close();
  await t.rejects(p.resolve(req('www.example.test')), { code: 'ROJE_ERR_UPSTREAM_CLOSED' });
  t.equal(rcode((await inFlight).wire), 0, 'in-flight one answered');
  await closing;
});

t.test('bad config', async (t) => {
  t.throws(() => createUpstreamPool({ upstreams: [], timeoutMs: 100, udpSize: 1232 }), {
    code: 'ROJE_ERR_CONFIG_NO_UPSTREAM',
  });
  t.throws(
    () => createUpstreamPool({ upstreams: [{ url: 'udp://dns.google' }], timeoutMs: 100, udpSize: 1232 }),
    {
      code: 'ROJE_ERR_UPSTREAM_URL',
    },
  );
});

t.test('upstream.maxPending: past it a new exchange fails at once; duplicates still coalesce', async (t) => {
  const [up] = await upstreams(t, 1);
  up.behave('*', { delayMs: 150 });
  for (let i = 0; i < 4; i++) up.zone.set(`n${i}.example.test`, 'A', [{ data: `192.0.2.${i + 10}` }]);
  let full = 0;
  const p = createUpstreamPool(
    { upstreams: [{ url: `udp://127.0.0.1:${up.port}` }], timeoutMs: 1000, udpSize: 1232, maxPending: 2 },
    { onQueueFull: () => full++ },
  );
  t.teardown(() => p.close());
  const first = p.resolve(req('n0.example.test'));
  const second = p.resolve(req('n1.example.test'));
  const again = p.resolve(req('n0.example.test'));
  t.equal(again, first, 'a duplicate joins the exchange in flight, queue full or not');
  const started = performance.now();
  const third = await p.resolve(req('n2.example.test')).catch((e: unknown) => e);
  t.ok(third instanceof UpstreamFailedError, 'a third distinct name is refused');
  t.match(third, { ede: { code: EDE.OTHER, text: 'upstream queue full' } });
  t.ok(performance.now() - started < 100, 'at once, without waiting for the upstream');
  t.equal(full, 1);
  t.equal(rcode((await first).wire), 0);
  await second;
  t.equal(rcode((await p.resolve(req('n3.example.test'))).wire), 0, 'room again once they finish');
  t.equal(up.queriesFor('n2.example.test'), 0, 'never sent');
});
