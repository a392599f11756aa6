/**
 * Self-tests: the kept runs of roje's scheduled self-test, newest first. The latest run in full (per
 * venue its counts, its failed checks and its signed report as HTML or JSON), the earlier ones in a
 * compact table, and for operators a button that runs it now. A failed check shows its name, category,
 * what was expected and what came back, never the name asked: the abuse canary stays out of sight.
 */
import {
  act,
  api,
  badge,
  can,
  categoryName,
  dataTable,
  download,
  el,
  facts,
  formatNumber,
  formatTime,
  setStatus,
  t,
  venueName,
} from '../core.js';

const PATH = '/api/v1/selftest';
/** Failed checks shown per venue; the report holds the rest. */
const MAX_CASES = 50;
/** A finished run to announce once the page is drawn again with it (the redraw resets the status line). */
let announce = null;

const total = (r) => r.passed + r.failed;

/** "school" or "no-venue": a file name part (venue names are [A-Za-z0-9_-]). */
const fileVenue = (venue) => (venue === null ? 'no-venue' : venue);

function reportButton(run, v, format) {
  const label = t(format === 'html' ? 'selftest.htmlFor' : 'selftest.jsonFor', {
    venue: venueName(v.venue),
    time: formatTime(run.at),
  });
  const filename = `roje-selftest-${run.id}-${fileVenue(v.venue)}.${format}`;
  const button = el(
    'button',
    {
      type: 'button',
      class: 'secondary',
      'aria-label': label,
      title: label,
      'data-report': `${fileVenue(v.venue)}.${format}`,
    },
    t(format === 'html' ? 'selftest.html' : 'selftest.json'),
  );
  button.addEventListener('click', () =>
    act(
      button,
      async () => {
        await download(`${PATH}/${encodeURIComponent(run.id)}`, { format, venue: v.venue }, filename);
        return filename;
      },
      'selftest.downloaded',
    ),
  );
  return button;
}

function resultBadge(ok) {
  return badge(t(ok ? 'selftest.pass' : 'selftest.fail'), ok ? 'ok' : 'bad');
}

/** What came back, in DNS terms: the rcode and the first records' data (the abuse canary: rcode only). */
function got(r) {
  const a = r.answer ?? {};
  if (a.error !== undefined || a.rcode === null) return t('selftest.noAnswer');
  if (r.category === 'abuse') return a.rcode;
  const data = (a.records ?? []).slice(0, 2).map((x) => x.data);
  return [a.rcode, ...data].join(' ');
}

/** A venue's failed checks, read from its kept report (the run's summary holds only counts). */
async function failedCases(run, v) {
  const report = await api('GET', `${PATH}/${encodeURIComponent(run.id)}`, {
    query: { format: 'json', venue: v.venue },
  });
  const failed = (report.results ?? []).filter((r) => r.verdict === 'fail');
  const rows = failed
    .slice(0, MAX_CASES)
    .map((r) =>
      el(
        'tr',
        null,
        el('td', null, `${r.name} · ${String(r.transport).toUpperCase()}`),
        el('td', null, r.category !== undefined ? categoryName(r.category) : '–'),
        el('td', null, t(`selftest.expect.${r.expected}`)),
        el('td', null, el('code', null, got(r))),
      ),
    );
  const title = t('selftest.failedCases', { venue: venueName(v.venue) });
  return el(
    'details',
    { class: 'failed-cases', open: true },
    el('summary', null, `${title} (${formatNumber(failed.length)})`),
    dataTable(
      title,
      ['case', 'category', 'expected', 'got'].map((k) => t(`selftest.${k}`)),
      rows,
    ),
    failed.length > MAX_CASES
      ? el('p', { class: 'muted' }, t('selftest.more', { n: failed.length - MAX_CASES }))
      : null,
  );
}

