/**
 * The verify report as one self-contained HTML page for people: no external assets, a clear pass/fail
 * table, printable. The page embeds the report's JSON (signature included) in a
 * <script type="application/json"> block, and is a pure function of it, so `roje verify-report`
 * can check both the signature and that the visible page was not edited.
 */
import {
  type AbuseEvidence,
  type AnswerSeen,
  type CaseResult,
  type ChaosAnswer,
  reportPassed,
  type SampleRun,
  type VerifyReport,
} from './report.js';

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

const VERDICT_WORD = { pass: 'PASS', fail: 'FAIL', 'not-applicable': 'N/A' } as const;
const VERDICT_CLASS = { pass: 'pass', fail: 'fail', 'not-applicable': 'na' } as const;

function resultRow(r: CaseResult, i: number): string {
  const cls = VERDICT_CLASS[r.verdict];
  return `<tr class="${cls}"><td>${i + 1}</td><td>${esc(r.name)}${r.category !== undefined ? `<div class="muted">${esc(r.category)}</div>` : ''}</td><td class="mono">${esc(r.qname)}</td><td>${esc(r.qtype)}</td><td>${esc(r.transport.toUpperCase())}</td><td>${esc(r.expected)}</td><td class="verdict">${VERDICT_WORD[r.verdict]}<div class="muted">${esc(r.reason)}</div></td><td class="mono">${answerCell(r.answer)}</td><td class="num">${r.answer.ms.toFixed(1)}</td></tr>`;
}

/** Checks per suite category (cases without one under "other"), in the suite's order. */
function categoryRows(results: CaseResult[]): string {
  const by = new Map<string, { passed: number; failed: number; na: number }>();
  for (const r of results) {
    const key = r.category ?? 'other';
    const row = by.get(key) ?? { passed: 0, failed: 0, na: 0 };
    if (r.verdict === 'pass') row.passed++;
    else if (r.verdict === 'fail') row.failed++;
    else row.na++;
    by.set(key, row);
  }
  return [...by]
    .map(([category, c]) => {
      const word = c.failed > 0 ? `${c.failed} FAILED` : c.passed === 0 && c.na > 0 ? 'N/A' : 'PASS';
      const cls = c.failed > 0 ? 'fail' : c.passed === 0 && c.na > 0 ? 'na' : 'pass';
      return `<tr class="${cls}"><td>${esc(category)}</td><td class="num">${c.passed + c.failed + c.na}</td><td class="num">${c.passed}</td><td class="num verdict">${word}</td></tr>`;
    })
    .join('\n');
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)} %`;
}

const EVIDENCE_WORDS: Record<AbuseEvidence['evidence'], string> = {
  sample: "the certifier's sample",
  'roje-policy': 'the roje policy string (policy.roje. CH TXT)',
  none: 'none: not judged',
};

function abuseSection(a: AbuseEvidence | undefined): string {
  if (a === undefined) return '';
  return `<section>
<h2>Abuse category</h2>
<table id="abuse"><tbody><tr class="${a.verdict}"><th scope="row">Evidence</th><td>${esc(EVIDENCE_WORDS[a.evidence])}</td><td class="verdict">${a.verdict === 'pass' ? 'PASS' : 'FAIL'}</td></tr>
<tr><th scope="row">Finding</th><td colspan="2">${esc(a.reason)}</td></tr></tbody></table>
<p class="muted">The suite's roje-specific abuse checks (a synthetic test name) prove only that roje wired its abuse category in; a certifier's own sample, or roje's stated source, size and age, judge the list itself.</p>
</section>`;
}

function sampleSection(run: SampleRun | undefined): string {
  if (run === undefined) return '';
  const rows = run.results.map((r) => {
    const bound = r.rule.bound === 'low' ? `low end ≥ ${pct(r.rule.min)}` : `high end ≤ ${pct(r.rule.max)}`;
    return `<tr class="${r.verdict}"><td>${r.kind === 'allow' ? 'allow (over-blocking)' : esc(r.category)}<div class="muted mono">list sha256 ${esc(r.list.sha256.slice(0, 16))}…, ${r.list.names} names</div></td><td class="num">${r.asked}</td><td class="num">${r.blocked}</td><td class="num">${r.notBlocked}</td><td class="num">${r.errors}</td><td class="num">${pct(r.rate)}</td><td class="num">${pct(r.interval.low)} – ${pct(r.interval.high)}</td><td>${bound}</td><td class="verdict">${r.verdict === 'pass' ? 'PASS' : 'FAIL'}</td></tr>`;
  });
  const odd = run.results.flatMap((r) =>
    r.names
      .filter((n) => (r.kind === 'block' ? n.verdict !== 'blocked' : n.verdict !== 'not-blocked'))
      .map(
        (n) =>
          `<tr><td>${esc(r.category)}</td><td class="mono">${esc(n.hash)}</td><td>${esc(n.verdict)}</td><td class="mono">${esc(n.answers)}</td></tr>`,
      ),
  );
  return `<section>
