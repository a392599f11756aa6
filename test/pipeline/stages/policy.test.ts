/**
 * The policy stage on its own: decisions per venue with small real compiled lists, block answers,
 * pass-through, CNAME inspection of the answers the next stage returns (sync and async), list swaps.
 */
import dnsPacket from 'dns-packet';
import t from 'tap';
import { EDE, RCODE } from '../../../src/dns/constants.js';
import { isRejection, readQuery } from '../../../src/dns/query.js';
import { createPolicyStage, type PolicyStageOptions } from '../../../src/pipeline/stages/policy.js';
import type { Answer, Handler, Query } from '../../../src/pipeline/types.js';
import type { CompiledLists } from '../../../src/policy/types.js';
import { createVenueResolver } from '../../../src/policy/venues.js';
import { buildLists } from '../../helpers/policy-lists.js';

const LISTS = buildLists({
  abuse: ['abuse.example'],
  adult: ['porn.example', '@@safe.porn.example', 'xxx', '|exact.example'],
  gambling: ['casino.example'],
  rpz: [
    { name: 'nx.rpz.example', action: 'nxdomain' },
    { name: 'nodata.rpz.example', action: 'nodata' },
    { name: 'local.rpz.example', action: 'local', local: [{ type: 'A', data: '192.0.2.53' }] },
  ],
});

const CAFE = '10.1.0.0/16';
const LIBRARY = '10.2.0.0/16';

function options(over: Partial<PolicyStageOptions> = {}): PolicyStageOptions {
  return {
    lists: () => LISTS,
    venues: [
      { name: 'cafe', networks: [CAFE], policy: 'cafe' },
      { name: 'library', networks: [LIBRARY], policy: 'library' },
    ],
    policies: {
      default: { block: 'all', blockMode: 'nxdomain' },
      cafe: {
        block: ['gambling', 'abuse'],
        blockMode: 'blockpage',
        deny: ['social.example'],
        allow: ['casino.example'],
      },
      library: { block: 'all', blockMode: 'refused', allow: ['porn.example'] },
    },
    blockTtl: 60,
    blockPage: { ipv4: '192.0.2.80', ipv6: null },
    logger: { warn: () => {} },
    ...over,
  };
}

/** The venue of an address, as the context stage would set it on the query. */
const venueOf = createVenueResolver(options().venues);

function makeQuery(name: string, type = 'A', address = '192.168.1.10'): Query {
  const msg = dnsPacket.encode({
    type: 'query',
    id: 7,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: type as dnsPacket.RecordType, class: 'IN', name }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0 } as unknown as dnsPacket.Answer],
  });
  const q = readQuery(msg);
  if (isRejection(q)) throw new Error(q.reason);
  return Object.assign(q, {
    client: { address, port: 5000, transport: 'udp' as const },
    maxSize: 1232,
    receivedAt: 0,
    venue: venueOf(address),
    udpSize: 1232,
  });
}

/** A next stage that answers from a little zone (CNAMEs included) and counts what it was asked. */
function upstream(zone: Record<string, dnsPacket.Answer[]> = {}, async = false) {
  const asked: string[] = [];
  const handler: Handler = (query) => {
    asked.push(query.name);
    const wire = dnsPacket.encode({
      type: 'response',
      id: query.id,
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
      questions: [{ type: 'A', class: 'IN', name: query.name }],
      answers: zone[query.name] ?? [{ type: 'A', name: query.name, ttl: 300, data: '198.51.100.1' }],
    });
    const answer: Answer = { wire, source: 'upstream', rcode: 0 };
    return async ? Promise.resolve(answer) : answer;
  };
  return { handler, asked };
}

function ede(wire: Buffer): { code: number; text: string }[] {
  const packet = dnsPacket.decode(wire);
  const opt = (packet.additionals ?? []).find((a) => a.type === 'OPT') as unknown as
    | { options: { code: number; data: Buffer }[] }
    | undefined;
  return (opt?.options ?? [])
    .filter((o) => o.code === 15)
    .map((o) => ({ code: o.data.readUInt16BE(0), text: o.data.subarray(2).toString('utf8') }));
}

