/**
 * The console's "Why blocked?" page over a real roje: list files written here (adblock rules and a plain
 * list, at known line numbers) and the bundled synthetic abuse feed, two venues whose policies differ.
 * Chromium opens a deep link and the lookup runs at once; a name typed and sent with Enter shows, per
 * venue, the decision, the category's display name and the source, rule and line; dig agrees with the
 * page. An abuse-listed name shows "abuse" only: nothing of the feed's entries reaches the page.
 * ROJE_UPDATE_SCREENSHOTS=1 writes docs/console-lookup.png and docs/console-lookup-phone.png.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import t from 'tap';
import { hashToken } from '../../src/admin/auth.js';
import { adminClient } from '../helpers/admin-client.js';
import { BROWSER_TEST, openContext } from '../helpers/browser.js';
import { ABUSE_CANARY, ABUSE_CANARY_FILE } from '../helpers/canaries.js';
import { screenshot } from '../helpers/console.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { pngInfo } from '../helpers/png.js';
import { startRoje, udpUrl } from '../helpers/roje.js';

const TOKEN = 'roje_lookup-browser-auditor';
const OPERATOR = 'roje_lookup-browser-operator';

// Line numbers are part of what the page shows: ||porn.example^ is line 4, casino.example line 3.
const ADULT = '! adult test list\n! kept by the municipality\n\n||porn.example^\n||xxx.example^\n';
const GAMBLING = '# gambling test list\n\ncasino.example\nbet.example\n';

const dir = t.testdir({ 'adult.txt': ADULT, 'gambling.txt': GAMBLING });
const fake = await startFakeUpstream({ apexes: ['example', 'example.test'] });
t.teardown(() => fake.close());
fake.zone.set('casino.example', 'A', [{ data: '198.51.100.7', ttl: 300 }]);
fake.zone.set('school.example.test', 'A', [{ data: '198.51.100.8', ttl: 300 }]);
fake.zone.set('xxx.example', 'A', [{ data: '198.51.100.9', ttl: 300 }]);

const roje = await startRoje({
  upstreams: [udpUrl(fake)],
  stateDir: join(dir, 'state'),
  lists: [
    { category: 'adult', name: 'test-adult', path: join(dir, 'adult.txt') },
    { category: 'gambling', name: 'test-gambling', path: join(dir, 'gambling.txt') },
    { category: 'abuse', name: 'iwf-sample', path: ABUSE_CANARY_FILE },
  ],
  policies: {
    default: { block: 'all', blockMode: 'nxdomain' },
    kids: { block: ['adult', 'abuse'], blockMode: 'nxdomain' },
  },
  venues: [
    { name: 'biblioteka', networks: ['127.0.0.3/32'], policy: 'kids' },
    { name: 'sheshi', networks: ['127.0.0.4/32'], policy: 'default' },
  ],
  timeZone: 'Europe/Tirane',
  admin: {
    listen: '127.0.0.1:0',
    tokens: [
      { name: 'viewer', role: 'auditor', sha256: hashToken(TOKEN) },
      { name: 'ops', role: 'operator', sha256: hashToken(OPERATOR) },
    ],
  },
});
t.teardown(() => roje.stop());
const base = `http://${roje.app.opsAddresses().admin}`;

/** Each venue's result on the page: its name, badge, and every fact as "label: value". */
function results(page: Page): Promise<Array<{ venue: string; badge: string; facts: string[] }>> {
  return page.evaluate(`[...document.querySelectorAll('#lookup-result article')].map((a) => ({
    venue: a.querySelector('h4').textContent,
    badge: a.querySelector('.badge').textContent,
    facts: [...a.querySelectorAll('dt')].map((dt) => dt.textContent + ': ' + dt.nextElementSibling.textContent),
  }))`);
}

const doneFor = (page: Page, name: string) => page.locator('#lookup-result-h', { hasText: name }).waitFor();

/**
 * Signs in at /console/#/<path> and waits for the lookup page. Waits by locator only: a string given to
 * waitForFunction is evaluated in the page, where the console's CSP (rightly) refuses eval.
 */
async function openLookup(page: Page, path: string): Promise<void> {
  await page.goto(`${base}/console/#/${path}`);
  await page.locator('#token').fill(TOKEN);
  await page.locator('#login button[type=submit]').click();
  await page.locator('#page[data-page="lookup"] h2').waitFor();
}

