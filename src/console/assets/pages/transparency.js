/**
 * Transparency: the monthly report a municipality may publish, for a month in the deployment's time
 * zone and for all venues or one. The page shows the report's JSON in plain words (counts only: no
 * blocked site, no client; the abuse category is one more count) and downloads it as HTML, CSV or JSON,
 * each exactly what the API gives for the same month and venue.
 */
import {
  act,
  api,
  categoryName,
  choicesForm,
  cityInstances,
  currentMonth,
  dataTable,
  download,
  el,
  formatMonth,
  formatNumber,
  formatTime,
  instanceSelect,
  setStatus,
  t,
  venueName,
} from '../core.js';

const PATH = '/api/v1/reports/transparency';
const MONTHS_BACK = 12;
/**
 * The month, venue and instance ('': the whole city) chosen, kept across a language switch or a visit
 * to another page.
 */
const chosen = { month: '', site: '', instance: '' };

/** The last 12 months in the deployment's zone, newest first: "2026-12", "2026-11", ... */
function lastMonths() {
  const [y, m] = currentMonth().split('-').map(Number);
  return Array.from({ length: MONTHS_BACK }, (_, i) => {
    const k = y * 12 + (m - 1) - i;
    return `${Math.floor(k / 12)}-${String((k % 12) + 1).padStart(2, '0')}`;
  });
}

function percent(value) {
  return value === null || value === undefined
    ? '–'
    : formatNumber(value / 100, { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 2 });
}

function card(id, label, value) {
  return el(
    'div',
    { class: 'card', id },
    el('div', { class: 'n' }, typeof value === 'number' ? formatNumber(value) : value),
    el('div', { class: 'k' }, label),
  );
}

/** A table with a heading: columns are text keys, rows arrays of cells (numbers right-aligned). */
function table(id, titleKey, columns, rows, emptyKey = 'none') {
  const title = t(titleKey);
  const section = el('section', { id, class: 'panel' }, el('h3', null, title));
  if (rows.length === 0) {
    section.append(el('p', { class: 'muted' }, t(emptyKey)));
    return section;
  }
  const heads = columns.map((k, i) => el('th', { scope: 'col', class: i > 0 ? 'num' : null }, t(k)));
  section.append(dataTable(title, heads, rows));
  return section;
}

function summary(r) {
  const tests = r.selfTests;
  const appeals = r.appeals;
  return el(
    'div',
    { id: 'cards', class: 'cards' },
    card('card-queries', t('transparency.queries'), r.queries.total),
    card('card-blocked', t('transparency.blocked'), r.queries.blocked),
    card('card-share', t('transparency.share'), percent(r.queries.blockedPercent)),
    card('card-uptime', t('transparency.uptime'), percent(r.uptime.percent)),
    card(
      'card-selftests',
      t('transparency.selfTests'),
      `${formatNumber(tests.passes)} / ${formatNumber(tests.runs)}`,
    ),
    card('card-appeals', t('transparency.appeals'), appeals.received),
  );
}

function details(r) {
  return [
    table(
      'by-category',
      'transparency.byCategory',
      ['transparency.category', 'transparency.count', 'transparency.ofQueries'],
      r.blocked.byCategory.map((c) => [categoryName(c.category), c.count, percent(c.percentOfQueries)]),
      'transparency.noBlocks',
    ),
    table(
      'by-venue',
      'transparency.byVenue',
      ['venue', 'transparency.venueQueries', 'transparency.blocked', 'transparency.share'],
      r.blocked.venues.map((v) => [venueName(v.venue), v.queries, v.blocked, percent(v.blockedPercent)]),
    ),
    table(
      'distinct',
      'transparency.distinct',
      ['transparency.category', 'transparency.estimate'],
      r.distinctBlockedNames.byCategory.map((c) => [categoryName(c.category), c.estimate]),
    ),
    table(
      'list-updates',
      'transparency.listUpdates',
      [
        'transparency.at',
        'transparency.version',
        'transparency.entries',
        'transparency.sources',
        'transparency.reason',
      ],
      r.listUpdates.map((u) => [
        formatTime(u.at),
        el('code', null, u.version),
        u.entries,
        u.sources,
        el('code', null, u.reason),
      ]),
    ),
    table(
      'self-tests',
      'transparency.selfTestsTitle',
      ['venue', 'transparency.runs', 'transparency.passes', 'transparency.failures'],
      r.selfTests.venues.map((v) => [venueName(v.venue), v.runs, v.passes, v.failures]),
    ),
    table(
      'appeals',
      'transparency.appealsTitle',
      ['transparency.category', 'transparency.received', 'transparency.accepted', 'transparency.rejected'],
      [
        ...r.appeals.byCategory.map((a) => [categoryName(a.category), a.received, a.accepted, a.rejected]),
        [t('transparency.total'), r.appeals.received, r.appeals.accepted, r.appeals.rejected],
      ],
    ),
  ];
}

