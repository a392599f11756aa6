/**
 * The console's lists page over a real roje: a list file of 200 names is cut to 10 (an editor that
 * saved half a file, a colleague who "cleaned it up"), an operator presses "Refresh lists now" and the
 * page shows the file held back with both counts and why. Rejected by keyboard (two presses: a confirm
 * step), the 200 names stay in force, as dig shows; cut again and accepted with two clicks, the 10 are
 * the list and a removed name resolves. An auditor sees the same page without a button. The abuse feed
 * shows counts only. ROJE_UPDATE_SCREENSHOTS=1 writes docs/console-lists.png and -phone.png.
 */
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import t from 'tap';
import { hashToken } from '../../src/admin/auth.js';
import { adminClient } from '../helpers/admin-client.js';
import { BROWSER_TEST, openContext } from '../helpers/browser.js';
import { ABUSE_CANARY_FILE, ABUSE_CANARY_SECRETS } from '../helpers/canaries.js';
import { screenshot } from '../helpers/console.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { pngInfo } from '../helpers/png.js';
import { sleep, startRoje, udpUrl } from '../helpers/roje.js';

const OPERATOR = 'roje_lists-browser-operator';
const AUDITOR = 'roje_lists-browser-auditor';

const names = (count: number) =>
  `${Array.from({ length: count }, (_, i) => `site${i}.adult.example`).join('\n')}\n`;
const dir = t.testdir({ 'adult.txt': names(200), 'ads.txt': '! ads\n||tracker.example^\n' });
const file = join(dir, 'adult.txt');
// A feed on loopback: it serves a list until the test makes it fail (503).
let feedBody: string | null = '# gambling feed\ncasino.example\nbet.example\n';
const feedServer = createServer((_req, res) => {
  if (feedBody === null) res.writeHead(503).end('down for maintenance');
  else res.writeHead(200, { 'content-type': 'text/plain' }).end(feedBody);
});
await new Promise<void>((resolve) => feedServer.listen(0, '127.0.0.1', resolve));
t.teardown(() => new Promise<void>((resolve) => feedServer.close(() => resolve())));
const feedUrl = `http://127.0.0.1:${(feedServer.address() as AddressInfo).port}/gambling.txt`;

const fake = await startFakeUpstream({ apexes: ['example', 'adult.example'] });
t.teardown(() => fake.close());
fake.zone.set('site50.adult.example', 'A', [{ data: '198.51.100.50', ttl: 1 }]);

const roje = await startRoje({
  upstreams: [udpUrl(fake)],
  stateDir: join(dir, 'state'),
  lists: [
    { category: 'adult', name: 'adult-file', path: file },
    { category: 'ads', name: 'ads-file', path: join(dir, 'ads.txt') },
    { category: 'gambling', name: 'gambling-feed', url: feedUrl, timeout: '2s' },
    { category: 'abuse', name: 'iwf-sample', path: ABUSE_CANARY_FILE },
  ],
  policies: { default: { block: 'all', blockMode: 'nxdomain' } },
  timeZone: 'Europe/Tirane',
  admin: {
    listen: '127.0.0.1:0',
    tokens: [
      { name: 'ops', role: 'operator', sha256: hashToken(OPERATOR) },
      { name: 'viewer', role: 'auditor', sha256: hashToken(AUDITOR) },
    ],
  },
});
t.teardown(() => roje.stop());
const base = `http://${roje.app.opsAddresses().admin}`;
const api = adminClient(roje, OPERATOR);

/** The feed's first copy (fetched 0-1 s after start): until then roje does not serve. */
async function feedReady(): Promise<boolean> {
  const feeds = (await api.get('/api/v1/status')).json.feeds as Array<{ good: unknown }>;
  return feeds[0]?.good != null;
}
for (let i = 0; i < 100 && !(await feedReady()); i++) await sleep(100);
if (!(await feedReady())) throw new Error('the loopback feed was never fetched');

/** Blocked by the lists: NXDOMAIN with EDE 15 (the fake upstream's own NXDOMAIN has none). */
async function blocked(name: string): Promise<boolean> {
  const r = await roje.dig([name, 'A']);
  return r.status === 'NXDOMAIN' && r.ede.some((e) => e.code === 15);
}