t.test(
  'a deep link on a phone in Albanian, then a name typed and sent with Enter',
  BROWSER_TEST,
  async (t) => {
    const { page, blocked, errors } = await openContext(t, {
      locale: 'sq-AL',
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 1,
    });
    // Another page links here with the name in the fragment: the lookup runs at once.
    await openLookup(page, 'lookup?name=www.porn.example');
    await doneFor(page, 'www.porn.example');
    t.equal(await page.locator('#page h2').innerText(), 'Pse bllokohet një faqe?');
    t.equal(await page.locator('#lookup-name').inputValue(), 'www.porn.example', 'the name in the form');
    const porn = await results(page);
    t.same(
      porn.map((r) => [r.venue, r.badge]),
      [
        ['biblioteka', 'E bllokuar'],
        ['sheshi', 'E bllokuar'],
        ['klientët pa vendndodhje', 'E bllokuar'],
      ],
      'blocked at every venue and for clients of no venue',
    );
    for (const r of porn) {
      t.ok(r.facts.includes('Kategoritë: Përmbajtje për të rritur'), `${r.venue}: the category by its name`);
      t.ok(
        r.facts.includes('Rregulli: ||porn.example^ nga test-adult, rreshti 4'),
        `${r.venue}: rule and line`,
      );
    }
    // The sources are named test-adult and test-gambling; a category id on its own never shows.
    const text = (await page.locator('main').innerText()).replace(/test-(adult|gambling)/g, '');
    t.notMatch(text, /\badult\b|\bgambling\b/, 'no internal category id');
    t.match(await page.locator('#status').innerText(), /www\.porn\.example u kontrollua më/);

    const width = await page.evaluate<number>('document.documentElement.scrollWidth');
    t.ok(width <= 390, `no page-level horizontal scroll (scrollWidth ${width})`);
    const phone = await screenshot(t, page, 'console-lookup-phone.png', true);
    t.equal(pngInfo(phone).width, 390, 'a 390 px screenshot');

    // The keyboard alone: Tab to the name, type, Enter.
    await page.locator('body').focus();
    const reached: string[] = [];
    for (let i = 0; i < 20 && !reached.includes('lookup-name'); i++) {
      await page.keyboard.press('Tab');
      reached.push(await page.evaluate<string>('document.activeElement.id'));
    }
    t.ok(reached.includes('lookup-name'), 'Tab reaches the name field');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('casino.example');
    await page.keyboard.press('Enter');
    await doneFor(page, 'casino.example');
    t.equal(new URL(page.url()).hash, '#/lookup?name=casino.example', 'the question is in the address');
    const casino = await results(page);
    t.same(
      casino.map((r) => [r.venue, r.badge]),
      [
        ['biblioteka', 'Nuk bllokohet'],
        ['sheshi', 'E bllokuar'],
        ['klientët pa vendndodhje', 'E bllokuar'],
      ],
      'the kids policy does not block gambling; the default one does',
    );
    t.ok(casino[0].facts.includes('Në listë, por nuk bllokohet në këtë vendndodhje: Lojëra fati dhe baste'));
    t.ok(
      casino[0].facts.includes('Pse: Është në listë, por në një kategori që kjo vendndodhje nuk e bllokon.'),
    );
    t.ok(casino[1].facts.includes('Rregulli: casino.example nga test-gambling, rreshti 3'));
    // The resolver agrees with the page.
    t.equal((await roje.dig(['-b', '127.0.0.3', 'casino.example', 'A'])).status, 'NOERROR');
    t.equal((await roje.dig(['-b', '127.0.0.4', 'casino.example', 'A'])).status, 'NXDOMAIN');

    // Tab on to the venue choice (learned from the answer) and the button; one venue only.
    await page.keyboard.press('Tab');
    t.equal(await page.evaluate('document.activeElement.id'), 'lookup-venue', 'Tab reaches the venue choice');
    t.same(await page.locator('#lookup-venue option').allInnerTexts(), [
      'Të gjitha vendndodhjet',
      'biblioteka',
      'sheshi',
    ]);
    await page.locator('#lookup-venue').selectOption('biblioteka');
    await page.keyboard.press('Tab');
    t.equal(await page.evaluate('document.activeElement.type'), 'submit', 'Tab reaches the button');
    await page.keyboard.press('Enter');
    await page.locator('#lookup-result article[data-venue="sheshi"]').waitFor({ state: 'detached' });
    t.equal(await page.locator('#lookup-result article').count(), 1, 'one venue asked, one answered');
    t.equal(new URL(page.url()).hash, '#/lookup?name=casino.example&venue=biblioteka');

    // An unlisted name; then the bookmark, reloaded, asks again.
    await page.locator('#lookup-name').fill('school.example.test');
    await page.locator('#lookup-venue').selectOption('');
    await page.locator('#lookup-name').press('Enter');
    await doneFor(page, 'school.example.test');
    const school = await results(page);
    t.ok(
      school.every((r) => r.badge === 'Nuk bllokohet'),
      'not blocked anywhere',
    );
    t.ok(school[0].facts.includes('Pse: Asnjë listë në fuqi nuk e përmban këtë emër.'));
    await page.reload();
    await doneFor(page, 'school.example.test');
    t.equal((await results(page)).length, 3, 'the bookmark runs the lookup again');
    // A language switch draws the page again: the same question, answered in English.
    await page.getByRole('button', { name: 'EN' }).click();
    await page.locator('#lookup-result-h', { hasText: 'Result for school.example.test' }).waitFor();
    t.same(
      (await results(page)).map((r) => r.badge),
      ['Not blocked', 'Not blocked', 'Not blocked'],
    );
    t.same(errors, [], 'no console or page error (a CSP violation would be one)');
    t.same(blocked, [], 'nothing but loopback was requested');
  },
);

