/**
 * The verify report as one self-contained HTML page for people: no external assets, a clear pass/fail
 * table, printable. The page embeds the report's JSON (signature included) in a
 * <script type="application/json"> block, and is a pure function of it, so `roje verify-report`
 * can check both the signature and that the visible page was not edited.
 */
import type { AnswerSeen, CaseResult, ChaosAnswer, VerifyReport } from './report.js';

const EMBED_ID = 'roje-verify-report';
const EMBED_RE = new RegExp(`<script type="application/json" id="${EMBED_ID}">([^<]*)</script>`);

function esc(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

/** The JSON in the page: "<" escaped, so no string in it can close the script element. */
function embed(report: VerifyReport): string {
  return JSON.stringify(report).replace(/</g, '\\u003c');
}

/** The embedded report's JSON text; throws when the page has none. */
export function extractEmbeddedReport(html: string): string {
  const m = EMBED_RE.exec(html);
  if (m === null) throw new Error('no embedded report');
  return m[1];
}

function answerCell(a: AnswerSeen): string {
  if (a.rcode === null) return `<span class="err">${esc(a.error ?? 'no answer')}</span>`;
  const records = a.records.map((r) => `${esc(r.type)} ${esc(r.data)}`);
  const ede = a.ede.map((e) => `EDE ${e.code}${e.text !== '' ? ` “${esc(e.text)}”` : ''}`);
  return [
    `<b>${esc(a.rcode)}</b>`,
    ...records,
    ...ede,
    ...(a.retriedTcp ? ['(truncated, retried over TCP)'] : []),
  ]
    .map((line) => `<div>${line}</div>`)
    .join('');
}

function resultRow(r: CaseResult, i: number): string {
  const cls = r.verdict === 'pass' ? 'pass' : 'fail';
  return `<tr class="${cls}"><td>${i + 1}</td><td>${esc(r.name)}${r.category !== undefined ? `<div class="muted">${esc(r.category)}</div>` : ''}</td><td class="mono">${esc(r.qname)}</td><td>${esc(r.qtype)}</td><td>${esc(r.transport.toUpperCase())}</td><td>${esc(r.expected)}</td><td class="verdict">${r.verdict === 'pass' ? 'PASS' : 'FAIL'}<div class="muted">${esc(r.reason)}</div></td><td class="mono">${answerCell(r.answer)}</td><td class="num">${r.answer.ms.toFixed(1)}</td></tr>`;
}

/** Checks per suite category (cases without one under "other"), in the suite's order. */
function categoryRows(results: CaseResult[]): string {
  const by = new Map<string, { passed: number; failed: number }>();
  for (const r of results) {
    const key = r.category ?? 'other';
    const row = by.get(key) ?? { passed: 0, failed: 0 };
    if (r.verdict === 'pass') row.passed++;
    else row.failed++;
    by.set(key, row);
  }
  return [...by]
    .map(
      ([category, c]) =>
        `<tr class="${c.failed === 0 ? 'pass' : 'fail'}"><td>${esc(category)}</td><td class="num">${c.passed + c.failed}</td><td class="num">${c.passed}</td><td class="num verdict">${c.failed === 0 ? 'PASS' : `${c.failed} FAILED`}</td></tr>`,
    )
    .join('\n');
}

function chaosRow(name: string, a: ChaosAnswer): string {
  const value =
    a.strings.length > 0
      ? a.strings.map((s) => `<div>${esc(s)}</div>`).join('')
      : `<span class="muted">${esc(a.rcode ?? a.error ?? 'no answer')}</span>`;
  return `<tr><th scope="row" class="mono">${esc(name)}. CH TXT</th><td class="mono">${value}</td></tr>`;
}

const STYLE = `
:root{--pass:#126b2e;--pass-bg:#e6f4ea;--fail:#a01818;--fail-bg:#fce8e8;--line:#d7dbe0;--muted:#5b6470}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;margin:0;padding:24px;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}
.mono{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,monospace;font-size:12.5px;word-break:break-all}
.muted{color:var(--muted);font-size:12px}
.banner{margin:16px 0;padding:12px 16px;border-radius:6px;font-size:18px;font-weight:600}
.banner.pass{background:var(--pass-bg);color:var(--pass);border:1px solid var(--pass)}
.banner.fail{background:var(--fail-bg);color:var(--fail);border:1px solid var(--fail)}
table{border-collapse:collapse;width:100%}
#categories{width:auto;min-width:480px}
th,td{border:1px solid var(--line);padding:6px 8px;text-align:left;vertical-align:top}
thead th{background:#f3f5f7}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0}dt{color:var(--muted)}dd{margin:0}
.verdict .muted{font-weight:400}
tr.pass .verdict{color:var(--pass);font-weight:700}
tr.fail .verdict{color:var(--fail);font-weight:700}
tr.fail{background:var(--fail-bg)}
.num{text-align:right;white-space:nowrap}
.err{color:var(--fail)}
footer{margin-top:24px;color:var(--muted);font-size:12px}
@media print{body{padding:0;font-size:11px}.banner{border-width:2px}tr{break-inside:avoid}thead{display:table-header-group}
tr.fail,.banner{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
`;

/** The whole page. Deterministic: the same report gives the same bytes. */
export function renderReportHtml(report: VerifyReport): string {
  const s = report.summary;
  const ok = s.failed === 0 && s.cases > 0;
  const server = `${report.server.host.includes(':') ? `[${report.server.host}]` : report.server.host}:${report.server.port}`;
  const sig = report.signature;
  const id = report.identity;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>roje verify: ${esc(report.suite.name)} against ${esc(server)} — ${ok ? 'PASS' : 'FAIL'}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>DNS filtering verification report</h1>
<div class="muted">Suite <b>${esc(report.suite.name)}</b> run against <b class="mono">${esc(server)}</b> by roje ${esc(report.roje.version)}</div>
</header>
<div class="banner ${ok ? 'pass' : 'fail'}" id="verdict">${ok ? 'PASS' : 'FAIL'}: ${s.passed} of ${s.cases} checks passed${s.failed > 0 ? `, ${s.failed} failed` : ''}</div>
<section>
<h2>By category</h2>
<table id="categories">
<thead><tr><th>Category</th><th class="num">Checks</th><th class="num">Passed</th><th class="num">Verdict</th></tr></thead>
<tbody>
${categoryRows(report.results)}
</tbody>
</table>
</section>
<section>
<h2>Run</h2>
<dl>
<dt>Resolver</dt><dd class="mono">${esc(server)} (${esc(report.server.transports.map((t) => t.toUpperCase()).join(', '))})${report.server.sourceAddress !== undefined ? `, asked from ${esc(report.server.sourceAddress)}` : ''}</dd>
<dt>Started</dt><dd>${esc(report.startedAt)}</dd>
<dt>Finished</dt><dd>${esc(report.finishedAt)}</dd>
<dt>Suite</dt><dd>${esc(report.suite.name)}${report.suite.description !== undefined ? ` — ${esc(report.suite.description)}` : ''}</dd>
<dt>Suite file</dt><dd class="mono">${esc(report.suite.source)}<br>sha256 ${esc(report.suite.sha256)}</dd>
<dt>Block addresses</dt><dd class="mono">0.0.0.0, ::${report.blockAddresses.map((a) => `, ${esc(a)}`).join('')}</dd>
<dt>Signature</dt><dd>${sig !== undefined ? `Ed25519, key <span class="mono">${esc(sig.keyFingerprint)}</span> (check: <span class="mono">roje verify-report FILE --key PUB.pem</span>)` : 'not signed'}</dd>
</dl>
</section>
<section>
<h2>Resolver identity</h2>
<table>
<tbody>
${chaosRow('version.bind', id['version.bind'])}
${chaosRow('id.server', id['id.server'])}
${chaosRow('version.roje', id['version.roje'])}
${chaosRow('policy.roje', id['policy.roje'])}
</tbody>
</table>
</section>
<section>
<h2>Checks</h2>
<table id="results">
<thead><tr><th>#</th><th>Case</th><th>Name</th><th>Type</th><th>Transport</th><th>Expected</th><th>Verdict</th><th>Answer seen</th><th class="num">ms</th></tr></thead>
<tbody>
${report.results.map(resultRow).join('\n')}
</tbody>
</table>
</section>
<footer>Generated by roje ${esc(report.roje.version)} (${esc(report.format)}). The machine-readable report, signature included, is embedded in this page.</footer>
<script type="application/json" id="${EMBED_ID}">${embed(report)}</script>
</body>
</html>
`;
}
