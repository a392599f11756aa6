/**
 * Issue #17's journey over a real roje: a child at biblioteka (127.0.0.3) meets the block page in
 * chromium, sends a wrong-block report and keeps its reference; an operator opens the console's Reports
 * page and clicks "Accept and allow for this venue"; within 5 s dig from biblioteka resolves the site
 * through the fake upstream while sheshi (127.0.0.4) still gets the block page; the reporter's reference
 * page says accepted; after a restart on the same stateDir biblioteka is still allowed and sheshi still
 * blocked. Also: the buttons in Albanian on a phone (a reject), an abuse report offered no allow and never
 * named, an auditor who reads but cannot act. ROJE_UPDATE_SCREENSHOTS=1 writes docs/console-reports.png
 * and docs/console-reports-phone.png.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import t from 'tap';
import { hashToken } from '../../src/admin/auth.js';
import { TEXT } from '../../src/blockpage/i18n.js';
import { openStatsStore } from '../../src/stats/store.js';
import { adminClient } from '../helpers/admin-client.js';
import { hostProxy } from '../helpers/blockpage.js';
import { BROWSER_TEST, openContext } from '../helpers/browser.js';
import { LOCAL_ABUSE_CANARY } from '../helpers/canaries.js';
import { openConsole, screenshot, tabStops } from '../helpers/console.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { pngInfo } from '../helpers/png.js';
import { type RawRojeConfig, type Roje, startRoje, udpUrl } from '../helpers/roje.js';

const OPERATOR = 'roje_console-reports-operator';
const AUDITOR = 'roje_console-reports-auditor';
const SITE = 'furaffinity.example.test';
const SITE_IP = '198.51.100.40';
const OTHER = 'lojra.example.test';
const NOWHERE = 'vizatime.example.test';
const BIBLIOTEKA = '127.0.0.3';
const SHESHI = '127.0.0.4';
/** The block page's address in DNS answers: a blocked name resolves to it. */
const BLOCK_PAGE_IP = '127.0.0.1';

const dir = t.testdir({
  'adult.txt': `${SITE}\n${OTHER}\n`,
  'abuse.txt': `${LOCAL_ABUSE_CANARY}\n`,
  state: {},
});
const fake = await startFakeUpstream({ apexes: ['example.test'] });
t.teardown(() => fake.close());
fake.zone.set(SITE, 'A', [{ data: SITE_IP, ttl: 300 }]);
fake.zone.set(OTHER, 'A', [{ data: '198.51.100.41', ttl: 300 }]);

const config: RawRojeConfig = {
  upstreams: [udpUrl(fake)],
  lists: [
    { category: 'adult', path: join(dir, 'adult.txt') },
    { category: 'abuse', path: join(dir, 'abuse.txt') },
  ],
  blockPage: { ipv4: BLOCK_PAGE_IP, listen: ['127.0.0.1:0'] },
  policies: { kids: { block: 'all', blockMode: 'blockpage' } },
  venues: [
    { name: 'biblioteka', networks: [`${BIBLIOTEKA}/32`], policy: 'kids' },
    { name: 'sheshi', networks: [`${SHESHI}/32`], policy: 'kids' },
  ],
  stateDir: join(dir, 'state'),
  timeZone: 'Europe/Tirane',
  admin: {
    listen: '127.0.0.1:0',
    tokens: [
      { name: 'arta', role: 'operator', sha256: hashToken(OPERATOR) },
      { name: 'kontrolli', role: 'auditor', sha256: hashToken(AUDITOR) },
    ],
  },
};

// Two reports from before this run: one on a site the abuse list blocks (the store keeps no name for
// it) and one from sheshi, for the Albanian review.
const seed = await openStatsStore(
  { path: join(dir, 'state', 'stats.db'), flushIntervalMs: 0 },
  { logger: { error() {}, warn() {}, info() {} } as never },
);
await seed.addReport({ venue: 'biblioteka', category: 'abuse', name: LOCAL_ABUSE_CANARY, message: 'pse?' });
await seed.addReport({ venue: 'sheshi', category: 'adult', name: OTHER, message: 'Lojëra për shkollën' });
// From a client of no venue: it can only be allowed for everyone.
await seed.addReport({ venue: '(none)', category: 'adult', name: NOWHERE });
// More rejected reports than one page holds (100), so that the auditor pages through them.
for (let i = 1; i <= 100; i++) {
  const old = await seed.addReport({ venue: 'sheshi', category: 'adult', name: `old-${i}.example.test` });
  await seed.reviewReport(old.id, 'rejected', 'arta', 'seeded');
}
await seed.close();

