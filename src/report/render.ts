/** One entry for the CLI and the admin API: a report in the asked format, with its content type. */
import { renderReportCsv } from './csv.js';
import { renderReportHtml } from './html.js';
import type { ReportFormat, TransparencyReport } from './transparency.js';

export function renderReport(
  report: TransparencyReport,
  format: ReportFormat,
): { contentType: string; body: string } {
  if (format === 'html') return { contentType: 'text/html; charset=utf-8', body: renderReportHtml(report) };
  if (format === 'csv') return { contentType: 'text/csv; charset=utf-8', body: renderReportCsv(report) };
  return { contentType: 'application/json; charset=utf-8', body: `${JSON.stringify(report, null, 2)}\n` };
}
