/**
 * SafeSearch through the real server, with dig: search engines' names get a CNAME to the engine's
 * safe host and the safe host's records from the (fake) upstream, per venue (dig binds 127.0.0.x
 * sources); the safe host's answer is cached like any other; a venue with SafeSearch off gets the
 * upstream's own answer; the inner queries are not counted as client queries.
 */
import t from 'tap';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { type DigResult, startRoje, udpUrl } from '../helpers/roje.js';

const fake = await startFakeUpstream({
  apexes: ['google.com', 'google.al', 'youtube.com', 'bing.com', 'duckduckgo.com', 'edge.test'],
});
t.teardown(() => fake.close());
const zone = fake.zone;
zone.set('forcesafesearch.google.com', 'A', [{ data: '216.239.38.120', ttl: 300 }]);
zone.set('forcesafesearch.google.com', 'AAAA', [{ data: '2001:4860:4802:32::78', ttl: 300 }]);
zone.set('restrict.youtube.com', 'A', [{ data: '216.239.38.120', ttl: 300 }]);
zone.set('restrictmoderate.youtube.com', 'A', [{ data: '216.239.38.119', ttl: 300 }]);
// A CNAME chain behind the safe host, as Bing's is.
zone.set('strict.bing.com', 'CNAME', [{ data: 'strict-bing.edge.test', ttl: 120 }]);
zone.set('strict-bing.edge.test', 'A', [{ data: '204.79.197.220', ttl: 60 }]);
zone.set('safe.duckduckgo.com', 'A', [{ data: '52.250.42.157', ttl: 200 }]);
// The engines' own (unfiltered) addresses, for a venue that does not enforce SafeSearch.
zone.set('google.com', 'A', [{ data: '142.250.1.1', ttl: 300 }]);
zone.set('www.youtube.com', 'A', [{ data: '142.250.1.2', ttl: 300 }]);

const roje = await startRoje({
  upstreams: [udpUrl(fake)],
  lists: [],
  policies: {
    // default: safeSearch true (the default): every engine, YouTube moderate
    kids: { block: 'all', safeSearch: { youtube: 'strict' } },
    open: { block: 'all', safeSearch: false },
    nobing: { block: 'all', safeSearch: { bing: false } },
  },
  venues: [
    { name: 'kids', networks: ['127.0.0.2/32'], policy: 'kids' },
    { name: 'open', networks: ['127.0.0.3/32'], policy: 'open' },
    { name: 'nobing', networks: ['127.0.0.4/32'], policy: 'nobing' },
  ],
});
t.teardown(() => roje.stop());

const from = (source: string) => ['-b', source];
const rows = (r: DigResult) => r.answers.map((a) => `${a.name} ${a.type} ${a.data}`);

t.test(
  'Google: google.com and a country domain get the CNAME and the safe address, once fetched',
  async (t) => {
    fake.resetCounts();
    const first = await roje.dig(['google.com', 'A']);
    t.equal(first.status, 'NOERROR');
    t.same(rows(first), [
      'google.com. CNAME forcesafesearch.google.com.',
      'forcesafesearch.google.com. A 216.239.38.120',
    ]);
    t.equal(first.answers[0].ttl, first.answers[1].ttl, 'the CNAME lasts as long as the address');
    t.match(first.ede, [{ code: 4, text: 'safesearch' }], 'EDE 4 Forged Answer');
    t.ok(first.flags.includes('ra') && !first.flags.includes('aa'), 'RA, not AA');

    const second = await roje.dig(['WWW.Google.AL', 'A']);
    t.same(rows(second), [
      'WWW.Google.AL. CNAME forcesafesearch.google.com.',
      'forcesafesearch.google.com. A 216.239.38.120',
    ]);
    t.equal(fake.queriesFor('forcesafesearch.google.com'), 1, 'the second came from the cache');
    t.equal(fake.queriesFor('google.com') + fake.queriesFor('www.google.al'), 0, 'the engine is never asked');

    const aaaa = await roje.dig(['www.google.com', 'AAAA']);
    t.same(rows(aaaa), [
      'www.google.com. CNAME forcesafesearch.google.com.',
      'forcesafesearch.google.com. AAAA 2001:4860:4802:32::78',
    ]);
    const mail = await roje.dig(['mail.google.com', 'A']);
    t.equal(mail.answers.length, 0, 'other Google names are not search: resolved as they are');
  },
);

t.test('YouTube: moderate by default, strict where the policy says', async (t) => {
  t.same(rows(await roje.dig(['www.youtube.com', 'A'])), [
    'www.youtube.com. CNAME restrictmoderate.youtube.com.',
    'restrictmoderate.youtube.com. A 216.239.38.119',
  ]);
  t.same(rows(await roje.dig([...from('127.0.0.2'), 'www.youtube.com', 'A'])), [
    'www.youtube.com. CNAME restrict.youtube.com.',
    'restrict.youtube.com. A 216.239.38.120',
  ]);
  t.same(rows(await roje.dig([...from('127.0.0.2'), 'm.youtube.com', 'A'])), [
    'm.youtube.com. CNAME restrict.youtube.com.',
    'restrict.youtube.com. A 216.239.38.120',
  ]);
});

