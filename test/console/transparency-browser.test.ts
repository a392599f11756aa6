/**
 * The console's transparency page over a real roje (timeZone: Europe/Tirane): dig asks for blocked
 * names from two venue addresses, a self-test runs, the statistics store counts it all, and the page
 * shows this month's report with the numbers of the API's JSON for the same month (and, narrowed to a
 * venue, for that venue). The three downloads are the API's report as HTML, CSV and JSON under
 * roje-transparency-<month>[-<venue>].<ext>. Albanian on a 390 px phone, by keyboard.
 * ROJE_UPDATE_SCREENSHOTS=1 writes docs/console-transparency.png and docs/console-transparency-phone.png.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import t from 'tap';
import { hashToken } from '../../src/admin/auth.js';
import { adminClient } from '../helpers/admin-client.js';
import { BROWSER_TEST, openContext } from '../helpers/browser.js';
import { ABUSE_CANARY_FILE, ABUSE_CANARY_LABELS } from '../helpers/canaries.js';
import { consoleDrawn, openConsole, screenshot, tabStops } from '../helpers/console.js';
import { pngInfo } from '../helpers/png.js';
import { sleep, startRoje, udpUrl } from '../helpers/roje.js';
import { startSelfTestUpstream } from '../helpers/selftest-upstream.js';

const AUDITOR = 'roje_console-transparency-auditor';
const OPERATOR = 'roje_console-transparency-operator';
const ZONE = 'Europe/Tirane';

interface Report {
  period: { month: string; timeZone: string };
  site: string | null;
  queries: { total: number; blocked: number };
  blocked: {
    venues: Array<{ venue: string; queries: number; blocked: number }>;
    byCategory: Array<{ category: string; count: number }>;
  };
  selfTests: { runs: number; passes: number };
  appeals: { received: number };
  generatedAt: string;
  uptime: unknown;
}

const dir = t.testdir({
  'adult.txt': 'porn.example\nxxx.example\npornhub.com\nxvideos.com\nxnxx.com\nxhamster.com\n',
  'gambling.txt': 'casino.example\n',
  'doh.txt': 'dns.google\ncloudflare-dns.com\n',
});
const fake = await startSelfTestUpstream();
t.teardown(() => fake.close());
const roje = await startRoje({
  upstreams: [udpUrl(fake)],
  lists: [
    { category: 'adult', path: join(dir, 'adult.txt') },
    { category: 'gambling', path: join(dir, 'gambling.txt') },
    // What the self-test's suite also expects blocked; the abuse category shows as a count only.
    { category: 'doh-bypass', path: join(dir, 'doh.txt') },
    { category: 'abuse', path: ABUSE_CANARY_FILE, name: 'iwf-sample' },
  ],
  policies: { default: { block: 'all' } },
  venues: [
    { name: 'biblioteka', networks: ['127.0.0.3/32'], policy: 'default' },
    { name: 'sheshi', networks: ['127.0.0.4/32'], policy: 'default' },
  ],
  stateDir: join(dir, 'state'),
  stats: { flushInterval: '1s' },
  // One run, asked for below, so that the counts hold still once it is counted.
  selfTest: { enabled: true, afterSwap: false },
  timeZone: ZONE,
  admin: {
    listen: '127.0.0.1:0',
    tokens: [
      { name: 'viewer', role: 'auditor', sha256: hashToken(AUDITOR) },
      { name: 'ops', role: 'operator', sha256: hashToken(OPERATOR) },
    ],
  },
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
const api = adminClient(roje, AUDITOR);
const selfTest = await adminClient(roje, OPERATOR).post('/api/v1/selftest/run');
if (selfTest.status !== 200) throw new Error(`self-test: ${selfTest.text}`);

/** This month in Tirane, computed here: "2026-12". */
const MONTH = (() => {
  const p = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone: ZONE, year: 'numeric', month: '2-digit' })
      .formatToParts(new Date())
      .map((x) => [x.type, x.value]),
  );
  return `${p.year}-${p.month}`;
})();

async function report(site?: string, format = 'json'): Promise<string> {
  const r = await api.get(
    `/api/v1/reports/transparency?month=${MONTH}&format=${format}${site ? `&site=${site}` : ''}`,
  );
  if (r.status !== 200) throw new Error(`transparency report: ${r.status} ${r.text}`);
  return r.text;
}
const json = async (site?: string) => JSON.parse(await report(site)) as Report;

