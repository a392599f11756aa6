/**
 * The read-only statistics dashboard for municipality viewers: one self-contained HTML document
 * (inline CSS and JS, no CDN, works offline) that asks for an API token, keeps it in sessionStorage,
 * reads /api/v1/stats/summary and /api/v1/stats/series with it, and draws blocks per venue and per
 * category over time as SVG stacked bars, each with a title, a description, a legend and a data table.
 * The page is static: every number comes from the API, which checks the token's role.
 *
 * In Albanian and English (the browser's languages pick one, a switch changes it, localStorage keeps
 * it); hours in the deployment's time zone (the API's buckets are UTC hours, labelled via Intl, so
 * DST is right); categories by their display names. The zone and the names travel in a JSON data
 * block, which is not executed, so the CSP hashes of the inline style and script stay constant.
 */
import { createHash } from 'node:crypto';

const STYLE = `
:root { color-scheme: light; --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg: #fff; --accent: #0b5cad; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: #f6f8fa; }
header { background: var(--accent); color: #fff; padding: 12px 20px; display: flex; gap: 8px 16px; align-items: baseline; flex-wrap: wrap; }
header h1 { font-size: 20px; margin: 0; }
header p { margin: 0; opacity: .9; flex: 1 1 260px; }
.langs { display: flex; gap: 4px; margin-left: auto; }
.langs button { background: transparent; color: #fff; border-color: #fff; padding: 2px 8px; font-size: 13px; }
.langs button[aria-pressed="true"] { background: #fff; color: var(--accent); font-weight: 600; }
main { max-width: 1160px; margin: 0 auto; padding: 16px 20px 40px; }
#zone { margin: 0 0 12px; color: var(--muted); font-size: 13px; }
label > input, label > select { max-width: 100%; }
form { display: flex; gap: 12px; flex-wrap: wrap; align-items: end; margin-bottom: 16px; }
label { display: flex; flex-direction: column; font-size: 13px; color: var(--muted); gap: 4px; }
input, select, button { font: inherit; padding: 6px 10px; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); color: var(--fg); }
button { background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; }
button.secondary { background: var(--bg); color: var(--accent); }
:focus-visible { outline: 3px solid #ffbf47; outline-offset: 1px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(180px, 1fr)); gap: 12px; margin-bottom: 16px; }
.card { background: var(--bg); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
.card .n { font-size: 26px; font-weight: 600; }
.card .k { color: var(--muted); font-size: 13px; }
section.chart { min-width: 0; background: var(--bg); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; margin-bottom: 16px; }
section.chart h2 { font-size: 17px; margin: 0 0 8px; }
/* On a phone the chart keeps a readable size and scrolls inside its box, never the page. */
.scroll { overflow-x: auto; max-width: 100%; }
.scroll:focus-visible { outline: 3px solid #ffbf47; }
svg { width: 100%; min-width: 860px; height: auto; display: block; }
svg text { font-size: 13px; fill: var(--muted); }
svg .axis { stroke: var(--line); }
svg .grid { stroke: #eaeef2; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 16px; list-style: none; padding: 0; margin: 8px 0; font-size: 13px; }
.legend span.sw { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
details { margin-top: 6px; }
table { border-collapse: collapse; font-size: 12px; margin-top: 6px; display: block; overflow-x: auto; }
th, td { border: 1px solid var(--line); padding: 3px 6px; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
#status { min-height: 1.4em; color: var(--muted); }
#status.error { color: #b3261e; font-weight: 600; }
@media (max-width: 600px) {
  header { padding: 10px 12px; }
  main { padding: 12px 12px 32px; }
  .cards { grid-template-columns: repeat(auto-fit, minmax(140px, 1fr)); }
  .card .n { font-size: 22px; }
  #token { width: 100%; }
  #login label { flex: 1 1 100%; }
}
.hidden { display: none; }
${Array.from({ length: 12 }, (_, i) => `.c${i} { fill: var(--c${i}); background: var(--c${i}); }`).join('\n')}
:root { ${[
  '#0072b2',
  '#e69f00',
  '#009e73',
  '#cc79a7',
  '#56b4e9',
  '#d55e00',
  '#f0e442',
  '#6a3d9a',
  '#7f7f7f',
  '#b15928',
  '#1b9e77',
  '#999933',
]
  .map((c, i) => `--c${i}: ${c};`)
  .join(' ')} }
`;