function run(stage: Handler, name: string, type = 'A', address = '192.168.1.10') {
  return stage(makeQuery(name, type, address)) as Answer;
}

t.test('default policy: listed names are blocked without asking the next stage', async (t) => {
  const up = upstream();
  const stage = createPolicyStage(options())(up.handler);
  const a = run(stage, 'www.Porn.example');
  t.equal(a.source, 'policy');
  t.equal(a.rcode, RCODE.NXDOMAIN);
  t.same(a.block, { categories: 1 << LISTS.categories.indexOf('adult'), venue: -1 });
  t.same(ede(a.wire), [{ code: EDE.BLOCKED, text: 'blocked: adult' }]);
  t.same(dnsPacket.decode(a.wire).questions?.[0]?.name, 'www.Porn.example', 'client case');
  t.same(ede(run(stage, 'x.abuse.example').wire), [{ code: EDE.BLOCKED, text: 'blocked: abuse' }]);
  t.equal(run(stage, 'site.xxx').rcode, RCODE.NXDOMAIN, 'a bare TLD entry blocks the TLD');
  t.equal(run(stage, 'exact.example').source, 'policy');
  t.same(up.asked, [], 'nothing blocked reached the next stage');
  t.equal(run(stage, 'www.exact.example').source, 'upstream', 'an exact entry does not reach below');
  t.equal(run(stage, 'safe.porn.example').source, 'upstream', 'a list allow overrides the block');
  t.equal(run(stage, 'example.org').source, 'upstream');
  t.same(up.asked, ['www.exact.example', 'safe.porn.example', 'example.org']);
});

t.test('a venue blocks only its categories, in its own mode', async (t) => {
  const up = upstream();
  const stage = createPolicyStage(options())(up.handler);
  t.equal(run(stage, 'www.porn.example', 'A', '10.1.2.3').source, 'upstream', 'cafe does not block adult');
  const gambling = run(stage, 'poker.casino.example', 'A', '10.9.0.1');
  t.equal(gambling.source, 'policy', 'default policy for an address outside the venues');
  const abuse = run(stage, 'abuse.example', 'A', '10.1.2.3');
  t.equal(abuse.rcode, RCODE.NOERROR, 'blockpage');
  t.same(
    (dnsPacket.decode(abuse.wire).answers ?? []).map((r) => (r as { data: unknown }).data),
    ['192.0.2.80'],
  );
  t.same(abuse.block, { categories: 1 << LISTS.categories.indexOf('abuse'), venue: 0 });
  const aaaa = run(stage, 'abuse.example', 'AAAA', '10.1.2.3');
  t.same(dnsPacket.decode(aaaa.wire).answers, [], 'no IPv6 block page: NODATA');
  t.equal(aaaa.rcode, RCODE.NOERROR);
  // dns-packet knows no HTTPS type (it would send type 0): UNKNOWN_65 is HTTPS.
  const https = run(stage, 'abuse.example', 'UNKNOWN_65', '10.1.2.3');
  t.same(dnsPacket.decode(https.wire).answers, [], 'HTTPS: NODATA');
  const refused = run(stage, 'x.abuse.example', 'MX', '10.2.0.9');
  t.equal(refused.rcode, RCODE.REFUSED, 'library: refused mode');
  t.same(refused.block, { categories: 1 << LISTS.categories.indexOf('abuse'), venue: 1 });
});

