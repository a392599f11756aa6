/**
 * The operator console in a test browser: open a page of it signed in with a token, and wait until the
 * page has drawn (its heading is there and the status line no longer says it is loading).
 */
import type { Page } from 'playwright-core';

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
