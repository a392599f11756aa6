/**
 * The console's "Allow and deny" page over a real roje: an operator blocks a site for everyone in the
 * browser and every venue (and a client of no venue) gets NXDOMAIN within 5 s; removing it (two clicks)
 * makes it resolve again; an allow for a name the abuse list blocks is refused with the API's reason in
 * the status line and the name stays blocked; the YAML export downloads with the entries in it. On a
 * phone in Albanian the form is reached by Tab; an auditor reads and downloads but changes nothing.
 * ROJE_UPDATE_SCREENSHOTS=1 writes docs/console-overrides.png and docs/console-overrides-phone.png.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import t from 'tap';
import { hashToken } from '../../src/admin/auth.js';
import { adminClient } from '../helpers/admin-client.js';
import { BROWSER_TEST, openContext } from '../helpers/browser.js';
import { LOCAL_ABUSE_CANARY } from '../helpers/canaries.js';
import { openConsole, screenshot, tabStops } from '../helpers/console.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { pngInfo } from '../helpers/png.js';
import { startRoje, udpUrl } from '../helpers/roje.js';

const OPERATOR = 'roje_console-overrides-operator';
const AUDITOR = 'roje_console-overrides-auditor';
/** Not on any list: resolves until the operator blocks it. */
const NEWS = 'lajme.example.test';
/** On the adult list: blocked until allowed. */
const CRAFT = 'punedore.example.test';
/** biblioteka, sheshi and a client of no venue. */
const CLIENTS = ['127.0.0.3', '127.0.0.4', '127.0.0.1'];

const dir = t.testdir({
  'adult.txt': `${CRAFT}\n`,
  'abuse.txt': `${LOCAL_ABUSE_CANARY}\n`,
});
const fake = await startFakeUpstream({ apexes: ['example.test'] });
t.teardown(() => fake.close());
fake.zone.set(NEWS, 'A', [{ data: '198.51.100.50', ttl: 300 }]);
fake.zone.set(CRAFT, 'A', [{ data: '198.51.100.51', ttl: 300 }]);

