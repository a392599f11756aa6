/**
 * The console of a city (issue #19): two roje instances (a, b) on one real PostgreSQL, blocked names
 * asked at each. Debian's chromium opens instance a's console: the statistics page offers "whole city"
 * and each instance, shows the city's blocks by default and one instance's when chosen; the
 * transparency page offers the same choice. With the embedded SQLite store there is no chooser.
 */
import { join } from 'node:path';
import t from 'tap';
import { hashToken } from '../../src/admin/auth.js';
import { adminClient } from '../helpers/admin-client.js';
import { BROWSER_TEST, openContext } from '../helpers/browser.js';
import { summaryOf } from '../helpers/city.js';
import { consoleDrawn, openConsole } from '../helpers/console.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { postgresProblem, startPostgres } from '../helpers/postgres.js';
import { startRoje, udpUrl } from '../helpers/roje.js';

const TOKEN = 'roje_city-browser-token';
if (postgresProblem() !== null) throw new Error(postgresProblem() as string);
const pg = await startPostgres();
t.teardown(() => pg.stop());
const fake = await startFakeUpstream({ apexes: ['example.test'] });
t.teardown(() => fake.close());
const dir = t.testdir({ 'adult.txt': 'porn.example\n' });

const instance = (name: string, store: Record<string, unknown> | null) =>
  startRoje({
    upstreams: [udpUrl(fake)],
    lists: [{ category: 'adult', path: join(dir, 'adult.txt') }],
    policies: { default: { block: 'all' } },
    venues: [{ name: 'biblioteka', networks: ['127.0.0.3/32'], policy: 'default' }],
    stateDir: join(dir, `state-${name}`),
    stats: { flushInterval: '1s' },
    ...(store === null ? {} : { store }),
    admin: { listen: '127.0.0.1:0', tokens: [{ name: 'viewer', role: 'auditor', sha256: hashToken(TOKEN) }] },
  });
const a = await instance('a', { url: pg.url, instance: 'a' });
t.teardown(() => a.stop());
const b = await instance('b', { url: pg.url, instance: 'b' });
t.teardown(() => b.stop());
// Blocked at a twice, at b three times.
for (const [roje, times] of [
  [a, 2],
  [b, 3],
] as const) {
  for (let i = 0; i < times; i++) await roje.dig(['-b', '127.0.0.3', `x${i}.porn.example`, 'A']);
}
const city = await summaryOf(adminClient(a, TOKEN), {}, (s) => s.blocked === 5);
if (city.blocked !== 5) throw new Error(`the city's blocks were not counted: ${city.blocked}`);

/** The number on the page's "Blocked" card. */
const blockedCard = async (page: import('playwright-core').Page) =>
  Number((await page.locator('#cards .card').first().locator('.n').innerText()).replace(/\D/g, ''));

t.test('whole city or one instance, on statistics and transparency', BROWSER_TEST, async (t) => {
  const { page, errors, blocked } = await openContext(t, { locale: 'en-GB' });
  await openConsole(page, `http://${a.app.opsAddresses().admin}`, TOKEN, 'stats');
  const options = await page.locator('#instance option').allInnerTexts();
  t.same(options, ['Whole city (every instance)', 'a', 'b'], 'the chooser: the city, then each instance');
  t.equal(await blockedCard(page), 5, "the city's blocks by default");
  await page.locator('#instance').selectOption('b');
  await consoleDrawn(page, 'stats');
  await page.locator('#cards').waitFor();
  t.equal(await blockedCard(page), 3, "b's blocks when b is chosen");
  await page.locator('#instance').selectOption('');
  await consoleDrawn(page, 'stats');
  t.equal(await blockedCard(page), 5, 'the city again');

  await page.goto(`http://${a.app.opsAddresses().admin}/console/#/transparency`);
  await consoleDrawn(page, 'transparency');
  t.same(
    await page.locator('#instance option').allInnerTexts(),
    ['Whole city (every instance)', 'a', 'b'],
    'the transparency page offers the same choice',
  );
  await page.locator('#instance').selectOption('a');
  await consoleDrawn(page, 'transparency');
  t.equal(await page.locator('#instance').inputValue(), 'a', 'a chosen, the report drawn again');
  t.same(errors, [], 'no console or CSP error');
  t.same(blocked, [], 'no request off loopback');
});

t.test('one box (SQLite): no instance chooser', BROWSER_TEST, async (t) => {
  const box = await instance('box', null);
  t.teardown(() => box.stop());
  const { page, errors } = await openContext(t, { locale: 'en-GB' });
  await openConsole(page, `http://${box.app.opsAddresses().admin}`, TOKEN, 'stats');
  t.equal(await page.locator('#instance').count(), 0, 'nothing to choose on one box');
  t.same(errors, []);
});
