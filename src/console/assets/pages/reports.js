/**
 * Reports: the wrong-block reports visitors send from the block page, open ones first. An operator
 * accepts one (allowing the site for the report's venue or for everyone, live within seconds, or
 * allowing nothing) or rejects it; the API makes the allow override and checks the role. A report the
 * abuse category blocked never carries its name (the store drops it) and is never offered for allowing.
 */
import {
  ApiError,
  api,
  badge,
  can,
  categoryName,
  el,
  facts,
  formatTime,
  setStatus,
  showRefusal,
  t,
  venueName,
} from '../core.js';

/** The statistics' and reports' venue of clients in no venue (src/stats/recorder.ts NO_VENUE). */
const NO_VENUE = '(none)';
/** The categories no operator may override (src/policy/types.ts CONFIDENTIAL_CATEGORIES). */
const CONFIDENTIAL = new Set(['abuse']);
const STATUSES = ['open', 'accepted', 'rejected'];
const LIMIT = 100;
const BADGE = { open: 'warn', accepted: 'ok', rejected: 'muted' };

/** The filter, kept across a redraw, a language switch or a visit to another page. */
const chosen = { status: 'open', offset: 0 };
/** What the last action did, said once the page has been drawn again. */
let outcome = null;

const categoriesOf = (report) =>
  String(report.category)
    .split(/[\s,]+/)
    .filter(Boolean);
const confidential = (report) =>
  report.name === null || categoriesOf(report).some((c) => CONFIDENTIAL.has(c));

/** Sends a review; on success the page is drawn again (the report moves to another filter) and says so. */
async function review(button, report, body, done) {
  for (const b of button.parentElement.querySelectorAll('button')) b.disabled = true;
  try {
    const note = document.getElementById(`note-${report.id}`).value.trim();
    await api('POST', `/api/v1/reports/${report.id}`, { body: note ? { ...body, note } : body });
    outcome = done;
    document.dispatchEvent(new Event('roje:redraw'));
  } catch (err) {
    showRefusal('reports', err);
    if (err instanceof ApiError && err.code === 'ROJE_ERR_STATS_REPORT_NOT_FOUND') {
      document.dispatchEvent(new Event('roje:redraw'));
      return;
    }
    for (const b of button.parentElement.querySelectorAll('button')) b.disabled = false;
  }
}

/** The operator's note and buttons for an open report. */
function reviewControls(report) {
  const note = el('textarea', { id: `note-${report.id}`, name: 'note', rows: '2', maxlength: '1000' });
  const venue = venueName(report.venue);
  const buttons = el('div', { class: 'actions' });
  const button = (key, cls, body, done) => {
    const b = el('button', { type: 'button', class: cls, 'data-action': key }, t(`reports.${key}`));
    b.addEventListener('click', () => review(b, report, body, done));
    buttons.append(b);
  };
  const secret = confidential(report);
  if (!secret && report.venue !== NO_VENUE) {
    button('allowVenue', null, { status: 'accepted', allow: 'venue' }, [
      'reports.done.venue',
      { name: report.name, venue },
    ]);
  }
  if (!secret) {
    button('allowAll', 'secondary', { status: 'accepted', allow: 'all' }, [
      'reports.done.all',
      { name: report.name },
    ]);
  }
  button('acceptOnly', 'secondary', { status: 'accepted' }, ['reports.done.accepted', null]);
  button('reject', 'danger', { status: 'rejected' }, ['reports.done.rejected', null]);
  return el(
    'div',
    { class: 'review' },
    secret
      ? el('p', { class: 'muted' }, t('reports.abuse'))
      : report.venue === NO_VENUE
        ? el('p', { class: 'muted' }, t('reports.noVenueAllow'))
        : null,
    el('label', { for: note.id }, el('span', null, t('reports.noteLabel')), note),
    buttons,
  );
}