// Until the store has counted the venues' blocks and the self-test, and two reads a flush apart agree.
const counted = (r: Report) => {
  const at = (v: string) => r.blocked.venues.find((x) => x.venue === v)?.blocked ?? 0;
  return at('biblioteka') >= 3 && at('sheshi') >= 2 && r.selfTests.runs >= 1;
};
const sums = (r: Report) => [r.queries.total, r.queries.blocked, r.selfTests.runs].join(' ');
let previous = '';
for (let i = 0; ; i++) {
  if (i >= 15) throw new Error('the statistics store never counted the traffic and the self-test');
  const r = await json();
  if (counted(r) && sums(r) === previous) break;
  previous = counted(r) ? sums(r) : '';
  await sleep(1200);
}
const base = `http://${roje.app.opsAddresses().admin}`;

/** The report without what changes from one generation to the next. */
function stable(r: Report): Omit<Report, 'generatedAt' | 'uptime'> {
  const { generatedAt: _g, uptime: _u, ...rest } = r;
  return rest;
}

/** The display names of the categories here (src/blockpage/i18n.ts), English and Albanian. */
const NAMES: Record<string, { en: string; sq: string }> = {
  adult: { en: 'Adult content', sq: 'Përmbajtje për të rritur' },
  gambling: { en: 'Gambling and betting', sq: 'Lojëra fati dhe baste' },
  abuse: { en: 'Child sexual abuse', sq: 'Abuzim seksual me fëmijë' },
  'doh-bypass': {
    en: 'Filter bypass (encrypted DNS, VPN, proxy)',
    sq: 'Anashkalim i filtrit (DNS i koduar, VPN, proxy)',
  },
};
const displayName = (id: string, lang: 'en' | 'sq') => NAMES[id]?.[lang] ?? `(no name for ${id})`;

const digits = (s: string) => Number(s.replace(/[^\d]/g, ''));
const card = async (page: Page, id: string) => digits(await page.locator(`#${id} .n`).innerText());
/** A table's rows: first cell, second cell as a number. */
const rowCounts = (page: Page, id: string) =>
  page
    .locator(`#${id} tbody tr`)
    .evaluateAll((trs) => trs.map((tr) => [tr.children[0]?.textContent, tr.children[1]?.textContent]));

/** The values of a select's options, in order. */
const optionValues = (page: Page, id: string) =>
  page.evaluate<string[]>(`[...document.querySelectorAll('#${id} option')].map((o) => o.value)`);

async function saved(page: Page, selector: string): Promise<{ name: string; text: string }> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator(selector).click()]);
  return { name: download.suggestedFilename(), text: readFileSync(await download.path(), 'utf8') };
}

