/**
 * The console's statistics page over a real roje: dig asks for blocked names from two venue addresses, the statistics
 * store counts them, and Debian's chromium loads /console/ from the admin listener, in Albanian first
 * (Accept-Language sq-AL), then in English after a click that survives a reload. The config says
 * timeZone: Europe/Tirane, so each hour label must be the UTC bucket's hour in Tirane, as Intl computes
 * it here. At 390 px the page never scrolls sideways and the switch and form are reached by Tab.
 * ROJE_UPDATE_SCREENSHOTS=1 writes docs/console-stats.png (desktop) and docs/console-stats-phone.png (390 px).
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import t from 'tap';
import { hashToken } from '../../src/admin/auth.js';
import { adminClient } from '../helpers/admin-client.js';
import { BROWSER_TEST, openContext } from '../helpers/browser.js';
import { consoleDrawn, screenshot } from '../helpers/console.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { pngInfo } from '../helpers/png.js';
import { startRoje, udpUrl, waitFor } from '../helpers/roje.js';

const TOKEN = 'roje_dashboard-browser-token';
const ZONE = 'Europe/Tirane';
const HOUR = 3_600_000;

const dir = t.testdir({
  'adult.txt': 'porn.example\nxxx.example\n',
  'gambling.txt': 'casino.example\n',
});
const fake = await startFakeUpstream({ apexes: ['example.test'] });
t.teardown(() => fake.close());

const roje = await startRoje({
  upstreams: [udpUrl(fake)],
  lists: [
    { category: 'adult', path: join(dir, 'adult.txt') },
    { category: 'gambling', path: join(dir, 'gambling.txt') },
  ],
  policies: { default: { block: 'all' } },
  venues: [
    { name: 'biblioteka', networks: ['127.0.0.3/32'], policy: 'default' },
    { name: 'sheshi', networks: ['127.0.0.4/32'], policy: 'default' },
  ],
  stateDir: join(dir, 'state'),
  stats: { flushInterval: '1s' },
  timeZone: ZONE,
  admin: { listen: '127.0.0.1:0', tokens: [{ name: 'viewer', role: 'auditor', sha256: hashToken(TOKEN) }] },
});
t.teardown(() => roje.stop());

const TRAFFIC: Array<[string, string]> = [
  ['127.0.0.3', 'a.porn.example'],
  ['127.0.0.3', 'casino.example'],
  ['127.0.0.3', 'b.xxx.example'],
  ['127.0.0.4', 'casino.example'],
  ['127.0.0.4', 'c.porn.example'],
];
for (const [client, name] of TRAFFIC) {
  const r = await roje.dig(['-b', client, name, 'A']);
  if (r.status !== 'NXDOMAIN') throw new Error(`${client} ${name}: ${r.status}, expected a block`);
}
const api = adminClient(roje, TOKEN);
const to = new Date(Math.ceil(Date.now() / HOUR) * HOUR + HOUR).toISOString();
const from = new Date(Date.parse(to) - 2 * 86_400_000).toISOString();
let counted = 0;
await waitFor(
  () => {
    void api.get(`/api/v1/stats/summary?from=${from}&to=${to}`).then((r) => {
      if (r.status === 200) counted = (JSON.parse(r.text) as { blocked: number }).blocked;
    });
    return counted >= TRAFFIC.length;
  },
  'the blocks counted in the statistics',
  10_000,
);
const base = `http://${roje.app.opsAddresses().admin}`;

/** The hour ("15:00") of a UTC instant in Tirane, computed here, independently of the page. */
function tiraneHour(iso: string): string {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: ZONE,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(iso));
  const get = (type: string) => parts.find((p) => p.type === type)?.value;
  return `${get('hour')}:${get('minute')}`;
}

/** Every x-axis label of a chart: its text and the UTC bucket it stands for. */
function hourLabels(page: Page, chart: string): Promise<Array<{ text: string; utc: string }>> {
  return page.evaluate(
    `[...document.querySelectorAll('#${chart} text.x-label')].map((e) => ({ text: e.textContent, utc: e.getAttribute('data-utc') }))`,
  );
}