t.test('venue additions: deny blocks with EDE 17, allow overrides list blocks', async (t) => {
  const up = upstream();
  const stage = createPolicyStage(options())(up.handler);
  const denied = run(stage, 'www.social.example', 'A', '10.1.0.1');
  t.equal(denied.source, 'policy');
  t.same(ede(denied.wire), [{ code: EDE.FILTERED, text: 'blocked: venue-deny' }]);
  t.same(denied.block, { categories: 0, venue: 0 });
  t.equal(run(stage, 'www.social.example', 'A', '10.2.0.1').source, 'upstream', 'only at that venue');
  t.equal(run(stage, 'www.casino.example', 'A', '10.1.0.1').source, 'upstream', 'cafe allows casino.example');
  t.equal(run(stage, 'www.porn.example', 'A', '10.2.0.1').source, 'upstream', 'library allows porn.example');
  t.equal(run(stage, 'x.abuse.example', 'A', '10.2.0.1').source, 'policy', 'the rest is still blocked');
});

t.test(
  'a deny addition under an allow addition is more specific and wins; at the same name allow wins',
  async (t) => {
    const stage = createPolicyStage(
      options({
        venues: [],
        policies: {
          default: {
            block: [],
            blockMode: 'nxdomain',
            allow: ['example.com', 'same.test'],
            deny: ['bad.example.com', 'same.test'],
          },
        },
      }),
    )(upstream().handler);
    t.equal(run(stage, 'x.bad.example.com').source, 'policy');
    t.equal(run(stage, 'good.example.com').source, 'upstream');
    t.equal(run(stage, 'same.test').source, 'upstream');
  },
);

t.test('RPZ actions override the block mode; local data answers', async (t) => {
  const stage = createPolicyStage(options())(upstream().handler);
  // The library answers REFUSED for its own blocks, but an RPZ action says what to answer.
  t.equal(run(stage, 'nx.rpz.example', 'A', '10.2.0.1').rcode, RCODE.NXDOMAIN);
  const nodata = run(stage, 'nodata.rpz.example', 'A', '10.2.0.1');
  t.equal(nodata.rcode, RCODE.NOERROR);
  t.same(dnsPacket.decode(nodata.wire).answers, []);
  const local = run(stage, 'local.rpz.example', 'A');
  t.same(
    (dnsPacket.decode(local.wire).answers ?? []).map((r) => {
      const rr = r as unknown as { name: string; data: unknown; ttl: number };
      return [rr.name, rr.data, rr.ttl];
    }),
    [['local.rpz.example', '192.0.2.53', 60]],
  );
  t.same(ede(local.wire), [{ code: EDE.BLOCKED, text: 'blocked: rpz' }]);
  const again = run(stage, 'local.rpz.example', 'A');
  t.same(dnsPacket.decode(again.wire).answers?.length, 1, 'from the remembered template');
});

const chain = {
  'cdn.example.org': [
    { type: 'CNAME', name: 'cdn.example.org', ttl: 300, data: 'edge.example.net' },
    { type: 'CNAME', name: 'edge.example.net', ttl: 300, data: 'video.porn.example' },
    { type: 'A', name: 'video.porn.example', ttl: 300, data: '198.51.100.7' },
  ],
  'clean.example.org': [
    { type: 'CNAME', name: 'clean.example.org', ttl: 300, data: 'edge.example.net' },
    { type: 'A', name: 'edge.example.net', ttl: 300, data: '198.51.100.8' },
  ],
  'bet.example.org': [{ type: 'CNAME', name: 'bet.example.org', ttl: 300, data: 'www.casino.example' }],
  'soc.example.org': [{ type: 'CNAME', name: 'soc.example.org', ttl: 300, data: 'www.social.example' }],
} as Record<string, dnsPacket.Answer[]>;

