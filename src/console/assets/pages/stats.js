/**
 * Statistics: blocked queries per venue and per category over a period, as SVG stacked bars, each with
 * a title, a description, a legend and a data table. The API's buckets are UTC hours or days; their
 * labels are the deployment's wall clock, so DST is right. Counts only: no addresses, no sites.
 */
import {
  api,
  categoryName,
  choicesForm,
  cityInstances,
  dataTable,
  el,
  formatBucket,
  formatNumber,
  formatTime,
  instanceSelect,
  setStatus,
  t,
  venueName,
  ZONE,
} from '../core.js';

const HOUR = 3_600_000;
/**
 * The period, venue and instance ('': the whole city) chosen, kept across a language switch or a visit
 * to another page.
 */
const chosen = { days: '7', venue: '', instance: '' };

/** The y axis's top: four equal whole-number steps of 1, 2 or 5 times a power of ten. */
function niceMax(v) {
  const raw = v / 4;
  if (raw <= 1) return 4;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((x) => x >= raw);
  return 4 * step;
}

function seriesName(key, by) {
  return by === 'venue' ? venueName(key) : categoryName(key);
}

/** A stacked bar chart of data.series over data.buckets, with title/desc, axes, legend and table. */
function drawChart(id, title, data, what, by, width) {
  const section = el('section', { id, class: 'chart' });
  section.append(el('h3', { id: `${id}-h` }, title));
  const n = data.buckets.length;
  const stacks = new Array(n).fill(0);
  for (const s of data.series) {
    s.counts.forEach((c, i) => {
      stacks[i] += c;
    });
  }
  const max = niceMax(Math.max(0, ...stacks));
  // Drawn 1:1 in CSS pixels: the plot as wide as its box (at least 860 px, so that a phone scrolls it
  // rather than squeezing it), the y axis in an SVG of its own beside it, so that it stays in view.
  const A = 60;
  const W = Math.max(860, width - A - 30);
  const [H, L, R, T, B] = [300, 48, 48, 12, 34];
  const pw = W - L - R;
  const ph = H - T - B;
  const total = stacks.reduce((a, b) => a + b, 0);
  const names = data.series.map((s) => seriesName(s.key, by));
  const label = (i) => formatBucket(data.buckets[i], data.bucket);
  const size = (w) => ({ viewBox: `0 0 ${w} ${H}`, width: w, height: H });
  const svg = el('svg:svg', {
    ...size(W),
    role: 'img',
    'aria-labelledby': `${id}-t ${id}-d`,
    class: 'chart-svg',
  });
  const yAxis = el('svg:svg', { ...size(A), 'aria-hidden': 'true', class: 'y-axis' });
  const top = data.series
    .slice(0, 3)
    .map((s, i) => `${names[i]} ${formatNumber(s.total)}`)
    .join(', ');
  svg.append(
    el('svg:title', { id: `${id}-t` }, title),
    el(
      'svg:desc',
      { id: `${id}-d` },
      t('stats.desc', {
        bucket: t(data.bucket === 'day' ? 'stats.descDay' : 'stats.descHour'),
        from: n ? label(0) : '',
        to: n ? label(n - 1) : '',
        zone: ZONE,
        total: formatNumber(total),
        what,
        top: top ? t('stats.largest', { list: top }) : '',
      }),
    ),
  );
  for (let g = 0; g <= 4; g++) {
    const y = T + ph - (ph * g) / 4;
    svg.append(el('svg:line', { x1: 0, x2: W, y1: y, y2: y, class: g === 0 ? 'axis' : 'grid' }));
    yAxis.append(el('svg:text', { x: A - 6, y: y + 4, 'text-anchor': 'end' }, formatNumber((max * g) / 4)));
  }
  yAxis.append(
    el(
      'svg:text',
      { x: 12, y: T + ph / 2, 'text-anchor': 'middle', transform: `rotate(-90 12 ${T + ph / 2})` },
      what,
    ),
  );
  const axis = t(data.bucket === 'day' ? 'stats.day' : 'stats.hour', { zone: ZONE });
  const step = pw / Math.max(n, 1);
  const bw = Math.max(1, step * 0.8);
  const every = Math.max(1, Math.ceil(n / Math.max(4, Math.floor(W / 130))));
  for (let i = 0; i < n; i++) {
    const x = L + i * step + (step - bw) / 2;
    let acc = 0;
    data.series.forEach((s, si) => {
      const c = s.counts[i];
      if (!c) return;
      const h = (c / max) * ph;
      svg.append(
        el(
          'svg:rect',
          {
            x: x.toFixed(1),
            y: (T + ph - acc - h).toFixed(1),
            width: bw.toFixed(1),
            height: h.toFixed(1),
            class: `bar c${si % 12}`,
          },
          el('svg:title', null, `${names[si]}, ${label(i)}: ${formatNumber(c)}`),
        ),
      );
      acc += h;
    });
    if (i % every === 0) {
      svg.append(
        el(
          'svg:text',
          {
            x: (L + i * step + step / 2).toFixed(1),
            y: T + ph + 18,
            'text-anchor': 'middle',
            class: 'x-label',
            'data-utc': data.buckets[i],
          },
          label(i),
        ),
      );
    }
  }
  // Focusable, so that a keyboard can scroll a chart wider than a phone.
  const scroll = el(
    'div',
    { class: 'scroll', tabindex: '0', role: 'group', 'aria-label': t('stats.chartScroll', { title }) },
    svg,
  );
  const plot = el('div', { class: 'plot' }, yAxis, scroll);
  const xTitle = el('p', { class: 'x-title' }, axis);
  const legend = el(
    'ul',
    { class: 'legend', 'aria-label': t('stats.legend') },
    data.series.map((s, si) =>
      el(
        'li',
        null,
        el('span', { class: `sw c${si % 12}`, 'aria-hidden': 'true' }),
        `${names[si]} (${formatNumber(s.total)})`,
      ),
    ),
  );
  if (data.series.length === 0) legend.append(el('li', null, t('stats.none')));
  // The data table: the chart's fallback for screen readers and for copying numbers.
  const table = dataTable(
    title,
    [axis, ...names, t('stats.total')],
    data.buckets.map((_, j) => [label(j), ...data.series.map((x) => x.counts[j]), stacks[j]]),
    { class: 'chart-data' },
  );
  section.append(
    plot,
    xTitle,
    legend,
    el('details', null, el('summary', null, t('stats.dataTable', { title })), table),
  );
  return { section, scroll };
}

