/**
 * The read-only statistics dashboard for municipality viewers: one self-contained HTML document
 * (inline CSS and JS, no CDN, works offline) that asks for an API token, keeps it in sessionStorage,
 * reads /api/v1/stats/summary and /api/v1/stats/series with it, and draws blocks per venue and per
 * category over time as SVG stacked bars, each with a title, a description, a legend and a data table.
 * The page is static: every number comes from the API, which checks the token's role.
 */
import { createHash } from 'node:crypto';

const STYLE = `
:root { color-scheme: light; --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg: #fff; --accent: #0b5cad; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: #f6f8fa; }
header { background: var(--accent); color: #fff; padding: 12px 20px; display: flex; gap: 16px; align-items: baseline; flex-wrap: wrap; }
header h1 { font-size: 20px; margin: 0; }
header p { margin: 0; opacity: .9; }
main { max-width: 1160px; margin: 0 auto; padding: 16px 20px 40px; }
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
section.chart { background: var(--bg); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; margin-bottom: 16px; }
section.chart h2 { font-size: 17px; margin: 0 0 8px; }
svg { width: 100%; height: auto; display: block; }
svg text { font-size: 11px; fill: var(--muted); }
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

// Plain ES2020 in the browser: no modules, no build step, no external asset.
const SCRIPT = `
(function () {
  'use strict';
  var SVGNS = 'http://www.w3.org/2000/svg';
  var KEY = 'roje.dashboard.token';
  var $ = function (id) { return document.getElementById(id); };
  var fmt = new Intl.NumberFormat();

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
  function setStatus(text, isError) {
    var s = $('status');
    s.textContent = text;
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
        var err = new Error('the token was refused (' + r.status + ')');
        err.auth = true;
        throw err;
      }
      if (!r.ok) return r.json().catch(function () { return {}; }).then(function (b) {
        throw new Error((b && b.message) || ('HTTP ' + r.status));
      });
      return r.json();
    });
  }

  function bucketLabel(iso, bucket) {
    // UTC, as stored: "23 Nov 14:00" or "23 Nov".
    var d = new Date(iso);
    var months = ['Jan','Feb','Mar','Apr','May','Jun','Jul','Aug','Sep','Oct','Nov','Dec'];
    var day = d.getUTCDate() + ' ' + months[d.getUTCMonth()];
    if (bucket === 'day') return day;
    return day + ' ' + String(d.getUTCHours()).padStart(2, '0') + ':00';
  }

  function niceMax(v) {
    if (v <= 0) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * p >= v) return steps[i] * p;
    return 10 * p;
  }

  // A stacked bar chart of data.series over data.buckets, with title/desc, axes, legend and table.
  function drawChart(section, title, data, what) {
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
    var svg = el('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-labelledby': id + '-t ' + id + '-d', 'class': 'chart-svg' }, null, true);
    svg.appendChild(el('title', { id: id + '-t' }, title, true));
    var top = data.series.slice(0, 3).map(function (s) { return s.key + ' ' + fmt.format(s.total); }).join(', ');
    svg.appendChild(el('desc', { id: id + '-d' }, 'Stacked bars, one per ' + data.bucket + ' from ' +
      bucketLabel(data.buckets[0], data.bucket) + ' to ' + bucketLabel(data.buckets[n - 1], data.bucket) +
      ' (UTC). ' + fmt.format(total) + ' ' + what + ' in all' + (top ? '; largest: ' + top : '') + '. The table below holds every value.', true));
    // Grid and Y axis.
    for (var g = 0; g <= 4; g++) {
      var y = T + ph - (ph * g) / 4;
      svg.appendChild(el('line', { x1: L, x2: W - R, y1: y, y2: y, 'class': g === 0 ? 'axis' : 'grid' }, null, true));
      svg.appendChild(el('text', { x: L - 6, y: y + 4, 'text-anchor': 'end' }, fmt.format((max * g) / 4), true));
    }
    svg.appendChild(el('text', { x: 14, y: T + ph / 2, 'text-anchor': 'middle', transform: 'rotate(-90 14 ' + (T + ph / 2) + ')' }, what, true));
    svg.appendChild(el('text', { x: L + pw / 2, y: H - 6, 'text-anchor': 'middle' }, (data.bucket === 'day' ? 'Day' : 'Hour') + ' (UTC)', true));
    var step = pw / Math.max(n, 1);
    var bw = Math.max(1, step * 0.8);
    var every = Math.max(1, Math.ceil(n / 12));
    for (var i = 0; i < n; i++) {
      var x = L + i * step + (step - bw) / 2;
      var acc = 0;
      data.series.forEach(function (s, si) {
        var c = s.counts[i];
        if (!c) return;
        var h = (c / max) * ph;
        var r = el('rect', { x: x.toFixed(1), y: (T + ph - acc - h).toFixed(1), width: bw.toFixed(1), height: h.toFixed(1), 'class': 'bar c' + (si % 12) }, null, true);
        r.appendChild(el('title', null, s.key + ', ' + bucketLabel(data.buckets[i], data.bucket) + ': ' + fmt.format(c), true));
        svg.appendChild(r);
        acc += h;
      });
      if (i % every === 0) {
        svg.appendChild(el('text', { x: (L + i * step + step / 2).toFixed(1), y: T + ph + 16, 'text-anchor': 'middle' }, bucketLabel(data.buckets[i], data.bucket), true));
      }
    }
    section.appendChild(svg);
    var legend = el('ul', { 'class': 'legend', 'aria-label': 'Legend' });
    data.series.forEach(function (s, si) {
      var li = el('li');
      li.appendChild(el('span', { 'class': 'sw c' + (si % 12), 'aria-hidden': 'true' }));
      li.appendChild(document.createTextNode(s.key + ' (' + fmt.format(s.total) + ')'));
      legend.appendChild(li);
    });
    if (data.series.length === 0) legend.appendChild(el('li', null, 'No blocks in this period.'));
    section.appendChild(legend);
    // The data table: the chart's fallback for screen readers and for copying numbers.
    var details = el('details');
    details.appendChild(el('summary', null, 'Data table: ' + title));
    var table = el('table');
    table.appendChild(el('caption', { 'class': 'hidden' }, title));
    var head = el('tr');
    head.appendChild(el('th', { scope: 'col' }, data.bucket === 'day' ? 'Day (UTC)' : 'Hour (UTC)'));
    data.series.forEach(function (s) { head.appendChild(el('th', { scope: 'col' }, s.key)); });
    head.appendChild(el('th', { scope: 'col' }, 'Total'));
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

  function load() {
    var days = Number($('range').value);
    var venue = $('venue').value;
    var to = new Date(Math.ceil(Date.now() / 3600000) * 3600000);
    var from = new Date(to.getTime() - days * 86400000);
    var bucket = days <= 7 ? 'hour' : 'day';
    var base = { from: from.toISOString(), to: to.toISOString(), venue: venue };
    setStatus('Loading…');
    return Promise.all([
      api('summary', base),
      api('series', Object.assign({ bucket: bucket, by: 'venue' }, base)),
      api('series', Object.assign({ bucket: bucket, by: 'category' }, base)),
    ]).then(function (r) {
      var summary = r[0];
      showLogin(false);
      var cards = $('cards');
      cards.textContent = '';
      cards.appendChild(card('Blocked', summary.blocked));
      if (summary.queries != null) {
        cards.appendChild(card('Queries', summary.queries));
        // Resolver-wide only: null when a venue is selected.
        if (summary.cacheHits != null) cards.appendChild(card('Answered from cache', summary.cacheHits));
        cards.appendChild(card('Blocked share', summary.queries > 0
          ? (100 * summary.blocked / summary.queries).toFixed(1) + ' %' : '–'));
      }
      // Venue choices come from the whole period's summary (kept when a venue is selected).
      var select = $('venue');
      if (!venue) {
        var keep = select.value;
        while (select.options.length > 1) select.remove(1);
        summary.byVenue.forEach(function (v) { select.appendChild(el('option', { value: v.venue }, v.venue)); });
        select.value = keep;
      }
      var where = venue ? ' at ' + venue : '';
      drawChart($('by-venue'), 'Blocked queries per venue' + where, r[1], 'blocked queries');
      drawChart($('by-category'), 'Blocks per category' + where, r[2], 'blocks');
      setStatus('Updated ' + new Date().toLocaleString() + '. Hours are UTC; the last minute may not be counted yet.');
    }).catch(function (err) {
      if (err.auth) {
        sessionStorage.removeItem(KEY);
        showLogin(true);
        setStatus('The API token was refused. Enter a valid one.', true);
        return;
      }
      setStatus('Could not load the statistics: ' + err.message, true);
    });
  }

  $('login').addEventListener('submit', function (e) {
    e.preventDefault();
    var t = $('token').value.trim();
    if (!t) return;
    sessionStorage.setItem(KEY, t);
    $('token').value = '';
    load();
  });
  $('controls').addEventListener('submit', function (e) { e.preventDefault(); load(); });
  $('range').addEventListener('change', load);
  $('venue').addEventListener('change', load);
  $('logout').addEventListener('click', function () {
    sessionStorage.removeItem(KEY);
    showLogin(true);
    setStatus('Signed out.');
  });

  if (sessionStorage.getItem(KEY)) load(); else showLogin(true);
})();
`;

const BODY = `
<header><h1>roje statistics</h1><p>Blocked queries per venue and category. Counts only: no addresses, no sites.</p></header>
<main>
  <form id="login" class="hidden" aria-labelledby="login-h">
    <h2 id="login-h" class="hidden">Sign in</h2>
    <label for="token">API token<input id="token" name="token" type="password" autocomplete="off" required size="40"></label>
    <button type="submit">Show statistics</button>
  </form>
  <form id="controls" class="hidden">
    <label for="range">Period<select id="range">
      <option value="1">Last 24 hours</option>
      <option value="7" selected>Last 7 days</option>
      <option value="30">Last 30 days</option>
      <option value="90">Last 90 days</option>
      <option value="365">Last 365 days</option>
    </select></label>
    <label for="venue">Venue<select id="venue"><option value="">All venues</option></select></label>
    <button type="submit">Refresh</button>
    <button type="button" id="logout" class="secondary">Sign out</button>
  </form>
  <p id="status" role="status" aria-live="polite"></p>
  <div id="content" class="hidden">
    <div id="cards" class="cards"></div>
    <section id="by-venue" class="chart" aria-live="polite"></section>
    <section id="by-category" class="chart" aria-live="polite"></section>
  </div>
</main>`;

const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>roje statistics</title>
<style>${STYLE}</style>
</head>
<body>${BODY}
<script>${SCRIPT}</script>
</body>
</html>
`;

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** The dashboard document. Static: serve it without authentication; its API calls carry the token. */
export function dashboardHtml(): string {
  return HTML;
}

/**
 * A Content-Security-Policy for the dashboard response: only its own inline style and script (by
 * hash) and fetches to the same origin.
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
