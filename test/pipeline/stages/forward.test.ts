/** The end of the chain against a real DNS server on loopback (test/helpers/fake-upstream.ts). */
import t, { type Test } from 'tap';
import { RCODE } from '../../../src/dns/constants.js';
import { isRojeError } from '../../../src/errors.js';
import { createForwardHandler } from '../../../src/pipeline/stages/forward.js';
import { createUpstreamPool } from '../../../src/upstream/pool.js';
import { type FakeUpstream, startFakeUpstream } from '../../helpers/fake-upstream.js';
import { readAnswer, stageQuery } from '../../helpers/stage.js';

const TTL = { minTtl: 0, maxTtl: 86400, negativeMaxTtl: 3600 };

async function setup(
  t: Test,
  ttl = TTL,
): Promise<{ up: FakeUpstream; forward: ReturnType<typeof createForwardHandler> }> {
  const up = await startFakeUpstream();
  t.teardown(() => up.close());
  up.zone.set('www.example.test', 'A', [{ data: '192.0.2.7', ttl: 300 }]);
  const pool = createUpstreamPool({
    upstreams: [{ url: `udp://127.0.0.1:${up.port}` }],
    timeoutMs: 300,
    udpSize: 1232,
  });
  t.teardown(() => pool.close());
  return { up, forward: createForwardHandler({ pool, ttl }) };
}

t.test("the upstream's answer, rendered for this client and prepared once for the cache", async (t) => {
  const { up, forward } = await setup(t);
  const a = await forward(stageQuery('WWW.Example.test', 'A', { id: 0x7777, udpSize: 1400 }));
  t.equal(a.source, 'upstream');
  t.equal(a.rcode, RCODE.NOERROR);
  const r = readAnswer(a.wire);
  t.equal(r.packet.id, 0x7777, "the client's ID, not the upstream exchange's");
  t.equal(r.packet.questions?.[0]?.name, 'WWW.Example.test', "the client's case");
  t.same(
    (r.packet.answers ?? []).map((rr) => [
      rr.type,
      (rr as { data: unknown }).data,
      (rr as { ttl: number }).ttl,
    ]),
    [['A', '192.0.2.7', 300]],
  );
  t.equal(r.udpSize, 1400, "roje's UDP size from the query");
  t.equal(a.upstream?.ttl, 300, 'the preparation the cache stage stores');
  t.equal(up.lastQuery?.questions?.[0]?.name, 'www.example.test', 'asked upstream in lowercase');
});

t.test('negative answers pass on with their SOA; TTL bounds apply', async (t) => {
  const { forward } = await setup(t, { ...TTL, maxTtl: 100 });
  const nx = await forward(stageQuery('missing.example.test'));
  t.equal(nx.rcode, RCODE.NXDOMAIN);
  t.equal(readAnswer(nx.wire).packet.authorities?.[0]?.type, 'SOA');
  t.equal(nx.upstream?.ttl, 60, 'RFC 2308: the SOA MINIMUM');
  const a = await forward(stageQuery('www.example.test'));
  t.same(readAnswer(a.wire).ttls, [100], 'maxTtl');
  t.equal(a.upstream?.ttl, 100);
});

t.test(
  'identical queries in flight share one exchange, and only the first carries it to the cache',
  async (t) => {
    const { up, forward } = await setup(t);
    up.behave('www.example.test', { delayMs: 50 });
    const [a, b] = await Promise.all([
      forward(stageQuery('www.example.test', 'A', { id: 1 })),
      forward(stageQuery('WWW.EXAMPLE.TEST', 'A', { id: 2 })),
    ]);
    t.equal(up.queriesFor('www.example.test'), 1, 'one upstream exchange for both (case folded)');
    t.equal(readAnswer(a.wire).packet.id, 1);
    t.equal(readAnswer(b.wire).packet.id, 2);
    t.equal(readAnswer(b.wire).packet.questions?.[0]?.name, 'WWW.EXAMPLE.TEST');
    t.equal([a, b].filter((x) => x.upstream !== undefined).length, 1, 'stored once');
  },
);

t.test(
  'an upstream that never answers: the pool’s failure goes on to the cache stage and responder',
  async (t) => {
    const { up, forward } = await setup(t);
    up.behave('*', { silent: true });
    const err = await Promise.resolve(forward(stageQuery('www.example.test'))).then(
      () => null,
      (e: unknown) => e,
    );
    t.ok(isRojeError(err, 'ROJE_ERR_UPSTREAM_ALL_FAILED'), String(err));
  },
);