const legend = (page: Page, chart: string) => page.locator(`#${chart} .legend li`).allInnerTexts();

t.test(
  'on a phone, in Albanian, hours in Tirane; English after a click, kept on reload',
  BROWSER_TEST,
  async (t) => {
    const { page, blocked, errors } = await openContext(t, {
      locale: 'sq-AL',
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 1,
    });
    // The old address leads to the console; a token in the fragment signs in and leaves the URL.
    await page.goto(`${base}/dashboard#token=${TOKEN}`);
    await consoleDrawn(page, 'stats');
    t.equal(new URL(page.url()).pathname, '/console/', '/dashboard leads to the console');
    t.notMatch(page.url(), /token/, 'the token left the address bar');
    await page.locator('#status', { hasText: 'Përditësuar' }).waitFor();
    t.equal(await page.evaluate('document.documentElement.lang'), 'sq', '<html lang="sq">');
    t.equal(await page.title(), 'Statistikat · Konsola roje');
    t.equal(await page.locator('h1').innerText(), 'Konsola roje');
    t.equal(await page.locator('#page h2').innerText(), 'Statistikat');
    t.match(await page.locator('#zone').innerText(), /Europe\/Tirane \(UTC\+[12]\)/, 'the zone is stated');
    t.match(await page.locator('#status').innerText(), /\(Europe\/Tirane\)/);
    t.equal(await page.locator('#by-category-t').textContent(), 'Bllokime sipas kategorisë');
    const sqCategories = await legend(page, 'by-category');
    t.same(
      sqCategories.map((l) => l.replace(/ \(.*\)$/, '')).sort(),
      ['Lojëra fati dhe baste', 'Përmbajtje për të rritur'],
      'categories by their Albanian display names',
    );
    t.notMatch(await page.locator('main').innerText(), /\badult\b|\bgambling\b/, 'no internal category id');
    t.equal(
      (await page.locator('#by-venue thead th').first().textContent()) ?? '',
      'Ora (Europe/Tirane)',
      'the table names the zone',
    );

    // Each hour label is the UTC bucket's hour in Tirane (UTC+1 in winter, UTC+2 in summer).
    const labels = await hourLabels(page, 'by-venue');
    t.ok(labels.length >= 6, `hour labels on the axis (${labels.length})`);
    const wrong = labels.filter((l) => !l.text.endsWith(` ${tiraneHour(l.utc)}`));
    t.same(wrong, [], 'every label in Tirane time');
    const utcHour = (iso: string) => `${String(new Date(iso).getUTCHours()).padStart(2, '0')}:00`;
    t.ok(
      labels.every((l) => !l.text.endsWith(` ${utcHour(l.utc)}`)),
      'and none in UTC (Tirane is never UTC+0)',
    );
    const rows = await page.locator('#by-venue tbody th').allTextContents();
    t.equal(rows.length, 7 * 24, 'a row per hour of the week');

    // A phone: the page never scrolls sideways; a chart scrolls inside its box.
    const widths = await page.evaluate<{ page: number; chart: number; box: number; scrolled: number }>(
      `({ page: document.documentElement.scrollWidth, chart: document.querySelector('#by-venue svg.chart-svg').getBoundingClientRect().width, box: document.querySelector('#by-venue .scroll').clientWidth, scrolled: document.querySelector('#by-venue .scroll').scrollLeft })`,
    );
    t.ok(widths.page <= 390, `no page-level horizontal scroll (scrollWidth ${widths.page})`);
    t.ok(
      widths.chart > widths.box,
      `the chart keeps a readable width and scrolls in its box (${widths.chart} > ${widths.box})`,
    );
    t.ok(widths.scrolled > 0, `scrolled to the latest hours (${widths.scrolled} px)`);
    // The y axis stays in view while the plot scrolls: its numbers are inside the phone's width.
    const axis = await page.evaluate<{ left: number; right: number; labels: number }>(
      `(() => { const r = document.querySelector('#by-venue svg.y-axis').getBoundingClientRect(); return { left: r.left, right: r.right, labels: document.querySelectorAll('#by-venue svg.y-axis text').length }; })()`,
    );
    t.ok(axis.left >= 0 && axis.right <= 390, `the y axis is on screen (${axis.left}-${axis.right} px)`);
    t.equal(axis.labels, 6, 'five values and the axis title');
    const phone = await screenshot(t, page, 'console-stats-phone.png', true);
    t.equal(pngInfo(phone).width, 390, 'a 390 px screenshot');

    // The keyboard: Tab reaches the language switch and every control, with a visible focus ring.
    await page.locator('body').focus();
    const reached: string[] = [];
    let ring = '';
    for (let i = 0; i < 16; i++) {
      await page.keyboard.press('Tab');
      const focused = await page.evaluate<{ id: string; outline: string }>(
        `(() => { const e = document.activeElement; return { id: e.id || e.value || e.textContent, outline: getComputedStyle(e).outlineStyle + ' ' + getComputedStyle(e).outlineWidth }; })()`,
      );
      reached.push(focused.id);
      if (focused.id === 'range') ring = focused.outline;
    }
    for (const id of ['sq', 'en', 'range', 'venue', 'sign-out'])
      t.ok(reached.includes(id), `Tab reaches ${id}`);
    t.equal(ring, 'solid 3px', 'a visible focus ring');

    // The switch: English, remembered across a reload.
    await page.getByRole('button', { name: 'EN' }).click();
    t.equal(await page.evaluate('document.documentElement.lang'), 'en', '<html lang="en">');
    t.equal(await page.locator('h1').innerText(), 'roje console');
    t.equal(await page.locator('#page h2').innerText(), 'Statistics');
    t.equal(await page.getByRole('button', { name: 'EN' }).getAttribute('aria-pressed'), 'true');
    t.match(await page.locator('#status').innerText(), /^Updated /, 'the status line in English');
    t.same(
      (await legend(page, 'by-category')).map((l) => l.replace(/ \(.*\)$/, '')).sort(),
      ['Adult content', 'Gambling and betting'],
      'categories by their English display names',
    );
    await page.reload();
    await page.locator('#status', { hasText: 'Updated' }).waitFor();
    t.equal(await page.evaluate('document.documentElement.lang'), 'en', 'still English after a reload');
    t.equal(await page.locator('#by-venue-t').textContent(), 'Blocked queries per venue');
    t.equal((await page.locator('#by-venue thead th').first().textContent()) ?? '', 'Hour (Europe/Tirane)');
    const after = await hourLabels(page, 'by-venue');
    t.same(
      after.filter((l) => !l.text.endsWith(` ${tiraneHour(l.utc)}`)),
      [],
      'hours still in Tirane time',
    );
    t.same(errors, [], 'no console or page error (a CSP violation would be one)');
    t.same(blocked, [], 'nothing but loopback was requested');
  },
);

