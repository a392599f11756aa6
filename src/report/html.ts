/**
 * The transparency report as one printable HTML document: inline style only (no script, no external
 * asset, so it can be mailed, archived or printed as is), headings in Albanian and English.
 */
import { createHash } from 'node:crypto';
import { categoryName, type LocalText } from '../blockpage/i18n.js';
import { escapeHtml } from '../blockpage/render.js';
import { NO_VENUE } from '../stats/recorder.js';
import type { TransparencyReport } from './transparency.js';

/** Headings, Albanian first (the municipality's language), then English. */
const H = {
  title: { sq: 'Raport transparence i filtrit DNS', en: 'DNS filter transparency report' },
  period: { sq: 'Periudha', en: 'Period' },
  site: { sq: 'Vendndodhja', en: 'Site' },
  allSites: { sq: 'Të gjitha vendndodhjet', en: 'All sites' },
  operator: { sq: 'Operatori', en: 'Operator' },
  summary: { sq: 'Përmbledhje', en: 'Summary' },
  timeZone: { sq: 'Zona kohore', en: 'Time zone' },
  queries: { sq: 'Kërkesa DNS', en: 'DNS queries' },
  blocked: { sq: 'Kërkesa të bllokuara', en: 'Blocked requests' },
  share: { sq: 'Pjesa e bllokuar', en: 'Blocked share' },
  ofQueries: { sq: 'e kërkesave', en: 'of queries' },
  blockedBy: {
    sq: 'Kërkesa të bllokuara sipas vendndodhjes dhe kategorisë',
    en: 'Blocked requests by site and category',
  },
  blockedNote: {
    sq: 'Një kërkesë e bllokuar nga disa kategori numërohet në secilën prej tyre; kolona "Të bllokuara" e numëron një herë.',
    en: 'A request blocked by several categories counts in each; the "Blocked" column counts it once.',
  },
  byCategory: { sq: 'Sipas kategorisë', en: 'By category' },
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
  at: { sq: 'Koha', en: 'Time' },
  version: { sq: 'Versioni', en: 'Version' },
  entries: { sq: 'Rregulla', en: 'Entries' },
  sources: { sq: 'Burime', en: 'Sources' },
  reason: { sq: 'Arsyeja', en: 'Reason' },
  uptime: { sq: 'Koha në shërbim', en: 'Uptime' },
  servedHours: { sq: 'Orë në shërbim', en: 'Hours served' },
  ofPeriod: { sq: 'e periudhës', en: 'of the period' },
  measured: { sq: 'Matur nga', en: 'Measured from' },
  until: { sq: 'deri më', en: 'to' },
  firstStart: { sq: 'Nisja e parë e kësaj instance', en: 'First start of this instance' },
  notStarted: { sq: 'Instanca nuk ishte në punë këtë muaj.', en: 'The instance did not exist this month.' },
  selfTests: { sq: 'Vetëtestimet', en: 'Self-tests' },
  runs: { sq: 'Ekzekutime', en: 'Runs' },
  passes: { sq: 'Të suksesshme', en: 'Passed' },
  failures: { sq: 'Me dështime', en: 'With failures' },
  suite: { sq: 'Suita', en: 'Suite' },
  passed: { sq: 'Raste të kaluara', en: 'Cases passed' },
  failed: { sq: 'Raste të dështuara', en: 'Cases failed' },
  noVenue: { sq: 'Klientë jashtë çdo vendndodhjeje', en: 'Clients of no site' },
  noDigest: { sq: 'pa gjurmë', en: 'not recorded' },
  appeals: { sq: 'Ankesat për bllokim të gabuar', en: 'Wrong-block reports' },
  received: { sq: 'Të marra', en: 'Received' },
  accepted: { sq: 'Të pranuara', en: 'Accepted' },
  rejected: { sq: 'Të refuzuara', en: 'Rejected' },
  appealsNote: {
    sq: 'Të marra: dërguar këtë muaj nga faqja e bllokimit. Të pranuara dhe të refuzuara: shqyrtuar këtë muaj.',
    en: 'Received: sent this month from the block page. Accepted and rejected: reviewed this month.',
  },
  none: { sq: 'Asnjë', en: 'None' },
  generated: { sq: 'Krijuar më', en: 'Generated' },
  by: { sq: 'nga', en: 'by' },
} as const;