function reportItem(report) {
  const secret = confidential(report);
  const site = secret ? t('reports.hiddenSite') : report.name;
  const reviewed = report.reviewedAt
    ? t('reports.reviewedBy', { who: report.reviewedBy ?? '–', time: formatTime(report.reviewedAt) })
    : null;
  const lookup = new URLSearchParams({ name: report.name ?? '' });
  if (report.venue !== NO_VENUE) lookup.set('venue', report.venue);
  return el(
    'article',
    { class: 'item report', 'data-id': report.id, 'aria-labelledby': `report-${report.id}` },
    el(
      'div',
      { class: 'head' },
      el('h3', { class: 'name', id: `report-${report.id}` }, site),
      badge(t(`reports.badge.${report.status}`), BADGE[report.status] ?? 'muted'),
    ),
    facts([
      [t('venue'), venueName(report.venue)],
      [t('reports.category'), categoriesOf(report).map(categoryName).join(', ')],
      [t('reports.sent'), formatTime(report.at)],
      [t('reports.message'), report.message ? report.message : null],
      [t('reports.reviewed'), reviewed],
      [t('note'), report.note ? report.note : null],
    ]),
    secret ? null : el('p', null, el('a', { href: `#/lookup?${lookup}` }, t('reports.why'))),
    report.status === 'open' && can('operator') ? reviewControls(report) : null,
  );
}

/** Newer and older pages of reports, when there are more than fit one. */
function pager(page) {
  const go = (offset) => () => {
    chosen.offset = Math.max(0, offset);
    document.dispatchEvent(new Event('roje:redraw'));
  };
  const newer = chosen.offset > 0;
  const older = chosen.offset + page.reports.length < page.total;
  return el(
    'div',
    { class: 'actions', id: 'report-pages', hidden: !newer && !older },
    newer
      ? el(
          'button',
          { type: 'button', class: 'secondary', onclick: go(chosen.offset - LIMIT) },
          t('reports.newer'),
        )
      : null,
    older
      ? el(
          'button',
          { type: 'button', class: 'secondary', onclick: go(chosen.offset + LIMIT) },
          t('reports.older'),
        )
      : null,
  );
}

async function render(root) {
  let page = await api('GET', '/api/v1/reports', { query: { ...chosen, limit: LIMIT } });
  if (page.reports.length === 0 && chosen.offset > 0) {
    // The last report of a later page was just reviewed: show the page before it.
    chosen.offset = Math.max(0, chosen.offset - LIMIT);
    page = await api('GET', '/api/v1/reports', { query: { ...chosen, limit: LIMIT } });
  }
  const status = el(
    'select',
    { id: 'report-status', name: 'status' },
    STATUSES.map((s) => el('option', { value: s, selected: s === chosen.status }, t(`reports.${s}`))),
  );
  const redraw = () => {
    chosen.status = status.value;
    chosen.offset = 0;
    document.dispatchEvent(new Event('roje:redraw'));
  };
  status.addEventListener('change', redraw);
  const controls = el(
    'form',
    {
      id: 'report-filter',
      onsubmit: (e) => {
        e.preventDefault();
        redraw();
      },
    },
    el('label', { for: status.id }, el('span', null, t('reports.show')), status),
    el('button', { type: 'submit', class: 'secondary' }, t('reports.refresh')),
  );
  root.append(
    el('h2', { tabindex: '-1' }, t('reports.title')),
    el('p', { class: 'muted' }, t('reports.tagline')),
    el('p', { class: 'muted', id: 'read-only', hidden: can('operator') }, t('reports.readOnly')),
    controls,
    el(
      'p',
      { id: 'report-count', class: 'muted' },
      page.reports.length
        ? t('reports.count', {
            from: chosen.offset + 1,
            to: chosen.offset + page.reports.length,
            total: page.total,
          })
        : t('reports.none'),
    ),
    el('div', { id: 'reports' }, page.reports.map(reportItem)),
    pager(page),
  );
  if (outcome !== null) {
    const [key, vars] = outcome;
    outcome = null;
    setStatus(key, vars, 'ok');
    // The button pressed is gone: the keyboard continues from the page's heading.
    root.querySelector('h2').focus();
  }
}

export default { id: 'reports', nav: 'nav.reports', role: 'auditor', render };
