/**
 * The operator console in a test browser: open a page of it signed in with a token, wait until the page
 * has drawn (its heading is there and the status line no longer says it is loading), take its
 * screenshot, walk it with Tab.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { Test } from 'tap';

const DOCS = join(import.meta.dirname, '..', '..', 'docs');
const UPDATE = process.env.ROJE_UPDATE_SCREENSHOTS === '1';

/** Opens /console/#/<path> on the admin listener at `base` and signs in with `token` through the form. */
export async function openConsole(page: Page, base: string, token: string, path = 'stats'): Promise<void> {
  await page.goto(`${base}/console/#/${path}`);
  await page.locator('#token').fill(token);
  await page.locator('#login button[type=submit]').click();
  await consoleDrawn(page, path.split('?')[0]);
}

/** Waits until page `id` is drawn: its heading shown and nothing loading. */
export async function consoleDrawn(page: Page, id: string): Promise<void> {
  await page.locator(`#page[data-page="${id}"] h2`).waitFor();
  // A locator wait, not waitForFunction: a string predicate would be eval'd, which the console's CSP refuses.
  await page.locator('#status').filter({ hasNotText: /…$/ }).waitFor();
}

/**
 * A screenshot of the page (the whole page with `fullPage`), into docs/`file` when
 * ROJE_UPDATE_SCREENSHOTS=1 (how the docs' pictures are made), else into the test's own directory.
 */
export function screenshot(t: Test, page: Page, file: string, fullPage = false): Promise<Buffer> {
  const path = UPDATE ? join(DOCS, file) : join(t.testdir(), file);
  return page.screenshot({ path, fullPage, animations: 'disabled' });
}

/**
 * Presses Tab `count` times from the top of the page and says where each press landed: `describe` is an
 * expression of the focused element `e` (by default its id, value or text).
 */
export async function tabStops(
  page: Page,
  count: number,
  describe = 'e.id || e.value || e.textContent.trim()',
): Promise<string[]> {
  await page.locator('body').focus();
  const stops: string[] = [];
  for (let i = 0; i < count; i++) {
    await page.keyboard.press('Tab');
    stops.push(
      await page.evaluate<string>(
        `(() => { const e = document.activeElement; return String(${describe}); })()`,
      ),
    );
  }
  return stops;
}
