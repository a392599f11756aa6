import dnsPacket from 'dns-packet';
import t from 'tap';
import { isRejection, readQuery } from '../../../src/dns/query.js';
import { createSafeSearchStage } from '../../../src/pipeline/stages/safesearch.js';
import type { Answer, Handler, Query } from '../../../src/pipeline/types.js';
import { SAFE_SEARCH_OFF, SAFE_SEARCH_ON } from '../../../src/policy/safesearch.js';

function query(
  name: string,
  type: dnsPacket.RecordType,
  opts: { edns?: boolean; do?: boolean; cd?: boolean; chaos?: boolean } = {},
) {
  const msg = dnsPacket.encode({
    type: 'query',
    id: 7,
    flags: dnsPacket.RECURSION_DESIRED | (opts.cd ? dnsPacket.CHECKING_DISABLED : 0),
    questions: [{ name, type, class: opts.chaos ? 'CH' : 'IN' }],
    additionals: opts.edns
      ? [
          {
            type: 'OPT',
            name: '.',
            udpPayloadSize: 1232,
            flags: opts.do ? dnsPacket.DNSSEC_OK : 0,
          } as unknown as dnsPacket.Answer,
        ]
      : [],
  });
  const q = readQuery(msg);
  if (isRejection(q)) throw new Error(q.reason);
  return Object.assign(q, {
    client: { address: '127.0.0.1', port: 5353, transport: 'udp' as const },
    maxSize: 1232,
    receivedAt: 0,
    venue: -1,
    udpSize: 1232,
  }) as Query;
}

/** A next handler that records what it was asked and answers NODATA for it, synchronously. */
function recorder() {
  const seen: Query[] = [];
  const handler: Handler = (q): Answer => {
    seen.push(q);
    const wire = dnsPacket.encode({
      type: 'response',
      id: 0,
      flags: dnsPacket.RECURSION_AVAILABLE | dnsPacket.RECURSION_DESIRED,
      questions: [{ name: q.name, type: 'A', class: 'IN' }],
    });
    wire.writeUInt16BE(q.qtype, wire.length - 4);
    return { wire, source: 'cache', rcode: 0 };
  };
  return { seen, handler };
}

t.test('the inner query is a real query for the safe host, with the client’s type, CD and DO', async (t) => {
  const stage = createSafeSearchStage({
    venues: [],
    policies: { default: { safeSearch: SAFE_SEARCH_ON } },
  });
  for (const opts of [{}, { edns: true }, { edns: true, do: true, cd: true }]) {
    const { seen, handler } = recorder();
    const answer = stage(handler)(query('WWW.Google.com', 'AAAA', opts));
    t.notOk(answer instanceof Promise, 'a synchronous next keeps the answer synchronous');
    t.equal((answer as Answer).safeSearch, 0, 'marked for the google counter');
    t.equal(seen.length, 1);
    const inner = seen[0];
    const reread = readQuery(inner.msg);
    if (isRejection(reread)) throw new Error(reread.reason);
    t.same(
      {
        name: reread.name,
        qtype: reread.qtype,
        qclass: reread.qclass,
        flags: reread.flags,
        edns: reread.edns,
      },
      { name: inner.name, qtype: inner.qtype, qclass: inner.qclass, flags: inner.flags, edns: inner.edns },
      `the Query fields say what its bytes say (${JSON.stringify(opts)})`,
    );
    t.equal(inner.name, 'forcesafesearch.google.com');
    t.equal(inner.qtype, 28);
    t.equal(inner.edns?.do ?? false, opts.do === true);
    t.equal((inner.flags & 0x0010) !== 0, opts.cd === true);
  }
});

t.test('other names, other classes and policies without SafeSearch pass through untouched', async (t) => {
  const on = createSafeSearchStage({
    venues: [],
    policies: { default: { safeSearch: SAFE_SEARCH_ON } },
  });
  const { seen, handler } = recorder();
  const q = query('www.example.com', 'A');
  on(handler)(q);
  t.equal(seen[0], q);
  const chaos = query('google.com', 'TXT', { chaos: true });
  on(handler)(chaos);
  t.equal(seen[1], chaos, 'class CH is not a web search');
  const off = createSafeSearchStage({
    venues: [],
    policies: { default: { safeSearch: SAFE_SEARCH_OFF } },
  });
  t.equal(off(handler), handler, 'nothing enforced anywhere: the stage is not in the way');
});

t.test(
  "the safe host follows the query's venue, and the inner query carries venue and UDP size on",
  async (t) => {
    const stage = createSafeSearchStage({
      venues: [{ policy: 'cafe' }, { policy: 'school' }],
      policies: {
        default: { safeSearch: SAFE_SEARCH_ON },
        cafe: { safeSearch: SAFE_SEARCH_OFF },
        school: { safeSearch: { ...SAFE_SEARCH_ON, youtube: 'strict' } },
      },
    });
    const { seen, handler } = recorder();
    const cafe = Object.assign(query('www.youtube.com', 'A'), { venue: 0 });
    stage(handler)(cafe);
    t.equal(seen[0], cafe, 'the cafe enforces nothing: passed on as it is');
    stage(handler)(Object.assign(query('www.youtube.com', 'A', { edns: true }), { venue: 1, udpSize: 1400 }));
    t.equal(seen[1].name, 'restrict.youtube.com', 'the school: YouTube Strict');
    t.equal(seen[1].venue, 1);
    t.equal(seen[1].udpSize, 1400);
    const reread = readQuery(seen[1].msg);
    if (isRejection(reread)) throw new Error(reread.reason);
    t.equal(reread.edns?.udpSize, 1400, "the inner OPT advertises roje's size");
    stage(handler)(query('www.youtube.com', 'A'));
    t.equal(seen[2].name, 'restrictmoderate.youtube.com', 'no venue: the default policy, Moderate');
  },
);

t.test('a CNAME query for an engine is answered here, with EDE 4, without asking further', async (t) => {
  const stage = createSafeSearchStage({ venues: [], policies: { default: { safeSearch: SAFE_SEARCH_ON } } });
  const { seen, handler } = recorder();
  const a = stage(handler)(query('www.bing.com', 'CNAME', { edns: true })) as Answer;
  t.same(seen, []);
  t.equal(a.source, 'local');
  t.equal(a.safeSearch, 2, 'the bing counter');
  const p = dnsPacket.decode(a.wire);
  t.same(
    (p.answers ?? []).map((r) => [r.name, r.type, (r as { data: unknown }).data]),
    [['www.bing.com', 'CNAME', 'strict.bing.com']],
  );
  const opt = (p.additionals ?? []).find((r) => r.type === 'OPT') as unknown as {
    options: { code: number; data: Buffer }[];
  };
  t.same(
    opt.options.map((o) => [o.data.readUInt16BE(0), o.data.subarray(2).toString()]),
    [[4, 'safesearch']],
  );
});

t.test('an asynchronous next stage: the spliced answer comes when the inner one does', async (t) => {
  const stage = createSafeSearchStage({ venues: [], policies: { default: { safeSearch: SAFE_SEARCH_ON } } });
  const { seen, handler } = recorder();
  const pending = stage((q) => Promise.resolve(handler(q)))(query('duckduckgo.com', 'A'));
  t.ok(pending instanceof Promise);
  const a = await pending;
  t.equal(seen[0].name, 'safe.duckduckgo.com');
  t.equal(a.safeSearch, 3);
  t.equal(dnsPacket.decode(a.wire).answers?.[0]?.type, 'CNAME');
});