<h2>Sampled verification</h2>
<table id="sample">
<thead><tr><th>Sample</th><th class="num">Names</th><th class="num">Blocked</th><th class="num">Not blocked</th><th class="num">No answer</th><th class="num">Block rate</th><th class="num">95 % interval (Wilson)</th><th>Passes when</th><th>Verdict</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>
<p class="muted">Up to ${run.sampleSize} names drawn at random (seed ${run.seed}) from each of the certifier's lists, each asked as itself and as its www. form (${esc(run.questions.join(', '))}); a name counts as blocked only when every answer was a block. Names are recorded as ${esc(run.hash)} with the certifier's key <span class="mono">${esc(run.keyId)}</span>, never in clear.</p>
<details><summary>${odd.length} sampled name(s) not as expected (keyed hashes; answers: B blocked, R resolved, N NXDOMAIN/NODATA, S other rcode, T no answer)</summary>
<table id="sample-names"><thead><tr><th>Sample</th><th>HMAC</th><th>Verdict</th><th>Answers</th></tr></thead><tbody>
${odd.join('\n')}
</tbody></table></details>
</section>`;
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
tr.na .verdict{color:var(--muted);font-weight:700}
.num{text-align:right;white-space:nowrap}
.err{color:var(--fail)}
footer{margin-top:24px;color:var(--muted);font-size:12px}
@media print{body{padding:0;font-size:11px}.banner{border-width:2px}tr{break-inside:avoid}thead{display:table-header-group}
tr.fail,.banner{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
`;

/** The whole page. Deterministic: the same report gives the same bytes. */
export function renderReportHtml(report: VerifyReport): string {
  const s = report.summary;
  const ok = reportPassed(report);
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
<div class="banner ${ok ? 'pass' : 'fail'}" id="verdict">${ok ? 'PASS' : 'FAIL'}: ${s.passed} of ${s.cases} checks passed${s.failed > 0 ? `, ${s.failed} failed` : ''}${s.notApplicable !== undefined ? `, ${s.notApplicable} not applicable (roje-specific)` : ''}${report.sample !== undefined ? `; samples ${report.sample.results.filter((r) => r.verdict === 'pass').length} of ${report.sample.results.length} passed` : ''}${report.abuse !== undefined ? `; abuse category ${report.abuse.verdict === 'pass' ? 'passed' : 'FAILED'}` : ''}</div>
<section>
<h2>By category</h2>
<table id="categories">
<thead><tr><th>Category</th><th class="num">Checks</th><th class="num">Passed</th><th class="num">Verdict</th></tr></thead>
<tbody>
${categoryRows(report.results)}
</tbody>
</table>
</section>
${abuseSection(report.abuse)}${sampleSection(report.sample)}
<section>
<h2>Run</h2>
<dl>
<dt>Resolver</dt><dd class="mono">${esc(server)} (${esc(report.server.transports.map((t) => t.toUpperCase()).join(', '))})${report.server.sourceAddress !== undefined ? `, asked from ${esc(report.server.sourceAddress)}` : ''}${report.server.venue !== undefined ? `, as a client of venue ${esc(report.server.venue)}` : ''}</dd>
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