let roje: Roje = await startRoje(config);
t.teardown(() => roje.stop());
const admin = () => `http://${roje.app.opsAddresses().admin}`;

function blockPageAddress(): { host: string; port: number } {
  const status = roje.app.admin.status() as { blockPage: { listen: Array<{ host: string; port: number }> } };
  return status.blockPage.listen[0]!;
}

/** dig from `source` until the first A answer is `want`, at most 5 s; the ms it took, or -1. */
async function until(source: string, name: string, want: string): Promise<number> {
  const started = Date.now();
  for (let i = 0; i < 50 && Date.now() - started < 5000; i++) {
    const r = await roje.dig(['-b', source, name, 'A']);
    if (r.status === 'NOERROR' && r.answers.some((a) => a.type === 'A' && a.data === want)) {
      return Date.now() - started;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return -1;
}

const firstA = async (source: string, name: string) =>
  (await roje.dig(['-b', source, name, 'A'])).answers.find((a) => a.type === 'A')?.data;

/** The report card whose heading is `site`. */
const card = (page: Page, site: string) =>
  page.locator('article.report').filter({ has: page.locator('h3', { hasText: site }) });

const noSideScroll = (page: Page) =>
  page.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth');

let reference = '';

t.test('a child reports a wrong block; the operator allows it for the venue', BROWSER_TEST, async (t) => {
  t.equal(await firstA(BIBLIOTEKA, SITE), BLOCK_PAGE_IP, 'biblioteka gets the block page');
  t.equal(await firstA(SHESHI, SITE), BLOCK_PAGE_IP, 'so does sheshi');

  // The child, at biblioteka, in English.
  const child = await openContext(t, { locale: 'en-GB', viewport: { width: 390, height: 844 } });
  const { host, port } = blockPageAddress();
  const blockPage = await hostProxy(t, `http://${host}:${port}`, SITE, BIBLIOTEKA);
  const shown = await child.page.goto(`${blockPage}/`);
  t.equal(shown?.status(), 403, 'the block page');
  t.match(await child.page.locator('dl').innerText(), 'biblioteka', 'it names the venue');
  await child.page.getByLabel(TEXT.en.messageLabel).fill('It is an art site for my drawing class');
  await child.page.getByRole('button', { name: TEXT.en.send }).click();
  await child.page.locator('h1', { hasText: TEXT.en.thanksTitle }).waitFor();
  reference = /[A-Za-z0-9_-]{22}/.exec(await child.page.locator('main').innerText())?.[0] ?? '';
  t.ok(reference, `the child is given a reference (${reference})`);

  // The operator, at a desktop, in English.
  const { page, blocked, errors } = await openContext(t, {
    locale: 'en-GB',
    viewport: { width: 1200, height: 900 },
  });
  await openConsole(page, admin(), OPERATOR, 'reports');
  t.equal(await page.locator('#page h2').innerText(), 'Reports');
  t.notMatch(await page.locator('#page').innerText(), /\bnull\b|undefined/, 'no stray value on the page');
  t.ok(await page.locator('#read-only').isHidden(), 'no read-only notice for an operator');
  t.equal(await page.locator('#report-status').inputValue(), 'open', 'open reports first');
  const report = card(page, SITE);
  await report.waitFor();
  const text = await report.innerText();
  t.match(text, 'biblioteka', 'the venue');
  t.match(text, 'Adult content', "the category's display name");
  t.notMatch(text, /\badult\b/, 'never its id');
  t.match(text, 'It is an art site for my drawing class', "the reporter's message");
  t.match(text, /\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d/, 'when, in the deployment zone');
  t.equal(await report.locator('.badge').innerText(), 'open');
  t.equal(
    await report.getByRole('link', { name: 'Why is it blocked?' }).getAttribute('href'),
    `#/lookup?name=${SITE}&venue=biblioteka`,
    'a link to the lookup page for this site and venue',
  );
  t.same(
    await report.locator('button').allInnerTexts(),
    ['Accept and allow for this venue', 'Accept and allow for everyone', 'Accept without allowing', 'Reject'],
    'every review an operator may make',
  );
  t.ok(await noSideScroll(page), 'no horizontal scroll');
  const png = await screenshot(t, page, 'console-reports.png');
  t.same([pngInfo(png).width, pngInfo(png).height], [1200, 900]);

  await report.getByLabel('Note (optional, for the record)').fill('an art community, not adult');
  await report.getByRole('button', { name: 'Accept and allow for this venue' }).click();
  await page.locator('#status.ok').waitFor();
  t.equal(
    await page.locator('#status').innerText(),
    `Allowed ${SITE} for biblioteka. The report is accepted.`,
    'the status line says what happened',
  );
  t.equal(await card(page, SITE).count(), 0, 'the report left the open ones');
  t.equal(
    await page.evaluate('document.activeElement.tagName'),
    'H2',
    'the keyboard continues from the heading',
  );

  const took = await until(BIBLIOTEKA, SITE, SITE_IP);
  t.ok(took >= 0, `biblioteka resolves ${SITE} through the upstream (${took} ms)`);
  t.equal(await firstA(SHESHI, SITE), BLOCK_PAGE_IP, 'sheshi still gets the block page');

  // The reviewed report under "Accepted": who, when and the note.
  await page.locator('#report-status').selectOption('accepted');
  const accepted = card(page, SITE);
  await accepted.waitFor();
  t.equal(await accepted.locator('.badge').innerText(), 'accepted');
  t.match(await accepted.innerText(), /arta, \d{1,2} [A-Z][a-z]{2} \d{4}/, 'reviewed by the operator');
  t.match(await accepted.innerText(), 'an art community, not adult');
  t.equal(await accepted.locator('button').count(), 0, 'nothing left to decide');

  // The child's reference page.
  await child.page.goto(`${blockPage}/report/${reference}?lang=en`);
  t.match(
    await child.page.locator('main').innerText(),
    TEXT.en.outcomeAccepted,
    'the reporter sees "accepted"',
  );
  t.same(errors, [], 'no console or page error (a CSP violation would be one)');
  t.same(blocked, [], 'nothing but loopback was requested');
  t.same(child.errors, []);
  t.same(child.blocked, []);
});

t.test('on a phone in Albanian: the buttons, an abuse report, a rejection', BROWSER_TEST, async (t) => {
  const { page, blocked, errors } = await openContext(t, {
    locale: 'sq-AL',
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 1,
  });
  await openConsole(page, admin(), OPERATOR, 'reports');
  t.equal(await page.locator('#page h2').innerText(), 'Raportimet');
  const other = card(page, OTHER);
  await other.waitFor();
  t.same(
    await other.locator('button').allInnerTexts(),
    ['Prano dhe lejo për këtë vendndodhje', 'Prano dhe lejo për të gjithë', 'Prano pa lejuar', 'Refuzo'],
    'the buttons in Albanian',
  );
  t.match(await other.innerText(), 'Përmbajtje për të rritur', 'the category in Albanian');
  t.equal(await other.locator('.badge').innerText(), 'e hapur');

  // The abuse report: no name, no allow, no lookup link, and why.
  const abuse = card(page, 'Nuk shfaqet (lista e abuzimeve)');
  t.equal(await abuse.count(), 1, 'the abuse report is listed without its site');
  t.same(await abuse.locator('button').allInnerTexts(), ['Prano pa lejuar', 'Refuzo'], 'no allow button');
  t.match(await abuse.innerText(), 'Lista e abuzimeve nuk është në dorë të operatorit', 'and why');
  t.equal(await abuse.getByRole('link').count(), 0, 'no lookup link');
  t.notMatch(await page.content(), /canary/, 'the abuse entry is nowhere on the page');

  // From no venue: allowed for everyone or not at all.
  const nowhere = card(page, NOWHERE);
  t.same(
    await nowhere.locator('button').allInnerTexts(),
    ['Prano dhe lejo për të gjithë', 'Prano pa lejuar', 'Refuzo'],
    'no venue to allow it for',
  );
  t.match(await nowhere.innerText(), 'klientët pa vendndodhje');
  t.match(await nowhere.innerText(), 'mund të lejohet vetëm për të gjithë', 'and why');
  t.equal(
    await nowhere.getByRole('link').getAttribute('href'),
    `#/lookup?name=${NOWHERE}`,
    'the lookup link names no venue',
  );

  t.ok(await noSideScroll(page), 'no horizontal scroll at 390 px');
  const phone = await screenshot(t, page, 'console-reports-phone.png', true);
  t.equal(pngInfo(phone).width, 390, 'a 390 px screenshot');

  // Tab reaches the filter, the note and every button of a report.
  const reached = await tabStops(page, 45, 'e.id || e.textContent.trim()');
  for (const want of ['report-status', 'Refuzo', 'Prano dhe lejo për këtë vendndodhje']) {
    t.ok(reached.includes(want), `Tab reaches ${want}`);
  }
  t.ok(
    reached.some((id) => id.startsWith('note-')),
    'Tab reaches a note field',
  );

  await other.getByRole('button', { name: 'Refuzo' }).click();
  await page.locator('#status.ok').waitFor();
  t.equal(await page.locator('#status').innerText(), 'Raportimi u refuzua; faqja mbetet e bllokuar.');
  t.equal(await firstA(SHESHI, OTHER), BLOCK_PAGE_IP, 'still blocked');
  t.same(errors, []);
  t.same(blocked, []);
});

t.test('an auditor reads the reports but is offered no action', BROWSER_TEST, async (t) => {
  const { page, blocked, errors } = await openContext(t, {
    locale: 'en-GB',
    viewport: { width: 390, height: 844 },
  });
  await openConsole(page, admin(), AUDITOR, 'reports');
  const api = adminClient(roje, AUDITOR);
  const open = (await api.get('/api/v1/reports?status=open')).json as { total: number };
  await page.locator('article.report').first().waitFor();
  t.equal(await page.locator('article.report').count(), open.total, 'every open report the API lists');
  t.equal(open.total, 2, 'the abuse and the no-venue reports are still open');
  t.equal(await page.locator('#reports button, #reports textarea').count(), 0, 'no buttons, no note');
  t.match(await page.locator('#read-only').innerText(), 'an operator reviews them');
  // 101 rejected: the newest 100, then the oldest (the Albanian rejection, made on an older report).
  await page.locator('#report-status').selectOption('rejected');
  await page.locator('#report-count', { hasText: 'of 101' }).waitFor();
  t.equal(await page.locator('#report-count').innerText(), 'Reports 1–100 of 101, newest first.');
  t.equal(await page.locator('article.report').count(), 100, 'a page holds 100');
  t.equal(await card(page, OTHER).count(), 0, 'the oldest is on the next page');
  await page.getByRole('button', { name: 'Older reports' }).click();
  await card(page, OTHER).waitFor();
  t.equal(await page.locator('#report-count').innerText(), 'Reports 101–101 of 101, newest first.');
  t.equal(await card(page, OTHER).locator('.badge').innerText(), 'rejected');
  t.equal(await page.getByRole('button', { name: 'Older reports' }).count(), 0, 'nothing older');
  await page.getByRole('button', { name: 'Newer reports' }).click();
  await page.locator('#report-count', { hasText: '1–100' }).waitFor();
  t.ok(await noSideScroll(page), 'no horizontal scroll at 390 px');
  t.same(errors, []);
  t.same(blocked, []);
});

t.test('after a restart on the same stateDir the allow still holds, for biblioteka only', async (t) => {
  await roje.stop();
  roje = await startRoje(config);
  t.equal(await firstA(BIBLIOTEKA, SITE), SITE_IP, 'biblioteka still resolves the site');
  t.equal(await firstA(SHESHI, SITE), BLOCK_PAGE_IP, 'sheshi still gets the block page');
  const api = adminClient(roje, AUDITOR);
  const accepted = (await api.get('/api/v1/reports?status=accepted')).json as {
    reports: Array<{ name: string; reference: string }>;
  };
  t.match(accepted.reports, [{ name: SITE, reference }], 'the report is still accepted');
});
