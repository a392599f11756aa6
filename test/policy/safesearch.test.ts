import t from 'tap';
import { YOUTUBE_MODES as CONFIG_YOUTUBE_MODES } from '../../src/config/schema.js';
import { encodeName } from '../../src/dns/name.js';
import {
  createEngineTable,
  ENGINE_BING,
  ENGINE_DUCKDUCKGO,
  ENGINE_GOOGLE,
  ENGINE_NAMES,
  ENGINE_YOUTUBE,
  GOOGLE_DOMAINS,
  SAFE_HOSTS,
  SAFE_SEARCH_ENGINES,
  SAFE_SEARCH_OFF,
  SAFE_SEARCH_ON,
  safeHosts,
  YOUTUBE_MODES,
} from '../../src/policy/safesearch.js';

/** The name as it sits in a query: after 12 header bytes, with 4 question bytes behind it. */
function inMessage(name: string): { buf: Buffer; end: number } {
  const wire = encodeName(name);
  const buf = Buffer.concat([Buffer.alloc(12), wire, Buffer.from([0, 1, 0, 1])]);
  return { buf, end: 12 + wire.length };
}

function match(name: string): number {
  const { buf, end } = inMessage(name);
  return createEngineTable().matchWire(buf, 12, end);
}

t.test('the engine indexes follow SAFE_SEARCH_ENGINES', async (t) => {
  t.equal(SAFE_SEARCH_ENGINES[ENGINE_GOOGLE], 'google');
  t.equal(SAFE_SEARCH_ENGINES[ENGINE_YOUTUBE], 'youtube');
  t.equal(SAFE_SEARCH_ENGINES[ENGINE_BING], 'bing');
  t.equal(SAFE_SEARCH_ENGINES[ENGINE_DUCKDUCKGO], 'duckduckgo');
  t.same([...YOUTUBE_MODES], [...CONFIG_YOUTUBE_MODES], 'the config offers the same YouTube modes');
});

t.test("Google's supported domains, bare and with www", async (t) => {
  t.ok(GOOGLE_DOMAINS.length >= 180, `${GOOGLE_DOMAINS.length} country domains`);
  t.equal(new Set(GOOGLE_DOMAINS).size, GOOGLE_DOMAINS.length, 'no duplicates');
  for (const d of ['com', 'al', 'co.uk', 'com.br', 'de', 'co.za', 'cat', 'rs'])
    t.ok(GOOGLE_DOMAINS.includes(d), d);
  t.equal(ENGINE_NAMES.google.length, GOOGLE_DOMAINS.length * 2);
  for (const d of GOOGLE_DOMAINS) {
    if (match(`google.${d}`) !== ENGINE_GOOGLE || match(`www.google.${d}`) !== ENGINE_GOOGLE) {
      t.fail(`google.${d} not matched`);
    }
  }
});

t.test('exact names, any case; subdomains and neighbours do not match', async (t) => {
  const cases: Array<[string, number]> = [
    ['google.com', ENGINE_GOOGLE],
    ['WWW.Google.AL', ENGINE_GOOGLE],
    ['www.google.co.uk', ENGINE_GOOGLE],
    ['www.youtube.com', ENGINE_YOUTUBE],
    ['m.youtube.com', ENGINE_YOUTUBE],
    ['youtubei.googleapis.com', ENGINE_YOUTUBE],
    ['youtube.googleapis.com', ENGINE_YOUTUBE],
    ['www.youtube-nocookie.com', ENGINE_YOUTUBE],
    ['bing.com', ENGINE_BING],
    ['www.bing.com', ENGINE_BING],
    ['duckduckgo.com', ENGINE_DUCKDUCKGO],
    ['www.duckduckgo.com', ENGINE_DUCKDUCKGO],
    ['start.duckduckgo.com', ENGINE_DUCKDUCKGO],
    ['mail.google.com', -1],
    ['google.example', -1],
    ['www.google.com.example', -1],
    ['oogle.com', -1],
    ['googleapis.com', -1],
    ['youtube.com', -1],
    ['safe.duckduckgo.com', -1],
    ['forcesafesearch.google.com', -1],
    ['com', -1],
    ['', -1],
  ];
  for (const [name, engine] of cases) t.equal(match(name), engine, name || '(root)');
});

t.test('a table of a few names, duplicates kept once', async (t) => {
  const table = createEngineTable({
    google: ['a.test', 'a.test'],
    youtube: ['b.test'],
    bing: [],
    duckduckgo: ['A.TEST'],
  });
  t.equal(table.size, 4);
  const a = inMessage('a.test');
  t.equal(table.matchWire(a.buf, 12, a.end), ENGINE_GOOGLE, 'the first engine keeps a name');
  const c = inMessage('c.test');
  t.equal(table.matchWire(c.buf, 12, c.end), -1);
});

t.test('safe hosts per settings', async (t) => {
  t.same(safeHosts(SAFE_SEARCH_ON), [
    SAFE_HOSTS.google,
    SAFE_HOSTS.youtubeModerate,
    SAFE_HOSTS.bing,
    SAFE_HOSTS.duckduckgo,
  ]);
  t.same(safeHosts(SAFE_SEARCH_OFF), [null, null, null, null]);
  t.same(safeHosts({ google: false, bing: true, duckduckgo: false, youtube: 'strict' }), [
    null,
    'restrict.youtube.com',
    'strict.bing.com',
    null,
  ]);
});