t.test('on a desktop in English: abuse is named, its entry never shown', BROWSER_TEST, async (t) => {
  const { page, blocked, errors } = await openContext(t, {
    locale: 'en-GB',
    viewport: { width: 1200, height: 900 },
  });
  await openLookup(page, 'lookup?name=casino.example');
  await doneFor(page, 'casino.example');
  t.equal(await page.locator('#page h2').innerText(), 'Why is a site blocked?');
  const casino = await results(page);
  t.same(
    casino.map((r) => r.badge),
    ['Not blocked', 'Blocked', 'Blocked'],
  );
  t.ok(casino[1].facts.includes('Rule: casino.example from test-gambling, line 3'));
  t.ok(casino[1].facts.includes('Categories: Gambling and betting'));
  const png = await screenshot(t, page, 'console-lookup.png');
  t.same([pngInfo(png).width, pngInfo(png).height], [1200, 900]);

  // An operator's override for one venue: named with its note; the other venues keep the list's rule.
  const added = await adminClient(roje, OPERATOR).post('/api/v1/overrides', {
    name: 'xxx.example',
    action: 'allow',
    venue: 'biblioteka',
    note: 'Art history class',
  });
  t.equal(added.status, 201, added.text);
  const id = String(added.json.id);
  await page.locator('#lookup-name').fill('xxx.example');
  await page.locator('#lookup-name').press('Enter');
  await doneFor(page, 'xxx.example');
  const xxx = await results(page);
  t.same(
    xxx.map((r) => [r.venue, r.badge]),
    [
      ['biblioteka', 'Allowed'],
      ['sheshi', 'Blocked'],
      ['clients of no venue', 'Blocked'],
    ],
  );
  t.ok(xxx[0].facts.includes(`Why: An operator allowed it (override ${id}, at biblioteka).`));
  t.ok(xxx[0].facts.includes('Note: Art history class'));
  t.ok(
    xxx[0].facts.some((f) => /^Override made by: ops, \d{1,2} Dec \d{4}, \d{2}:\d{2}$/.test(f)),
    'who made it, and when',
  );
  t.ok(xxx[1].facts.includes('Rule: ||xxx.example^ from test-adult, line 5'));
  t.equal((await roje.dig(['-b', '127.0.0.3', 'xxx.example', 'A'])).status, 'NOERROR', 'dig agrees');

  // The feed's site entry is written "https://canary-site.abuse.roje.test/" on line 8 of iwf-sample.
  await page.locator('#lookup-name').fill(ABUSE_CANARY.site);
  await page.getByRole('button', { name: 'Check' }).click();
  await doneFor(page, ABUSE_CANARY.site);
  const abuse = await results(page);
  t.same(
    abuse.map((r) => [r.badge, r.facts.find((f) => f.startsWith('Why: '))]),
    [
      ['Blocked', 'Why: abuse list (entry confidential)'],
      ['Blocked', 'Why: abuse list (entry confidential)'],
      ['Blocked', 'Why: abuse list (entry confidential)'],
    ],
  );
  t.notOk(
    abuse.some((r) => r.facts.some((f) => f.startsWith('Rule: '))),
    'no rule line',
  );
  const html = await page.content();
  for (const secret of [
    'https://canary-site.abuse.roje.test/',
    'iwf-sample',
    'abuse-test.txt',
    'line 8',
    ABUSE_CANARY.domain,
    ABUSE_CANARY.page,
  ]) {
    t.notOk(html.includes(secret), `the page holds no "${secret}"`);
  }

  // A name that is not one: the API's refusal in the status line, nothing drawn.
  await page.locator('#lookup-name').fill('not a name!');
  await page.locator('#lookup-name').press('Enter');
  await page.locator('#status.error').waitFor();
  t.match(await page.locator('#status').innerText(), /^That did not work: .*not a domain name/);
  t.equal(await page.locator('#lookup-result article').count(), 0);
  t.same(errors, []);
  t.same(blocked, []);
});
