import { createHash } from 'node:crypto';
import type { BlockPageHelp } from './help.js';
import { type CategoryNames, categoryName, LANGS, type Lang, localText, TEXT, type TextKey } from './i18n.js';

/**
 * HTML for the block page: one layout, a few bodies. Every value from outside (host name, venue,
 * operator texts, URLs) goes through escapeHtml; URLs were checked to be http(s) when the options were
 * read. No script, no external asset: the only style is the inline sheet below, allowed by its hash.
 */

const CSS = `
:root{color-scheme:light dark;--bg:#f6f7f9;--fg:#1b1f24;--muted:#424a53;--card:#fff;--line:#c9d1d9;--accent:#0b5cad}
@media (prefers-color-scheme:dark){:root{--bg:#14171a;--fg:#eef1f4;--muted:#c3ccd5;--card:#1e2328;--line:#3d444d;--accent:#8cc4ff}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);font:1.0625rem/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif}
.skip{position:absolute;left:-999px;top:0}
.skip:focus{left:.5rem;top:.5rem;background:var(--card);padding:.5rem .75rem;z-index:1}
header,main,footer{width:100%;max-width:42rem;margin:0 auto;padding:0 1rem}
header{display:flex;justify-content:flex-end;padding-top:.75rem}
header ul{display:flex;gap:.75rem;list-style:none;margin:0;padding:0}
header a[aria-current]{font-weight:700;text-decoration:none;color:var(--fg)}
main{padding-top:.5rem;padding-bottom:1.5rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:.75rem;padding:1.25rem;margin:1rem 0}
.mark{display:block;width:3rem;height:3rem;margin:0 0 .25rem}
h1{font-size:clamp(1.5rem,5vw,2rem);line-height:1.2;margin:.25rem 0 .75rem}
h2{font-size:1.2rem;margin:0 0 .5rem}
p{margin:.5rem 0}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.35rem 1rem;margin:.5rem 0}
dt{color:var(--muted);font-weight:600}
dd{margin:0;overflow-wrap:anywhere}
a{color:var(--accent);text-underline-offset:.15em}
a:focus-visible,button:focus-visible,textarea:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
label{display:block;font-weight:600;margin:.5rem 0 .25rem}
.hint{color:var(--muted);font-size:.95rem;margin:.25rem 0 .5rem}
textarea{width:100%;min-height:6rem;font:inherit;color:inherit;background:var(--bg);border:1px solid var(--line);border-radius:.5rem;padding:.5rem}
button{font:inherit;font-weight:600;color:#fff;background:#0b5cad;border:0;border-radius:.5rem;padding:.65rem 1.1rem;margin-top:.5rem;cursor:pointer;min-height:44px}
.tel{font-weight:700}.nw{white-space:nowrap}
footer{color:var(--muted);font-size:.9rem;padding-bottom:2rem}
`
  .trim()
  .replaceAll('\n', '');

/** The CSP source for the inline sheet: a hash rather than 'unsafe-inline', so nothing injected could style. */
export const STYLE_HASH = `'sha256-${createHash('sha256').update(CSS).digest('base64')}'`;

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src ${STYLE_HASH}`,
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** A TEXT entry with its `{name}` placeholders replaced by already-escaped HTML fragments. */
function fill(lang: Lang, key: TextKey, values: Record<string, string> = {}): string {
  return escapeHtml(TEXT[lang][key]).replace(/\{(\w+)\}/g, (_, name: string) => values[name] ?? '');
}

function link(url: string, text: string): string {
  return `<a href="${escapeHtml(url)}" rel="noopener noreferrer">${escapeHtml(text)}</a>`;
}

/** A stop sign drawn inline (no image request); decorative, so hidden from screen readers. */
const MARK =
  '<svg class="mark" viewBox="0 0 64 64" aria-hidden="true" focusable="false"><path fill="#b3261e" d="M20 2h24l18 18v24L44 62H20L2 44V20z"/><rect fill="#fff" x="14" y="27" width="36" height="10" rx="3"/></svg>';

export interface LayoutInput {
  lang: Lang;
  title: string;
  /** Already-escaped HTML inside <main>. */
  body: string;
}

export function layout({ lang, title, body }: LayoutInput): string {
  const switches = LANGS.map((l) =>
    l === lang
      ? `<li><a href="?lang=${l}" hreflang="${l}" lang="${l}" aria-current="true">${TEXT[l].langName}</a></li>`
      : `<li><a href="?lang=${l}" hreflang="${l}" lang="${l}">${TEXT[l].langName}</a></li>`,
  ).join('');
  return `<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<a class="skip" href="#main">${fill(lang, 'skip')}</a>
<header><nav aria-label="Gjuha / Language"><ul>${switches}</ul></nav></header>
<main id="main">
${body}
</main>
<footer><p>${fill(lang, 'footer')}</p></footer>
</body>
</html>
`;
}

function helpSection(lang: Lang, help: BlockPageHelp): string {
  const helpline = help.helpline;
  const phone = `<a class="tel nw" href="tel:${escapeHtml(helpline.number)}">${escapeHtml(helpline.number)}</a>`;
  const name =
    helpline.url === null
      ? escapeHtml(localText(helpline.name, lang))
      : link(helpline.url, localText(helpline.name, lang));
  const portal = help.reportPortal;
  return `<section class="card" aria-labelledby="help-title">
