import t from 'tap';
import { renderReportCsv } from '../../src/report/csv.js';
import { renderReportHtml, reportCsp } from '../../src/report/html.js';
import { renderReport } from '../../src/report/render.js';
import { buildTransparencyReport, parseMonth } from '../../src/report/transparency.js';
import { SAMPLE, source } from '../helpers/report-sample.js';

const NOW = Date.parse('2026-11-02T09:00:00Z');

t.test('months', async (t) => {
  t.match(parseMonth('2026-10'), { from: '2026-10-01T00:00:00Z', to: '2026-11-01T00:00:00Z' });
  t.match(parseMonth('2026-12'), { to: '2027-01-01T00:00:00Z' });
  for (const bad of ['2026-13', '2026-1', '26-10', '2026-10-01', ''])
    t.throws(() => parseMonth(bad), { code: 'ROJE_ERR_STATS_RANGE' }, bad);
});

t.test('the report document', async (t) => {
  const s = source();
  const r = buildTransparencyReport(s, {
    month: '2026-10',
    operator: { sq: 'Bashkia', en: 'Municipality' },
    now: NOW,
  });
  t.same(s.calls, [{ from: '2026-10-01T00:00:00Z', to: '2026-11-01T00:00:00Z', venue: undefined }]);
  t.match(r, {
    period: { month: '2026-10' },
    site: null,
    queries: { total: 48_210, blocked: 1310 },
    blocked: {
      categories: ['abuse', 'adult', 'gambling', 'malware'],
      venues: [
        { venue: 'Biblioteka', blocked: 910, byCategory: { adult: 700, abuse: 3, gambling: 210 } },
        { venue: 'Sheshi Skënderbej', blocked: 400, byCategory: { adult: 380, malware: 20 } },
      ],
      byCategory: [{ category: 'adult', count: 1080 }],
    },
    distinctBlockedNames: { estimate: true, method: /HyperLogLog/ },
    listUpdates: [{ version: '0123456789ab', entries: 812_345 }],
    uptime: {
      servedSeconds: 31 * 86_400 - 3600,
      periodSeconds: 31 * 86_400,
      servedHours: 743,
      percent: 99.9,
    },
    selfTests: { runs: 2, passes: 1, failures: 1 },
    generatedAt: '2026-11-02T09:00:00.000Z',
    generator: /^roje \d/,
  });
  const current = buildTransparencyReport(source(), { month: '2026-11', now: NOW });
  t.equal(current.uptime.periodSeconds, 33 * 3600, 'a current month counts the time passed so far');
  t.equal(buildTransparencyReport(source(), { month: '2026-12', now: NOW }).uptime.percent, null);
});

t.test('CSV: one tidy table, quoted as RFC 4180 wants, no formula injection', async (t) => {
  const r = buildTransparencyReport(source(), {
    month: '2026-10',
    site: undefined,
    operator: '=cmd',
    now: NOW,
  });
  const csv = renderReportCsv(r);
  const lines = csv.split('\r\n');
  t.equal(lines[0], 'section,at,venue,category,metric,value');
  t.ok(lines.includes('blocked,,Biblioteka,adult,requests,700'));
  t.ok(lines.includes('blocked,,Sheshi Skënderbej,malware,requests,20'));
  t.ok(lines.includes('distinct,,,abuse,names_estimate,2'));
  t.ok(lines.includes('queries,,,,total,48210'));
  t.ok(lines.includes('uptime,,,,percent,99.9'));
  t.ok(lines.includes('self_tests,,,,failures,1'));
  t.ok(lines.includes("report,,,,operator,'=cmd"), 'a formula is defused');
  t.ok(lines.includes('list_update,2026-10-02T04:00:00.000Z,,,reason,lists recompiled (feeds: adult)'));
  t.ok(lines.every((l) => l === '' || l.split(',').length >= 6));
});

t.test('HTML: bilingual, self-contained, escaped', async (t) => {
  const data = { ...SAMPLE, venues: [{ venue: '<b>x</b>', blocked: 1 }], blocks: [] };
  const html = renderReportHtml(buildTransparencyReport(source(data), { month: '2026-10', now: NOW }));
  t.match(html, /Kërkesa të bllokuara sipas vendndodhjes dhe kategorisë/);
  t.match(html, /Blocked requests by site and category/);
  t.match(html, /Emra të ndryshëm të bllokuar \(vlerësim\)/);
  t.match(html, /Distinct blocked names \(estimates\)/);
  t.match(html, /&lt;b&gt;x&lt;\/b&gt;/);
  t.notMatch(html, /<script|\b(src|href)=/i);
  t.match(reportCsp(), /default-src 'none'; style-src 'sha256-/);
  t.equal(
    renderReport(buildTransparencyReport(source(), { month: '2026-10', now: NOW }), 'json').contentType,
    'application/json; charset=utf-8',
  );
});
