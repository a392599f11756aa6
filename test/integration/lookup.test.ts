/**
 * "Why is this name blocked?" through a real roje: GET /api/v1/lookup over the admin listener answers
 * per venue with the resolver's own decision, and names the source, the rule as written and its line
 * from real list files; a venue's allow and deny entries are named; the abuse canaries are answered
 * with the category "abuse" and nothing of the feed; roles and validation; and `roje lookup` (the
 * built dist/main.js) asks the same running roje.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { hashToken } from '../../src/admin/auth.js';
import { adminClient } from '../helpers/admin-client.js';
import { ABUSE_CANARY, ABUSE_CANARY_FILE, ABUSE_CANARY_NAMES } from '../helpers/canaries.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { binaryProblem, plainEnv, runRoje } from '../helpers/process.js';
import { startRoje, udpUrl } from '../helpers/roje.js';

const AUDITOR = 'roje_lookup-auditor-token';
const OPERATOR = 'roje_lookup-operator-token';

// Line numbers are part of the answer: 4 for porn.example, 2 and 3 for the adblock rules.
const ADULT = '# adult test list\n# second comment\n\nporn.example\n*.wild.example\n';
const ADS = '! ads test list\n||tracker.example^\n@@||ok.tracker.example^\n';

const fake = await startFakeUpstream({ apexes: ['example', 'example.test'] });
t.teardown(() => fake.close());
fake.zone.set('good.porn.example', 'A', [{ data: '198.51.100.5', ttl: 300 }]);

const dir = t.testdir({ 'adult.txt': ADULT, 'ads.txt': ADS, token: `${AUDITOR}\n` });
const roje = await startRoje({
  upstreams: [udpUrl(fake)],
  stateDir: join(dir, 'state'),
  lists: [
    { category: 'adult', name: 'test-adult', path: join(dir, 'adult.txt') },
    { category: 'ads', name: 'test-ads', path: join(dir, 'ads.txt') },
    { category: 'abuse', name: 'iwf-sample', path: ABUSE_CANARY_FILE },
  ],
  policies: {
    default: { block: 'all', blockMode: 'nxdomain' },
    kids: {
      block: ['adult', 'abuse'],
      blockMode: 'nxdomain',
      allow: ['good.porn.example', ABUSE_CANARY.domain],
      deny: ['blocked-here.example'],
    },
  },
  venues: [{ name: 'kafe', networks: ['127.0.0.3/32'], policy: 'kids' }],
  admin: {
    listen: '127.0.0.1:0',
    tokens: [
      { name: 'audit', role: 'auditor', sha256: hashToken(AUDITOR) },
      { name: 'ops', role: 'operator', sha256: hashToken(OPERATOR) },
    ],
  },
});
t.teardown(() => roje.stop());
const api = adminClient(roje, AUDITOR);

interface Decision {
  venue: string | null;
  policy: string;
  decision: string;
  reason: string;
  blockMode: string;
  categories: string[];
  notBlocked: string[];
  addition?: { kind: string; entry: string; policy: string };
  safeSearch?: { engine: string; host: string };
}
interface Answer {
  name: string;
  decisions: Decision[];
  displayNames: Record<string, { sq: string; en: string }>;
  listed: Array<{
    category: string;
    displayName: { sq: string; en: string };
    rules: Array<{ source: string; rule: string; line: number; action: string; scope: string; won: boolean }>;
  }>;
  sourcesUnavailable: string | null;
}
const ask = async (query: string) => {
  const res = await api.get(`/api/v1/lookup?${query}`);
  return { res, answer: res.json as unknown as Answer };
};
const of = (a: Answer, venue: string | null) => a.decisions.find((d) => d.venue === venue) as Decision;

t.test('a listed name: decision per venue, and the source, rule and line that list it', async (t) => {
  const { res, answer } = await ask('name=www.porn.example');
  t.equal(res.status, 200, res.text);
  t.equal(answer.name, 'www.porn.example');
  t.same(
    answer.decisions.map((d) => [d.venue, d.decision, d.reason, d.categories]),
    [
      ['kafe', 'blocked', 'lists', ['adult']],
      [null, 'blocked', 'lists', ['adult']],
    ],
  );
  t.equal(of(answer, 'kafe').blockMode, 'nxdomain');
  t.same(answer.displayNames, {
    adult: { sq: 'Përmbajtje për të rritur', en: 'Adult content' },
  });
  t.same(answer.listed, [
    {
      category: 'adult',
      displayName: { sq: 'Përmbajtje për të rritur', en: 'Adult content' },
      rules: [
        {
          source: 'test-adult',
          category: 'adult',
          rule: 'porn.example',
          line: 4,
          name: 'porn.example',
          scope: 'subtree',
          action: 'block',
          won: true,
        },
      ],
    },
  ]);
  // The resolver agrees: the venue's client and a client of no venue both get NXDOMAIN.
  t.equal((await roje.dig(['-b', '127.0.0.3', 'www.porn.example', 'A'])).status, 'NXDOMAIN');
});

t.test('scope below: *.wild.example lists names under it, not itself', async (t) => {
  const under = (await ask('name=a.wild.example')).answer;
  t.same(
    under.listed[0]?.rules.map((r) => [r.rule, r.line, r.scope]),
    [['*.wild.example', 5, 'below']],
  );
  const itself = (await ask('name=wild.example')).answer;
  t.same(itself.listed, []);
  t.equal(of(itself, null).decision, 'passed');
});

t.test(
  'adblock rules: the rule as written, the allow rule that won, and a venue that does not block',
  async (t) => {
    const blocked = (await ask('name=x.tracker.example')).answer;
    t.same(
      blocked.listed[0]?.rules.map((r) => [r.source, r.rule, r.line, r.action]),
      [['test-ads', '||tracker.example^', 2, 'block']],
    );
    t.equal(of(blocked, null).decision, 'blocked', 'the default policy blocks ads');
    t.equal(of(blocked, 'kafe').decision, 'passed', 'kids does not block ads');
    t.same(of(blocked, 'kafe').notBlocked, ['ads']);

    const allowed = (await ask('name=ok.tracker.example')).answer;
    t.same(
      allowed.listed[0]?.rules.map((r) => [r.rule, r.line, r.action, r.won]),
      [
        ['||tracker.example^', 2, 'block', false],
        ['@@||ok.tracker.example^', 3, 'allow', true],
      ],
    );
    t.match(
      of(allowed, null),
      { decision: 'allowed', reason: 'list-allow', allowedBy: ['ads'] },
      'the allow rule decides',
    );
    t.match(of(allowed, 'kafe'), { decision: 'passed', reason: 'none' }, 'kids does not block ads at all');
  },
);

t.test("a venue's own allow and deny entries are named as the reason", async (t) => {
  const allowed = (await ask('name=good.porn.example&venue=kafe')).answer;
  t.same(allowed.decisions.length, 1, 'only the venue asked for');
  t.match(allowed.decisions[0], {
    venue: 'kafe',
    decision: 'allowed',
    reason: 'venue-allow',
    addition: { kind: 'allow', entry: 'good.porn.example', policy: 'kids' },
  });
  t.equal((await roje.dig(['-b', '127.0.0.3', 'good.porn.example', 'A'])).status, 'NOERROR');

  const denied = (await ask('name=www.blocked-here.example&venue=kafe')).answer;
  t.match(denied.decisions[0], {
    decision: 'blocked',
    reason: 'venue-deny',
    addition: { kind: 'deny', entry: 'blocked-here.example' },
  });
  t.same(
    denied.displayNames,
    { 'venue-deny': { sq: 'E bllokuar nga ky rrjet', en: 'Blocked by this network' } },
    'the reason by its display name',
  );
});

t.test('SafeSearch: a search engine name is rewritten for a policy that enforces it', async (t) => {
  const a = (await ask('name=www.google.com&venue=kafe')).answer;
  t.match(a.decisions[0], {
    decision: 'safesearch',
    safeSearch: { engine: 'google', host: 'forcesafesearch.google.com' },
  });
});

t.test(
  'the abuse canaries: the category "abuse" and nothing of the feed, even where a venue allows it',
  async (t) => {
    for (const name of ABUSE_CANARY_NAMES.filter((n) => n !== ABUSE_CANARY.page)) {
      const { res, answer } = await ask(`name=${name}`);
      t.equal(res.status, 200);
      for (const d of answer.decisions) {
        t.same(
          [d.decision, d.reason, d.categories, d.notBlocked],
          ['blocked', 'abuse', ['abuse'], []],
          `${name} ${d.venue}`,
        );
        t.equal(d.addition, undefined, 'the venue allow entry is not named');
      }
      t.same(answer.listed, [
        {
          category: 'abuse',
          displayName: { sq: 'Abuzim seksual me fëmijë', en: 'Child sexual abuse' },
          rules: [],
        },
      ]);
      t.equal(answer.sourcesUnavailable, 'confidential');
      // Nothing of the source: its name, its file, a rule, a line number, the URL form of an entry.
      for (const secret of [
        'iwf-sample',
        'abuse-test',
        '"rule"',
        '"line"',
        'https://',
        'canary-page',
        'gallery',
      ]) {
        t.notOk(res.text.includes(secret), `${name}: no ${secret}`);
      }
      t.equal(
        res.text.split(name).length - 1,
        1,
        'the name asked for is echoed once, nothing more of the feed',
      );
    }
    const logs = JSON.stringify(roje.logs);
    for (const n of ABUSE_CANARY_NAMES) t.notOk(logs.includes(n), `no log line names ${n}`);
  },
);

t.test('roles and validation', async (t) => {
  t.equal((await api.get('/api/v1/lookup?name=porn.example', { token: null })).status, 401, 'no token');
  t.equal((await api.get('/api/v1/lookup?name=porn.example', { token: 'roje_wrong' })).status, 401);
  t.equal((await api.get('/api/v1/lookup?name=porn.example', { token: OPERATOR })).status, 200, 'operator');
  const bad = await api.get('/api/v1/lookup?name=not..a..name');
  t.equal(bad.status, 400);
  t.equal(bad.json.code, 'ROJE_ERR_LOOKUP_NAME');
  const ip = await api.get('/api/v1/lookup?name=192.0.2.1');
  t.equal(ip.json.code, 'ROJE_ERR_LOOKUP_NAME', 'an address is not a name');
  const venue = await api.get('/api/v1/lookup?name=porn.example&venue=nowhere');
  t.equal(venue.status, 404);
  t.equal(venue.json.code, 'ROJE_ERR_LOOKUP_VENUE');
  t.equal((await api.get('/api/v1/lookup')).status, 400, 'name is required');
  t.equal((await api.get('/api/v1/lookup?name=a.example&other=1')).status, 400, 'unknown parameter');
  t.equal((await api.get(`/api/v1/lookup?name=${'a'.repeat(301)}`)).status, 400, 'too long');
});

t.test('roje lookup (dist/main.js) asks the running roje', { skip: binaryProblem() ?? false }, async (t) => {
  const admin = `http://${roje.app.opsAddresses().admin}`;
  const tokenFile = join(dir, 'token');
  const text = await runRoje(['lookup', 'www.porn.example', '--admin', admin, '--token-file', tokenFile], {
    env: plainEnv(),
  });
  t.equal(text.code, 0, text.stderr);
  t.match(text.stdout, /venue kafe \[kids\]: blocked \(nxdomain\) by lists: adult/);
  t.match(text.stdout, /porn\.example {3}from test-adult, line 4/);

  const exception = await runRoje(
    ['lookup', 'ok.tracker.example', '--admin', admin, '--token-file', tokenFile],
    {
      env: plainEnv(),
    },
  );
  t.match(exception.stdout, /@@\|\|ok\.tracker\.example\^ {3}from test-ads, line 3 \(allow\) {2}<- decides/);
  t.match(exception.stdout, /clients of no venue \[default\]: allowed by list-allow: ads/);

  const json = await runRoje(
    ['lookup', 'good.porn.example', '--venue', 'kafe', '--json', '--admin', admin, '--token-file', tokenFile],
    { env: plainEnv() },
  );
  t.equal(json.code, 0, json.stderr);
  t.match(JSON.parse(json.stdout), {
    decisions: [{ venue: 'kafe', decision: 'allowed', reason: 'venue-allow' }],
  });

  const bad = await runRoje(['lookup', 'not..a..name', '--admin', admin, '--token-file', tokenFile], {
    env: plainEnv(),
  });
  t.equal(bad.code, 1);
  t.match(bad.stderr, /400 ROJE_ERR_LOOKUP_NAME/);

  const usage = await runRoje(['lookup', '--admin', admin], { env: plainEnv() });
  t.equal(usage.code, 2);
  t.match(usage.stderr, /Usage: roje lookup NAME/);

  writeFileSync(join(dir, 'wrong-token'), 'roje_wrong\n');
  const denied = await runRoje(
    ['lookup', 'porn.example', '--admin', admin, '--token-file', join(dir, 'wrong-token')],
    {
      env: plainEnv(),
    },
  );
  t.equal(denied.code, 1);
  t.match(denied.stderr, /401/);
});
