/**
 * The block page in a real browser: Debian's headless chromium driven by playwright-core, at a phone
 * size in Albanian and a desktop size in English, and the report form, the language switch, the abuse
 * page and keyboard focus as a visitor meets them. ROJE_UPDATE_SCREENSHOTS=1 writes the README's two
 * screenshots to docs/ (otherwise they go to the test's directory).
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import t, { type Test } from 'tap';
import { TEXT } from '../../src/blockpage/i18n.js';
import type { BlockExplanation } from '../../src/blockpage/server.js';
import { EXPLAIN, hostProxy, startServer } from '../helpers/blockpage.js';
import { BROWSER_TEST, openContext } from '../helpers/browser.js';
import { BLOCKPAGE_ABUSE_CANARY } from '../helpers/canaries.js';
import { pngInfo } from '../helpers/png.js';

const DOCS = join(import.meta.dirname, '..', '..', 'docs');
const UPDATE = process.env.ROJE_UPDATE_SCREENSHOTS === '1';
const HOST = 'lojra-fati.example';
/** The page's --bg in light mode; body is white (the UA default) if the CSP dropped the inline sheet. */
const PAGE_BG = 'rgb(246, 247, 249)';

const explain = (host: string): BlockExplanation | null =>
  host === HOST
    ? { categories: ['gambling'], venue: 'Parku Rinia WiFi', confidential: false }
    : (EXPLAIN[host] ?? null);

/** The block page server behind a proxy that presents `host`; the URL the browser loads. */
async function blockPage(t: Test, host = HOST) {
  const started = await startServer(t, {}, { explain });
  return { ...started, url: `${await hostProxy(t, started.base, host)}/any/path` };
}

async function shoot(t: Test, page: Page, name: string): Promise<Buffer> {
  const path = UPDATE ? join(DOCS, name) : join(t.testdir(), name);
  return page.screenshot({ path, animations: 'disabled', caret: 'hide' });
}

const bodyBackground = (page: Page) =>
  page.evaluate<string>('getComputedStyle(document.body).backgroundColor');

/** What has keyboard focus, and whether the browser shows it (the page's 3px outline). */
function focused(page: Page) {
  return page.evaluate<{ tag: string; id: string; text: string; visible: boolean; outline: string }>(`(() => {
    const e = document.activeElement;
    const s = getComputedStyle(e);
    return { tag: e.tagName.toLowerCase(), id: e.id, text: (e.textContent || '').trim(),
      visible: e.matches(':focus-visible'), outline: s.outlineStyle + ' ' + s.outlineWidth };
  })()`);
}

const layouts = [
  {
    name: 'blockpage-sq-mobile.png',
    lang: 'sq' as const,
    locale: 'sq-AL',
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
  },
  {
    name: 'blockpage-en-desktop.png',
    lang: 'en' as const,
    locale: 'en-GB',
    viewport: { width: 1280, height: 900 },
    deviceScaleFactor: 1,
    isMobile: false,
  },
];

for (const l of layouts) {
  t.test(`${l.name}: the page in ${l.lang}, chosen by the browser's language`, BROWSER_TEST, async (t) => {
    const { url } = await blockPage(t);
    const { page, blocked, errors } = await openContext(t, {
      locale: l.locale,
      viewport: l.viewport,
      deviceScaleFactor: l.deviceScaleFactor,
      isMobile: l.isMobile,
      hasTouch: l.isMobile,
    });
    const response = await page.goto(url);
    t.equal(response?.status(), 403, 'served as 403, shown all the same');
    const text = TEXT[l.lang];
    t.equal(await page.locator('html').getAttribute('lang'), l.lang, 'html lang');
    t.equal(await page.locator('h1').innerText(), text.blockedTitle);
    t.equal(await page.title(), text.blockedTitle);
    const details = await page.locator('dl').innerText();
    t.match(details, HOST, 'names the site');
    t.match(details, l.lang === 'sq' ? 'Lojëra fati dhe baste' : 'Gambling and betting', 'the category');
    t.match(details, 'Parku Rinia WiFi', 'the venue');
    const tel = page.locator('a[href="tel:116111"]');
    t.equal(await tel.count(), 1, 'the helpline is one tap away');
    t.ok(await tel.isVisible(), 'and visible');
    t.equal(await bodyBackground(page), PAGE_BG, 'the inline style passed the Content-Security-Policy');
    t.ok(
      await page.evaluate<boolean>('document.documentElement.scrollWidth <= innerWidth'),
      'no sideways scrolling',
    );

    const png = await shoot(t, page, l.name);
    const info = pngInfo(png);
    t.equal(info.width, l.viewport.width * l.deviceScaleFactor, 'screenshot width');
    t.equal(info.height, l.viewport.height * l.deviceScaleFactor, 'screenshot height');
    t.same(info.topLeft, [0xf6, 0xf7, 0xf9], 'the page colour, rendered');
    t.ok(png.length > 20_000, `a non-trivial picture (${png.length} bytes)`);

    t.same(errors, [], 'no console or page error (a CSP violation would be one)');
    t.same(blocked, [], 'nothing but loopback was requested');
  });
}

