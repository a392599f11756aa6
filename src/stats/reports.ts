/**
 * Wrong-block reports: a visitor of the block page says a site should not have been blocked; an
 * operator reviews it through the admin API. A report never holds a client address, and never the
 * name when a confidential category (the abuse feed) blocked it: that name is itself a feed entry.
 */
import { randomBytes } from 'node:crypto';
import { RojeError } from '../errors.js';
import { CONFIDENTIAL_CATEGORIES } from '../policy/types.js';
import type { SqlExecutor } from '../store/sql.js';

export type ReportStatus = 'open' | 'accepted' | 'rejected';
export const REPORT_STATUSES: readonly ReportStatus[] = ['open', 'accepted', 'rejected'];

export const MAX_REPORT_MESSAGE = 1000;
const MAX_NAME = 253;
const MAX_LABEL = 200;
const MAX_LIST = 500;

export interface NewReport {
  venue: string;
  /** The blocking category, or several separated by commas ("adult,gambling"). */
  category: string;
  /** The blocked name; dropped (stored NULL) when any of the categories is confidential. */
  name?: string | undefined;
  message?: string | undefined;
}

export interface Report {
  id: number;
  /** UTC ISO instant the report was made. */
  at: string;
  venue: string;
  category: string;
  name: string | null;
  message: string;
  status: ReportStatus;
  reviewedBy: string | null;
  reviewedAt: string | null;
  /** The reviewer's note. */
  note: string | null;
  /** The reporter's reference (the block page shows it; its outcome page takes it); null before v4. */
  reference: string | null;
}

export interface ListReportsQuery {
  status?: ReportStatus | undefined;
  /** 1..500, default 50. */
  limit?: number | undefined;
  offset?: number | undefined;
}

export interface ReportsPage {
  total: number;
  reports: Report[];
}

export interface Reports {
  /**
   * Stores a report; ROJE_ERR_STATS_REPORT_INVALID, ROJE_ERR_STATS_REPORTS_FULL, ROJE_ERR_STATS_WRITE
   * or (the shared store is down) ROJE_ERR_STORE_UNAVAILABLE: a report is never silently lost.
   */
  addReport(report: NewReport): Promise<Report>;
  listReports(query?: ListReportsQuery): Promise<ReportsPage>;
  /** Sets the status (and the note); ROJE_ERR_STATS_REPORT_NOT_FOUND when there is no such id. */
  reviewReport(id: number, status: ReportStatus, by: string, note?: string): Promise<Report>;
  /** The report; ROJE_ERR_STATS_REPORT_NOT_FOUND when there is no such id. */
  getReport(id: number): Promise<Report>;
  /** The status of the report with that reference, or null when there is none: all the reporter sees. */
  reportOutcome(reference: string): Promise<ReportStatus | null>;
}

/** A reference: 16 random bytes, base64url (22 characters). */
export const REFERENCE_PATTERN = /^[A-Za-z0-9_-]{22}$/;
export const MAX_REVIEW_NOTE = 1000;

export interface ReportsOptions {
  /** Open reports (the whole city's) beyond which new ones are refused (a flood from the block page stops here). */
  maxOpen: number;
  /** This instance's name, kept with each report it takes. */
  instance: string;
}

function invalid(message: string): RojeError {
  return new RojeError('ROJE_ERR_STATS_REPORT_INVALID', message);
}

/** Text a person typed or a page sent: bounded, no control characters (they end up in an admin UI). */
function clean(value: unknown, what: string, max: number, required: boolean): string {
  if (value === undefined || value === null) {
    if (required) throw invalid(`${what} is required`);
    return '';
  }
  if (typeof value !== 'string') throw invalid(`${what} must be a string`);
  const text = value.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '').trim();
  if (required && text === '') throw invalid(`${what} is required`);
  if (text.length > max) throw invalid(`${what} is ${text.length} characters long; the limit is ${max}`);
  return text;
}

export function isConfidentialCategory(category: string): boolean {
  return category.split(/[\s,]+/).some((c) => CONFIDENTIAL_CATEGORIES.has(c.toLowerCase()));
}

/** A row as both databases return it: the columns are named and typed as a Report. */
type ReportRow = Report;

const COLUMNS =
  'id, at, venue, category, name, message, status, reviewed_by AS "reviewedBy", reviewed_at AS "reviewedAt", note, reference';