// Every visible string, in both languages. {x} placeholders are filled with textContent, never HTML.
export const DASHBOARD_TEXT = {
  en: {
    title: 'roje statistics',
    tagline: 'Blocked queries per venue and category. Counts only: no addresses, no sites.',
    langSwitch: 'Language',
    signIn: 'Sign in',
    token: 'API token',
    show: 'Show statistics',
    period: 'Period',
    p1: 'Last 24 hours',
    p7: 'Last 7 days',
    p30: 'Last 30 days',
    p90: 'Last 90 days',
    p365: 'Last 365 days',
    venue: 'Venue',
    allVenues: 'All venues',
    noVenue: '(none)',
    refresh: 'Refresh',
    signOut: 'Sign out',
    zone: 'Times are shown in the {zone} time zone ({offset}).',
    loading: 'Loading…',
    updated: 'Updated {time} ({zone}). The last minute may not be counted yet.',
    refused: 'The API token was refused. Enter a valid one.',
    signedOut: 'Signed out.',
    loadFailed: 'Could not load the statistics: {error}',
    refusedCode: 'the token was refused ({status})',
    blocked: 'Blocked',
    queries: 'Queries',
    cacheHits: 'Answered from cache',
    share: 'Blocked share',
    byVenue: 'Blocked queries per venue',
    byCategory: 'Blocks per category',
    at: '{title} at {venue}',
    blockedQueries: 'blocked queries',
    blocks: 'blocks',
    hour: 'Hour ({zone})',
    day: 'Day ({zone})',
    desc: 'Stacked bars, one per {bucket} from {from} to {to} ({zone}). {total} {what} in all{top}. The table below holds every value.',
    descHour: 'hour',
    descDay: 'day',
    largest: '; largest: {list}',
    legend: 'Legend',
    none: 'No blocks in this period.',
    dataTable: 'Data table: {title}',
    total: 'Total',
    chartScroll: '{title}: scroll sideways to see every bar',
  },
  sq: {
    title: 'Statistikat e roje',
    tagline: 'Pyetje të bllokuara sipas vendndodhjes dhe kategorisë. Vetëm numra: asnjë adresë, asnjë faqe.',
    langSwitch: 'Gjuha',
    signIn: 'Hyrje',
    token: 'Çelësi i API-së',
    show: 'Shfaq statistikat',
    period: 'Periudha',
    p1: '24 orët e fundit',
    p7: '7 ditët e fundit',
    p30: '30 ditët e fundit',
    p90: '90 ditët e fundit',
    p365: '365 ditët e fundit',
    venue: 'Vendndodhja',
    allVenues: 'Të gjitha vendndodhjet',
    noVenue: '(pa vendndodhje)',
    refresh: 'Rifresko',
    signOut: 'Dil',
    zone: 'Oraret tregohen në zonën kohore {zone} ({offset}).',
    loading: 'Duke u ngarkuar…',
    updated: 'Përditësuar më {time} ({zone}). Minuta e fundit mund të mos jetë numëruar ende.',
    refused: 'Çelësi i API-së u refuzua. Vendosni një çelës të vlefshëm.',
    signedOut: 'Dolët.',
    loadFailed: 'Statistikat nuk u ngarkuan: {error}',
    refusedCode: 'çelësi u refuzua ({status})',
    blocked: 'Të bllokuara',
    queries: 'Pyetje',
    cacheHits: 'Përgjigjur nga memoria',
    share: 'Pjesa e bllokuar',
    byVenue: 'Pyetje të bllokuara sipas vendndodhjes',
    byCategory: 'Bllokime sipas kategorisë',
    at: '{title} në {venue}',
    blockedQueries: 'pyetje të bllokuara',
    blocks: 'bllokime',
    hour: 'Ora ({zone})',
    day: 'Dita ({zone})',
    desc: 'Shtylla të grumbulluara, një për çdo {bucket} nga {from} deri më {to} ({zone}). Gjithsej {total} {what}{top}. Tabela më poshtë mban çdo vlerë.',
    descHour: 'orë',
    descDay: 'ditë',
    largest: '; më të mëdhatë: {list}',
    legend: 'Legjenda',
    none: 'Asnjë bllokim në këtë periudhë.',
    dataTable: 'Tabela e të dhënave: {title}',
    total: 'Gjithsej',
    chartScroll: '{title}: rrëshqitni anash për të parë çdo shtyllë',
  },
} as const;

