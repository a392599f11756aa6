/**
 * The sampler's arithmetic and bookkeeping: answer letters from real answer shapes, a name's verdict,
 * the pass rules (interval bounds), the consistency check verify-report runs, and bounded concurrency
 * (through the `ask` seam; the sockets are exercised in test/integration/verify-sample.test.ts).
 */
import t from 'tap';
import type { Exchange } from '../../src/verify/client.js';
import { blockAddressSet } from '../../src/verify/judge.js';
import type { SampledName } from '../../src/verify/report.js';
import {
  answerLetter,
  askSample,
  nameVerdict,
  questionLabels,
  sampleInconsistency,
  summariseSample,
} from '../../src/verify/sampler.js';

const blockSet = blockAddressSet();
const ex = (over: Partial<Exchange>): Exchange => ({
  rcode: 'NOERROR',
  answers: [],
  ede: [],
  retriedTcp: false,
  ms: 1,
  ...over,
});
const a = (data: string) => ({ name: 'x.example', type: 'A', ttl: 60, data });

t.test('answer letters', async (t) => {
  t.equal(answerLetter(ex({ rcode: 'NXDOMAIN', ede: [{ code: 15, text: '' }] }), 'x.example', blockSet), 'B');
  t.equal(answerLetter(ex({ rcode: 'REFUSED' }), 'x.example', blockSet), 'B');
  t.equal(answerLetter(ex({ answers: [a('0.0.0.0')] }), 'x.example', blockSet), 'B');
  t.equal(answerLetter(ex({ answers: [a('198.51.100.1')] }), 'x.example', blockSet), 'R');
  t.equal(answerLetter(ex({ rcode: 'NXDOMAIN' }), 'x.example', blockSet), 'N', 'plain NXDOMAIN: not a block');
  t.equal(answerLetter(ex({}), 'x.example', blockSet), 'N', 'NODATA without EDE');
  t.equal(answerLetter(ex({ rcode: 'SERVFAIL' }), 'x.example', blockSet), 'S');
  t.equal(answerLetter(ex({ rcode: null, error: 'timeout after 1 ms' }), 'x.example', blockSet), 'T');
});

t.test('a name verdict', async (t) => {
  t.equal(nameVerdict('BBBB'), 'blocked');
  t.equal(nameVerdict('BB--'), 'blocked', 'a www. name asked in one form');
  t.equal(nameVerdict('BBBR'), 'not-blocked', 'one leak is a leak');
  t.equal(nameVerdict('BTBN'), 'not-blocked');
  t.equal(nameVerdict('BBBT'), 'error', 'no leak seen, but not proven blocked');
  t.equal(nameVerdict('SSSS'), 'error');
  t.same(questionLabels(['udp', 'tcp']), ['name/udp', 'name/tcp', 'www/udp', 'www/tcp']);
});

const names = (blocked: number, notBlocked: number, errors = 0): SampledName[] => [
  ...Array.from({ length: blocked }, (_, i) => ({
    hash: `b${i}`,
    verdict: 'blocked' as const,
    answers: 'BBBB',
  })),
  ...Array.from({ length: notBlocked }, (_, i) => ({
    hash: `n${i}`,
    verdict: 'not-blocked' as const,
    answers: 'RRRR',
  })),
  ...Array.from({ length: errors }, (_, i) => ({
    hash: `e${i}`,
    verdict: 'error' as const,
    answers: 'TTTT',
  })),
];
const list = { sha256: '0'.repeat(64), names: 5000, skipped: 0 };

t.test('pass rules: the interval, not the point estimate', async (t) => {
  // 95 of 100 blocked: 95 % >= 90 %, but the low end (88.8 %) is not: the sample is too small to say.
  const small = summariseSample({
    kind: 'block',
    category: 'adult',
    list,
    names: names(95, 5),
    threshold: 0.9,
  });
  t.equal(small.rate, 0.95);
  t.ok(small.interval.low < 0.9);
  t.equal(small.verdict, 'fail');
  const large = summariseSample({
    kind: 'block',
    category: 'adult',
    list,
    names: names(950, 50),
    threshold: 0.9,
  });
  t.ok(large.interval.low >= 0.9);
  t.equal(large.verdict, 'pass');
  const errors = summariseSample({
    kind: 'block',
    category: 'adult',
    list,
    names: names(900, 0, 100),
    threshold: 0.9,
  });
  t.equal(errors.rate, 0.9, 'errors count against the rate, not as blocked');
  t.equal(errors.errors, 100);
  const allow = summariseSample({
    kind: 'allow',
    category: 'allow',
    list,
    names: names(2, 998),
    threshold: 0.01,
  });
  t.match(allow, { rate: 0.002, rule: { bound: 'high', max: 0.01 }, verdict: 'pass' });
  const over = summariseSample({
    kind: 'allow',
    category: 'allow',
    list,
    names: names(8, 992),
    threshold: 0.01,
  });
  t.equal(over.verdict, 'fail', '0.8 % over-blocked, but the high end is above 1 %');
});

t.test('the consistency check verify-report runs', async (t) => {
  const r = summariseSample({ kind: 'block', category: 'adult', list, names: names(95, 5), threshold: 0.9 });
  t.equal(sampleInconsistency({ sample: { results: [r] } as never }), null);
  t.match(
    sampleInconsistency({ sample: { results: [{ ...r, blocked: 96 }] } as never }),
    /blocked does not follow/,
  );
  t.match(sampleInconsistency({ sample: { results: [{ ...r, verdict: 'pass' }] } as never }), /verdict/);
  const lying = { ...r, names: r.names.map((n, i) => (i === 0 ? { ...n, answers: 'RRRR' } : n)) };
  t.match(sampleInconsistency({ sample: { results: [lying] } as never }), /does not follow from its answers/);
});

t.test('askSample: every question once, concurrency bounded, www. names asked once', async (t) => {
  let inFlight = 0;
  let most = 0;
  const asked: string[] = [];
  const result = await askSample(['a.example', 'www.b.example', 'c.example'], Buffer.alloc(32), {
    server: { host: '127.0.0.1', port: 9 },
    transports: ['udp', 'tcp'],
    timeoutMs: 100,
    blockAddresses: blockSet,
    concurrency: 2,
    qps: 0,
    ask: async (_server, q) => {
      inFlight++;
      most = Math.max(most, inFlight);
      asked.push(`${q.qname}/${q.transport}`);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return q.qname.startsWith('c.') ? ex({ answers: [a('198.51.100.1')] }) : ex({ rcode: 'REFUSED' });
    },
  });
  t.equal(most, 2, 'never more than 2 in flight');
  t.equal(asked.length, 10, '2 names in 2 forms and a www. name in 1, over 2 transports');
  t.notOk(asked.some((q) => q.startsWith('www.www.')));
  t.same(
    result.map((n) => [n.verdict, n.answers]),
    [
      ['blocked', 'BBBB'],
      ['blocked', 'BB--'],
      ['not-blocked', 'RRBB'],
    ],
  );
  t.ok(
    result.every((n) => /^[0-9a-f]{64}$/.test(n.hash)),
    'names as keyed hashes only',
  );
});
