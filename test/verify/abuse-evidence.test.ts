/**
 * The abuse category's evidence: a certifier's sample first, else roje's policy strings (as
 * src/pipeline/policy-strings.ts writes them), else nothing, which fails. And who counts as roje.
 */
import t from 'tap';
import { isRojeIdentity, judgeAbuse, parsePolicyAbuse } from '../../src/verify/abuse-evidence.js';
import type { ChaosAnswer, ResolverIdentity, SampleResult } from '../../src/verify/report.js';

const none: ChaosAnswer = { rcode: 'REFUSED', strings: [] };
function identity(policy: string[], version = ['roje 0.1.0']): ResolverIdentity {
  return {
    'version.bind': none,
    'id.server': none,
    'version.roje': { rcode: 'NOERROR', strings: version },
    'policy.roje': { rcode: 'NOERROR', strings: policy },
  };
}
const policy = (entries: number, age: number) => [
  'lists version=0123456789ab entries=5000 compiled=2026-12-06T20:00:00.000Z',
  'source=adult category=adult entries=3000 version=aaaaaaaaaaaa age=60',
  `source=iwf category=abuse entries=${entries} version=bbbbbbbbbbbb age=${age}`,
  `abuse feeds=1 entries=${entries} stale=0`,
];

t.test('who is roje', async (t) => {
  t.ok(isRojeIdentity(identity([])));
  t.notOk(isRojeIdentity(identity([], [])), 'no version.roje answer');
  t.notOk(isRojeIdentity(identity([], ['unbound 1.19'])), 'another string');
});

t.test('the policy string', async (t) => {
  t.same(parsePolicyAbuse(policy(2000, 3600)), { sources: 1, entries: 2000, maxAgeSeconds: 3600 });
  t.equal(parsePolicyAbuse(['lists none loaded']), null);
  const pass = judgeAbuse({ identity: identity(policy(2000, 3600)), minEntries: 1000 });
  t.match(pass, { evidence: 'roje-policy', verdict: 'pass', policy: { entries: 2000, minEntries: 1000 } });
  const small = judgeAbuse({ identity: identity(policy(2, 60)) });
  t.match(small, { evidence: 'roje-policy', verdict: 'fail', reason: /2 entries, fewer than 1000/ });
  const old = judgeAbuse({ identity: identity(policy(5000, 13 * 3600)) });
  t.match(old, { verdict: 'fail', reason: /13\.0 h old, 12 h or more/ });
  const noFeed = judgeAbuse({
    identity: identity(['lists version=x entries=1', 'abuse feeds=0 entries=0 stale=0']),
  });
  t.match(noFeed, { verdict: 'fail', reason: /no abuse source is loaded/ });
});

t.test('a sample outranks the policy string; nothing at all fails', async (t) => {
  const sample = {
    verdict: 'fail',
    blocked: 10,
    asked: 100,
    interval: { low: 0.05, high: 0.17 },
  } as SampleResult;
  t.match(judgeAbuse({ identity: identity(policy(5000, 60)), sample }), {
    evidence: 'sample',
    verdict: 'fail',
    reason: /10\/100 blocked/,
  });
  t.match(judgeAbuse({ identity: identity([], []) }), {
    evidence: 'none',
    verdict: 'fail',
    reason: /not judged/,
  });
  t.match(
    judgeAbuse({ identity: identity([]) }),
    { evidence: 'none', verdict: 'fail' },
    'roje without a policy string',
  );
});