function downloads(month, site, instance) {
  const base = `roje-transparency-${month}${site ? `-${site}` : ''}${instance ? `-${instance}` : ''}`;
  const buttons = ['html', 'csv', 'json'].map((format) => {
    const filename = `${base}.${format}`;
    const button = el(
      'button',
      { type: 'button', class: 'secondary', id: `download-${format}` },
      t(`transparency.${format}`),
    );
    button.addEventListener('click', () =>
      act(
        button,
        async () => {
          await download(PATH, { month, site, instance, format }, filename);
          return filename;
        },
        'transparency.downloaded',
      ),
    );
    return button;
  });
  return el(
    'section',
    { id: 'downloads', class: 'panel', 'aria-labelledby': 'downloads-h' },
    el('h3', { id: 'downloads-h' }, t('transparency.download')),
    el('div', { class: 'actions' }, buttons),
  );
}

async function render(root) {
  const months = lastMonths();
  if (!months.includes(chosen.month)) chosen.month = months[0];
  const { month, site, instance } = chosen;
  const [report, all, instances] = await Promise.all([
    api('GET', PATH, { query: { month, site, instance, format: 'json' } }),
    // The venue choices come from the whole month, also when one venue is shown.
    site ? api('GET', PATH, { query: { month, instance, format: 'json' } }) : null,
    cityInstances(),
  ]);
  const whole = all ?? report;
  const names = new Set(
    [...whole.blocked.venues.map((v) => v.venue), ...whole.selfTests.venues.map((v) => v.venue)].filter(
      (v) => v !== null && v !== '(none)',
    ),
  );
  if (site) names.add(site);

  const monthSelect = el(
    'select',
    { id: 'month', name: 'month' },
    months.map((m) => el('option', { value: m, selected: m === month }, formatMonth(m))),
  );
  const venueSelect = el(
    'select',
    { id: 'site', name: 'site' },
    el('option', { value: '' }, t('allVenues')),
    [...names].sort().map((v) => el('option', { value: v, selected: v === site }, venueName(v))),
  );
  const instanceChoice = instances === null ? null : instanceSelect(instances, instance);
  const controls = choicesForm(
    [
      [t('transparency.month'), monthSelect],
      [t('transparency.venue'), venueSelect],
      ...(instanceChoice === null ? [] : [[t('instance'), instanceChoice]]),
    ],
    t('transparency.show'),
    () => {
      chosen.month = monthSelect.value;
      chosen.site = venueSelect.value;
      chosen.instance = instanceChoice?.value ?? '';
      document.dispatchEvent(new Event('roje:redraw'));
    },
  );

  const period = {
    month: formatMonth(report.period.month),
    venue: site ? venueName(site) : '',
    zone: report.period.timeZone,
    from: formatTime(report.period.from),
    to: formatTime(report.period.to),
  };
  root.append(
    el('h2', { tabindex: '-1' }, t('transparency.title')),
    el('p', { class: 'muted' }, t('transparency.tagline')),
    controls,
    el('p', { id: 'period' }, t(site ? 'transparency.periodAt' : 'transparency.period', period)),
    downloads(month, site, instance),
    el('div', { id: 'content' }, summary(report), details(report)),
  );
  setStatus('transparency.shown', { month: period.month, time: formatTime(report.generatedAt) });
}

export default { id: 'transparency', nav: 'nav.transparency', role: 'auditor', render };
