/**
 * Wrong-block reports: a visitor of the block page says a site should not have been blocked; an
 * operator reviews it through the admin API. A report never holds a client address, and never the
 * name when a confidential category (the abuse feed) blocked it: that name is itself a feed entry.
 */
import { randomBytes } from 'node:crypto';
import { RojeError } from '../errors.js';
import { CONFIDENTIAL_CATEGORIES } from '../policy/types.js';
import type { StatsDatabase } from './db.js';

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
  /** Stores a report; ROJE_ERR_STATS_REPORT_INVALID, ROJE_ERR_STATS_REPORTS_FULL or ROJE_ERR_STATS_WRITE. */
  addReport(report: NewReport): Report;
  listReports(query?: ListReportsQuery): ReportsPage;
  /** Sets the status (and the note); ROJE_ERR_STATS_REPORT_NOT_FOUND when there is no such id. */
  reviewReport(id: number, status: ReportStatus, by: string, note?: string): Report;
  /** The report; ROJE_ERR_STATS_REPORT_NOT_FOUND when there is no such id. */
  getReport(id: number): Report;
  /** The status of the report with that reference, or null when there is none: all the reporter sees. */
  reportOutcome(reference: string): ReportStatus | null;
}

/** A reference: 16 random bytes, base64url (22 characters). */
export const REFERENCE_PATTERN = /^[A-Za-z0-9_-]{22}$/;
export const MAX_REVIEW_NOTE = 1000;

export interface ReportsOptions {
  /** Open reports beyond which new ones are refused (a flood from the block page stops here). */
  maxOpen: number;
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

/** A row as SQLite returns it: the columns are named and typed as a Report. */
type ReportRow = Report;

const COLUMNS =
  'id, at, venue, category, name, message, status, reviewed_by AS reviewedBy, reviewed_at AS reviewedAt, note, reference';

export function createReports(
  db: StatsDatabase,
  options: ReportsOptions,
  now: () => number = Date.now,
): Reports {
  const countOpen = db.prepare<[], { n: number }>("SELECT count(*) AS n FROM reports WHERE status = 'open'");
  const insert = db.prepare<[string, string, string, string | null, string, string]>(
    "INSERT INTO reports (at, venue, category, name, message, status, reference) VALUES (?, ?, ?, ?, ?, 'open', ?)",
  );
  const byReference = db.prepare<[string], { status: ReportStatus }>(
    'SELECT status FROM reports WHERE reference = ?',
  );
  const byId = db.prepare<[number], ReportRow>(`SELECT ${COLUMNS} FROM reports WHERE id = ?`);
  const list = db.prepare<[{ status: string | null; limit: number; offset: number }], ReportRow>(
    `SELECT ${COLUMNS} FROM reports WHERE (@status IS NULL OR status = @status) ORDER BY id DESC LIMIT @limit OFFSET @offset`,
  );
  const count = db.prepare<[{ status: string | null }], { n: number }>(
    'SELECT count(*) AS n FROM reports WHERE (@status IS NULL OR status = @status)',
  );
  const review = db.prepare<[string, string, string, string | null, number]>(
    'UPDATE reports SET status = ?, reviewed_by = ?, reviewed_at = ?, note = ? WHERE id = ?',
  );
  const add = db.transaction((row: [string, string, string, string | null, string, string]) => {
    const open = countOpen.get()?.n ?? 0;
    if (open >= options.maxOpen) {
      throw new RojeError(
        'ROJE_ERR_STATS_REPORTS_FULL',
        `${open} reports are waiting for review (the limit is ${options.maxOpen}); review some before new ones are taken`,
      );
    }
    return Number(insert.run(...row).lastInsertRowid);
  });

  function write<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof RojeError) throw err;
      throw new RojeError(
        'ROJE_ERR_STATS_WRITE',
        `cannot write to the statistics database: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }

  return {
    addReport(report) {
      const venue = clean(report.venue, 'venue', MAX_LABEL, true);
      const category = clean(report.category, 'category', MAX_LABEL, true);
      const message = clean(report.message, 'message', MAX_REPORT_MESSAGE, false);
      // Checked before the name is even looked at: a confidential name must not reach an error either.
      const name = isConfidentialCategory(category)
        ? null
        : clean(report.name, 'name', MAX_NAME, false) || null;
      const at = new Date(now()).toISOString();
      const reference = randomBytes(16).toString('base64url');
      const id = write(() => add([at, venue, category, name, message, reference]));
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
    listReports(query = {}) {
      const status = query.status ?? null;
      if (status !== null && !REPORT_STATUSES.includes(status)) {
        throw invalid(`status "${String(status)}" must be one of ${REPORT_STATUSES.join(', ')}`);
      }
      const limit = query.limit ?? 50;
      const offset = query.offset ?? 0;
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST)
        throw invalid(`limit must be 1..${MAX_LIST}`);
      if (!Number.isInteger(offset) || offset < 0) throw invalid('offset must be a non-negative integer');
      const total = count.get({ status })?.n ?? 0;
      const reports = list.all({ status, limit, offset });
      return { total, reports };
    },
    getReport(id) {
      const row = Number.isInteger(id) && id >= 1 ? byId.get(id) : undefined;
      if (row === undefined)
        throw new RojeError('ROJE_ERR_STATS_REPORT_NOT_FOUND', `there is no report with id ${id}`);
      return row;
    },
    reportOutcome(reference) {
      if (!REFERENCE_PATTERN.test(reference)) return null;
      return byReference.get(reference)?.status ?? null;
    },
    reviewReport(id, status, by, note) {
      if (!Number.isInteger(id) || id < 1) throw invalid('id must be a positive integer');
      if (!REPORT_STATUSES.includes(status)) {
        throw invalid(`status "${String(status)}" must be one of ${REPORT_STATUSES.join(', ')}`);
      }
      const reviewer = clean(by, 'reviewer', MAX_LABEL, true);
      const text = clean(note, 'note', MAX_REVIEW_NOTE, false) || null;
      const at = new Date(now()).toISOString();
      const changes = write(() => review.run(status, reviewer, at, text, id).changes);
      if (changes === 0)
        throw new RojeError('ROJE_ERR_STATS_REPORT_NOT_FOUND', `there is no report with id ${id}`);
      const row = byId.get(id);
      if (row === undefined)
        throw new RojeError('ROJE_ERR_STATS_REPORT_NOT_FOUND', `there is no report with id ${id}`);
      return row;
    },
  };
}
