/**
 * The operator console for municipality staff: one HTML shell, one stylesheet and a few ES modules
 * (assets/), served by the admin listener and nothing from outside it. The shell is static but for a
 * JSON data block (the deployment's time zone, the categories' display names, every string in Albanian
 * and English), which is data, not script, so the Content-Security-Policy allows scripts and styles
 * from the listener itself only: no inline code, no eval, no other origin. The token is asked for on
 * the page and kept in sessionStorage; every number and action goes through the API, which checks the
 * token's role.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONSOLE_TEXT } from './text/index.js';

export interface ConsoleOptions {
  /** The deployment's IANA time zone (config `timeZone`): every time on the console is shown in it. */
  timeZone?: string;
  /** Display names by category id (built-in, config `categoryNames`, each list's categories). */
  categoryNames?: Readonly<Record<string, { sq: string; en: string }>>;
}

/** The console's files: assets/ beside this module (the build copies it next to the compiled one). */
const ASSETS_DIR = fileURLToPath(new URL('./assets/', import.meta.url));
const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

export interface ConsoleAsset {
  body: Buffer;
  type: string;
  /** A strong validator: the content's hash. */
  etag: string;
}

let assets: ReadonlyMap<string, ConsoleAsset> | undefined;

/** Every asset by its path under assets/ ("app.js", "pages/stats.js"), read once on first use. */
function loadAssets(): ReadonlyMap<string, ConsoleAsset> {
  if (assets === undefined) {
    const found = new Map<string, ConsoleAsset>();
    for (const entry of readdirSync(ASSETS_DIR, { recursive: true, withFileTypes: true })) {
      const type = TYPES[extname(entry.name)];
      if (!entry.isFile() || type === undefined) continue;
      const path = join(entry.parentPath, entry.name);
      const body = readFileSync(path);
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
      found.set(relative(ASSETS_DIR, path).split(sep).join('/'), { body, type, etag });
    }
    assets = found;
  }
  return assets;
}

/** The asset at `path` under /console/assets/, or null (also for anything but a known file). */
export function consoleAsset(path: string): ConsoleAsset | null {
  return loadAssets().get(path) ?? null;
}

/** JSON inside <script type="application/json">: "<" escaped, so no "</script>" can end it early. */
function dataBlock(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

// English in the document itself: what a browser shows before the script has run (or without it).
const en = CONSOLE_TEXT.en;
const BODY = `
<header><h1 data-t="console.title">${en['console.title']}</h1><p data-t="console.tagline">${en['console.tagline']}</p>
  <div class="langs" id="langs" role="group" aria-label="Language">
    <button type="button" value="sq" lang="sq" aria-pressed="false">SQ</button>
    <button type="button" value="en" lang="en" aria-pressed="true">EN</button>
  </div>
</header>
<nav id="nav" class="hidden" aria-label="Console pages"><ul id="nav-list"></ul></nav>
<main>
  <p id="zone"></p>
  <form id="login" class="hidden" aria-labelledby="login-h">
    <h2 id="login-h" class="sr-only" data-t="console.signIn">Sign in</h2>
    <label for="token"><span data-t="console.token">API token</span><input id="token" name="token" type="password" autocomplete="off" required size="40"></label>
    <button type="submit" data-t="console.enter">Sign in</button>
  </form>
  <p id="status" role="status" aria-live="polite"></p>
  <section id="page" aria-live="polite"></section>
</main>`;

/** The console's HTML shell. Static but for its data block: serve it without a token. */
export function consoleHtml(options: ConsoleOptions = {}): string {
  const config = {
    timeZone: options.timeZone ?? 'UTC',
    categories: options.categoryNames ?? {},
    text: CONSOLE_TEXT,
  };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${en['console.title']}</title>
<link rel="stylesheet" href="/console/assets/console.css">
</head>
<body>${BODY}
<script type="application/json" id="console-config">${dataBlock(config)}</script>
<script type="module" src="/console/assets/app.js"></script>
</body>
</html>
`;
}

/**
 * The console's Content-Security-Policy: scripts and styles from the admin listener only, fetches to
 * it, downloads made in the page (blob:), no frames, no forms posted anywhere, no base URL.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
