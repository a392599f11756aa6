/**
 * The transparency report as CSV in one tidy long table (RFC 4180, CRLF), so that a spreadsheet or a
 * script can filter it without knowing the sections in advance:
 *
 *   section,at,venue,category,metric,value
 *
 * - report:       metric month | time_zone | from | to | site | operator | generated_at | generator
 * - queries:      metric total | blocked | blocked_percent
 * - blocked:      venue, metric queries | blocked | blocked_percent (per venue, each answer once) and
 *                 venue, category, metric requests (one row per venue and category)
 * - category:     category, metric blocked | percent_of_queries
 * - distinct:     category, metric names_estimate (HyperLogLog estimate, never a name)
 * - uptime:       metric first_start | from | to | served_seconds | period_seconds | served_hours | percent
 * - list_update:  at, metric version | entries | sources | reason (one row each)
 * - self_tests:   metric runs | passes | failures
 * - self_test:    at, venue (empty: clients of no venue), metric suite | passed | failed | sha256
 * - appeals:      metric received | accepted | rejected, and per category with the category
 *
 * Every instant is ISO 8601 with the offset of the report's time zone.
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
  add('report', 'time_zone', report.period.timeZone);
  add('report', 'from', report.period.from);
  add('report', 'to', report.period.to);
  add('report', 'site', report.site);
  add('report', 'operator', operatorText(report.operator));
  add('report', 'generated_at', report.generatedAt);
  add('report', 'generator', report.generator);
  add('queries', 'total', report.queries.total);
  add('queries', 'blocked', report.queries.blocked);
  add('queries', 'blocked_percent', report.queries.blockedPercent);
  for (const v of report.blocked.venues) {
    add('blocked', 'queries', v.queries, null, v.venue);
    add('blocked', 'blocked', v.blocked, null, v.venue);
    add('blocked', 'blocked_percent', v.blockedPercent, null, v.venue);
    for (const c of report.blocked.categories) {
      const n = v.byCategory[c];
      if (n !== undefined) add('blocked', 'requests', n, null, v.venue, c);
    }
  }
  for (const c of report.blocked.byCategory) {
    add('category', 'blocked', c.count, null, null, c.category);
    add('category', 'percent_of_queries', c.percentOfQueries, null, null, c.category);
  }
  for (const d of report.distinctBlockedNames.byCategory)
    add('distinct', 'names_estimate', d.estimate, null, null, d.category);
  add('uptime', 'first_start', report.uptime.firstStart);
  add('uptime', 'from', report.uptime.from);
  add('uptime', 'to', report.uptime.to);
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
  for (const v of report.selfTests.venues) {
    for (const r of v.results) {
      add('self_test', 'suite', r.suite, r.at, v.venue);
      add('self_test', 'passed', r.passed, r.at, v.venue);
      add('self_test', 'failed', r.failed, r.at, v.venue);
      add('self_test', 'sha256', r.sha256, r.at, v.venue);
    }
  }
  add('appeals', 'received', report.appeals.received);
  add('appeals', 'accepted', report.appeals.accepted);
  add('appeals', 'rejected', report.appeals.rejected);
  for (const a of report.appeals.byCategory) {
    add('appeals', 'received', a.received, null, null, a.category);
    add('appeals', 'accepted', a.accepted, null, null, a.category);
    add('appeals', 'rejected', a.rejected, null, null, a.category);
  }
  return [COLUMNS.join(','), ...rows.map((r) => r.map(field).join(','))].map((l) => `${l}\r\n`).join('');
}