/** One venue's result: counts, badge, its reports, and (when it failed) its failed checks. */
async function venueResult(run, v) {
  return el(
    'li',
    { class: 'item', 'data-venue': fileVenue(v.venue) },
    el('div', { class: 'head' }, el('span', { class: 'name' }, venueName(v.venue)), resultBadge(v.ok)),
    el(
      'p',
      { class: 'counts' },
      t('selftest.venueCounts', { passed: formatNumber(v.passed), failed: formatNumber(v.failed) }),
    ),
    el('div', { class: 'actions' }, reportButton(run, v, 'html'), reportButton(run, v, 'json')),
    v.failed > 0 ? await failedCases(run, v) : null,
  );
}

async function latestRun(run) {
  return el(
    'section',
    { id: 'latest', class: 'panel', 'data-run': run.id },
    el('h3', null, t('selftest.latest'), ' ', resultBadge(run.ok)),
    facts([
      [t('selftest.when'), formatTime(run.at)],
      [
        t('selftest.result'),
        t('selftest.counts', { passed: formatNumber(run.passed), total: formatNumber(total(run)) }),
      ],
      [t('selftest.why'), t(`selftest.reason.${run.reason}`)],
      [t('selftest.suite'), run.suite],
      [t('selftest.signed'), t(run.signed ? 'selftest.isSigned' : 'selftest.unsigned')],
    ]),
    el(
      'ul',
      { id: 'latest-venues', class: 'venue-results', 'aria-label': t('selftest.perVenue') },
      await Promise.all(run.venues.map((v) => venueResult(run, v))),
    ),
  );
}

/** The earlier runs, one row each: when, the outcome, and each venue's HTML report. */
function olderRuns(runs) {
  return el(
    'section',
    { id: 'older', class: 'panel' },
    el('h3', null, t('selftest.older')),
    dataTable(
      t('selftest.older'),
      [t('selftest.when'), t('selftest.result'), t('selftest.reports')],
      runs.map((run) =>
        el(
          'tr',
          { 'data-run': run.id },
          el('th', { scope: 'row' }, formatTime(run.at)),
          el(
            'td',
            null,
            resultBadge(run.ok),
            el(
              'div',
              { class: 'counts' },
              t('selftest.counts', { passed: formatNumber(run.passed), total: formatNumber(total(run)) }),
            ),
          ),
          el(
            'td',
            null,
            el(
              'div',
              { class: 'actions' },
              // One HTML report per venue, named by the venue; its label says which run.
              run.venues.map((v) => {
                const b = reportButton(run, v, 'html');
                b.textContent = venueName(v.venue);
                return b;
              }),
            ),
          ),
        ),
      ),
    ),
  );
}

function runButton() {
  const button = el('button', { type: 'button', id: 'run-selftest' }, t('selftest.run'));
  button.addEventListener('click', () => {
    setStatus('selftest.running');
    act(
      button,
      () => api('POST', `${PATH}/run`),
      null,
      (run) => {
        announce = run;
        document.dispatchEvent(new Event('roje:redraw'));
      },
    );
  });
  return el('div', { class: 'actions' }, button);
}

async function render(root) {
  const { enabled, reports } = await api('GET', PATH);
  // Built whole before it is shown: the heading appears with the content, not ahead of it.
  const parts = [
    el('h2', { tabindex: '-1' }, t('selftest.title')),
    el('p', { class: 'muted' }, t('selftest.tagline')),
  ];
  if (!enabled) {
    parts.push(el('p', { id: 'selftest-disabled', class: 'panel', role: 'note' }, t('selftest.disabled')));
  } else {
    if (can('operator')) parts.push(runButton());
    if (reports.length === 0)
      parts.push(el('p', { id: 'selftest-none', class: 'panel' }, t('selftest.none')));
    else parts.push(await latestRun(reports[0]));
    if (reports.length > 1) parts.push(olderRuns(reports.slice(1)));
  }
  root.append(...parts);
  if (announce !== null) {
    const run = announce;
    announce = null;
    setStatus(
      'selftest.finished',
      { passed: formatNumber(run.passed), total: formatNumber(total(run)) },
      run.ok ? 'ok' : 'error',
    );
  }
}

export default { id: 'selftest', nav: 'nav.selftest', role: 'auditor', render };