<h2 id="help-title">${fill(lang, 'helpTitle')}</h2>
<p>${fill(lang, 'helpline', { helpline: `<span class="nw">${name}</span>`, number: phone })}</p>
<p>${fill(lang, 'portal', { portal: link(portal.url, localText(portal.name, lang)) })}</p>
</section>`;
}

export interface BlockedPageInput {
  lang: Lang;
  host: string;
  categories: string[];
  venue: string | null;
  operatorName: string | null;
  help: BlockPageHelp;
  /** Show the report form (false when reports are switched off). */
  reportForm: boolean;
  maxMessageLength: number;
  /** The config's display names (categoryNames), over the built-in ones. */
  categoryNames?: CategoryNames;
}

export function renderBlocked(input: BlockedPageInput): string {
  const { lang, help } = input;
  const t = TEXT[lang];
  const names = input.categories.map((c) => escapeHtml(categoryName(c, lang, input.categoryNames)));
  const rows = [
    `<dt>${t.site}</dt><dd>${escapeHtml(input.host)}</dd>`,
    names.length === 0
      ? ''
      : `<dt>${names.length === 1 ? t.category : t.categories}</dt><dd>${names.join(', ')}</dd>`,
    input.venue === null ? '' : `<dt>${t.network}</dt><dd>${escapeHtml(input.venue)}</dd>`,
    input.operatorName === null ? '' : `<dt>${t.operator}</dt><dd>${escapeHtml(input.operatorName)}</dd>`,
  ].join('');
  const form = input.reportForm
    ? `<section class="card" aria-labelledby="report-title">
<h2 id="report-title">${fill(lang, 'reportTitle')}</h2>
<p>${fill(lang, 'reportLead')}</p>
<form method="post" action="/report">
<input type="hidden" name="lang" value="${lang}">
<label for="message">${fill(lang, 'messageLabel')}</label>
<p class="hint" id="message-hint">${fill(lang, 'messageHint')}</p>
<textarea id="message" name="message" maxlength="${input.maxMessageLength}" aria-describedby="message-hint"></textarea>
<button type="submit">${fill(lang, 'send')}</button>
</form>
</section>`
    : '';
  return layout({
    lang,
    title: t.blockedTitle,
    // Help comes before the report form: a child who is upset needs the helpline more than the form.
    body: `<section class="card" aria-labelledby="title">
${MARK}
<h1 id="title">${fill(lang, 'blockedTitle')}</h1>
<p>${fill(lang, 'blockedLead')}</p>
<p>${fill(lang, 'notYourFault')}</p>
<h2>${fill(lang, 'details')}</h2>
<dl>${rows}</dl>
</section>
${helpSection(lang, help)}
${form}`,
  });
}

export interface AbusePageInput {
  lang: Lang;
  help: BlockPageHelp;
}

/**
 * The confidential category (IWF-style feed): the IWF's agreed wording and an appeals contact, help for
 * people worried about their own thoughts, and no host name, category list, venue or report form.
 */
export function renderAbuse({ lang, help }: AbusePageInput): string {
  const appeals = help.abuseAppeals;
  const appealsText = localText(appeals.text, lang);
  const contact = appeals.url === null ? escapeHtml(appealsText) : link(appeals.url, appealsText);
  const worried = link(help.worriedHelp.url, localText(help.worriedHelp.name, lang));
  const helpline = help.helpline;
  const phone = `<a class="tel nw" href="tel:${escapeHtml(helpline.number)}">${escapeHtml(helpline.number)}</a>`;
  return layout({
    lang,
    title: TEXT[lang].abuseTitle,
    body: `<section class="card" aria-labelledby="title">
${MARK}
<h1 id="title">${fill(lang, 'abuseTitle')}</h1>
<p>${fill(lang, 'abuseIwf')}</p>
<p>${fill(lang, 'abuseAppeal', { appeals: contact })}</p>
</section>
<section class="card" aria-labelledby="worried-title">
<h2 id="worried-title">${fill(lang, 'worriedTitle')}</h2>
<p>${fill(lang, 'worried', { worried })}</p>
<p>${fill(lang, 'abuseHelpline', { helpline: `<span class="nw">${escapeHtml(localText(helpline.name, lang))}</span>`, number: phone })}</p>
</section>`,
  });
}

export interface MessagePageInput {
  lang: Lang;
  title: TextKey;
  lead: TextKey;
  values?: Record<string, string>;
  /** A link back to the block page (same path: the page is about the Host, whatever the path). */
  back?: boolean;
  help?: BlockPageHelp;
  /** The reporter's reference (the thank-you page), with a link to its outcome page. */
  reference?: string;
}

/** Thank-you, neutral and error pages: a title, a sentence, maybe a way back and the help section. */
export function renderMessage(input: MessagePageInput): string {
  const { lang } = input;
  const back = input.back === true ? `<p><a href="/?lang=${lang}">${fill(lang, 'back')}</a></p>` : '';
  const ref = input.reference === undefined ? '' : escapeHtml(input.reference);
  const reference =
    ref === ''
      ? ''
      : `<p>${fill(lang, 'thanksReference', { reference: `<strong>${ref}</strong>` })}</p>
<p><a href="/report/${ref}?lang=${lang}">${fill(lang, 'outcomeLink')}</a></p>`;
  return layout({
    lang,
    title: TEXT[lang][input.title],
    body: `<section class="card" aria-labelledby="title">
<h1 id="title">${fill(lang, input.title)}</h1>
<p>${fill(lang, input.lead, input.values)}</p>
${reference}${back}
</section>
${input.help === undefined ? '' : helpSection(lang, input.help)}`,
  });
}