/** Signs in at /console/#/lists and waits for its sources (locators only: the CSP refuses eval). */
async function openLists(page: Page, token: string): Promise<void> {
  await page.goto(`${base}/console/#/lists`);
  await page.locator('#token').fill(token);
  await page.locator('#login button[type=submit]').click();
  await page.locator('#lists-sources article').first().waitFor();
}

const item = (page: Page, name: string) => page.locator(`#lists-sources article[data-source="${name}"]`);

t.test('on a phone in Albanian: refresh, a held file, rejected by keyboard', BROWSER_TEST, async (t) => {
  const {
    page,
    blocked: left,
    errors,
  } = await openContext(t, {
    locale: 'sq-AL',
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 1,
  });
  await openLists(page, OPERATOR);
  t.equal(await page.locator('#page h2').innerText(), 'Listat e bllokimit');
  t.same(
    await page
      .locator('#lists-sources article')
      .evaluateAll((a) => a.map((e) => e.getAttribute('data-health'))),
    ['ok', 'ok', 'ok', 'ok'],
    'every source healthy',
  );
  t.match(
    await item(page, 'adult-file').innerText(),
    /Përmbajtje për të rritur[\s\S]*skedar në këtë server[\s\S]*200/,
  );
  t.match(
    await page.locator('#lists-warnings').innerText(),
    /Mesazh nga roje \(në anglisht\): /,
    "roje's own warning, labelled",
  );

  // Cut to 10 names, then the operator's button: the file is held, the 200 stay.
  writeFileSync(file, names(10));
  await page.getByRole('button', { name: 'Rifresko listat tani' }).click();
  await page.locator('#status.ok', { hasText: 'Listat u rifreskuan.' }).waitFor();
  await item(page, 'adult-file').locator('.held').waitFor();
  const adult = await item(page, 'adult-file').innerText();
  t.match(adult, /E mbajtur mënjanë/, 'the badge says held');
  t.match(
    adult,
    /Në fuqi: 200 rreshta\. Kopja e mbajtur: 10 rreshta\. Pse: kopja e re humbi 95 % të rreshtave\./,
  );
  t.match(
    await page.locator('#lists-warnings').innerText(),
    /adult-file: një kopje e re është mbajtur mënjanë/,
  );
  t.ok(await blocked('site50.adult.example'), 'held: the 200 names still in force');

  const width = await page.evaluate<number>('document.documentElement.scrollWidth');
  t.ok(width <= 390, `no page-level horizontal scroll (scrollWidth ${width})`);
  const phone = await screenshot(t, page, 'console-lists-phone.png', true);
  t.equal(pngInfo(phone).width, 390, 'a 390 px screenshot');

  // The keyboard: Tab reaches refresh, accept and reject; reject takes two presses.
  await page.locator('body').focus();
  const reached: string[] = [];
  for (let i = 0; i < 30 && !reached.includes('Mbaj listën aktuale (refuzo)'); i++) {
    await page.keyboard.press('Tab');
    reached.push(
      await page.evaluate<string>('document.activeElement.id || document.activeElement.textContent'),
    );
  }
  for (const control of ['lists-refresh', 'Prano kopjen e mbajtur', 'Mbaj listën aktuale (refuzo)']) {
    t.ok(reached.includes(control), `Tab reaches ${control}`);
  }
  await page.keyboard.press('Enter');
  t.equal(
    await page.evaluate('document.activeElement.textContent'),
    'Klikoni sërish për ta refuzuar',
    'the first press asks to confirm',
  );
  t.ok(await item(page, 'adult-file').locator('.held').isVisible(), 'nothing done yet');
  await page.keyboard.press('Enter');
  await page.locator('#status.ok', { hasText: 'u hodh poshtë' }).waitFor();
  await item(page, 'adult-file').locator('.held').waitFor({ state: 'detached' });
  t.equal(await item(page, 'adult-file').getAttribute('data-health'), 'ok');
  t.equal(
    await page.evaluate('document.activeElement.tagName'),
    'H2',
    'focus back on the heading after the redraw',
  );
  t.ok(await blocked('site50.adult.example'), 'rejected: the old list stays in force');
  t.same(errors, [], 'no console or page error (a CSP violation would be one)');
  t.same(left, [], 'nothing but loopback was requested');
});