// Plain ES2020 in the browser: no modules, no build step, no external asset.
const SCRIPT = `
(function () {
  'use strict';
  var SVGNS = 'http://www.w3.org/2000/svg';
  var KEY = 'roje.dashboard.token';
  var LANG_KEY = 'roje.dashboard.lang';
  var TEXT = ${JSON.stringify(DASHBOARD_TEXT)};
  var $ = function (id) { return document.getElementById(id); };
  var CFG = JSON.parse($('dashboard-config').textContent);
  var ZONE = CFG.timeZone || 'UTC';
  var LOCALES = { sq: 'sq-AL', en: 'en-GB' };
  // Month names of our own: a browser's Intl may lack Albanian (Chromium's small ICU shows "M12").
  var MONTHS = {
    en: ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'],
    sq: ['jan', 'shk', 'mar', 'pri', 'maj', 'qer', 'korr', 'gush', 'sht', 'tet', 'nën', 'dhj'],
  };
  // Only the numbers come from Intl: the wall clock in the deployment's zone, DST included.
  var PARTS = new Intl.DateTimeFormat('en-US', { timeZone: ZONE, year: 'numeric', month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  var lang, fmt;
  var last = null;
  function wall(d) {
    var p = {};
    PARTS.formatToParts(d).forEach(function (x) { p[x.type] = x.value; });
    return { y: p.year, mon: MONTHS[lang][Number(p.month) - 1], d: Number(p.day), hm: p.hour + ':' + p.minute };
  }

  function t(key, vars) {
    return TEXT[lang][key].replace(/\\{(\\w+)\\}/g, function (_, k) { return vars && k in vars ? String(vars[k]) : ''; });
  }
  // sq / sq-AL -> Albanian; the first of the browser's languages that is sq or en decides; else English.
  function browserLang() {
    var list = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || 'en'];
    for (var i = 0; i < list.length; i++) {
      var primary = String(list[i]).toLowerCase().split('-')[0];
      if (primary === 'sq' || primary === 'en') return primary;
    }
    return 'en';
  }
  function storedLang() {
    try { var v = localStorage.getItem(LANG_KEY); return v === 'sq' || v === 'en' ? v : null; } catch (e) { return null; }
  }
  function setLang(next, remember) {
    lang = next;
    if (remember) { try { localStorage.setItem(LANG_KEY, next); } catch (e) { /* private mode: this page only */ } }
    fmt = new Intl.NumberFormat(LOCALES[lang]);
    document.documentElement.lang = lang;
    document.title = t('title');
    var nodes = document.querySelectorAll('[data-t]');
    for (var i = 0; i < nodes.length; i++) nodes[i].textContent = t(nodes[i].getAttribute('data-t'));
    var langs = document.querySelectorAll('.langs button');
    for (var j = 0; j < langs.length; j++) langs[j].setAttribute('aria-pressed', String(langs[j].value === lang));
    $('langs').setAttribute('aria-label', t('langSwitch'));
    $('zone').textContent = t('zone', { zone: ZONE, offset: zoneOffset(new Date()) });
    if (last) render(last);
    else if (status.key) setStatus(status.key, status.vars, status.error);
  }
  function zoneOffset(d) {
    var part = new Intl.DateTimeFormat('en-US', { timeZone: ZONE, timeZoneName: 'shortOffset' }).formatToParts(d)
      .filter(function (p) { return p.type === 'timeZoneName'; })[0];
    return part ? part.value.replace('GMT', 'UTC') : 'UTC';
  }

  // A token may arrive in the fragment (#token=...): it never reaches a server log; moved to sessionStorage.
  var m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem(KEY, decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }

  function el(tag, attrs, text, ns) {
    var e = ns ? document.createElementNS(SVGNS, tag) : document.createElement(tag);
    if (attrs) for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  // The status is kept as a key, so that a language switch says it again in the new language.
  var status = { key: null, vars: null, error: false };
  function setStatus(key, vars, isError) {
    status = { key: key, vars: vars, error: !!isError };
    var s = $('status');
    s.textContent = key ? t(key, vars) : '';
    s.className = isError ? 'error' : '';
  }
  function showLogin(show) {
    $('login').classList.toggle('hidden', !show);
    $('controls').classList.toggle('hidden', show);
    $('content').classList.toggle('hidden', show);
  }

  function api(path, params) {
    var q = Object.keys(params).filter(function (k) { return params[k] !== '' && params[k] != null; })
      .map(function (k) { return encodeURIComponent(k) + '=' + encodeURIComponent(params[k]); }).join('&');
    return fetch('/api/v1/stats/' + path + '?' + q, {
      headers: { Authorization: 'Bearer ' + sessionStorage.getItem(KEY), Accept: 'application/json' },
      cache: 'no-store',
    }).then(function (r) {
      if (r.status === 401 || r.status === 403) {
        var err = new Error(t('refusedCode', { status: r.status }));
        err.auth = true;
        throw err;
      }
      if (!r.ok) return r.json().catch(function () { return {}; }).then(function (b) {
        throw new Error((b && b.message) || ('HTTP ' + r.status));
      });
      return r.json();
    });
  }

  // "23 Nov 15:00" in the deployment's zone (Intl knows its DST rules), or "23 Nov" for a day.
  function bucketLabel(iso, bucket) {
    var w = wall(new Date(iso));
    return w.d + ' ' + w.mon + (bucket === 'day' ? '' : ' ' + w.hm);
  }
  function stamp(d) {
    var w = wall(d);
    return w.d + ' ' + w.mon + ' ' + w.y + ', ' + w.hm;
  }
  // What a series is called on the page: a category's display name, never its internal id.
  function seriesName(key, by) {
    if (by === 'venue') return key === '(none)' ? t('noVenue') : key;
    var names = CFG.categories[key];
    if (names) return names[lang];
    var words = String(key).replace(/[-_.]+/g, ' ').trim();
    return words ? words[0].toUpperCase() + words.slice(1) : '?';
  }

  function niceMax(v) {
    if (v <= 0) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * p >= v) return steps[i] * p;
    return 10 * p;
  }

  // A stacked bar chart of data.series over data.buckets, with title/desc, axes, legend and table.
  function drawChart(section, title, data, what, by) {
    section.textContent = '';
    var id = section.id;
    section.appendChild(el('h2', { id: id + '-h' }, title));
    var n = data.buckets.length;
    var stacks = new Array(n).fill(0);
    data.series.forEach(function (s) { s.counts.forEach(function (c, i) { stacks[i] += c; }); });
    var max = niceMax(Math.max.apply(null, stacks.concat([0])));
    var W = 1100, H = 320, L = 56, R = 12, T = 12, B = 54;
    var pw = W - L - R, ph = H - T - B;
    var total = stacks.reduce(function (a, b) { return a + b; }, 0);
    var names = data.series.map(function (s) { return seriesName(s.key, by); });
    var svg = el('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-labelledby': id + '-t ' + id + '-d', 'class': 'chart-svg' }, null, true);
    svg.appendChild(el('title', { id: id + '-t' }, title, true));
    var top = data.series.slice(0, 3).map(function (s, i) { return names[i] + ' ' + fmt.format(s.total); }).join(', ');
    svg.appendChild(el('desc', { id: id + '-d' }, t('desc', {
      bucket: t(data.bucket === 'day' ? 'descDay' : 'descHour'),
      from: n ? bucketLabel(data.buckets[0], data.bucket) : '', to: n ? bucketLabel(data.buckets[n - 1], data.bucket) : '',
      zone: ZONE, total: fmt.format(total), what: what, top: top ? t('largest', { list: top }) : '',
    }), true));
    // Grid and Y axis.
    for (var g = 0; g <= 4; g++) {
      var y = T + ph - (ph * g) / 4;
      svg.appendChild(el('line', { x1: L, x2: W - R, y1: y, y2: y, 'class': g === 0 ? 'axis' : 'grid' }, null, true));
      svg.appendChild(el('text', { x: L - 6, y: y + 4, 'text-anchor': 'end' }, fmt.format((max * g) / 4), true));
    }
    svg.appendChild(el('text', { x: 14, y: T + ph / 2, 'text-anchor': 'middle', transform: 'rotate(-90 14 ' + (T + ph / 2) + ')' }, what, true));
    var axis = t(data.bucket === 'day' ? 'day' : 'hour', { zone: ZONE });
    svg.appendChild(el('text', { x: L + pw / 2, y: H - 6, 'text-anchor': 'middle', 'class': 'x-title' }, axis, true));
    var step = pw / Math.max(n, 1);
    var bw = Math.max(1, step * 0.8);
    var every = Math.max(1, Math.ceil(n / 8));
    for (var i = 0; i < n; i++) {
      var x = L + i * step + (step - bw) / 2;
      var acc = 0;
      data.series.forEach(function (s, si) {
        var c = s.counts[i];
        if (!c) return;
        var h = (c / max) * ph;
        var r = el('rect', { x: x.toFixed(1), y: (T + ph - acc - h).toFixed(1), width: bw.toFixed(1), height: h.toFixed(1), 'class': 'bar c' + (si % 12) }, null, true);
        r.appendChild(el('title', null, names[si] + ', ' + bucketLabel(data.buckets[i], data.bucket) + ': ' + fmt.format(c), true));
        svg.appendChild(r);
        acc += h;
      });
      if (i % every === 0) {
        svg.appendChild(el('text', { x: (L + i * step + step / 2).toFixed(1), y: T + ph + 16, 'text-anchor': 'middle', 'class': 'x-label', 'data-utc': data.buckets[i] }, bucketLabel(data.buckets[i], data.bucket), true));
      }
    }
    // Focusable, so that a keyboard can scroll a chart wider than a phone.
    var scroll = el('div', { 'class': 'scroll', tabindex: '0', role: 'group', 'aria-label': t('chartScroll', { title: title }) });
    scroll.appendChild(svg);
    section.appendChild(scroll);
    // Narrower than the chart (a phone): show the latest hours first.
    scroll.scrollLeft = scroll.scrollWidth;
    var legend = el('ul', { 'class': 'legend', 'aria-label': t('legend') });
    data.series.forEach(function (s, si) {
      var li = el('li');
      li.appendChild(el('span', { 'class': 'sw c' + (si % 12), 'aria-hidden': 'true' }));
      li.appendChild(document.createTextNode(names[si] + ' (' + fmt.format(s.total) + ')'));
      legend.appendChild(li);
    });
    if (data.series.length === 0) legend.appendChild(el('li', null, t('none')));
    section.appendChild(legend);
    // The data table: the chart's fallback for screen readers and for copying numbers.
    var details = el('details');
    details.appendChild(el('summary', null, t('dataTable', { title: title })));
    var table = el('table');
    table.appendChild(el('caption', { 'class': 'hidden' }, title));
    var head = el('tr');
    head.appendChild(el('th', { scope: 'col' }, axis));
    names.forEach(function (name) { head.appendChild(el('th', { scope: 'col' }, name)); });
    head.appendChild(el('th', { scope: 'col' }, t('total')));
    var thead = el('thead'); thead.appendChild(head); table.appendChild(thead);
    var tbody = el('tbody');
    for (var j = 0; j < n; j++) {
      var tr = el('tr');
      tr.appendChild(el('th', { scope: 'row' }, bucketLabel(data.buckets[j], data.bucket)));
      data.series.forEach(function (s) { tr.appendChild(el('td', null, fmt.format(s.counts[j]))); });
      tr.appendChild(el('td', null, fmt.format(stacks[j])));
      tbody.appendChild(tr);
    }
    table.appendChild(tbody);
    details.appendChild(table);
    section.appendChild(details);
  }

  function card(label, value) {
    var c = el('div', { 'class': 'card' });
    c.appendChild(el('div', { 'class': 'n' }, typeof value === 'number' ? fmt.format(value) : value));
    c.appendChild(el('div', { 'class': 'k' }, label));
    return c;
  }

  // Draws the last answers in the current language (a language switch redraws without asking again).
  function render(r) {
    var summary = r.summary;
    var cards = $('cards');
    cards.textContent = '';
    cards.appendChild(card(t('blocked'), summary.blocked));
    if (summary.queries != null) {
      cards.appendChild(card(t('queries'), summary.queries));
      // Resolver-wide only: null when a venue is selected.
      if (summary.cacheHits != null) cards.appendChild(card(t('cacheHits'), summary.cacheHits));
      cards.appendChild(card(t('share'), summary.queries > 0
        ? new Intl.NumberFormat(LOCALES[lang], { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(summary.blocked / summary.queries) : '–'));
    }
    var select = $('venue');
    select.options[0].textContent = t('allVenues');
    for (var i = 1; i < select.options.length; i++) select.options[i].textContent = seriesName(select.options[i].value, 'venue');
    var at = function (title) { return r.venue ? t('at', { title: title, venue: seriesName(r.venue, 'venue') }) : title; };
    drawChart($('by-venue'), at(t('byVenue')), r.byVenue, t('blockedQueries'), 'venue');
    drawChart($('by-category'), at(t('byCategory')), r.byCategory, t('blocks'), 'category');
    setStatus('updated', { time: stamp(r.at), zone: ZONE });
  }

  function load() {
    var days = Number($('range').value);
    var venue = $('venue').value;
    var to = new Date(Math.ceil(Date.now() / 3600000) * 3600000);
    var from = new Date(to.getTime() - days * 86400000);
    var bucket = days <= 7 ? 'hour' : 'day';
    var base = { from: from.toISOString(), to: to.toISOString(), venue: venue };
    setStatus('loading');
    return Promise.all([
      api('summary', base),
      api('series', Object.assign({ bucket: bucket, by: 'venue' }, base)),
      api('series', Object.assign({ bucket: bucket, by: 'category' }, base)),
    ]).then(function (r) {
      var summary = r[0];
      showLogin(false);
      // Venue choices come from the whole period's summary (kept when a venue is selected).
      var select = $('venue');
      if (!venue) {
        var keep = select.value;
        while (select.options.length > 1) select.remove(1);
        summary.byVenue.forEach(function (v) { select.appendChild(el('option', { value: v.venue }, v.venue)); });
        select.value = keep;
      }
      last = { summary: summary, byVenue: r[1], byCategory: r[2], venue: venue, at: new Date() };
      render(last);
    }).catch(function (err) {
      if (err.auth) {
        sessionStorage.removeItem(KEY);
        last = null;
        showLogin(true);
        setStatus('refused', null, true);
        return;
      }
      setStatus('loadFailed', { error: err.message }, true);
    });
  }

  $('login').addEventListener('submit', function (e) {
    e.preventDefault();
    var tok = $('token').value.trim();
    if (!tok) return;
    sessionStorage.setItem(KEY, tok);
    $('token').value = '';
    load();
  });
  $('controls').addEventListener('submit', function (e) { e.preventDefault(); load(); });
  $('range').addEventListener('change', load);
  $('venue').addEventListener('change', load);
  $('logout').addEventListener('click', function () {
    sessionStorage.removeItem(KEY);
    last = null;
    showLogin(true);
    setStatus('signedOut');
  });
  $('langs').addEventListener('click', function (e) {
    var b = e.target.closest('button');
    if (b) setLang(b.value, true);
  });

  setLang(storedLang() || browserLang(), false);
  if (sessionStorage.getItem(KEY)) load(); else showLogin(true);
})();
`;

