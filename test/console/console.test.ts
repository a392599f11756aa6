/**
 * The console's shell and statistics page in a real browser: Debian's headless chromium, driven by
 * playwright-core, loads the console from roje's own admin server (real routes, real authentication),
 * whose statistics come from a real store seeded with a week of counts. stats-browser.test.ts drives it
 * over a whole roje; the other pages have their own *-browser tests.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import t from 'tap';
import { createAuditLog } from '../../src/admin/audit.js';
import { hashToken } from '../../src/admin/auth.js';
import { type AdminApi, createAdminServer } from '../../src/admin/server.js';
import { categoryDisplayName } from '../../src/blockpage/i18n.js';
import { CONSOLE_CSP, consoleAsset, consoleHtml } from '../../src/console/page.js';
import { CONSOLE_TEXT } from '../../src/console/text/index.js';
import type { Query } from '../../src/pipeline/types.js';
import { createStatsRecorder } from '../../src/stats/recorder.js';
import { openStatsStore, type StatsStore } from '../../src/stats/store.js';
import { BROWSER_TEST, openContext } from '../helpers/browser.js';
import { consoleDrawn } from '../helpers/console.js';
import { pngInfo } from '../helpers/png.js';

const TOKEN = 'viewer-token-123';
const HOUR = 3_600_000;

/** The JSON data block of a console page. */
function dataOf(html: string): { timeZone: string; categories: unknown; text: typeof CONSOLE_TEXT } {
  const m = /<script type="application\/json" id="console-config">(.*?)<\/script>/s.exec(html);
  if (m === null) throw new Error('no data block');
  return JSON.parse(m[1]);
}

