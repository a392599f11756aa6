/**
 * The console's self-tests page over a real roje with the self-test on and two venues: "school" blocks
 * everything, "lounge" lets adult sites through, so its run fails the suite's adult checks. The page
 * lists the kept run per venue with the failed checks (never the names asked: the abuse canary's and
 * every other stay out of the page); an operator runs the self-test again and the new run comes first;
 * an auditor sees no run button; the report buttons save exactly the API's report (its JSON the bytes
 * the run's SHA-256 names). Albanian on a 390 px phone, keyboard, and a roje with the self-test off.
 * ROJE_UPDATE_SCREENSHOTS=1 writes docs/console-selftest.png and docs/console-selftest-phone.png.
 */
import { createHash } from 'node:crypto';
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
import { startRoje, udpUrl } from '../helpers/roje.js';
import { startSelfTestUpstream } from '../helpers/selftest-upstream.js';

const OPERATOR = 'roje_console-selftest-operator';
const AUDITOR = 'roje_console-selftest-auditor';
const ZONE = 'Europe/Tirane';

interface VenueResult {
  venue: string | null;
  passed: number;
  failed: number;
  ok: boolean;
  sha256: string;
}
interface Run {
  id: string;
  at: string;
  passed: number;
  failed: number;
  ok: boolean;
  venues: VenueResult[];
}

const dir = t.testdir({
  'adult.txt': 'pornhub.com\nxvideos.com\nxnxx.com\nxhamster.com\n',
  'doh.txt': 'dns.google\ncloudflare-dns.com\n',
});
const fake = await startSelfTestUpstream();
t.teardown(() => fake.close());

const tokens = [
  { name: 'ops', role: 'operator', sha256: hashToken(OPERATOR) },
  { name: 'certifier', role: 'auditor', sha256: hashToken(AUDITOR) },
];
const roje = await startRoje({
  upstreams: [udpUrl(fake)],
  stateDir: join(dir, 'state'),
  lists: [
    { category: 'adult', path: join(dir, 'adult.txt') },
    { category: 'doh-bypass', path: join(dir, 'doh.txt') },
    { category: 'abuse', path: ABUSE_CANARY_FILE, name: 'iwf-sample' },
  ],
  acl: { allow: ['127.0.0.0/8', '::1/128', '198.51.100.0/24', '203.0.113.0/24'] },
  policies: { default: { block: 'all' }, kids: { block: 'all' }, open: { block: ['abuse', 'doh-bypass'] } },
  venues: [
    { name: 'school', networks: ['198.51.100.0/24'], policy: 'kids' },
    { name: 'lounge', networks: ['203.0.113.0/24'], policy: 'open' },
  ],
  // Runs only when asked, so that the test knows every run there is.
  selfTest: { enabled: true, afterSwap: false },
  timeZone: ZONE,
  admin: { listen: '127.0.0.1:0', tokens },
});
t.teardown(() => roje.stop());
const ops = adminClient(roje, OPERATOR);
const first = (await ops.post('/api/v1/selftest/run')).json as unknown as Run;
if (first.venues?.length !== 3) throw new Error(`the first self-test run: ${JSON.stringify(first)}`);
const base = `http://${roje.app.opsAddresses().admin}`;

/** "6 Dec 2026, 23:20" in Tirane, computed here, independently of the page. */
function tiraneTime(iso: string): string {
  const p = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', {
      timeZone: ZONE,
      year: 'numeric',
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(new Date(iso))
      .map((x) => [x.type, x.value]),
  );
  return `${p.day} ${p.month} ${p.year}, ${p.hour}:${p.minute}`;
}

/** The latest run's venues: name and counts of each. */
function venueRows(page: Page): Promise<string[][]> {
  return page.evaluate(
    `[...document.querySelectorAll('#latest-venues > li')].map((li) => [li.querySelector('.name').textContent, li.querySelector('.counts').textContent])`,
  );
}

/** Clicks a report button and returns the saved file's name and text. */
async function saved(page: Page, selector: string): Promise<{ name: string; text: string }> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator(selector).click()]);
  const path = await download.path();
  return { name: download.suggestedFilename(), text: readFileSync(path, 'utf8') };
}