const SQL = {
  countOpen: "SELECT count(*) AS n FROM reports WHERE status = 'open'",
  insert: `INSERT INTO reports (instance, at, venue, category, name, message, status, reference)
    VALUES (?, ?, ?, ?, ?, ?, 'open', ?) RETURNING id`,
  byReference: 'SELECT status FROM reports WHERE reference = ?',
  byId: `SELECT ${COLUMNS} FROM reports WHERE id = ?`,
  list: `SELECT ${COLUMNS} FROM reports WHERE (CAST(@status AS TEXT) IS NULL OR status = @status)
    ORDER BY id DESC LIMIT @limit OFFSET @offset`,
  count: 'SELECT count(*) AS n FROM reports WHERE (CAST(@status AS TEXT) IS NULL OR status = @status)',
  review: 'UPDATE reports SET status = ?, reviewed_by = ?, reviewed_at = ?, note = ? WHERE id = ?',
};

/** A database failure as the API answers it: the store's own errors as they are, others as a write error. */
function writeError(err: unknown): RojeError {
  if (err instanceof RojeError) return err;
  return new RojeError(
    'ROJE_ERR_STATS_WRITE',
    `cannot write to the statistics database: ${(err as Error).message}`,
    { cause: err },
  );
}

export function createReports(
  db: SqlExecutor,
  options: ReportsOptions,
  now: () => number = Date.now,
): Reports {
  async function byId(id: number): Promise<ReportRow> {
    const row = Number.isInteger(id) && id >= 1 ? await db.get<ReportRow>(SQL.byId, [id]) : undefined;
    if (row === undefined)
      throw new RojeError('ROJE_ERR_STATS_REPORT_NOT_FOUND', `there is no report with id ${id}`);
    return row;
  }

  return {
    async addReport(report) {
      const venue = clean(report.venue, 'venue', MAX_LABEL, true);
      const category = clean(report.category, 'category', MAX_LABEL, true);
      const message = clean(report.message, 'message', MAX_REPORT_MESSAGE, false);
      // Checked before the name is even looked at: a confidential name must not reach an error either.
      const name = isConfidentialCategory(category)
        ? null
        : clean(report.name, 'name', MAX_NAME, false) || null;
      const at = new Date(now()).toISOString();
      const reference = randomBytes(16).toString('base64url');
      const id = await db
        .transaction(async (tx) => {
          const open = (await tx.get<{ n: number }>(SQL.countOpen))?.n ?? 0;
          if (open >= options.maxOpen) {
            throw new RojeError(
              'ROJE_ERR_STATS_REPORTS_FULL',
              `${open} reports are waiting for review (the limit is ${options.maxOpen}); review some before new ones are taken`,
            );
          }
          const r = await tx.run<{ id: number }>(SQL.insert, [
            options.instance,
            at,
            venue,
            category,
            name,
            message,
            reference,
          ]);
          return Number(r.rows[0]?.id);
        })
        .catch((err: unknown) => {
          throw writeError(err);
        });
      return {
        id,
        at,
        venue,
        category,
        name,
        message,
        status: 'open',
        reviewedBy: null,
        reviewedAt: null,
        note: null,
        reference,
      };
    },
    async listReports(query = {}) {
      const status = query.status ?? null;
      if (status !== null && !REPORT_STATUSES.includes(status)) {
        throw invalid(`status "${String(status)}" must be one of ${REPORT_STATUSES.join(', ')}`);
      }
      const limit = query.limit ?? 50;
      const offset = query.offset ?? 0;
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST)
        throw invalid(`limit must be 1..${MAX_LIST}`);
      if (!Number.isInteger(offset) || offset < 0) throw invalid('offset must be a non-negative integer');
      const total = (await db.get<{ n: number }>(SQL.count, { status }))?.n ?? 0;
      const reports = await db.all<ReportRow>(SQL.list, { status, limit, offset });
      return { total, reports };
    },
    getReport: byId,
    async reportOutcome(reference) {
      if (!REFERENCE_PATTERN.test(reference)) return null;
      return (await db.get<{ status: ReportStatus }>(SQL.byReference, [reference]))?.status ?? null;
    },
    async reviewReport(id, status, by, note) {
      if (!Number.isInteger(id) || id < 1) throw invalid('id must be a positive integer');
      if (!REPORT_STATUSES.includes(status)) {
        throw invalid(`status "${String(status)}" must be one of ${REPORT_STATUSES.join(', ')}`);
      }
      const reviewer = clean(by, 'reviewer', MAX_LABEL, true);
      const text = clean(note, 'note', MAX_REVIEW_NOTE, false) || null;
      const at = new Date(now()).toISOString();
      const r = await db.run(SQL.review, [status, reviewer, at, text, id]).catch((err: unknown) => {
        throw writeError(err);
      });
      if (r.changes === 0)
        throw new RojeError('ROJE_ERR_STATS_REPORT_NOT_FOUND', `there is no report with id ${id}`);
      return byId(id);
    },
  };
}
