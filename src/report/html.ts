/**
 * The transparency report as one printable HTML document: inline style only (no script, no external
 * asset, so it can be mailed, archived or printed as is), headings in Albanian and English.
 */
import { createHash } from 'node:crypto';
import { categoryName, type LocalText } from '../blockpage/i18n.js';
import { escapeHtml } from '../blockpage/render.js';
import type { TransparencyReport } from './transparency.js';

/** Headings, Albanian first (the municipality's language), then English. */
const H = {
  title: { sq: 'Raport transparence i filtrit DNS', en: 'DNS filter transparency report' },
  period: { sq: 'Periudha', en: 'Period' },
  site: { sq: 'Vendndodhja', en: 'Site' },
  allSites: { sq: 'Të gjitha vendndodhjet', en: 'All sites' },
  operator: { sq: 'Operatori', en: 'Operator' },
  summary: { sq: 'Përmbledhje', en: 'Summary' },
  queries: { sq: 'Kërkesa DNS', en: 'DNS queries' },
  queriesSite: {
    sq: 'nuk numërohen për vendndodhje',
    en: 'not counted per site',
  },
  blocked: { sq: 'Kërkesa të bllokuara', en: 'Blocked requests' },
  blockedBy: {
    sq: 'Kërkesa të bllokuara sipas vendndodhjes dhe kategorisë',
    en: 'Blocked requests by site and category',
  },
  blockedNote: {
    sq: 'Një kërkesë e bllokuar nga disa kategori numërohet në secilën prej tyre; kolona "Gjithsej" e numëron një herë.',
    en: 'A request blocked by several categories counts in each; the "Total" column counts it once.',
  },
  venue: { sq: 'Vendndodhja', en: 'Site' },
  total: { sq: 'Gjithsej', en: 'Total' },
  distinct: { sq: 'Emra të ndryshëm të bllokuar (vlerësim)', en: 'Distinct blocked names (estimates)' },
  distinctNote: {
    sq: 'Vlerësime statistikore; roje nuk ruan asnjë emër të bllokuar.',
    en: 'Statistical estimates; roje keeps no blocked name.',
  },
  category: { sq: 'Kategoria', en: 'Category' },
  estimate: { sq: 'Vlerësim', en: 'Estimate' },
  lists: { sq: 'Përditësimet e listave', en: 'List updates' },
  at: { sq: 'Koha (UTC)', en: 'Time (UTC)' },
  version: { sq: 'Versioni', en: 'Version' },
  entries: { sq: 'Rregulla', en: 'Entries' },
  sources: { sq: 'Burime', en: 'Sources' },
  reason: { sq: 'Arsyeja', en: 'Reason' },
  uptime: { sq: 'Koha në shërbim', en: 'Uptime' },
  servedHours: { sq: 'Orë në shërbim', en: 'Hours served' },
  ofPeriod: { sq: 'e periudhës', en: 'of the period' },
  selfTests: { sq: 'Vetëtestimet', en: 'Self-tests' },
  runs: { sq: 'Ekzekutime', en: 'Runs' },
  passes: { sq: 'Të suksesshme', en: 'Passed' },
  failures: { sq: 'Me dështime', en: 'With failures' },
  suite: { sq: 'Suita', en: 'Suite' },
  passed: { sq: 'Raste të kaluara', en: 'Cases passed' },
  failed: { sq: 'Raste të dështuara', en: 'Cases failed' },
  none: { sq: 'Asnjë', en: 'None' },
  generated: { sq: 'Krijuar më', en: 'Generated' },
  by: { sq: 'nga', en: 'by' },
} as const;

const STYLE = `
:root { color-scheme: light; --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --accent: #0b5cad; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1000px; padding: 24px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; color: var(--accent); }
h2 { font-size: 16px; margin: 24px 0 8px; border-bottom: 2px solid var(--accent); padding-bottom: 2px; }
.en { color: var(--muted); font-weight: normal; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 12px 0; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; min-width: 170px; }
.card .n { font-size: 22px; font-weight: 600; }
.card .k { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #f0f4f8; }
tfoot td { font-weight: 600; }
p.note { color: var(--muted); font-size: 12px; margin: 4px 0; }
code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
footer { margin-top: 28px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); padding-top: 8px; }
@media print {
  body { padding: 0; max-width: none; font-size: 11px; }
  h2 { break-after: avoid; }
  table, .cards { break-inside: avoid; }
}
`;

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** The Content-Security-Policy to serve the report with: its one inline style, nothing else. */
export function reportCsp(): string {
  return ["default-src 'none'", `style-src ${sha256(STYLE)}`, "base-uri 'none'", "form-action 'none'"].join(
    '; ',
  );
}

const esc = (text: string | number) => escapeHtml(String(text));
/** Thousands grouped with a thin space: read the same in Albanian and English. */
const num = (n: number) => esc(String(n).replace(/\B(?=(\d{3})+(?!\d))/g, '\u202f'));

/** "Albanian <span class=en>/ English</span>" */
function both(text: { sq: string; en: string }): string {
  return text.sq === text.en ? esc(text.sq) : `${esc(text.sq)} <span class="en">/ ${esc(text.en)}</span>`;
}