for (const async of [false, true]) {
  t.test(`CNAME inspection (${async ? 'async' : 'sync'} next stage)`, async (t) => {
    const up = upstream(chain, async);
    const stage = createPolicyStage(options())(up.handler);
    const blocked = await stage(makeQuery('CDN.example.org'));
    t.equal(blocked.source, 'policy', 'a CNAME chain reaching a blocked name is blocked');
    t.equal(blocked.rcode, RCODE.NXDOMAIN);
    t.same(ede(blocked.wire), [{ code: EDE.BLOCKED, text: 'blocked: adult' }], "the target's category");
    t.same(dnsPacket.decode(blocked.wire).questions?.[0]?.name, 'CDN.example.org');
    t.same(dnsPacket.decode(blocked.wire).answers, [], 'nothing of the upstream answer is passed on');
    const clean = await stage(makeQuery('clean.example.org'));
    t.equal(clean.source, 'upstream');
    t.equal(dnsPacket.decode(clean.wire).answers?.length, 2);
    // The cafe does not block adult, but blocks gambling except casino.example, which it allows.
    t.equal((await stage(makeQuery('cdn.example.org', 'A', '10.1.0.1'))).source, 'upstream');
    t.equal((await stage(makeQuery('bet.example.org', 'A', '10.1.0.1'))).source, 'upstream');
    t.equal((await stage(makeQuery('bet.example.org', 'A', '10.2.0.1'))).rcode, RCODE.REFUSED);
    const denied = await stage(makeQuery('soc.example.org', 'A', '10.1.0.1'));
    t.same(
      ede(denied.wire),
      [{ code: EDE.FILTERED, text: 'blocked: venue-deny' }],
      'into a venue deny: EDE 17',
    );
    t.equal((await stage(makeQuery('soc.example.org'))).source, 'upstream', 'only at that venue');
  });
}

t.test('names allowed by the venue are not CNAME-inspected', async (t) => {
  const zone = {
    'porn.example': [{ type: 'CNAME', name: 'porn.example', ttl: 300, data: 'abuse.example' }],
  } as Record<string, dnsPacket.Answer[]>;
  const stage = createPolicyStage(options())(upstream(zone).handler);
  t.equal(run(stage, 'porn.example', 'A', '10.2.0.1').source, 'upstream');
});

t.test('answers with nothing to inspect pass through as they are', async (t) => {
  const empty: Answer = { wire: Buffer.alloc(4), source: 'error', rcode: 2 };
  const stage = createPolicyStage(options())(() => empty);
  t.equal(run(stage, 'example.org'), empty, 'a short wire is not walked');
  const q = makeQuery('example.org');
  const nodata = dnsPacket.encode({
    type: 'response',
    id: 7,
    questions: [{ type: 'A', class: 'IN', name: 'example.org' }],
  });
  const passthrough: Answer = { wire: nodata, source: 'cache', rcode: 0 };
  t.equal(createPolicyStage(options())(() => passthrough)(q), passthrough);
  const broken = Buffer.concat([nodata.subarray(0, 6), Buffer.from([0, 3]), nodata.subarray(8)]);
  const lying: Answer = { wire: broken, source: 'cache', rcode: 0 };
  t.equal(createPolicyStage(options())(() => lying)(q), lying, 'ANCOUNT past the end: left to the transport');
});

t.test(
  'lists are read per query: a swap applies at once; no lists block nothing but venue denies',
  async (t) => {
    let lists: CompiledLists | null = null;
    const stage = createPolicyStage(options({ lists: () => lists }))(upstream().handler);
    t.equal(run(stage, 'www.porn.example').source, 'upstream', 'no lists loaded');
    t.equal(run(stage, 'social.example', 'A', '10.1.0.1').source, 'policy', 'venue deny still applies');
    lists = LISTS;
    t.equal(run(stage, 'www.porn.example').source, 'policy', 'the new lists apply');
    // These lists lack the cafe's gambling and abuse: no bit for them (the config and the lists service
    // refuse such a policy first: config/policy-categories.ts), the rest still blocks.
    lists = buildLists({ adult: ['other.example'] });
    t.equal(run(stage, 'www.porn.example').source, 'upstream');
    t.equal(run(stage, 'other.example').source, 'policy');
    lists = buildLists({ adult: ['third.example'] });
    t.equal(run(stage, 'third.example').source, 'policy');
  },
);