t.test(
  "this month, then one venue: the API's numbers, and its report in three files",
  BROWSER_TEST,
  async (t) => {
    const { page, blocked, errors } = await openContext(t, {
      locale: 'en-GB',
      viewport: { width: 1200, height: 900 },
      acceptDownloads: true,
    });
    await openConsole(page, base, AUDITOR, 'transparency');
    t.equal(await page.locator('#page h2').innerText(), 'Transparency');
    const months = await optionValues(page, 'month');
    t.equal(months.length, 12, 'the last 12 months');
    t.equal(months[0], MONTH, 'newest first');
    t.equal(await page.locator('#month').inputValue(), MONTH, 'this month (in Tirane) by default');
    t.match(
      await page.locator('#period').innerText(),
      /in the Europe\/Tirane time zone/,
      'the zone is named',
    );
    t.same(await optionValues(page, 'site'), ['', 'biblioteka', 'sheshi'], 'all venues or one');

    const all = await json();
    t.equal(await card(page, 'card-queries'), all.queries.total, 'queries as the API counts them');
    t.equal(await card(page, 'card-blocked'), all.queries.blocked, 'blocked as the API counts them');
    t.ok(all.queries.blocked >= TRAFFIC.length, `the traffic is in the report (${all.queries.blocked})`);
    t.equal(
      await page.locator('#card-selftests .n').innerText(),
      `${all.selfTests.passes} / ${all.selfTests.runs}`,
    );
    t.same(
      await rowCounts(page, 'by-category'),
      all.blocked.byCategory.map((c) => [displayName(c.category, 'en'), String(c.count)]),
      'blocks per category by display name',
    );
    t.same(
      await rowCounts(page, 'by-venue'),
      all.blocked.venues.map((v) => [
        v.venue === '(none)' ? 'clients of no venue' : v.venue,
        v.queries.toLocaleString('en-GB'),
      ]),
    );
    const main = await page.locator('main').innerText();
    t.notMatch(main, /\badult\b|\bgambling\b|\bdoh-bypass\b|porn|casino/, 'no category id, no name');
    t.ok(
      all.blocked.byCategory.some((c) => c.category === 'abuse'),
      'the abuse canary was blocked',
    );
    for (const label of ABUSE_CANARY_LABELS) t.notOk(main.includes(label), `no abuse entry (${label})`);
    const png = await screenshot(t, page, 'console-transparency.png');
    t.same([pngInfo(png).width, pngInfo(png).height], [1200, 900]);

    // The downloads: the API's report for the same month.
    const csv = await saved(page, '#download-csv');
    t.equal(csv.name, `roje-transparency-${MONTH}.csv`);
    t.equal(csv.text.split('\r\n')[0], 'section,at,venue,category,metric,value', 'the CSV header');
    t.match(csv.text, `queries,,,,blocked,${all.queries.blocked}\r\n`);
    const data = await saved(page, '#download-json');
    t.equal(data.name, `roje-transparency-${MONTH}.json`);
    t.same(stable(JSON.parse(data.text) as Report), stable(await json()), "the API's JSON for the month");
    const html = await saved(page, '#download-html');
    t.equal(html.name, `roje-transparency-${MONTH}.html`);
    t.match(
      html.text,
      new RegExp(`<title>[^<]*DNS filter transparency report ${MONTH}</title>`),
      'the HTML names the month',
    );

    // One venue: the page narrows to the API's numbers for it, and so do the files' names.
    await page.locator('#site').selectOption('biblioteka');
    await page.locator('#period', { hasText: 'at biblioteka' }).waitFor();
    await consoleDrawn(page, 'transparency');
    const one = await json('biblioteka');
    t.equal(one.site, 'biblioteka');
    t.equal(await card(page, 'card-queries'), one.queries.total, "the venue's queries");
    t.equal(await card(page, 'card-blocked'), one.queries.blocked, "the venue's blocks");
    t.ok(one.queries.blocked < all.queries.blocked, 'fewer than all venues');
    t.same(
      await rowCounts(page, 'by-category'),
      one.blocked.byCategory.map((c) => [displayName(c.category, 'en'), String(c.count)]),
    );
    const venueCsv = await saved(page, '#download-csv');
    t.equal(venueCsv.name, `roje-transparency-${MONTH}-biblioteka.csv`);
    t.match(venueCsv.text, 'report,,,,site,biblioteka\r\n');
    const venueJson = await saved(page, '#download-json');
    t.same(stable(JSON.parse(venueJson.text) as Report), stable(await json('biblioteka')));

    // Last month: an empty report for it, not this month's.
    const last = months[1] as string;
    await page.locator('#month').selectOption(last);
    await page.locator('#card-blocked .n', { hasText: /^0$/ }).waitFor();
    t.equal(await page.locator('#month').inputValue(), last, 'the month chosen');
    t.same(errors, [], 'no console or page error (a CSP violation would be one)');
    t.same(blocked, [], 'nothing but loopback was requested');
  },
);

t.test('in Albanian on a phone, by keyboard', BROWSER_TEST, async (t) => {
  const { page, blocked, errors } = await openContext(t, {
    locale: 'sq-AL',
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 1,
  });
  await openConsole(page, base, AUDITOR, 'transparency');
  t.equal(await page.locator('#page h2').innerText(), 'Transparenca');
  t.match(await page.locator('#period').innerText(), /në zonën kohore Europe\/Tirane/);
  t.same(
    await rowCounts(page, 'by-category'),
    (await json()).blocked.byCategory.map((c) => [displayName(c.category, 'sq'), String(c.count)]),
    'categories by their Albanian names',
  );
  t.equal(await page.locator('#download-csv').innerText(), 'CSV (fletëllogaritëse)');
  t.ok((await page.evaluate<number>('document.documentElement.scrollWidth')) <= 390, 'no sideways scroll');
  const phone = await screenshot(t, page, 'console-transparency-phone.png', true);
  t.equal(pngInfo(phone).width, 390);
  const reached = await tabStops(page, 20, 'e.id');
  for (const id of ['month', 'site', 'download-html', 'download-csv', 'download-json']) {
    t.ok(reached.includes(id), `Tab reaches ${id}`);
  }
  t.same(errors, []);
  t.same(blocked, []);
});