function card(label, value) {
  return el(
    'div',
    { class: 'card' },
    el('div', { class: 'n' }, typeof value === 'number' ? formatNumber(value) : value),
    el('div', { class: 'k' }, label),
  );
}

async function render(root) {
  const days = Number(chosen.days);
  const to = new Date(Math.ceil(Date.now() / HOUR) * HOUR);
  const from = new Date(to.getTime() - days * 86_400_000);
  const bucket = days <= 7 ? 'hour' : 'day';
  const { venue, instance } = chosen;
  const base = { from: from.toISOString(), to: to.toISOString(), venue, instance };
  const path = '/api/v1/stats';
  const [summary, byVenue, byCategory, all, instances] = await Promise.all([
    api('GET', `${path}/summary`, { query: base }),
    api('GET', `${path}/series`, { query: { ...base, bucket, by: 'venue' } }),
    api('GET', `${path}/series`, { query: { ...base, bucket, by: 'category' } }),
    // The venue choices come from the whole period, also when one venue is shown.
    venue ? api('GET', `${path}/summary`, { query: { ...base, venue: '' } }) : null,
    cityInstances(),
  ]);

  const range = el(
    'select',
    { id: 'range', name: 'range' },
    ['1', '7', '30', '90', '365'].map((d) =>
      el('option', { value: d, selected: d === chosen.days }, t(`stats.p${d}`)),
    ),
  );
  const venues = el(
    'select',
    { id: 'venue', name: 'venue' },
    el('option', { value: '' }, t('stats.allVenues')),
    (all ?? summary).byVenue.map((v) =>
      el('option', { value: v.venue, selected: v.venue === venue }, venueName(v.venue)),
    ),
  );
  const instanceChoice = instances === null ? null : instanceSelect(instances, instance);
  const controls = choicesForm(
    [
      [t('stats.period'), range],
      [t('stats.venue'), venues],
      ...(instanceChoice === null ? [] : [[t('instance'), instanceChoice]]),
    ],
    t('stats.refresh'),
    () => {
      chosen.days = range.value;
      chosen.venue = venues.value;
      chosen.instance = instanceChoice?.value ?? '';
      document.dispatchEvent(new Event('roje:redraw'));
    },
  );

  const cards = el('div', { id: 'cards', class: 'cards' }, card(t('stats.blocked'), summary.blocked));
  if (summary.queries != null) {
    cards.append(card(t('stats.queries'), summary.queries));
    // Resolver-wide only: null when a venue is selected.
    if (summary.cacheHits != null) cards.append(card(t('stats.cacheHits'), summary.cacheHits));
    const share =
      summary.queries > 0
        ? formatNumber(summary.blocked / summary.queries, {
            style: 'percent',
            minimumFractionDigits: 1,
            maximumFractionDigits: 1,
          })
        : '–';
    cards.append(card(t('stats.share'), share));
  }
  const at = (title) => (venue ? t('stats.at', { title, venue: venueName(venue) }) : title);
  // The chart boxes' inner width: the page's, less their border and padding.
  const width = root.clientWidth - 30;
  const charts = [
    drawChart('by-venue', at(t('stats.byVenue')), byVenue, t('stats.blockedQueries'), 'venue', width),
    drawChart('by-category', at(t('stats.byCategory')), byCategory, t('stats.blocks'), 'category', width),
  ];
  root.append(
    el('h2', { tabindex: '-1' }, t('stats.title')),
    el('p', { class: 'muted' }, t('stats.tagline')),
    controls,
    el(
      'div',
      { id: 'content' },
      cards,
      charts.map((c) => c.section),
    ),
  );
  // Narrower than the chart (a phone): show the latest hours first.
  for (const c of charts) c.scroll.scrollLeft = c.scroll.scrollWidth;
  setStatus('stats.updated', { time: formatTime(new Date()), zone: ZONE });
}

export default { id: 'stats', nav: 'nav.stats', role: 'auditor', render };
