/**
 * The differential conformance suite, short run (issue #20): a few hundred queries over every axis
 * (types, special-use names, meta-types, EDNS profiles, 0x20, header bits, UDP, TCP, pipelining,
 * malformed messages, repeats) sent to roje and to unbound, both forwarding to the same Knot on
 * loopback. Every difference must be explained by test/conformance/accepted.yaml. The full run is
 * bench/conformance/run.ts (`npm run conformance`); docs/conformance.md describes both.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as dnsPacket from 'dns-packet';
import t from 'tap';
import { loadAccepted, matches } from '../helpers/conformance/accepted.js';
import { compareAnswers } from '../helpers/conformance/compare.js';
import { generateQueries, SHORT_RUN } from '../helpers/conformance/generator.js';
import { KNOTD } from '../helpers/conformance/knot.js';
import { startPeers } from '../helpers/conformance/peers.js';
import { runConformance, summaryTable, unexplainedReport } from '../helpers/conformance/run.js';
import { UNBOUND } from '../helpers/conformance/unbound.js';
import { binaryProblem } from '../helpers/process.js';

const ACCEPTED = fileURLToPath(new URL('./accepted.yaml', import.meta.url));

/** A response as dns-packet builds it: www.conf.example A 192.0.2.1 and .2, EDNS 1232. */
function response(change: (p: Record<string, unknown>) => void = () => {}): Buffer {
  const p = {
    type: 'response',
    id: 1,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
    questions: [{ name: 'www.conf.example', type: 'A', class: 'IN' }],
    answers: [
      { name: 'www.conf.example', type: 'A', class: 'IN', ttl: 3600, data: '192.0.2.1' },
      { name: 'www.conf.example', type: 'A', class: 'IN', ttl: 3600, data: '192.0.2.2' },
    ],
    additionals: [{ name: '.', type: 'OPT', udpPayloadSize: 1232, flags: 0, options: [] }],
  } as Record<string, unknown>;
  change(p);
  return dnsPacket.encode(p as unknown as dnsPacket.Packet);
}

const signatures = (a: Buffer, b: Buffer) =>
  compareAnswers(a, b, { ttlToleranceS: 5 }).map((d) => d.signature);

t.test('the comparator: what is the same', async (t) => {
  t.same(signatures(response(), response()), [], 'identical answers');
  const normalised = response((p) => {
    p.id = 999;
    (p.answers as Array<{ ttl: number }>).reverse();
    for (const a of p.answers as Array<{ ttl: number; name: string }>) {
      a.ttl = 3597;
      a.name = 'WWW.conf.EXAMPLE';
    }
    (p.additionals as Array<{ options: unknown[] }>)[0].options = [{ code: 'PADDING', length: 40 }];
  });
  t.same(signatures(response(), normalised), [], 'ID, RR order, owner case, a TTL aged 3 s, EDNS padding');
});

t.test('the comparator: what differs, each by its signature', async (t) => {
  const base = response();
  const aa = response((p) => {
    p.flags = (p.flags as number) | dnsPacket.AUTHORITATIVE_ANSWER;
  });
  t.same(signatures(base, aa), ['flags.aa:set']);
  const noRa = response((p) => {
    p.flags = dnsPacket.RECURSION_DESIRED;
  });
  t.same(signatures(base, noRa), ['flags.ra:clear']);
  const nx = response((p) => {
    p.flags = (p.flags as number) | 3;
    p.answers = [];
  });
  t.same(signatures(base, nx), ['rcode', 'answer']);
  const oneLess = response((p) => {
    (p.answers as unknown[]).pop();
  });
  t.same(signatures(base, oneLess), ['answer']);
  const aged = response((p) => {
    for (const a of p.answers as Array<{ ttl: number }>) a.ttl = 60;
  });
  t.same(signatures(base, aged), ['ttl'], 'a TTL far below the other');
  const noOpt = response((p) => {
    p.additionals = [];
  });
  t.same(signatures(base, noOpt), ['opt.missing']);
  const caseChanged = response((p) => {
    (p.questions as Array<{ name: string }>)[0].name = 'WWW.conf.example';
  });
  t.same(signatures(base, caseChanged), ['question.case'], '0x20: the question is echoed as asked');
  t.same(signatures(base, Buffer.alloc(0)), ['undecodable.roje']);
  t.same(
    compareAnswers(base, null, { ttlToleranceS: 5 }).map((d) => d.signature),
    ['noanswer.roje'],
  );
});