t.test('on a desktop, in English from the browser', BROWSER_TEST, async (t) => {
  const { page, blocked, errors } = await openContext(t, {
    locale: 'en-GB',
    viewport: { width: 1200, height: 900 },
  });
  await page.goto(`${base}/console/`);
  t.equal(await page.evaluate('document.documentElement.lang'), 'en');
  await page.getByLabel('API token').pressSequentially(TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#status', { hasText: 'Updated' }).waitFor();
  t.same(
    await page.locator('nav a').allInnerTexts(),
    ['Statistics', 'Reports', 'Allow and deny', 'Why blocked?', 'Lists', 'Self-tests', 'Transparency'],
    'every page an auditor may read',
  );
  t.same((await legend(page, 'by-venue')).map((l) => l.replace(/ \(.*\)$/, '')).sort(), [
    'biblioteka',
    'sheshi',
  ]);
  t.ok((await page.evaluate<number>('document.documentElement.scrollWidth')) <= 1200, 'no horizontal scroll');
  const png = await screenshot(t, page, 'console-stats.png');
  const info = pngInfo(png);
  t.same([info.width, info.height], [1200, 900]);
  t.same(info.topLeft, [0x0b, 0x5c, 0xad], 'the header colour: the stylesheet passed the CSP');
  t.same(errors, []);
  t.same(blocked, []);
});