// English text in the document itself: what a browser without script, or before it runs, shows.
const BODY = `
<header><h1 data-t="title">roje statistics</h1><p data-t="tagline">${DASHBOARD_TEXT.en.tagline}</p>
  <div class="langs" id="langs" role="group" aria-label="Language">
    <button type="button" value="sq" lang="sq" aria-pressed="false">SQ</button>
    <button type="button" value="en" lang="en" aria-pressed="true">EN</button>
  </div>
</header>
<main>
  <p id="zone"></p>
  <form id="login" class="hidden" aria-labelledby="login-h">
    <h2 id="login-h" class="hidden" data-t="signIn">Sign in</h2>
    <label for="token"><span data-t="token">API token</span><input id="token" name="token" type="password" autocomplete="off" required size="40"></label>
    <button type="submit" data-t="show">Show statistics</button>
  </form>
  <form id="controls" class="hidden">
    <label for="range"><span data-t="period">Period</span><select id="range">
      <option value="1" data-t="p1">Last 24 hours</option>
      <option value="7" data-t="p7" selected>Last 7 days</option>
      <option value="30" data-t="p30">Last 30 days</option>
      <option value="90" data-t="p90">Last 90 days</option>
      <option value="365" data-t="p365">Last 365 days</option>
    </select></label>
    <label for="venue"><span data-t="venue">Venue</span><select id="venue"><option value="" data-t="allVenues">All venues</option></select></label>
    <button type="submit" data-t="refresh">Refresh</button>
    <button type="button" id="logout" class="secondary" data-t="signOut">Sign out</button>
  </form>
  <p id="status" role="status" aria-live="polite"></p>
  <div id="content" class="hidden">
    <div id="cards" class="cards"></div>
    <section id="by-venue" class="chart" aria-live="polite"></section>
    <section id="by-category" class="chart" aria-live="polite"></section>
  </div>
</main>`;

export interface DashboardOptions {
  /** The deployment's IANA time zone (config `timeZone`): hours on the page are shown in it. */
  timeZone?: string;
  /** Display names by category id (built-in, config `categoryNames`, each list's categories). */
  categoryNames?: Readonly<Record<string, { sq: string; en: string }>>;
}

/** JSON inside <script type="application/json">: "<" escaped, so no "</script>" can end it early. */
function dataBlock(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** The dashboard document. Static: serve it without authentication; its API calls carry the token. */
export function dashboardHtml(options: DashboardOptions = {}): string {
  const config = { timeZone: options.timeZone ?? 'UTC', categories: options.categoryNames ?? {} };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>roje statistics</title>
<style>${STYLE}</style>
</head>
<body>${BODY}
<script type="application/json" id="dashboard-config">${dataBlock(config)}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

/**
 * A Content-Security-Policy for the dashboard response: only its own inline style and script (by
 * hash) and fetches to the same origin. The JSON data block is not a script to run, so needs no hash.
 */
export function dashboardCsp(): string {
  return [
    "default-src 'none'",
    `style-src ${sha256(STYLE)}`,
    `script-src ${sha256(SCRIPT)}`,
    "connect-src 'self'",
    "img-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