function category(id: string): string {
  return both({ sq: categoryName(id, 'sq'), en: categoryName(id, 'en') });
}

function operatorHtml(operator: LocalText): string {
  return typeof operator === 'string' ? esc(operator) : both(operator);
}

function table(head: string[], rows: string[][], foot?: string[]): string {
  const tr = (cells: string[], tag: string) =>
    `<tr>${cells.map((c) => `<${tag}>${c}</${tag}>`).join('')}</tr>`;
  return `<table><thead>${tr(head, 'th')}</thead><tbody>${rows.map((r) => tr(r, 'td')).join('')}</tbody>${
    foot !== undefined ? `<tfoot>${tr(foot, 'td')}</tfoot>` : ''
  }</table>`;
}

export function renderReportHtml(report: TransparencyReport): string {
  const r = report;
  const cats = r.blocked.categories;
  const card = (value: string, label: { sq: string; en: string }) =>
    `<div class="card"><div class="n">${value}</div><div class="k">${both(label)}</div></div>`;

  const blockedTable =
    r.blocked.venues.length === 0
      ? `<p>${both(H.none)}</p>`
      : table(
          [both(H.venue), ...cats.map(category), both(H.total)],
          r.blocked.venues.map((v) => [
            esc(v.venue),
            ...cats.map((c) => num(v.byCategory[c] ?? 0)),
            num(v.blocked),
          ]),
          r.blocked.venues.length > 1
            ? [
                both(H.total),
                ...cats.map((c) => num(r.blocked.byCategory.find((b) => b.category === c)?.count ?? 0)),
                num(r.blocked.venues.reduce((sum, v) => sum + v.blocked, 0)),
              ]
            : undefined,
        );

  const distinct =
    r.distinctBlockedNames.byCategory.length === 0
      ? `<p>${both(H.none)}</p>`
      : table(
          [both(H.category), both(H.estimate)],
          r.distinctBlockedNames.byCategory.map((d) => [category(d.category), `≈ ${num(d.estimate)}`]),
        );

  const lists =
    r.listUpdates.length === 0
      ? `<p>${both(H.none)}</p>`
      : table(
          [both(H.at), both(H.version), both(H.entries), both(H.sources), both(H.reason)],
          r.listUpdates.map((u) => [
            esc(u.at),
            `<code>${esc(u.version)}</code>`,
            num(u.entries),
            num(u.sources),
            esc(u.reason),
          ]),
        );

  const tests =
    r.selfTests.results.length === 0
      ? ''
      : table(
          [both(H.at), both(H.suite), both(H.passed), both(H.failed), 'SHA-256'],
          r.selfTests.results.map((s) => [
            esc(s.at),
            esc(s.suite),
            num(s.passed),
            num(s.failed),
            `<code>${esc(s.sha256.slice(0, 16))}</code>`,
          ]),
        );

  const percent = r.uptime.percent === null ? '–' : `${esc(r.uptime.percent.toFixed(1))} %`;
  const title = `${H.title.sq} / ${H.title.en} ${r.period.month}${r.site !== null ? ` (${r.site})` : ''}`;

  return `<!doctype html>
<html lang="sq">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${both(H.title)}</h1>
<dl class="meta">
<dt>${both(H.period)}</dt><dd>${esc(r.period.month)} (${esc(r.period.from)} – ${esc(r.period.to)}, UTC)</dd>
<dt>${both(H.site)}</dt><dd>${r.site !== null ? esc(r.site) : both(H.allSites)}</dd>
${r.operator !== null ? `<dt>${both(H.operator)}</dt><dd>${operatorHtml(r.operator)}</dd>` : ''}
</dl>
</header>
<main>
<section>
<h2>${both(H.summary)}</h2>
<div class="cards">
${card(r.queries.total === null ? `– <span class="k">(${both(H.queriesSite)})</span>` : num(r.queries.total), H.queries)}
${card(num(r.queries.blocked), H.blocked)}
${card(percent, H.uptime)}
${card(`${num(r.selfTests.passes)} / ${num(r.selfTests.runs)}`, H.selfTests)}
</div>
</section>
<section>
<h2>${both(H.blockedBy)}</h2>
${blockedTable}
<p class="note">${both(H.blockedNote)}</p>
</section>
<section>
<h2>${both(H.distinct)}</h2>
${distinct}
<p class="note">${both(H.distinctNote)} ${esc(r.distinctBlockedNames.method)}.</p>
</section>
<section>
<h2>${both(H.lists)}</h2>
${lists}
</section>
<section>
<h2>${both(H.uptime)}</h2>
<p>${both(H.servedHours)}: <strong>${num(r.uptime.servedHours)}</strong> (${percent} ${both(H.ofPeriod)})</p>
</section>
<section>
<h2>${both(H.selfTests)}</h2>
<p>${both(H.runs)}: <strong>${num(r.selfTests.runs)}</strong> · ${both(H.passes)}: <strong>${num(r.selfTests.passes)}</strong> · ${both(H.failures)}: <strong>${num(r.selfTests.failures)}</strong></p>
${tests}
</section>
</main>
<footer>${both(H.generated)} ${esc(r.generatedAt)} ${both(H.by)} ${esc(r.generator)}</footer>
</body>
</html>
`;
}