t.test('a policy that does not exist fails at construction', async (t) => {
  t.throws(
    () => createPolicyStage(options({ venues: [{ name: 'x', networks: ['10.0.0.0/8'], policy: 'nope' }] })),
    /policy "nope" is not defined/,
  );
});

t.test('explain: why a host is blocked for a client address, for the block page', async (t) => {
  const stage = createPolicyStage(options());
  t.same(stage.explain('www.Porn.example.', '192.168.1.10'), {
    categories: ['adult'],
    venue: null,
    confidential: false,
  });
  t.same(stage.explain('abuse.example', '10.1.2.3'), {
    categories: ['abuse'],
    venue: 'cafe',
    confidential: true,
  });
  t.same(stage.explain('social.example', '10.1.2.3'), {
    categories: ['venue-deny'],
    venue: 'cafe',
    confidential: false,
  });
  t.equal(stage.explain('example.org', '192.168.1.10'), null, 'not blocked');
  t.equal(stage.explain('porn.example', '10.1.2.3'), null, 'not blocked at the cafe');
  for (const host of ['', '.', 'a..porn.example', `${'a'.repeat(64)}.porn.example`, 'bücher.porn.example']) {
    t.equal(stage.explain(host, '192.168.1.10'), null, `not a name: ${JSON.stringify(host)}`);
  }
});

t.test("the venue is the query's, as the context stage resolved it, not looked up again", async (t) => {
  const stage = createPolicyStage(options())(upstream().handler);
  const cafeAddress = makeQuery('www.porn.example', 'A', '10.1.2.3');
  t.equal(cafeAddress.venue, 0);
  t.equal((stage(cafeAddress) as Answer).source, 'upstream', 'the cafe does not block adult');
  const asDefault = Object.assign(makeQuery('www.porn.example', 'A', '10.1.2.3'), { venue: -1 });
  t.equal(
    (stage(asDefault) as Answer).source,
    'policy',
    'venue -1: the default policy, whatever the address',
  );
  const asLibrary = Object.assign(makeQuery('x.abuse.example', 'A', '192.168.1.10'), { venue: 1 });
  const a = stage(asLibrary) as Answer;
  t.equal(a.rcode, RCODE.REFUSED, "the library's block mode");
  t.same(a.block, { categories: 1 << LISTS.categories.indexOf('abuse'), venue: 1 });
});

t.test("block answers advertise roje's UDP size from the query", async (t) => {
  const stage = createPolicyStage(options())(upstream().handler);
  const q = Object.assign(makeQuery('www.porn.example'), { udpSize: 1400 });
  const opt = (dnsPacket.decode((stage(q) as Answer).wire).additionals ?? []).find((r) => r.type === 'OPT') as
    | { udpPayloadSize: number }
    | undefined;
  t.equal(opt?.udpPayloadSize, 1400);
});

t.test('a block answer after an async answer is its own; synchronous ones share one, refilled', async (t) => {
  // The CNAME target and the listed name below make answers of one size: one reply buffer between them.
  const zone = {
    'cdn-12.example': [{ type: 'CNAME', name: 'cdn-12.example', ttl: 300, data: 'www.porn.example' }],
  } as Record<string, dnsPacket.Answer[]>;
  const stage = createPolicyStage(options())(upstream(zone, true).handler);
  const pending = stage(makeQuery('cdn-12.example'));
  t.ok(pending instanceof Promise);
  const late = await pending;
  const a = run(stage, 'x.porn.example');
  const b = run(stage, 'y.porn.example');
  t.equal(a, b, 'synchronous block answers: one Answer, refilled');
  t.equal(dnsPacket.decode(b.wire).questions?.[0].name, 'y.porn.example');
  t.not(late, a);
  t.not(late.wire, a.wire);
  t.equal(late.wire.length, a.wire.length, 'the same size: the same reply buffer had it been lent');
  t.equal(dnsPacket.decode(late.wire).questions?.[0].name, 'cdn-12.example', 'not written again');
  t.equal(late.wire[3] & 0x0f, 3, 'NXDOMAIN');
});
