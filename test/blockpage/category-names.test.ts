/**
 * Category display names on the block page, in a real browser over a real roje: a name on the venue's
 * own deny list is explained by the data plane as `venue-deny`, and the page shows "Blocked by this
 * network" / "E bllokuar nga ky rrjet", never the internal id; a search engine without a safe mode
 * (`nosafesearch`) and a category of the operator's own lists are named the same way, the latter by the
 * config's `categoryNames`.
 */
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { categoryDisplayName, readableId } from '../../src/blockpage/i18n.js';
import { hostProxy } from '../helpers/blockpage.js';
import { BROWSER_TEST, openContext } from '../helpers/browser.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { startRoje, udpUrl } from '../helpers/roje.js';

const fake = await startFakeUpstream({ apexes: ['example'] });
t.teardown(() => fake.close());
const dir = t.testdir({
  'nosafe.txt': 'search-without-safe-mode.example\n',
  'school.txt': 'homework-answers.example\n',
});
// The browser's requests reach the block page through a loopback proxy from 127.0.0.1: that is the
// venue's network, so the page explains with the venue's policy.
const roje = await startRoje({
  upstreams: [udpUrl(fake)],
  lists: [
    { category: 'nosafesearch', name: 'nosafe', path: join(dir, 'nosafe.txt') },
    { category: 'school-ban', name: 'school', path: join(dir, 'school.txt') },
  ],
  blockPage: { ipv4: '127.0.0.1', listen: ['127.0.0.1:0'] },
  policies: {
    default: { block: 'all', blockMode: 'blockpage' },
    venue: { block: 'all', blockMode: 'blockpage', deny: ['denied-here.example'] },
  },
  venues: [{ name: 'Biblioteka', networks: ['127.0.0.1/32'], policy: 'venue' }],
  categoryNames: { 'school-ban': { sq: 'Ndaluar nga shkolla', en: 'Not allowed by the school' } },
});
t.teardown(() => roje.stop());
const status = roje.app.admin.status() as { blockPage: { listen: Array<{ host: string; port: number }> } };
const listen = status.blockPage.listen[0];

async function details(t: Test, host: string, locale: string): Promise<string> {
  const base = `http://${listen.host}:${listen.port}`;
  const url = `${await hostProxy(t, base, host)}/`;
  const {
    page: p,
    blocked,
    errors,
  } = await openContext(t, { locale, viewport: { width: 390, height: 844 } });
  const res = await p.goto(url);
  t.equal(res?.status(), 403, `${host}: the block page`);
  const text = await p.locator('dl').innerText();
  t.same(blocked, [], 'loopback only');
  t.same(errors, []);
  return text;
}

const cases = [
  {
    host: 'www.denied-here.example',
    id: 'venue-deny',
    sq: 'E bllokuar nga ky rrjet',
    en: 'Blocked by this network',
  },
  {
    host: 'search-without-safe-mode.example',
    id: 'nosafesearch',
    sq: 'Kërkim pa filtër sigurie (SafeSearch)',
    en: 'Search without a safe mode (SafeSearch)',
  },
  {
    host: 'homework-answers.example',
    id: 'school-ban',
    sq: 'Ndaluar nga shkolla',
    en: 'Not allowed by the school',
  },
];

for (const c of cases) {
  t.test(`${c.id}: a display name in sq and en, never the internal id`, BROWSER_TEST, async (t) => {
    const sq = await details(t, c.host, 'sq-AL');
    t.match(sq, c.sq);
    t.notMatch(sq, c.id);
    const en = await details(t, c.host, 'en-GB');
    t.match(en, c.en);
    t.notMatch(en, c.id);
    t.match(en, 'Biblioteka', 'the venue');
  });
}

t.test('every category has a display name: built-in, the config, or a readable form', async (t) => {
  t.same(categoryDisplayName('adult'), { sq: 'Përmbajtje për të rritur', en: 'Adult content' });
  t.same(
    categoryDisplayName('adult', { adult: { sq: 'A', en: 'B' } }),
    { sq: 'A', en: 'B' },
    'the config wins',
  );
  t.same(categoryDisplayName('my-own_list'), { sq: 'My own list', en: 'My own list' });
  t.equal(readableId('--'), '?');
});