t.test('Bing: the safe host is itself a CNAME chain, all of it follows', async (t) => {
  const r = await roje.dig(['bing.com', 'A']);
  t.same(rows(r), [
    'bing.com. CNAME strict.bing.com.',
    'strict.bing.com. CNAME strict-bing.edge.test.',
    'strict-bing.edge.test. A 204.79.197.220',
  ]);
  t.equal(r.answers[0].ttl, 60, 'the smallest TTL of the chain');
  t.same(rows(await roje.dig([...from('127.0.0.4'), 'www.bing.com', 'A'])), [], 'off for this venue only');
});

t.test('DuckDuckGo', async (t) => {
  t.same(rows(await roje.dig(['duckduckgo.com', 'A'])), [
    'duckduckgo.com. CNAME safe.duckduckgo.com.',
    'safe.duckduckgo.com. A 52.250.42.157',
  ]);
  t.same(rows(await roje.dig(['start.duckduckgo.com', 'A', '+noedns'])), [
    'start.duckduckgo.com. CNAME safe.duckduckgo.com.',
    'safe.duckduckgo.com. A 52.250.42.157',
  ]);
});

t.test('a venue with SafeSearch off gets the upstream’s own answer', async (t) => {
  t.same(rows(await roje.dig([...from('127.0.0.3'), 'google.com', 'A'])), ['google.com. A 142.250.1.1']);
  t.same(rows(await roje.dig([...from('127.0.0.3'), 'www.youtube.com', 'A'])), [
    'www.youtube.com. A 142.250.1.2',
  ]);
});

t.test('over TCP, and a query of type CNAME', async (t) => {
  const tcp = await roje.dig(['+tcp', 'www.google.co.uk', 'A']);
  t.same(rows(tcp), [
    'www.google.co.uk. CNAME forcesafesearch.google.com.',
    'forcesafesearch.google.com. A 216.239.38.120',
  ]);
  fake.resetCounts();
  const cname = await roje.dig(['www.google.de', 'CNAME']);
  t.same(rows(cname), ['www.google.de. CNAME forcesafesearch.google.com.']);
  t.equal(fake.counts.total, 0, 'answered without asking');
});

t.test('metrics: answers per engine; inner queries are not client queries', async (t) => {
  const before = await roje.app.admin.metrics();
  const count = (body: string, re: RegExp) =>
    body
      .split('\n')
      .filter((l) => re.test(l))
      .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
  const queries = (body: string) => count(body, /^roje_queries_total\{/);
  await roje.dig(['www.bing.com', 'A']);
  await roje.dig(['www.google.com', 'A']);
  const after = await roje.app.admin.metrics();
  t.equal(queries(after.body) - queries(before.body), 2, 'two client queries, whatever was asked inside');
  t.equal(
    count(after.body, /^roje_safesearch_answers_total\{engine="bing"\}/) -
      count(before.body, /^roje_safesearch_answers_total\{engine="bing"\}/),
    1,
  );
  t.match(after.body, /roje_safesearch_answers_total\{engine="google"\} \d+/);
  t.match(after.body, /roje_safesearch_answers_total\{engine="youtube"\} \d+/);
});

t.test('the safe host’s failure is the client’s', async (t) => {
  fake.behave('safe.duckduckgo.com', { servfail: true });
  t.teardown(() => fake.behave('safe.duckduckgo.com', null));
  const r = await roje.dig(['www.duckduckgo.com', 'AAAA']);
  t.equal(r.status, 'SERVFAIL');
  t.equal(r.answers.length, 0);
});

t.test('the policy inspects the chain answered here: a listed safe host blocks the engine', async (t) => {
  const dir = t.testdir({ 'cdn.txt': 'edge.test\n' });
  const blocking = await startRoje({
    upstreams: [udpUrl(fake)],
    lists: [{ category: 'cdn', path: `${dir}/cdn.txt`, format: 'domains' }],
    policies: { default: { block: 'all', blockMode: 'nxdomain' } },
  });
  t.teardown(() => blocking.stop());
  const bing = await blocking.dig(['bing.com', 'A']);
  t.equal(bing.status, 'NXDOMAIN', 'strict.bing.com -> strict-bing.edge.test is listed');
  t.match(bing.ede, [{ code: 15, text: 'blocked: cdn' }]);
  t.same(rows(await blocking.dig(['google.com', 'A'])), [
    'google.com. CNAME forcesafesearch.google.com.',
    'forcesafesearch.google.com. A 216.239.38.120',
  ]);
});
