import dnsPacket from 'dns-packet';
import t from 'tap';
import { createDnsCache, type DnsCache } from '../../../src/cache/dns-cache.js';
import { EDE, RCODE } from '../../../src/dns/constants.js';
import { prepareResponse } from '../../../src/dns/prepare.js';
import { renderResponse } from '../../../src/dns/render.js';
import { isRojeError } from '../../../src/errors.js';
import { createCacheStage } from '../../../src/pipeline/stages/cache.js';
import type { Answer, Handler, Query } from '../../../src/pipeline/types.js';
import { UpstreamFailedError } from '../../../src/upstream/pool.js';
import { nextDouble, readAnswer, stageQuery } from '../../helpers/stage.js';

const BOUNDS = { minTtl: 0, maxTtl: 86400, negativeMaxTtl: 3600 };

function setup(serveStale = false) {
  let ms = 1_000_000;
  const clock = {
    advance(seconds: number) {
      ms += seconds * 1000;
    },
  };
  const cache = createDnsCache(
    { maxEntries: 100, maxBytes: 1 << 20, serveStale: { enabled: serveStale, maxStale: 3600 } },
    { now: () => ms },
  );
  return { cache, clock };
}

/** What the forward handler hands back: the answer for this client plus the preparation to store. */
function upstreamAnswer(q: Query, ttl = 300, rcode = 0): Answer {
  const wire = dnsPacket.encode({
    type: 'response',
    id: 0,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | rcode,
    questions: [{ name: q.name, type: 'A', class: 'IN' }],
    answers: rcode === 0 ? [{ type: 'A', name: q.name, ttl, data: '198.51.100.7' }] : [],
  });
  const prepared = prepareResponse(wire, BOUNDS);
  return {
    wire: renderResponse(prepared, q, { age: 0, udpSize: q.udpSize }),
    source: 'upstream',
    rcode: prepared.rcode,
    upstream: prepared,
  };
}

function stage(cache: DnsCache, next: Handler, serveStale = false) {
  return createCacheStage({ cache, serveStale: { enabled: serveStale, answerTtl: 30 } })(next);
}

const ttlOf = (a: Answer) => readAnswer(a.wire).ttls[0];

t.test('a miss asks the next stage and stores its answer', async (t) => {
  const { cache } = setup();
  const next = nextDouble((q) => upstreamAnswer(q));
  const a = await stage(cache, next.handler)(stageQuery('www.example.test', 'A', { id: 1 }));
  t.equal(a.source, 'upstream');
  t.equal(next.calls.length, 1);
  t.equal(cache.stats().inserts, 1);
});

t.test('a hit answers without the next stage: TTL aged, the client’s ID and case', async (t) => {
  const { cache, clock } = setup();
  const next = nextDouble((q) => upstreamAnswer(q));
  const handler = stage(cache, next.handler);
  await handler(stageQuery('www.example.test', 'A', { id: 1 }));
  clock.advance(100);
  const hit = handler(stageQuery('WWW.Example.TEST', 'A', { id: 0xabcd, udpSize: 1400 }));
  t.notOk(hit instanceof Promise, 'a hit is answered synchronously');
  const a = hit as Answer;
  t.equal(a.source, 'cache');
  t.equal(a.rcode, RCODE.NOERROR);
  const r = readAnswer(a.wire);
  t.equal(r.packet.id, 0xabcd, 'ID patched');
  t.equal(r.packet.questions?.[0]?.name, 'WWW.Example.TEST', "the client's question case");
  t.equal(ttlOf(a), 200, '300 s stored 100 s ago');
  t.equal(r.udpSize, 1400, "roje's UDP size from the query");
  t.equal(next.calls.length, 1);
});

t.test('DO and CD are part of the key; an expired entry is fetched again', async (t) => {
  const { cache, clock } = setup();
  const next = nextDouble((q) => upstreamAnswer(q));
  const handler = stage(cache, next.handler);
  await handler(stageQuery('www.example.test'));
  await handler(stageQuery('www.example.test', 'A', { do: true }));
  await handler(stageQuery('www.example.test', 'A', { cd: true }));
  t.equal(next.calls.length, 3);
  await handler(stageQuery('www.example.test'));
  t.equal(next.calls.length, 3, 'the first one is a hit');
  clock.advance(301);
  const again = await handler(stageQuery('www.example.test'));
  t.equal(again.source, 'upstream');
  t.equal(next.calls.length, 4);
});

t.test('answers without an upstream preparation are not stored', async (t) => {
  const { cache } = setup();
  const next = nextDouble((q) => ({ ...upstreamAnswer(q), upstream: undefined, source: 'policy' as const }));
  const handler = stage(cache, next.handler);
  await handler(stageQuery('blocked.example.test'));
  await handler(stageQuery('blocked.example.test'));
  t.equal(next.calls.length, 2);
  t.equal(cache.stats().inserts, 0);
});

t.test('serve-stale: an expired answer with EDE 3 and TTL 30 when every upstream fails', async (t) => {
  const { cache, clock } = setup(true);
  let failing = false;
  const next = nextDouble((q) => {
    if (failing)
      return Promise.reject(new UpstreamFailedError({ code: EDE.NETWORK_ERROR, text: 'timeout' }, []));
    return upstreamAnswer(q);
  });
  const handler = stage(cache, next.handler, true);
  await handler(stageQuery('www.example.test'));
  clock.advance(400);
  failing = true;
  const stale = await handler(stageQuery('www.example.test', 'A', { id: 55 }));
  t.equal(stale.source, 'stale');
  t.equal(stale.rcode, RCODE.NOERROR);
  const r = readAnswer(stale.wire);
  t.equal(r.packet.id, 55);
  t.same(r.ede, [{ code: EDE.STALE_ANSWER, text: '' }]);
  t.equal(ttlOf(stale), 30);
  const err = await Promise.resolve(handler(stageQuery('never.example.test'))).then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(isRojeError(err, 'ROJE_ERR_UPSTREAM_ALL_FAILED'), 'nothing stale to serve: the failure goes on');
});

t.test('serve-stale: a SERVFAIL from the upstreams is replaced by the expired answer', async (t) => {
  const { cache, clock } = setup(true);
  let rcode = 0;
  const handler = stage(cache, nextDouble((q) => upstreamAnswer(q, 300, rcode)).handler, true);
  await handler(stageQuery('www.example.test'));
  clock.advance(400);
  rcode = RCODE.SERVFAIL;
  t.equal((await handler(stageQuery('www.example.test'))).source, 'stale');
  const none = await handler(stageQuery('other.example.test'));
  t.equal(none.rcode, RCODE.SERVFAIL, 'nothing stale: the SERVFAIL as it is');
});

t.test('serve-stale off: the failure is passed on even with an expired answer at hand', async (t) => {
  const { cache, clock } = setup(false);
  let failing = false;
  const handler = stage(
    cache,
    nextDouble((q) =>
      failing ? Promise.reject(new UpstreamFailedError({ code: EDE.NETWORK_ERROR }, [])) : upstreamAnswer(q),
    ).handler,
  );
  await handler(stageQuery('www.example.test'));
  clock.advance(400);
  failing = true;
  await t.rejects(Promise.resolve(handler(stageQuery('www.example.test'))), {
    code: 'ROJE_ERR_UPSTREAM_ALL_FAILED',
  });
});