t.test('the accepted list: loads, and its matchers mean what they say', async (t) => {
  const entries = loadAccepted(ACCEPTED);
  t.ok(entries.length > 0);
  for (const e of entries) {
    t.match(e.reason, /RFC \d+|unbound|roje/, `${e.id}: the reason names an RFC or the choice`);
    if (e.classification === 'rfc-violation') t.match(e.reason, /RFC \d+/, `${e.id}: the RFC it violates`);
  }
  // The matchers, on entries of this test's own (the list's entries change as roje does).
  const dir = t.testdir({
    'matchers.yaml': `
- id: special
  signature: [rcode, answer]
  tags: ['special:*']
  rcode: { roje: SERVFAIL|REFUSED }
  classification: peer-choice
  reason: a test entry (RFC 6761)
  status: accepted
- id: rd0
  signature: answer
  tags: [rd0, '!blocked']
  rcode: { roje: '!REFUSED' }
  classification: rfc-violation
  reason: a test entry (RFC 1034 4.3.1)
  status: accepted
- id: xfr
  signature: rcode
  tags: ['qtype:AXFR|qtype:IXFR']
  classification: peer-choice
  reason: a test entry (RFC 5936)
  status: accepted
`,
  });
  const [special, rd0, xfr] = loadAccepted(join(dir, 'matchers.yaml'));
  if (special === undefined || rd0 === undefined || xfr === undefined) return t.fail('three entries');
  const context = (tags: string[], roje = 'SERVFAIL') => ({
    category: 'random',
    tags,
    rcode: { roje, unbound: 'NXDOMAIN' },
  });
  t.ok(matches(special, 'rcode', context(['special:onion'])), "prefix tag 'special:*'");
  t.ok(matches(special, 'rcode', context(['special:test'], 'REFUSED')), "rcode 'SERVFAIL|REFUSED'");
  t.notOk(matches(special, 'rcode', context(['qtype:A'])), 'not for other names');
  t.notOk(matches(special, 'rcode', context(['special:onion'], 'NXDOMAIN')), 'the RCODE fingerprint');
  t.notOk(matches(special, 'flags.tc:set', context(['special:onion'])), 'nor other signatures');
  const refused = (tags: string[], roje: string) => ({
    ...context(tags, roje),
    rcode: { roje, unbound: 'REFUSED' },
  });
  t.ok(matches(rd0, 'answer', refused(['rd0', 'qtype:A'], 'NOERROR')));
  t.notOk(matches(rd0, 'answer', refused(['rd0', 'qtype:A'], 'REFUSED')), "rcode '!REFUSED'");
  t.notOk(matches(rd0, 'answer', refused(['rd0', 'blocked'], 'NOERROR')), "'!blocked'");
  t.ok(matches(xfr, 'rcode', context(['qtype:IXFR'])), "'a|b' alternatives");
  t.ok(matches(xfr, 'rcode', context(['qtype:AXFR'])));
  t.notOk(matches(xfr, 'rcode', context(['qtype:A'])));
});

const missing = [KNOTD, UNBOUND].filter((path) => !existsSync(path));
const problem = binaryProblem();
if (missing.length > 0 || problem !== null) {
  t.fail(
    `cannot run the differential suite: ${[...missing.map((p) => `${p} is missing`), problem].filter(Boolean).join('; ')}`,
  );
} else {
  t.test('roje and unbound in front of the same Knot: every difference explained', async (t) => {
    const peers = await startPeers();
    t.teardown(() => peers.stop());
    const accepted = loadAccepted(ACCEPTED);
    const queries = generateQueries(SHORT_RUN);
    const summary = await runConformance(queries, peers, accepted, { serversStartedAt: peers.startedAt });
    t.comment(`\n${summaryTable(summary, accepted)}`);
    for (const e of summary.stale) t.comment(`stale: ${e.id} (${e.status}) explained nothing in this run`);

    t.ok(summary.queries >= 300, `${summary.queries} queries`);
    // Not vacuous: both resolvers answered the queries that ought to be answered.
    const wellFormed = summary.results.filter((r) => r.query.category !== 'malformed');
    const answered = wellFormed.filter((r) => r.unbound !== null && r.roje !== null).length;
    t.equal(answered, wellFormed.length, 'both resolvers answered every well-formed query');
    const axes = [
      'rd0',
      'do',
      'tcp',
      'pipelined',
      'case0x20',
      'repeat',
      'special:onion',
      'meta',
      'edns:version1',
    ];
    for (const tag of axes) {
      t.ok(
        queries.some((q) => q.tags.includes(tag)),
        `the short run covers ${tag}`,
      );
    }
    if (summary.unexplained.length > 0) t.comment(unexplainedReport(summary, peers));
    t.equal(
      summary.unexplained.length,
      0,
      'no unexplained difference (explain it in test/conformance/accepted.yaml, or fix roje)',
    );
    t.ok(summary.identical + summary.explained + summary.unexplained.length === summary.queries);
  });
}
