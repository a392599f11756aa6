/**
 * Debian's chromium, headless, driven by playwright-core (which never downloads a browser). One browser
 * per test file, launched on first use and closed when the file's tests end; a fresh context per test,
 * closed in that test's teardown. Every context carries a route guard: a request to anything but
 * http://127.0.0.1 is aborted and recorded, so a test can assert that the page never left loopback.
 */
import { existsSync } from 'node:fs';
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  chromium,
  type Page,
} from 'playwright-core';
import tap, { type Test } from 'tap';

export const CHROMIUM = '/usr/bin/chromium';

/** Playwright's own waits stay well inside the 30 s a browser test is given, so they fail first, with a message. */
const ACTION_TIMEOUT_MS = 10_000;
const LAUNCH_TIMEOUT_MS = 20_000;

/** Per-test options for a browser subtest: bounded, like every test here. */
export const BROWSER_TEST = { timeout: 30_000 } as const;

let launched: Promise<Browser> | undefined;

function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    return Promise.reject(
      new Error(
        `${CHROMIUM} is missing: the block page and dashboard tests need Debian's chromium (apt-get install -y chromium; .ci/run installs it)`,
      ),
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: LAUNCH_TIMEOUT_MS,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // Belt and braces under the route guard: chromium cannot resolve any name but loopback, so
      // nothing it does on its own (outside a page) can reach the network either.
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
    ],
  });
}

/** The file's browser. A missing or broken chromium rejects, so each browser test fails saying why. */
export function sharedBrowser(): Promise<Browser> {
  if (launched === undefined) {
    launched = launch();
    const browser = launched;
    tap.teardown(async () => {
      const b = await browser.catch(() => null);
      await b?.close();
    });
  }
  return launched;
}

/** Only http://127.0.0.1:<port>/... may be loaded: the network rule of every test. */
export function isLoopbackUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' && u.hostname === '127.0.0.1' && u.port !== '';
  } catch {
    return false;
  }
}

export interface LoopbackContext {
  context: BrowserContext;
  page: Page;
  /** URLs the route guard aborted; a test asserts this stays empty. */
  blocked: string[];
  /**
   * Console errors and uncaught page errors (a CSP violation shows up here). Chromium's "Failed to
   * load resource" lines are left out: they only restate an HTTP status, which tests check directly.
   */
  errors: string[];
}

/** A fresh context with the route guard and one page, closed in t's teardown. */
export async function openContext(t: Test, options: BrowserContextOptions = {}): Promise<LoopbackContext> {
  const browser = await sharedBrowser();
  const context = await browser.newContext({ colorScheme: 'light', ...options });
  t.teardown(() => context.close());
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(ACTION_TIMEOUT_MS);
  const blocked: string[] = [];
  const errors: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (isLoopbackUrl(url)) return route.continue();
    blocked.push(url);
    return route.abort('blockedbyclient');
  });
  context.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource:')) {
      errors.push(message.text());
    }
  });
  context.on('weberror', (error) => errors.push(String(error.error())));
  const page = await context.newPage();
  return { context, page, blocked, errors };
}
