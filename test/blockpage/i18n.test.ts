import t from 'tap';
import { categoryName, negotiateLang } from '../../src/blockpage/i18n.js';

t.test('negotiateLang', async (t) => {
  t.equal(negotiateLang(undefined, undefined, 'sq'), 'sq');
  t.equal(negotiateLang(undefined, 'en-US,en;q=0.9', 'sq'), 'en');
  t.equal(negotiateLang(undefined, 'de, en;q=0.3, sq;q=0.4', 'en'), 'sq', 'highest q wins');
  t.equal(negotiateLang(undefined, 'en;q=0.5, sq;q=0.5', 'sq'), 'en', 'a tie goes to the first listed');
  t.equal(negotiateLang(undefined, 'sq;q=0, en;q=0.1', 'sq'), 'en', 'q=0 means not acceptable');
  t.equal(negotiateLang(undefined, '*', 'en'), 'en');
  t.equal(negotiateLang(undefined, 'en;q=abc', 'sq'), 'sq', 'a broken q is ignored');
  t.equal(negotiateLang('en', 'sq', 'sq'), 'en', 'the query wins');
  t.equal(negotiateLang('xx', 'en', 'sq'), 'en', 'an unknown query is ignored');
  t.equal(negotiateLang(undefined, `${'de,'.repeat(400)}en`, 'sq'), 'sq', 'an oversized header is not read');
});

t.test('categoryName', async (t) => {
  t.equal(categoryName('gambling', 'en'), 'Gambling and betting');
  t.equal(categoryName('doh-bypass', 'sq'), 'Anashkalim i filtrit (DNS i koduar, VPN, proxy)');
  t.equal(categoryName('my-list', 'en'), 'My list', 'no display name: readable, never the raw id');
  t.equal(categoryName('constructor', 'en'), 'Constructor', 'no prototype lookups');
  t.equal(categoryName('venue-deny', 'sq'), 'E bllokuar nga ky rrjet');
  t.equal(categoryName('my-list', 'sq', { 'my-list': { sq: 'Lista ime', en: 'My own' } }), 'Lista ime');
});