const roje = await startRoje({
  upstreams: [udpUrl(fake)],
  lists: [
    { category: 'adult', path: join(dir, 'adult.txt') },
    { category: 'abuse', path: join(dir, 'abuse.txt') },
  ],
  policies: { default: { block: 'all', blockMode: 'nxdomain' } },
  venues: [
    { name: 'biblioteka', networks: ['127.0.0.3/32'], policy: 'default' },
    { name: 'sheshi', networks: ['127.0.0.4/32'], policy: 'default' },
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
});
t.teardown(() => roje.stop());
const base = `http://${roje.app.opsAddresses().admin}`;
const api = adminClient(roje, AUDITOR);

/** dig from every client until each answers `want` (an rcode), at most 5 s; the ms it took, or -1. */
async function everywhere(name: string, want: string): Promise<number> {
  const started = Date.now();
  for (let i = 0; i < 50 && Date.now() - started < 5000; i++) {
    const answers = await Promise.all(CLIENTS.map((c) => roje.dig(['-b', c, name, 'A'])));
    if (answers.every((r) => r.status === want)) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return -1;
}

/** The rcode each client gets now. */
const statuses = (name: string) =>
  Promise.all(CLIENTS.map(async (c) => (await roje.dig(['-b', c, name, 'A'])).status));

const item = (page: Page, name: string) =>
  page.locator('article.override').filter({ has: page.locator('h4', { hasText: name }) });

async function add(page: Page, name: string, action: string, venue: string, note: string): Promise<void> {
  await page.locator('#ov-name').fill(name);
  await page.locator('#ov-action').selectOption(action);
  await page.locator('#ov-venue').selectOption(venue);
  await page.locator('#ov-note').fill(note);
  await page.locator('#ov-add').click();
}

const noSideScroll = (page: Page) =>
  page.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth');

t.test(
  'an operator blocks a site for everyone, allows one for a venue, removes, exports',
  BROWSER_TEST,
  async (t) => {
    t.same(
      await statuses(NEWS),
      ['NOERROR', 'NOERROR', 'NOERROR'],
      `${NEWS} resolves from every client at first`,
    );
    const { page, blocked, errors } = await openContext(t, {
      locale: 'en-GB',
      viewport: { width: 1200, height: 900 },
    });
    await openConsole(page, base, OPERATOR, 'overrides');
    t.equal(await page.locator('#page h2').innerText(), 'Allow and deny');
    t.notMatch(await page.locator('#page').innerText(), /\bnull\b|undefined/, 'no stray value on the page');
    t.match(await page.locator('#overrides').innerText(), 'No entries: the lists alone decide.');
    t.same(
      await page.locator('#ov-venue option').allInnerTexts(),
      ['Everyone (every venue)', 'biblioteka', 'sheshi'],
      "everyone or one of the config's venues",
    );

    await add(page, NEWS, 'deny', '', 'not for children');
    await page.locator('#status.ok').waitFor();
    t.equal(
      await page.locator('#status').innerText(),
      `Blocked ${NEWS} for everyone. It takes effect within seconds.`,
    );
    const took = await everywhere(NEWS, 'NXDOMAIN');
    t.ok(took >= 0, `blocked from every venue and from no venue (${took} ms)`);
    const deny = item(page, NEWS);
    t.equal(await deny.locator('.badge').innerText(), 'blocked');
    const facts = await deny.locator('dl').innerText();
    t.match(facts, /For\s+everyone/);
    t.match(facts, /Added by\s+arta/);
    t.match(facts, /not for children/);
    t.match(facts, /\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d/, 'when, in the deployment zone');

    await add(page, CRAFT, 'allow', 'biblioteka', 'a crafts club');
    await page.locator('#status.ok', { hasText: CRAFT }).waitFor();
    t.equal(
      await page.locator('#status').innerText(),
      `Allowed ${CRAFT} for biblioteka. It takes effect within seconds.`,
    );
    t.equal(await page.locator('article.override').count(), 2);
    t.equal(await page.locator('#ov-list-h').innerText(), 'Entries in force (2)');

    t.ok(await noSideScroll(page), 'no horizontal scroll');
    const png = await screenshot(t, page, 'console-overrides.png');
    t.same([pngInfo(png).width, pngInfo(png).height], [1200, 900]);

    // A name the abuse list blocks: refused, said in the status line, nothing added, still blocked.
    await add(page, LOCAL_ABUSE_CANARY, 'allow', '', 'please');
    await page.locator('#status.error').waitFor();
    const refusal = await page.locator('#status').innerText();
    t.match(refusal, /^Refused: the abuse list blocks this site/, `the refusal is said (${refusal})`);
    t.notMatch(refusal, /canary/, 'without repeating the name');
    t.equal(((await api.get('/api/v1/overrides')).json.overrides as unknown[]).length, 2, 'nothing added');
    t.equal(await page.locator('article.override').count(), 2, 'the list is unchanged');
    t.same(
      await statuses(LOCAL_ABUSE_CANARY),
      ['NXDOMAIN', 'NXDOMAIN', 'NXDOMAIN'],
      'the abuse name stays blocked',
    );
    t.equal(
      await page.evaluate('document.activeElement.id'),
      'ov-name',
      'focus back on the name to correct it',
    );
    await page.locator('#ov-name').fill('');

    // The YAML export.
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#ov-export').click()]);
    t.match(download.suggestedFilename(), /^roje-overrides-\d{4}-\d\d-\d\d\.yaml$/);
    const yaml = await readFile(await download.path(), 'utf8');
    t.match(yaml, /^# roje overrides, exported .*: 2 entries\./, 'the export header');
    t.match(
      yaml,
      new RegExp(`all:\\s+allow: \\[\\]\\s+deny:\\s+- ${NEWS.replace(/\./g, '\\.')}`),
      'the deny for all',
    );
    t.match(
      yaml,
      new RegExp(`biblioteka:\\s+allow:\\s+- ${CRAFT.replace(/\./g, '\\.')}`),
      "biblioteka's allow",
    );
    t.notMatch(yaml, /canary/, 'no refused entry');
    await page.locator('#status.ok', { hasText: 'Downloaded' }).waitFor();

    // Removal takes a second click; Cancel goes back.
    const remove = deny.locator('button[data-remove]');
    await remove.click();
    t.equal(await remove.innerText(), 'Confirm removal', 'a first click only asks');
    await deny.getByRole('button', { name: 'Cancel' }).click();
    t.equal(await remove.innerText(), 'Remove', 'cancelled');
    t.equal(await page.locator('article.override').count(), 2, 'nothing removed');
    await remove.click();
    await remove.click();
    await page.locator('#status.ok', { hasText: 'Removed' }).waitFor();
    t.equal(await page.locator('#status').innerText(), `Removed the entry for ${NEWS} (everyone).`);
    t.equal(await item(page, NEWS).count(), 0, 'gone from the list');
    const back = await everywhere(NEWS, 'NOERROR');
    t.ok(back >= 0, `resolves again everywhere (${back} ms)`);
    t.same(errors, [], 'no console or page error (a CSP violation would be one)');
    t.same(blocked, [], 'nothing but loopback was requested');
  },
);

t.test('on a phone in Albanian, by keyboard', BROWSER_TEST, async (t) => {
  const { page, blocked, errors } = await openContext(t, {
    locale: 'sq-AL',
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 1,
  });
  await openConsole(page, base, OPERATOR, 'overrides');
  t.equal(await page.locator('#page h2').innerText(), 'Lejo dhe blloko');
  t.equal(
    await page.locator('label[for="ov-name"]').innerText(),
    'Faqja (emri i domenit, përfshin nëndomenet)',
  );
  t.equal(await item(page, CRAFT).locator('.badge').innerText(), 'e lejuar');
  t.ok(await noSideScroll(page), 'no horizontal scroll at 390 px');
  const phone = await screenshot(t, page, 'console-overrides-phone.png', true);
  t.equal(pngInfo(phone).width, 390, 'a 390 px screenshot');

  // Tab reaches every control of the form, then the removal and the export.
  const reached = await tabStops(page, 30, `e.id || e.dataset.remove && 'remove' || e.textContent.trim()`);
  for (const id of ['ov-name', 'ov-action', 'ov-venue', 'ov-note', 'ov-add', 'remove', 'ov-export']) {
    t.ok(reached.includes(id), `Tab reaches ${id}`);
  }

  // Typed and sent by keyboard alone: a block for sheshi.
  await page.locator('#ov-name').focus();
  await page.keyboard.type('lojra.example.test');
  await page.keyboard.press('Tab');
  await page.keyboard.press('ArrowDown'); // Blloko
  t.equal(await page.locator('#ov-action').inputValue(), 'deny', 'the action chosen by arrow key');
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Enter'); // the form's implicit submission from its text field
  await page.locator('#status.ok').waitFor();
  t.equal(
    await page.locator('#status').innerText(),
    'U bllokua lojra.example.test për të gjithë. Hyn në fuqi brenda pak sekondash.',
  );
  t.equal(await item(page, 'lojra.example.test').locator('.badge').innerText(), 'e bllokuar');
  t.same(errors, []);
  t.same(blocked, []);
});

t.test('an auditor reads and downloads but changes nothing', BROWSER_TEST, async (t) => {
  const { page, blocked, errors } = await openContext(t, {
    locale: 'en-GB',
    viewport: { width: 390, height: 844 },
  });
  await openConsole(page, base, AUDITOR, 'overrides');
  t.equal(await page.locator('#override-form').count(), 0, 'no form');
  t.equal(await page.locator('button[data-remove]').count(), 0, 'no remove button');
  t.match(await page.locator('#read-only').innerText(), 'an operator changes them');
  t.equal(await page.locator('article.override').count(), 2, 'every entry');
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#ov-export').click()]);
  t.match(await readFile(await download.path(), 'utf8'), CRAFT, 'the export is the auditor’s too');
  t.same(errors, []);
  t.same(blocked, []);
});