t.test('the language switch changes the language', BROWSER_TEST, async (t) => {
  const { url } = await blockPage(t);
  const { page, blocked } = await openContext(t, { locale: 'en-GB' });
  await page.goto(url);
  t.equal(await page.locator('html').getAttribute('lang'), 'en');
  const nav = page.getByRole('navigation');
  t.equal(await nav.getByRole('link', { name: 'English' }).getAttribute('aria-current'), 'true');
  await nav.getByRole('link', { name: 'Shqip' }).click();
  await page.waitForURL(/\?lang=sq$/);
  t.equal(await page.locator('html').getAttribute('lang'), 'sq', 'now Albanian');
  t.equal(await page.locator('h1').innerText(), TEXT.sq.blockedTitle);
  t.equal(await nav.getByRole('link', { name: 'Shqip' }).getAttribute('aria-current'), 'true');
  t.equal(await nav.getByRole('link', { name: 'English' }).getAttribute('aria-current'), null);
  await nav.getByRole('link', { name: 'English' }).click();
  await page.waitForURL(/\?lang=en$/);
  t.equal(await page.locator('h1').innerText(), TEXT.en.blockedTitle, 'and back to English');
  t.same(blocked, []);
});

t.test('a report typed and sent in the browser reaches onReport', BROWSER_TEST, async (t) => {
  const { url, reports } = await blockPage(t);
  const { page, blocked, errors } = await openContext(t, { locale: 'sq-AL' });
  await page.goto(url);
  const message = 'Është faqja e shkollës sonë, jo lojë fati.';
  const box = page.getByLabel(TEXT.sq.messageLabel);
  await box.pressSequentially(message);
  t.equal(await box.inputValue(), message, 'typed');
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/report') && r.request().method() === 'POST'),
    page.getByRole('button', { name: TEXT.sq.send }).click(),
  ]);
  t.equal(answer.status(), 200, 'accepted: the browser passed the same-origin check');
  await page.waitForURL(/\/report$/);
  t.equal(await page.locator('h1').innerText(), TEXT.sq.thanksTitle, 'the thank-you page');
  t.equal(await page.locator('html').getAttribute('lang'), 'sq');
  t.equal(await page.locator('a[href="tel:116111"]').count(), 1, 'help is still offered');
  t.same(reports, [
    {
      host: HOST,
      category: 'gambling',
      categories: ['gambling'],
      venue: 'Parku Rinia WiFi',
      message,
      lang: 'sq',
    },
  ]);
  t.same(errors, []);
  t.same(blocked, []);
});

t.test('the abuse page shows no name and no form', BROWSER_TEST, async (t) => {
  const { url, reports } = await blockPage(t, BLOCKPAGE_ABUSE_CANARY);
  const { page, blocked } = await openContext(t, { locale: 'en-GB', viewport: { width: 390, height: 844 } });
  const response = await page.goto(url);
  t.equal(response?.status(), 403);
  t.equal(await page.locator('h1').innerText(), TEXT.en.abuseTitle);
  const html = await page.content();
  t.notMatch(html, BLOCKPAGE_ABUSE_CANARY, 'the name is nowhere in the document');
  t.notMatch(html, 'canary', 'not even in part');
  t.notMatch(await page.title(), 'canary');
  t.equal(await page.locator('form').count(), 0, 'no report form');
  t.equal(await page.locator('textarea, input, button').count(), 0, 'no field at all');
  t.equal(await page.locator('dl').count(), 0, 'no details list');
  t.match(await page.locator('main').innerText(), 'Internet Watch Foundation');
  t.equal(await page.locator('a[href="tel:116111"]').count(), 1, 'the helpline');
  t.equal(await bodyBackground(page), PAGE_BG);
  t.same(reports, []);
  t.same(blocked, []);
});

t.test('the keyboard reaches the report form, with focus shown', BROWSER_TEST, async (t) => {
  const { url } = await blockPage(t);
  const { page } = await openContext(t, { locale: 'en-GB' });
  await page.goto(url);
  await page.keyboard.press('Tab');
  const first = await focused(page);
  t.equal(first.text, TEXT.en.skip, 'the skip link comes first');
  t.ok(await page.locator('a.skip').isVisible(), 'and shows itself when focused');
  const path: string[] = [];
  // Bounded: the page has fewer than a dozen focusable elements before the form.
  for (let i = 0; i < 15; i++) {
    await page.keyboard.press('Tab');
    const now = await focused(page);
    path.push(now.id || now.text);
    t.ok(now.visible, `focus visible on ${now.tag} ${now.id || now.text}`);
    t.equal(now.outline, 'solid 3px', 'drawn with the page outline');
    if (now.id === 'message') break;
  }
  t.equal(path.at(-1), 'message', `Tab reaches the textarea (${path.join(' > ')})`);
  await page.keyboard.type('typed from the keyboard');
  await page.keyboard.press('Tab');
  const button = await focused(page);
  t.equal(button.tag, 'button', 'then the send button');
  t.equal(button.text, TEXT.en.send);
  t.ok(button.visible, 'focus visible on the button');
});

t.test('the route guard keeps chromium on loopback', BROWSER_TEST, async (t) => {
  const { page, blocked } = await openContext(t);
  // Names in .invalid: even if the guard failed, they could not resolve (RFC 6761). The new page is
  // about:blank, which has no CSP: only the guard stands in the way of this fetch.
  const outcome = await page.evaluate<string>(
    "fetch('https://roje-guard.invalid/x').then(() => 'loaded', () => 'refused')",
  );
  t.equal(outcome, 'refused', 'a fetch');
  await t.rejects(page.goto('http://roje-guard.invalid/page'), /ERR_BLOCKED_BY_CLIENT/, 'a navigation');
  t.same(
    blocked,
    ['https://roje-guard.invalid/x', 'http://roje-guard.invalid/page'],
    'both aborted by the guard',
  );
});