const STYLE = `
:root { color-scheme: light; --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --accent: #0b5cad; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1000px; padding: 24px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; color: var(--accent); }
h3 { font-size: 14px; margin: 14px 0 4px; }
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
code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 11px; word-break: break-all; }
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
/** "2026-10-06T14:05:00+02:00" as "2026-10-06 14:05" (the zone is stated once, in the header). */
const time = (iso: string) => esc(iso.slice(0, 16).replace('T', ' '));
const pct = (n: number | null, decimals: number) => (n === null ? '–' : `${esc(n.toFixed(decimals))} %`);
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

function blockedTable(r: TransparencyReport): string {
  const cats = r.blocked.categories;
  if (r.blocked.venues.length === 0) return `<p>${both(H.none)}</p>`;
  return table(
    [both(H.venue), both(H.queries), both(H.blocked), both(H.share), ...cats.map(category)],
    r.blocked.venues.map((v) => [
      v.venue === NO_VENUE ? both(H.noVenue) : esc(v.venue),
      num(v.queries),
      num(v.blocked),
      pct(v.blockedPercent, 2),
      ...cats.map((c) => num(v.byCategory[c] ?? 0)),
    ]),
    r.blocked.venues.length > 1
      ? [
          both(H.total),
          num(r.blocked.venues.reduce((sum, v) => sum + v.queries, 0)),
          num(r.blocked.venues.reduce((sum, v) => sum + v.blocked, 0)),
          pct(r.queries.blockedPercent, 2),
          ...cats.map((c) => num(r.blocked.byCategory.find((b) => b.category === c)?.count ?? 0)),
        ]
      : undefined,
  );
}

function categoryTable(r: TransparencyReport): string {
  if (r.blocked.byCategory.length === 0) return '';
  return table(
    [both(H.category), both(H.blocked), `${both(H.share)} (${both(H.ofQueries)})`],
    r.blocked.byCategory.map((c) => [category(c.category), num(c.count), pct(c.percentOfQueries, 2)]),
  );
}

function uptimeSection(r: TransparencyReport): string {
  const u = r.uptime;
  const first = u.firstStart !== null ? `<p>${both(H.firstStart)}: ${time(u.firstStart)}</p>` : '';
  if (u.from === null || u.to === null) return `<p>${both(H.notStarted)}</p>${first}`;
  return `<p>${both(H.servedHours)}: <strong>${num(u.servedHours)}</strong> (${pct(u.percent, 1)} ${both(H.ofPeriod)})</p>
<p>${both(H.measured)} ${time(u.from)} ${both(H.until)} ${time(u.to)}</p>${first}`;
}

function selfTestsSection(r: TransparencyReport): string {
  const t = r.selfTests;
  const head = `<p>${both(H.runs)}: <strong>${num(t.runs)}</strong> · ${both(H.passes)}: <strong>${num(t.passes)}</strong> · ${both(H.failures)}: <strong>${num(t.failures)}</strong></p>`;
  const venues = t.venues.map((v) => {
    const name = v.venue === null ? both(H.noVenue) : esc(v.venue);
    return `<h3>${name}: ${num(v.passes)} / ${num(v.runs)}</h3>
${table(
  [both(H.at), both(H.suite), both(H.passed), both(H.failed), 'SHA-256'],
  v.results.map((s) => [
    time(s.at),
    esc(s.suite),
    num(s.passed),
    num(s.failed),
    s.sha256 === null ? `<span class="en">${both(H.noDigest)}</span>` : `<code>${esc(s.sha256)}</code>`,
  ]),
)}`;
  });
  return `${head}\n${venues.join('\n')}`;
}

function appealsSection(r: TransparencyReport): string {
  const a = r.appeals;
  if (a.byCategory.length === 0) return `<p>${both(H.none)}</p>`;
  return `${table(
    [both(H.category), both(H.received), both(H.accepted), both(H.rejected)],
    a.byCategory.map((c) => [category(c.category), num(c.received), num(c.accepted), num(c.rejected)]),
    a.byCategory.length > 1 ? [both(H.total), num(a.received), num(a.accepted), num(a.rejected)] : undefined,
  )}
<p class="note">${both(H.appealsNote)}</p>`;
}

export function renderReportHtml(report: TransparencyReport): string {
  const r = report;
  const card = (value: string, label: { sq: string; en: string }) =>
    `<div class="card"><div class="n">${value}</div><div class="k">${both(label)}</div></div>`;

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
            time(u.at),
            `<code>${esc(u.version)}</code>`,
            num(u.entries),
            num(u.sources),
            esc(u.reason),
          ]),
        );

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
<dt>${both(H.period)}</dt><dd>${esc(r.period.month)} (${time(r.period.from)} – ${time(r.period.to)})</dd>
<dt>${both(H.timeZone)}</dt><dd>${esc(r.period.timeZone)}</dd>
<dt>${both(H.site)}</dt><dd>${r.site !== null ? esc(r.site) : both(H.allSites)}</dd>
${r.operator !== null ? `<dt>${both(H.operator)}</dt><dd>${operatorHtml(r.operator)}</dd>` : ''}
</dl>
</header>
<main>
<section>
<h2>${both(H.summary)}</h2>
<div class="cards">
${card(num(r.queries.total), H.queries)}
${card(`${num(r.queries.blocked)} <span class="k">(${pct(r.queries.blockedPercent, 2)})</span>`, H.blocked)}
${card(pct(r.uptime.percent, 1), H.uptime)}
${card(`${num(r.selfTests.passes)} / ${num(r.selfTests.runs)}`, H.selfTests)}
${card(`${num(r.appeals.accepted)} / ${num(r.appeals.received)}`, { sq: `${H.accepted.sq} / ${H.received.sq}`, en: `${H.accepted.en} / ${H.received.en}` })}
</div>
</section>
<section>
<h2>${both(H.blockedBy)}</h2>
${blockedTable(r)}
<p class="note">${both(H.blockedNote)}</p>
<h3>${both(H.byCategory)}</h3>
${categoryTable(r)}
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
${uptimeSection(r)}
</section>
<section>
<h2>${both(H.selfTests)}</h2>
${selfTestsSection(r)}
</section>
<section>
<h2>${both(H.appeals)}</h2>
${appealsSection(r)}
</section>
</main>
<footer>${both(H.generated)} ${time(r.generatedAt)} (${esc(r.period.timeZone)}) ${both(H.by)} ${esc(r.generator)}</footer>
</body>
</html>
`;
}