t.test(
  'an operator sees the run per venue, its failed checks, runs it again, saves the reports',
  BROWSER_TEST,
  async (t) => {
    const { page, blocked, errors } = await openContext(t, {
      locale: 'en-GB',
      viewport: { width: 1200, height: 900 },
      acceptDownloads: true,
    });
    await openConsole(page, base, OPERATOR, 'selftest');
    t.equal(await page.locator('#page h2').innerText(), 'Self-tests');
    t.equal(await page.locator('#latest').getAttribute('data-run'), first.id, 'the kept run is shown');
    t.match(await page.locator('#latest dl').innerText(), tiraneTime(first.at), 'its time in Tirane');
    t.same(
      await venueRows(page),
      first.venues.map((v) => [v.venue ?? 'clients of no venue', `${v.passed} passed, ${v.failed} failed`]),
      'passed and failed per venue, as the API counts them',
    );
    t.equal(await page.locator('#latest-venues li[data-venue="lounge"] .head .badge').innerText(), 'Failed');
    t.equal(await page.locator('#latest-venues li[data-venue="school"] .head .badge').innerText(), 'Passed');

    // The lounge's failed checks: the adult ones, by name, expected blocked; never the name asked.
    const lounge = first.venues.find((v) => v.venue === 'lounge') as VenueResult;
    const cases = page.locator('details.failed-cases tbody tr');
    t.equal(await cases.count(), lounge.failed, 'a row per failed check');
    t.equal(await page.locator('details.failed-cases').count(), 1, 'only the lounge failed');
    const rows = await cases.evaluateAll((trs) =>
      trs.map((tr) => [...tr.children].map((c) => c.textContent)),
    );
    t.ok(
      rows.every(
        (r) => /^adult.* · (UDP|TCP)$/.test(r[0] ?? '') && r[1] === 'Adult content' && r[2] === 'blocked',
      ),
      'adult checks with their transport, by display name, expected blocked',
    );
    const main = await page.locator('main').innerText();
    for (const word of ['pornhub', 'xvideos', 'xnxx', 'xhamster', ...ABUSE_CANARY_LABELS]) {
      t.notOk(main.includes(word), `the page never shows a name asked (${word})`);
    }

    // Run it now: the new run comes first, later than the kept one, which moves to the earlier runs.
    await page.locator('#run-selftest').click();
    await page.locator('#status', { hasText: 'Self-test finished' }).waitFor({ timeout: 20_000 });
    const list = (await ops.get('/api/v1/selftest')).json as { reports: Run[] };
    const latest = list.reports[0] as Run;
    t.equal(list.reports.length, 2);
    t.equal(
      await page.locator('#status').innerText(),
      `Self-test finished: ${latest.passed} of ${latest.passed + latest.failed} passed.`,
    );
    await page.locator(`#latest[data-run="${latest.id}"]`).waitFor();
    t.ok(latest.id > first.id && Date.parse(latest.at) > Date.parse(first.at), 'a later run');
    t.same(await page.locator('#older tbody tr').evaluateAll((trs) => trs.map((tr) => tr.dataset.run)), [
      first.id,
    ]);

    await page.evaluate('window.scrollTo(0, 0)');
    const png = await screenshot(t, page, 'console-selftest.png');
    t.same([pngInfo(png).width, pngInfo(png).height], [1200, 900]);

    // The reports: what the API gives, the JSON byte for byte the digest the run names.
    const school = latest.venues.find((v) => v.venue === 'school') as VenueResult;
    const json = await saved(
      page,
      '#latest-venues li[data-venue="school"] button[data-report="school.json"]',
    );
    t.equal(json.name, `roje-selftest-${latest.id}-school.json`);
    t.equal(
      createHash('sha256').update(json.text).digest('hex'),
      school.sha256,
      'the signed report, unchanged',
    );
    const html = await saved(
      page,
      '#latest-venues li[data-venue="lounge"] button[data-report="lounge.html"]',
    );
    t.equal(html.name, `roje-selftest-${latest.id}-lounge.html`);
    t.equal(
      html.text,
      (await ops.get(`/api/v1/selftest/${latest.id}?venue=lounge&format=html`)).text,
      'the HTML report',
    );
    t.match(html.text, /as a client of venue lounge/);
    const older = await saved(page, `#older tr[data-run="${first.id}"] button[data-report="no-venue.html"]`);
    t.equal(older.name, `roje-selftest-${first.id}-no-venue.html`, "an earlier run's report");
    t.match(await page.locator('#status').innerText(), /^Report saved: /);

    t.same(errors, [], 'no console or page error (a CSP violation would be one)');
    t.same(blocked, [], 'nothing but loopback was requested');
  },
);

t.test(
  'an auditor, in Albanian on a phone: no run button, readable, by keyboard',
  BROWSER_TEST,
  async (t) => {
    const { page, blocked, errors } = await openContext(t, {
      locale: 'sq-AL',
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 1,
    });
    await openConsole(page, base, AUDITOR, 'selftest');
    t.equal(await page.locator('#page h2').innerText(), 'Vetëkontrollet');
    t.equal(await page.locator('#latest h3').innerText(), 'Kontrolli i fundit Dështoi');
    t.equal(await page.locator('#run-selftest').count(), 0, 'an auditor may not run it: no button');
    t.equal(
      await page.locator('details.failed-cases summary').innerText(),
      'Kontrollet që dështuan te lounge (12)',
    );
    t.match(await page.locator('#older h3').innerText(), 'Kontrollet e mëparshme');
    t.ok((await page.evaluate<number>('document.documentElement.scrollWidth')) <= 390, 'no sideways scroll');

    const phone = await screenshot(t, page, 'console-selftest-phone.png', true);
    t.equal(pngInfo(phone).width, 390);
    const reached = await tabStops(page, 20, `e.dataset.report || e.id || ''`);
    for (const id of ['no-venue.html', 'school.json', 'lounge.html', 'lounge.json']) {
      t.ok(reached.includes(id), `Tab reaches ${id}`);
    }
    t.same(errors, []);
    t.same(blocked, []);
  },
);

t.test('with the self-test off the page says so, and offers no run', BROWSER_TEST, async (t) => {
  const off = await startRoje(
    {
      upstreams: [udpUrl(fake)],
      selfTest: { enabled: false },
      admin: { listen: '127.0.0.1:0', tokens },
    },
    { t },
  );
  const offBase = `http://${off.app.opsAddresses().admin}`;
  const refused = await adminClient(off, OPERATOR).post('/api/v1/selftest/run');
  t.match(refused.json, { code: 'ROJE_ERR_SELFTEST_DISABLED' }, 'the API refuses a run');
  const { page, blocked, errors } = await openContext(t, { locale: 'en-GB' });
  await openConsole(page, offBase, OPERATOR, 'selftest');
  await consoleDrawn(page, 'selftest');
  t.match(await page.locator('#selftest-disabled').innerText(), /turned off.*selfTest\.enabled: false/);
  t.equal(await page.locator('#run-selftest').count(), 0, 'no run button, even for an operator');
  t.same(errors, []);
  t.same(blocked, []);
});
