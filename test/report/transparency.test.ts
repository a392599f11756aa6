import t from 'tap';
import { renderReportCsv } from '../../src/report/csv.js';
import { renderReportHtml, reportCsp } from '../../src/report/html.js';
import { renderReport } from '../../src/report/render.js';
import { localIso, monthBounds } from '../../src/report/time-zone.js';
import { buildTransparencyReport, parseMonth } from '../../src/report/transparency.js';
import { SAMPLE, source } from '../helpers/report-sample.js';

const NOW = Date.parse('2026-11-02T09:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

t.test('months', async (t) => {
  t.match(parseMonth('2026-10'), { from: '2026-10-01T00:00:00Z', to: '2026-11-01T00:00:00Z' });
  t.match(parseMonth('2026-12'), { to: '2027-01-01T00:00:00Z' });
  for (const bad of ['2026-13', '2026-1', '26-10', '2026-10-01', ''])
    t.throws(() => parseMonth(bad), { code: 'ROJE_ERR_STATS_RANGE' }, bad);
  t.throws(() => monthBounds('2026-10', 'Europe/Nowhere'), { code: 'ROJE_ERR_STATS_RANGE' });
});

t.test('months in Europe/Tirane: local midnight, summer and winter offsets', async (t) => {
  // October starts in summer time (UTC+2), November in winter time (UTC+1; DST ended 25 October).
  const oct = monthBounds('2026-10', 'Europe/Tirane');
  t.equal(iso(oct.fromMs), '2026-09-30T22:00:00.000Z');
  t.equal(iso(oct.toMs), '2026-10-31T23:00:00.000Z');
  t.equal(
    (oct.toMs - oct.fromMs) / 3_600_000,
    31 * 24 + 1,
    'the month with the DST change has an extra hour',
  );
  const jan = monthBounds('2027-01', 'Europe/Tirane');
  t.equal(iso(jan.fromMs), '2026-12-31T23:00:00.000Z', 'across a year');
  const apr = monthBounds('2026-04', 'Europe/Tirane');
  t.equal(iso(apr.fromMs), '2026-03-31T22:00:00.000Z');
  t.equal((apr.toMs - apr.fromMs) / 3_600_000, 30 * 24, 'April: summer time throughout');
  const ny = monthBounds('2026-11', 'America/New_York');
  t.equal(iso(ny.fromMs), '2026-11-01T04:00:00.000Z', 'a zone behind UTC');
  t.equal(localIso(oct.fromMs, 'Europe/Tirane'), '2026-10-01T00:00:00+02:00');
  t.equal(localIso(oct.toMs, 'Europe/Tirane'), '2026-11-01T00:00:00+01:00');
  t.equal(localIso(ny.fromMs, 'America/New_York'), '2026-11-01T00:00:00-04:00');
  t.equal(localIso(Date.parse('2026-10-06T14:05:09.500Z'), 'UTC'), '2026-10-06T14:05:09Z');
  t.equal(localIso(Date.parse('2026-10-06T14:05:00Z'), 'Asia/Kolkata'), '2026-10-06T19:35:00+05:30');
});

t.test('the report document', async (t) => {
  const s = source();
  const r = await buildTransparencyReport(s, {
    month: '2026-10',
    operator: { sq: 'Bashkia', en: 'Municipality' },
    now: NOW,
  });
  t.same(s.calls, [{ from: '2026-10-01T00:00:00.000Z', to: '2026-11-01T00:00:00.000Z', venue: undefined }]);
  t.match(r, {
    schema: 2,
    period: { month: '2026-10', timeZone: 'UTC', from: '2026-10-01T00:00:00Z', to: '2026-11-01T00:00:00Z' },
    site: null,
    queries: { total: 48_210, blocked: 1310, blockedPercent: 2.72 },
    blocked: {
      categories: ['abuse', 'adult', 'gambling', 'malware'],
      venues: [
        {
          venue: 'Biblioteka',
          queries: 30_000,
          blocked: 910,
          blockedPercent: 3.03,
          byCategory: { adult: 700, abuse: 3, gambling: 210 },
        },
        {
          venue: 'Sheshi Skënderbej',
          queries: 18_210,
          blocked: 400,
          byCategory: { adult: 380, malware: 20 },
        },
      ],
      byCategory: [{ category: 'adult', count: 1080, percentOfQueries: 2.24 }],
    },
    distinctBlockedNames: { estimate: true, method: /HyperLogLog/ },
    listUpdates: [{ at: '2026-10-02T04:00:00Z', version: '0123456789ab', entries: 812_345 }],
    uptime: {
      firstStart: '2026-09-01T08:00:00Z',
      from: '2026-10-01T00:00:00Z',
      to: '2026-11-01T00:00:00Z',
      servedSeconds: 31 * 86_400 - 3600,
      periodSeconds: 31 * 86_400,
      servedHours: 743,
      percent: 99.9,
    },
    selfTests: {
      runs: 2,
      passes: 1,
      failures: 1,
      venues: [
        { venue: 'Biblioteka', runs: 1, passes: 1, failures: 0, results: [{ sha256: 'ab'.repeat(32) }] },
        { venue: null, runs: 1, passes: 0, failures: 1, results: [{ failed: 1 }] },
      ],
    },
    appeals: { received: 6, accepted: 2, rejected: 2, byCategory: [{ category: 'adult', received: 5 }] },
    generatedAt: '2026-11-02T09:00:00Z',
    generator: /^roje \d/,
  });
  const current = await buildTransparencyReport(source(), { month: '2026-11', now: NOW });
  t.equal(current.uptime.periodSeconds, 33 * 3600, 'a current month counts the time passed so far');
  t.equal((await buildTransparencyReport(source(), { month: '2026-12', now: NOW })).uptime.percent, null);
});

t.test('uptime of an instance started mid-month counts from its first start', async (t) => {
  // Deployed on the 6th at 10:00, up ever since: 100 %, not the 84 % a count from the 1st would give.
  const served = (31 - 5) * 86_400 - 10 * 3600;
  const data = { ...SAMPLE, firstStart: '2026-10-06T10:00:00.000Z', servedSeconds: served };
  const r = await buildTransparencyReport(source(data), { month: '2026-10', now: NOW });
  t.match(r.uptime, {
    firstStart: '2026-10-06T10:00:00Z',
    from: '2026-10-06T10:00:00Z',
    to: '2026-11-01T00:00:00Z',
    periodSeconds: served,
    percent: 100,
  });
  const tirane = await buildTransparencyReport(source(data), {
    month: '2026-10',
    now: NOW,
    timeZone: 'Europe/Tirane',
  });
  t.equal(tirane.uptime.from, '2026-10-06T12:00:00+02:00', 'stated in the zone');
  t.equal(tirane.uptime.to, '2026-11-01T00:00:00+01:00');
  const before = await buildTransparencyReport(source(data), { month: '2026-09', now: NOW });
  t.match(before.uptime, { from: null, to: null, periodSeconds: 0, percent: null }, 'no part of September');
  const html = renderReportHtml(before);
  t.match(html, /did not exist this month/);
  const running = await buildTransparencyReport(source({ ...data, servedSeconds: 3600 }), {
    month: '2026-10',
    now: Date.parse('2026-10-06T12:00:00Z'),
  });
  t.match(
    running.uptime,
    { periodSeconds: 7200, percent: 50 },
    'to the generation time in the current month',
  );
});

t.test('self-test digests: a stored run id (a timestamp) is not shown as a SHA-256', async (t) => {
  const data = {
    ...SAMPLE,
    selfTests: [
      { ...SAMPLE.selfTests[0]!, venue: null, sha256: '2026-10-02T04-05-00-000Z' },
      { ...SAMPLE.selfTests[1]!, venue: 'Biblioteka' },
    ],
  };
  const r = await buildTransparencyReport(source(data), { month: '2026-10', now: NOW });
  t.equal(r.selfTests.venues.find((v) => v.venue === null)?.results[0]?.sha256, null);
  const html = renderReportHtml(r);
  t.notMatch(html, /2026-10-02T04-05/, 'no timestamp in the SHA-256 column');
  t.match(
    html,
    new RegExp(`<code>${'cd'.repeat(32)}</code>`),
    'the whole digest, to compare with a kept report',
  );
  t.match(html, /Clients of no site/);
});

t.test('CSV: one tidy table, quoted as RFC 4180 wants, no formula injection', async (t) => {
  const r = await buildTransparencyReport(source(), {
    month: '2026-10',
    site: undefined,
    operator: '=cmd',
    now: NOW,
  });
  const csv = renderReportCsv(r);
  const lines = csv.split('\r\n');
  t.equal(lines[0], 'section,at,venue,category,metric,value');
  t.ok(lines.includes('report,,,,time_zone,UTC'));
  t.ok(lines.includes('blocked,,Biblioteka,adult,requests,700'));
  t.ok(lines.includes('blocked,,Biblioteka,,queries,30000'));
  t.ok(lines.includes('blocked,,Biblioteka,,blocked_percent,3.03'));
  t.ok(lines.includes('blocked,,Sheshi Skënderbej,malware,requests,20'));
  t.ok(lines.includes('category,,,adult,percent_of_queries,2.24'));
  t.ok(lines.includes('distinct,,,abuse,names_estimate,2'));
  t.ok(lines.includes('queries,,,,total,48210'));
  t.ok(lines.includes('uptime,,,,percent,99.9'));
  t.ok(lines.includes('uptime,,,,from,2026-10-01T00:00:00Z'));
  t.ok(lines.includes('self_tests,,,,failures,1'));
  t.ok(lines.includes(`self_test,2026-10-02T04:05:00Z,Biblioteka,,sha256,${'ab'.repeat(32)}`));
  t.ok(lines.includes('appeals,,,gambling,rejected,1'));
  t.ok(lines.includes("report,,,,operator,'=cmd"), 'a formula is defused');
  t.ok(lines.includes('list_update,2026-10-02T04:00:00Z,,,reason,lists recompiled (feeds: adult)'));
  t.ok(lines.every((l) => l === '' || l.split(',').length >= 6));
});

t.test('HTML: bilingual, self-contained, escaped, zone stated', async (t) => {
  const data = {
    ...SAMPLE,
    venues: [
      { venue: '<b>x</b>', queries: 2, blocked: 1 },
      { venue: '(none)', queries: 4, blocked: 0 },
    ],
    blocks: [],
  };
  const html = renderReportHtml(
    await buildTransparencyReport(source(data), { month: '2026-10', now: NOW, timeZone: 'Europe/Tirane' }),
  );
  t.match(html, /Kërkesa të bllokuara sipas vendndodhjes dhe kategorisë/);
  t.match(html, /Blocked requests by site and category/);
  t.match(html, /Emra të ndryshëm të bllokuar \(vlerësim\)/);
  t.match(html, /Distinct blocked names \(estimates\)/);
  t.match(html, /Wrong-block reports/);
  t.match(html, /Europe\/Tirane/);
  t.match(html, /2026-10-01 00:00 – 2026-11-01 00:00/, 'the month in local time');
  t.match(html, /2026-10-02 06:00/, 'a list update at 04:00 UTC shown at 06:00 in Tirane');
  t.match(html, /&lt;b&gt;x&lt;\/b&gt;/);
  t.match(html, /50\.00 %/, "the venue's blocked share");
  t.match(
    html,
    /<td>Klientë jashtë çdo vendndodhjeje <span class="en">\/ Clients of no site<\/span><\/td><td>4<\/td>/,
    'clients of no venue named in words',
  );
  t.notMatch(html, /<script|\b(src|href)=/i);
  t.match(reportCsp(), /default-src 'none'; style-src 'sha256-/);
  t.equal(
    renderReport(await buildTransparencyReport(source(), { month: '2026-10', now: NOW }), 'json').contentType,
    'application/json; charset=utf-8',
  );
});