t.test('an auditor sees the held copy, no button, and the abuse feed as counts', BROWSER_TEST, async (t) => {
  // Still cut to 10 names: the next refresh holds it again.
  const refreshed = await api.post('/api/v1/lists/refresh');
  t.equal(refreshed.status, 200, refreshed.text);
  const {
    page,
    blocked: left,
    errors,
  } = await openContext(t, {
    locale: 'en-GB',
    viewport: { width: 1200, height: 900 },
  });
  await openLists(page, AUDITOR);
  t.equal(await page.locator('#page h2').innerText(), 'Block lists');
  t.match(
    await item(page, 'adult-file').innerText(),
    /Held back[\s\S]*In force: 200 entries\. Held copy: 10 entries\. Why: the new copy lost 95 % of the entries\./,
  );
  t.equal(await page.locator('#page button').count(), 0, 'no action for an auditor');
  t.notMatch(await page.locator('#lists-warnings').innerText(), /Message from roje/, 'no label in English');
  const abuse = await item(page, 'iwf-sample').innerText();
  t.match(abuse, /Child sexual abuse[\s\S]*Entries\s+2[\s\S]*Page entries\s+2/, 'counts');
  t.match(abuse, /Confidential list: only its counts are shown\./);
  const html = await page.content();
  t.notOk(html.includes(ABUSE_CANARY_FILE), 'not even where the feed lies');
  for (const secret of ABUSE_CANARY_SECRETS) t.notOk(html.includes(secret), `no "${secret}"`);
  const png = await screenshot(t, page, 'console-lists.png');
  t.same([pngInfo(png).width, pngInfo(png).height], [1200, 900]);
  t.same(errors, []);
  t.same(left, []);
});

t.test(
  'an operator accepts the held copy with two clicks: the 10 names are the list',
  BROWSER_TEST,
  async (t) => {
    const {
      page,
      blocked: left,
      errors,
    } = await openContext(t, {
      locale: 'en-GB',
      viewport: { width: 1200, height: 900 },
    });
    await openLists(page, OPERATOR);
    const accept = item(page, 'adult-file').locator('button[data-verb="accept"]');
    t.equal(await accept.innerText(), 'Accept the held copy');
    await accept.click();
    t.equal(await accept.innerText(), 'Click again to accept', 'the first click asks to confirm');
    t.ok(await blocked('site50.adult.example'), 'nothing done yet');
    await accept.click();
    await page.locator('#status.ok', { hasText: 'The held copy of adult-file is now in force.' }).waitFor();
    await item(page, 'adult-file').locator('.held').waitFor({ state: 'detached' });
    t.match(await item(page, 'adult-file').innerText(), /Entries\s+10\b/, 'the page shows the new size');
    t.notOk(await blocked('site50.adult.example'), 'a removed name resolves');
    t.equal((await roje.dig(['site50.adult.example', 'A'])).answers[0]?.data, '198.51.100.50');
    t.ok(await blocked('site5.adult.example'), 'a kept name stays blocked');
    t.same(errors, []);
    t.same(left, []);
  },
);

t.test('a feed that fails: the page says so, with the error', BROWSER_TEST, async (t) => {
  feedBody = null;
  const refreshed = await api.post('/api/v1/lists/refresh', { sources: ['gambling-feed'] });
  t.equal(refreshed.status, 200, refreshed.text);
  const {
    page,
    blocked: left,
    errors,
  } = await openContext(t, {
    locale: 'en-GB',
    viewport: { width: 1200, height: 900 },
  });
  await openLists(page, AUDITOR);
  const feed = item(page, 'gambling-feed');
  t.equal(await feed.getAttribute('data-health'), 'failed');
  const text = await feed.innerText();
  t.match(text, /Failed[\s\S]*Gambling and betting[\s\S]*downloaded \(feed\)[\s\S]*Entries\s+2\b/);
  t.match(text, /Last attempt\s+failed, /, 'the last attempt');
  t.match(text, /Error\s+\S/, 'and its error');
  t.match(text, /Next update\s+\d/, 'and the next try');
  t.ok(text.includes(feedUrl), 'where it comes from');
  t.ok(await blocked('casino.example'), 'the good copy stays in force');
  t.same(errors, []);
  t.same(left, []);
});