t.test('the shell loads only its own files, and the CSP allows nothing else', async (t) => {
  const html = consoleHtml();
  t.notMatch(html, /\b(src|href)=["']?(https?:)?\/\//i, 'no external src or href');
  t.notMatch(html, /<script>|<style>|\sstyle=|\son[a-z]+=/i, 'no inline script, style or handler');
  t.match(html, /<script type="module" src="\/console\/assets\/app.js"><\/script>/);
  t.match(html, /<link rel="stylesheet" href="\/console\/assets\/console.css">/);
  t.match(CONSOLE_CSP, /default-src 'none'/);
  t.match(CONSOLE_CSP, /script-src 'self'(;|$)/);
  t.match(CONSOLE_CSP, /style-src 'self'(;|$)/);
  t.match(CONSOLE_CSP, /frame-ancestors 'none'/);
  for (const file of ['app.js', 'core.js', 'console.css', 'pages/stats.js', 'pages/reports.js']) {
    const asset = consoleAsset(file);
    t.ok(asset !== null && asset.body.length > 0, `${file} is served`);
    const body = asset?.body.toString('utf8') ?? '';
    t.notMatch(body, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/, `${file}: no other origin`);
    t.notMatch(
      body,
      /\beval\(|new Function|innerHTML|insertAdjacentHTML|document\.write/,
      `${file}: no HTML from strings`,
    );
  }
  t.equal(consoleAsset('../page.ts'), null, 'nothing outside assets/');
  t.equal(consoleAsset('pages/../../page.ts'), null);
  t.equal(consoleAsset('missing.js'), null);
});

t.test('every string in Albanian and English, and no internal category id in either', async (t) => {
  const { en, sq } = CONSOLE_TEXT;
  t.same(Object.keys(sq).sort(), Object.keys(en).sort(), 'the same keys in both languages');
  // The same in both languages on purpose: a name with a role or a time, a word both languages use.
  const sameOnPurpose = new Set([
    'console.signedInAs',
    'role.operator',
    'reports.reviewedBy',
    'lookup.byAt',
    'lists.when',
    'selftest.expect.safesearch',
  ]);
  const same = Object.keys(en).filter((k) => en[k] === sq[k] && !sameOnPurpose.has(k));
  t.same(same, [], 'every Albanian string is translated');
  for (const k of Object.keys(en)) {
    t.same(en[k].match(/\{\w+\}/g)?.sort(), sq[k].match(/\{\w+\}/g)?.sort(), `${k}: the same placeholders`);
  }
  const data = dataOf(consoleHtml());
  t.same(data.text, CONSOLE_TEXT, 'the page carries every string');
  const strings = [...Object.values(en), ...Object.values(sq)].join('\n');
  for (const id of ['venue-deny', 'nosafesearch', 'doh-bypass', 'self-harm']) {
    t.notOk(new RegExp(`\\b${id}\\b`).test(strings), `no "${id}" in the console's own text`);
  }
});

t.test('the zone and the category names travel in a data block that cannot end the script', async (t) => {
  const html = consoleHtml({
    timeZone: 'Europe/Tirane',
    categoryNames: { adult: { sq: 'Për të rritur', en: 'Adult </script><b>x' } },
  });
  const data = dataOf(html);
  t.same(
    { timeZone: data.timeZone, categories: data.categories },
    {
      timeZone: 'Europe/Tirane',
      categories: { adult: { sq: 'Për të rritur', en: 'Adult </script><b>x' } },
    },
  );
  t.equal(html.match(/<\/script>/g)?.length, 2, 'a name cannot close the block early');
  t.match(dataOf(consoleHtml()), { timeZone: 'UTC' }, 'UTC by default');
});

/**
 * roje's admin server with its real routes and authentication, its statistics from `store`; the rest of
 * the API is left out (nothing here asks for it). `calls` records each request with its Authorization.
 */
async function startApi(
  store: StatsStore,
): Promise<{ close: () => Promise<void>; base: string; calls: string[] }> {
  const calls: string[] = [];
  const logger = { info() {}, warn() {}, error() {} } as never;
  const api = {
    console: async () => consoleHtml({ categoryNames: NAMES }),
    statsSummary: (q) => store.summary(q),
    statsSeries: (q) => store.series(q),
    statsInstances: async () => ({
      kind: store.kind,
      instance: store.instance,
      instances: await store.instances(),
    }),
  } satisfies Partial<AdminApi>;
  const app = await createAdminServer({
    tokens: () => [{ name: 'viewer', role: 'auditor', sha256: hashToken(TOKEN) }],
    api: api as AdminApi,
    audit: createAuditLog({ path: null, logger }),
    logger,
  });
  app.addHook('onResponse', async (req) => {
    calls.push(
      `${req.url.split('?')[0]}${req.url.includes('token=') ? ' token=' : ''} ${req.headers.authorization ?? ''}`,
    );
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return { close: () => app.close(), base: address, calls };
}

const VENUES = ['Central Library', 'Café Tirana', 'Youth Centre'];
const CATEGORIES = ['adult', 'gambling', 'violence', 'abuse'];
// What the admin route hands the page: a display name per category the statistics can hold.
const NAMES = Object.fromEntries([...CATEGORIES, 'deny'].map((id) => [id, categoryDisplayName(id)]));
const ENGLISH = (id: string) => NAMES[id].en;

/** A week of hourly counts (busy by day, quiet by night) from a seeded generator, in a real store. */
async function seededStore(dir: string): Promise<StatsStore> {
  const end = Math.ceil(Date.now() / HOUR) * HOUR;
  const logger = { error() {}, warn() {}, info() {} } as never;
  let now = end - 7 * 24 * HOUR;
  const recorder = createStatsRecorder(
    { venues: () => VENUES, categories: () => CATEGORIES },
    { now: () => now },
  );
  t.teardown(() => recorder.close());
  const store = await openStatsStore(
    { path: join(dir, 'stats.db'), flushIntervalMs: 0 },
    { logger, drain: () => recorder.drain(), now: () => now },
  );
  t.teardown(() => store.close());
  let x = 12345;
  const rnd = () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
  const q = {} as Query;
  for (; now < end; now += HOUR) {
    recorder.tick();
    const h = new Date(now).getUTCHours();
    const busy = h >= 7 && h <= 20 ? 1 : 0.1;
    for (let v = -1; v < VENUES.length; v++) {
      const n = Math.round(rnd() * 10 * busy * (v + 2));
      for (let i = 0; i < n; i++) {
        const r = rnd();
        const bit = r < 0.45 ? 0 : r < 0.75 ? 1 : r < 0.95 ? 2 : 3;
        const block = { categories: rnd() < 0.05 ? 0 : 1 << bit, venue: v };
        recorder.onAnswer(q, { wire: Buffer.alloc(0), source: 'policy', rcode: 3, block });
      }
      for (let i = 0; i < n * 9; i++)
        recorder.onAnswer(q, { wire: Buffer.alloc(0), source: 'cache', rcode: 0 });
    }
    await store.flush();
  }
  return store;
}

// One store and API for the file; each browser test opens its own context (a fresh sessionStorage).
const store = await seededStore(t.testdir());
const { close, base, calls } = await startApi(store);
t.teardown(close);

const apiCalls = (from = 0) => calls.slice(from).filter((c) => c.startsWith('/api/'));
const number = (text: string) => Number(text.replace(/[^0-9]/g, ''));

/** Legend entries as [name, count]: "Central Library (1,234)". */
async function legend(page: Page, chart: string): Promise<[string, number][]> {
  const items = await page.locator(`#${chart} .legend li`).allInnerTexts();
  return items.map((item) => {
    const m = /^(.+) \(([0-9,]+)\)$/.exec(item.trim());
    return m === null ? [item, Number.NaN] : [m[1], number(m[2])];
  });
}

/** The chart's data table: its column heads and its rows of numbers (after the bucket label). */
async function table(page: Page, chart: string): Promise<{ head: string[]; rows: number[][] }> {
  // textContent, not innerText: the table sits in a closed <details>, so it is not rendered.
  const head = await page.locator(`#${chart} thead th`).allTextContents();
  const rows = await page.evaluate<number[][]>(
    `[...document.querySelectorAll('#${chart} tbody tr')].map((tr) =>
      [...tr.querySelectorAll('td')].map((td) => Number(td.textContent.replace(/[^0-9]/g, ''))))`,
  );
  return { head, rows };
}

async function signIn(page: Page, token: string): Promise<void> {
  await page.goto(`${base}/console/`);
  const field = page.getByLabel('API token');
  await field.pressSequentially(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

t.test('sign in with the token form: charts, legends and data tables', BROWSER_TEST, async (t) => {
  const { page, blocked, errors } = await openContext(t, {
    locale: 'en-GB',
    viewport: { width: 1200, height: 900 },
  });
  const before = calls.length;
  await page.goto(`${base}/console/`);
  t.ok(await page.locator('#login').isVisible(), 'the sign-in form first');
  t.equal(apiCalls(before).length, 0, 'and no API call without a token');
  await signIn(page, TOKEN);
  await page.locator('#status', { hasText: 'Updated' }).waitFor();

  t.ok(
    calls.some((c) => c.startsWith('/api/v1/stats/series') && c.endsWith(`Bearer ${TOKEN}`)),
    'the page called the API with the token typed in',
  );
  t.notOk(
    calls.some((c) => c.includes('token=')),
    'the token never went to the server in a URL',
  );
  t.equal(await page.getByLabel('API token').inputValue(), '', 'the field is cleared');
  t.ok(await page.locator('#login').isHidden(), 'the form is gone');
  t.equal(
    await page.evaluate<string | null>("sessionStorage.getItem('roje.console.token')"),
    TOKEN,
    'kept for the tab only',
  );

  t.equal(await page.locator('svg[role="img"]').count(), 2, 'two charts: per venue and per category');
  t.equal(await page.locator('#by-venue-t').textContent(), 'Blocked queries per venue');
  t.match(await page.locator('#by-category-d').textContent(), /^Stacked bars, one per hour/);
  const bars = await page.locator('rect.bar').count();
  t.ok(bars > 100, `stacked bars drawn (${bars})`);

  const venues = await legend(page, 'by-venue');
  t.same(
    venues.map(([name]) => name).sort(),
    [...VENUES, 'clients of no venue'].sort(),
    'legend: every venue',
  );
  const categories = await legend(page, 'by-category');
  t.same(
    categories.map(([name]) => name).sort(),
    [...CATEGORIES, 'deny'].map(ENGLISH).sort(),
    'legend: every category by its display name, the operator deny list too',
  );
  const blocked7d = number(
    await page.locator('.card', { hasText: 'Blocked' }).first().locator('.n').innerText(),
  );
  const sum = (entries: [string, number][]) => entries.reduce((a, [, n]) => a + n, 0);
  t.ok(blocked7d > 0, `blocks counted (${blocked7d})`);
  t.equal(sum(venues), blocked7d, 'the venue legend adds up to the Blocked card');
  t.equal(sum(categories), blocked7d, 'and so does the category legend');

  const { head, rows } = await table(page, 'by-venue');
  t.same(
    head,
    ['Hour (UTC)', ...venues.map(([name]) => name), 'Total'],
    'a column per venue, in legend order, between the hour and the total',
  );
  t.equal(rows.length, 7 * 24, 'a row per hour of the week');
  t.ok(
    rows.every((r) => r.at(-1) === r.slice(0, -1).reduce((a, n) => a + n, 0)),
    'each row total is the sum of its cells',
  );
  t.equal(
    rows.reduce((a, r) => a + r.at(-1)!, 0),
    blocked7d,
    'the table holds every block',
  );
  const byCategory = await table(page, 'by-category');
  t.same(byCategory.head, ['Hour (UTC)', ...categories.map(([name]) => name), 'Total']);
  t.same(
    byCategory.rows.map((r) => r.at(-1)),
    rows.map((r) => r.at(-1)),
    'the category table has the same hourly totals',
  );
  t.match(
    await page.locator('.card', { hasText: 'Queries' }).first().innerText(),
    /Queries/,
    'summary cards',
  );
  t.notOk(await page.locator('#status.error').count(), 'no error shown');

  const png = await page.screenshot({
    // docs/console-stats.png comes from stats-browser.test.ts, over a real roje.
    path: join(t.testdir(), 'console-stats.png'),
    animations: 'disabled',
  });
  const info = pngInfo(png);
  t.same([info.width, info.height], [1200, 900], 'a viewport screenshot');
  t.same(info.topLeft, [0x0b, 0x5c, 0xad], 'the header colour: the stylesheet passed the CSP');
  t.same(errors, [], 'no console or page error (a CSP violation would be one)');
  t.same(blocked, [], 'nothing but loopback was requested');
});

t.test('a refused token shows the error and brings the form back', BROWSER_TEST, async (t) => {
  const { page, blocked } = await openContext(t, { locale: 'en-GB' });
  await signIn(page, 'wrong');
  const status = page.locator('#status.error');
  await status.waitFor();
  t.equal(await status.innerText(), 'The API token was refused. Enter a valid one.');
  t.ok(await page.locator('#login').isVisible(), 'sign-in form shown');
  t.ok(await page.locator('#nav').isHidden(), 'no page list');
  t.equal(await page.locator('svg').count(), 0, 'no chart without a valid token');
  t.equal(
    await page.evaluate<string | null>("sessionStorage.getItem('roje.console.token')"),
    null,
    'the refused token is forgotten',
  );
  t.ok(
    calls.some((c) => c.endsWith('Bearer wrong')),
    'the API was asked, and said no',
  );
  t.same(blocked, []);
});

t.test('a token in the URL fragment signs in and leaves the address bar', BROWSER_TEST, async (t) => {
  const { page, blocked } = await openContext(t, { locale: 'en-GB' });
  await page.goto(`${base}/console/#token=${TOKEN}`);
  await consoleDrawn(page, 'stats');
  await page.locator('#status', { hasText: 'Updated' }).waitFor();
  t.equal(await page.locator('svg[role="img"]').count(), 2, 'charts drawn');
  t.equal(page.url(), `${base}/console/`, 'the fragment was removed from history');
  t.notOk(
    calls.some((c) => c.includes('token=')),
    'the token never went to the server in a URL',
  );
  t.same(blocked, []);
});
