/**
 * The transparency report as CSV in one tidy long table (RFC 4180, CRLF), so that a spreadsheet or a
 * script can filter it without knowing the sections in advance:
 *
 *   section,at,venue,category,metric,value
 *
 * - report:       metric month | from | to | site | operator | generated_at | generator
 * - queries:      metric total (empty for one site) | blocked
 * - blocked:      venue, category, metric requests (one row per venue and category) and
 *                 venue, metric blocked (each answer once, per venue)
 * - distinct:     category, metric names_estimate (HyperLogLog estimate, never a name)
 * - uptime:       metric served_seconds | period_seconds | served_hours | percent
 * - list_update:  at, metric version | entries | sources | reason (one row each)
 * - self_tests:   metric runs | passes | failures
 * - self_test:    at, metric suite | passed | failed | sha256 (one row each)
 */
import type { LocalText } from '../blockpage/i18n.js';
import type { TransparencyReport } from './transparency.js';

const COLUMNS = ['section', 'at', 'venue', 'category', 'metric', 'value'] as const;

/** A field as RFC 4180 wants it; text a spreadsheet would run as a formula is prefixed with a quote. */
function field(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

function operatorText(operator: LocalText | null): string | null {
  if (operator === null) return null;
  return typeof operator === 'string'
    ? operator
    : operator.sq === operator.en
      ? operator.sq
      : `${operator.sq} / ${operator.en}`;
}

export function renderReportCsv(report: TransparencyReport): string {
  const rows: Array<Array<string | number | null>> = [];
  const add = (
    section: string,
    metric: string,
    value: string | number | null,
    at: string | null = null,
    venue: string | null = null,
    category: string | null = null,
  ) => rows.push([section, at, venue, category, metric, value]);

  add('report', 'month', report.period.month);
  add('report', 'from', report.period.from);
  add('report', 'to', report.period.to);
  add('report', 'site', report.site);
  add('report', 'operator', operatorText(report.operator));
  add('report', 'generated_at', report.generatedAt);
  add('report', 'generator', report.generator);
  add('queries', 'total', report.queries.total);
  add('queries', 'blocked', report.queries.blocked);
  for (const v of report.blocked.venues) {
    add('blocked', 'blocked', v.blocked, null, v.venue);
    for (const c of report.blocked.categories) {
      const n = v.byCategory[c];
      if (n !== undefined) add('blocked', 'requests', n, null, v.venue, c);
    }
  }
  for (const d of report.distinctBlockedNames.byCategory)
    add('distinct', 'names_estimate', d.estimate, null, null, d.category);
  add('uptime', 'served_seconds', report.uptime.servedSeconds);
  add('uptime', 'period_seconds', report.uptime.periodSeconds);
  add('uptime', 'served_hours', report.uptime.servedHours);
  add('uptime', 'percent', report.uptime.percent);
  for (const u of report.listUpdates) {
    add('list_update', 'version', u.version, u.at);
    add('list_update', 'entries', u.entries, u.at);
    add('list_update', 'sources', u.sources, u.at);
    add('list_update', 'reason', u.reason, u.at);
  }
  add('self_tests', 'runs', report.selfTests.runs);
  add('self_tests', 'passes', report.selfTests.passes);
  add('self_tests', 'failures', report.selfTests.failures);
  for (const r of report.selfTests.results) {
    add('self_test', 'suite', r.suite, r.at);
    add('self_test', 'passed', r.passed, r.at);
    add('self_test', 'failed', r.failed, r.at);
    add('self_test', 'sha256', r.sha256, r.at);
  }
  return [COLUMNS.join(','), ...rows.map((r) => r.map(field).join(','))].map((l) => `${l}\r\n`).join('');
}
