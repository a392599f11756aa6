import t from 'tap';
import { EDE, RCODE } from '../../../src/dns/constants.js';
import { type BypassRules, createBypassStage } from '../../../src/pipeline/stages/bypass.js';
import type { Answer } from '../../../src/pipeline/types.js';
import { nextDouble, PASSED, type QueryType, readAnswer, stageQuery } from '../../helpers/stage.js';

const ALL: BypassRules = { firefoxCanary: true, privateRelay: true, ddr: true };
const BLOCK_TTL = 45;

function bypass(rules: BypassRules = ALL) {
  const next = nextDouble();
  return { stage: createBypassStage({ rules, blockTtl: BLOCK_TTL })(next.handler), next };
}

function answer(stage: ReturnType<typeof bypass>['stage'], name: string, type: QueryType = 'A') {
  const a = stage(stageQuery(name, type, { id: 4242 })) as Answer;
  return { a, r: a === PASSED ? null : readAnswer(a.wire) };
}

t.test('the Firefox canary use-application-dns.net gets NXDOMAIN, so Firefox keeps DoH off', async (t) => {
  const { stage, next } = bypass();
  for (const type of ['A', 'AAAA', 'HTTPS', 'TXT'] as const) {
    const { a, r } = answer(stage, 'use-application-dns.net', type);
    t.equal(a.source, 'policy', type);
    t.equal(a.rcode, RCODE.NXDOMAIN);
    t.equal(r?.rcode, RCODE.NXDOMAIN);
    t.equal(r?.packet.id, 4242);
    t.same(r?.packet.answers, []);
    t.same(r?.ede, [{ code: EDE.FILTERED, text: 'bypass prevention' }]);
  }
  const soa = readAnswer((stage(stageQuery('use-application-dns.net')) as Answer).wire).packet
    .authorities?.[0] as unknown as { type: string; ttl: number; data: { minimum: number } };
  t.same([soa.type, soa.ttl, soa.data.minimum], ['SOA', BLOCK_TTL, BLOCK_TTL], 'negative-cached blockTtl');
  t.same(next.calls, []);
});

t.test('names are matched with their subdomains, in any case', async (t) => {
  const { stage, next } = bypass();
  t.equal(answer(stage, 'USE-Application-DNS.Net').a.rcode, RCODE.NXDOMAIN);
  t.equal(answer(stage, 'x.use-application-dns.net').a.rcode, RCODE.NXDOMAIN);
  t.equal(answer(stage, 'mask.icloud.com').a.rcode, RCODE.NXDOMAIN, 'iCloud Private Relay');
  t.equal(answer(stage, 'mask-h2.icloud.com', 'AAAA').a.rcode, RCODE.NXDOMAIN);
  t.same(next.calls, []);
  t.equal(answer(stage, 'application-dns.net').a, PASSED, 'label boundaries only');
  t.equal(answer(stage, 'icloud.com').a, PASSED);
  t.equal(answer(stage, 'www.example.test').a, PASSED);
  t.equal(next.calls.length, 3);
});

t.test('DDR (resolver.arpa) gets NODATA: no encrypted resolver is announced', async (t) => {
  const { stage, next } = bypass();
  t.equal(stageQuery('_dns.resolver.arpa', 'SVCB').qtype, 64, 'really SVCB');
  const { a, r } = answer(stage, '_dns.resolver.arpa', 'SVCB');
  t.equal(a.source, 'policy');
  t.equal(a.rcode, RCODE.NOERROR);
  t.same(r?.packet.answers, []);
  t.equal(r?.packet.authorities?.[0]?.type, 'SOA');
  t.same(r?.ede, [{ code: EDE.FILTERED, text: 'bypass prevention' }]);
  t.same(next.calls, []);
});

t.test('each rule can be turned off on its own; all off leaves the stage out', async (t) => {
  const { stage } = bypass({ firefoxCanary: false, privateRelay: true, ddr: false });
  t.equal(answer(stage, 'use-application-dns.net').a, PASSED);
  t.equal(answer(stage, '_dns.resolver.arpa', 'SVCB').a, PASSED);
  t.equal(answer(stage, 'mask.icloud.com').a.rcode, RCODE.NXDOMAIN);
  const next = nextDouble();
  t.equal(
    createBypassStage({ rules: { firefoxCanary: false, privateRelay: false, ddr: false }, blockTtl: 60 })(
      next.handler,
    ),
    next.handler,
    'nothing to do: the next handler itself',
  );
});

t.test("roje's UDP size and the client's DO go into the OPT; no OPT without EDNS", async (t) => {
  const { stage } = bypass();
  const r = readAnswer(
    (stage(stageQuery('use-application-dns.net', 'A', { udpSize: 1400, do: true })) as Answer).wire,
  );
  t.equal(r.udpSize, 1400);
  t.equal(r.do, true);
  const plain = readAnswer(
    (stage(stageQuery('use-application-dns.net', 'A', { edns: false })) as Answer).wire,
  );
  t.equal(plain.rcode, RCODE.NXDOMAIN);
  t.equal(plain.udpSize, null);
  t.same(plain.ede, []);
});
