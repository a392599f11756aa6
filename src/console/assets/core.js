/**
 * What every console page shares: its text in the chosen language, dates in the deployment's time
 * zone, numbers, display names, the API with the session's token, the status line and DOM building.
 * Plain ES2022 modules: no build step, no framework, nothing from outside the admin listener.
 */

const CONFIG = JSON.parse(document.getElementById('console-config').textContent);
const TOKEN_KEY = 'roje.console.token';
const LANG_KEY = 'roje.console.lang';
const ROLES = ['auditor', 'operator', 'admin'];
const LOCALES = { sq: 'sq-AL', en: 'en-GB' };
// Month names of our own: a browser's Intl may lack Albanian (Chromium's small ICU shows "M12").
const MONTHS = {
  en: ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'],
  sq: ['jan', 'shk', 'mar', 'pri', 'maj', 'qer', 'korr', 'gush', 'sht', 'tet', 'nën', 'dhj'],
};
const MONTH_NAMES = {
  en: [
    'January',
    'February',
    'March',
    'April',
    'May',
    'June',
    'July',
    'August',
    'September',
    'October',
    'November',
    'December',
  ],
  sq: [
    'janar',
    'shkurt',
    'mars',
    'prill',
    'maj',
    'qershor',
    'korrik',
    'gusht',
    'shtator',
    'tetor',
    'nëntor',
    'dhjetor',
  ],
};

/** The deployment's IANA time zone (config `timeZone`): every time on every page is shown in it. */
export const ZONE = CONFIG.timeZone || 'UTC';
const PARTS = new Intl.DateTimeFormat('en-US', {
  timeZone: ZONE,
  year: 'numeric',
  month: 'numeric',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});

/** Who is signed in ({ name, role }) and in which language; set by app.js. */
export const session = { lang: 'en', who: null };

export function t(key, vars) {
  const text = CONFIG.text[session.lang][key] ?? CONFIG.text.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, k) => (vars && k in vars ? String(vars[k]) : ''));
}

export function storedLang() {
  try {
    const v = localStorage.getItem(LANG_KEY);
    return v === 'sq' || v === 'en' ? v : null;
  } catch {
    return null;
  }
}

export function rememberLang(lang) {
  try {
    localStorage.setItem(LANG_KEY, lang);
  } catch {
    // Private mode: the choice lasts for this page only.
  }
}

/** sq / sq-AL: Albanian; the first of the browser's languages that is sq or en decides; else English. */
export function browserLang() {
  const list = navigator.languages?.length ? navigator.languages : [navigator.language || 'en'];
  for (const tag of list) {
    const primary = String(tag).toLowerCase().split('-')[0];
    if (primary === 'sq' || primary === 'en') return primary;
  }
  return 'en';
}

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** Whether the signed-in token's role reaches `role` (the API checks again; this only hides buttons). */
export function can(role) {
  return session.who !== null && ROLES.indexOf(session.who.role) >= ROLES.indexOf(role);
}

// ---- Time, in the deployment's zone (Intl knows its DST rules) ----

function wall(date) {
  const p = {};
  for (const x of PARTS.formatToParts(date)) p[x.type] = x.value;
  return {
    year: p.year,
    month: Number(p.month),
    day: Number(p.day),
    hm: `${p.hour}:${p.minute}`,
  };
}

/** "6 Dec 2026, 23:20" in the deployment's zone; "–" for nothing. */
export function formatTime(value) {
  if (value === null || value === undefined || value === '') return '–';
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  const w = wall(date);
  return `${w.day} ${MONTHS[session.lang][w.month - 1]} ${w.year}, ${w.hm}`;
}

/** "6 Dec 15:00" (an hour) or "6 Dec" (a day): a chart's bucket in the deployment's zone. */
export function formatBucket(iso, bucket) {
  const w = wall(new Date(iso));
  return `${w.day} ${MONTHS[session.lang][w.month - 1]}${bucket === 'day' ? '' : ` ${w.hm}`}`;
}

/** "December 2026" for "2026-12". */
export function formatMonth(month) {
  const [y, m] = month.split('-').map(Number);
  return `${MONTH_NAMES[session.lang][m - 1]} ${y}`;
}

/** The current month in the deployment's zone, "2026-12". */
export function currentMonth() {
  const w = wall(new Date());
  return `${w.year}-${String(w.month).padStart(2, '0')}`;
}

/** "UTC+1" now in the deployment's zone. */
export function zoneOffset(date = new Date()) {
  const part = new Intl.DateTimeFormat('en-US', { timeZone: ZONE, timeZoneName: 'shortOffset' })
    .formatToParts(date)
    .find((p) => p.type === 'timeZoneName');
  return part ? part.value.replace('GMT', 'UTC') : 'UTC';
}

/** "3 h ago" / "para 3 orësh": how old a time is, coarse. */
export function formatAge(seconds) {
  if (seconds === null || seconds === undefined) return '–';
  if (seconds < 90) return t('age.seconds', { n: Math.max(0, Math.round(seconds)) });
  if (seconds < 5400) return t('age.minutes', { n: Math.round(seconds / 60) });
  if (seconds < 129600) return t('age.hours', { n: Math.round(seconds / 3600) });
  return t('age.days', { n: Math.round(seconds / 86400) });
}

export function formatNumber(n, options) {
  return new Intl.NumberFormat(LOCALES[session.lang], options).format(n);
}

// ---- Names ----

/** A category's display name, never its internal id (config `categoryNames` may add or rename). */
export function categoryName(id) {
  const names = CONFIG.categories[id];
  if (names) return names[session.lang];
  const words = String(id)
    .replace(/[-_.]+/g, ' ')
    .trim();
  return words ? words[0].toUpperCase() + words.slice(1) : '?';
}

/** The statistics' "(none)" venue is clients of no venue. */
export function venueName(venue) {
  return venue === null || venue === undefined || venue === '(none)' ? t('noVenue') : venue;
}

// ---- The API ----

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `HTTP ${status}`);
    this.status = status;
    this.code = body?.code;
    /** The token is missing, unknown or revoked: sign in again. */
    this.auth = status === 401;
  }
}

/**
 * Calls the admin API with the session's token. JSON in, JSON out (or text when `text` is set); a
 * refusal or failure rejects with an ApiError carrying the API's own message.
 */
export async function api(method, path, { query, body, text } = {}) {
  const params = query
    ? Object.entries(query)
        .filter(([, v]) => v !== '' && v !== null && v !== undefined)
        .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
        .join('&')
    : '';
  const headers = { Authorization: `Bearer ${token.get()}`, Accept: text ? '*/*' : 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(params ? `${path}?${params}` : path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
  });
  if (!r.ok) throw new ApiError(r.status, await r.json().catch(() => null));
  return text ? r.text() : r.json();
}

const FILE_TYPES = { json: 'application/json', csv: 'text/csv', yaml: 'application/yaml', html: 'text/html' };

/** Fetches with the token and saves the answer as a file (a plain link cannot carry the token). */
export async function download(path, query, filename) {
  const body = await api('GET', path, { query, text: true });
  const type = FILE_TYPES[filename.split('.').pop()] ?? 'application/octet-stream';
  const url = URL.createObjectURL(new Blob([body], { type: `${type};charset=utf-8` }));
  const a = el('a', { href: url, download: filename, class: 'hidden' });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// ---- The status line: kept as a key, so that a language switch says it again ----

let status = { key: null, vars: null, kind: '' };

/** `kind`: '' (progress), 'ok' or 'error'. */
export function setStatus(key, vars, kind = '') {
  status = { key, vars, kind };
  const line = document.getElementById('status');
  line.textContent = key ? t(key, vars) : '';
  line.className = kind;
}

export function repeatStatus() {
  if (status.key) setStatus(status.key, status.vars, status.kind);
}

/** Says what went wrong in the status line; a refused token signs out (app.js listens). */
export function showError(err) {
  if (err instanceof ApiError && err.auth) {
    document.dispatchEvent(new CustomEvent('roje:signed-out', { detail: 'refused' }));
    return;
  }
  if (err instanceof ApiError && err.status === 403) {
    setStatus('error.forbidden', { message: err.message }, 'error');
    return;
  }
  setStatus('error.failed', { message: err.message }, 'error');
}

/** A refusal the page has words for (`<prefix>.error.<code>`, with {message}); else showError. */
export function showRefusal(prefix, err) {
  const key = `${prefix}.error.${err instanceof ApiError ? err.code : ''}`;
  if (t(key) !== key) setStatus(key, { message: err.message }, 'error');
  else showError(err);
}

// ---- DOM building: text always through textContent, never HTML ----

/**
 * el('button', { type: 'button', onclick: fn }, 'Accept'): attributes (on* become listeners, a
 * false or null one is left out), then children (strings become text nodes).
 */
export function el(tag, attrs, ...children) {
  const e = tag.startsWith('svg:')
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    e.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return e;
}

/** A definition list of [label, value] pairs, leaving out pairs whose value is null. */
export function facts(pairs) {
  return el(
    'dl',
    { class: 'facts' },
    pairs
      .filter(([, v]) => v !== null && v !== undefined)
      .flatMap(([k, v]) => [el('dt', null, k), el('dd', null, v)]),
  );
}

export function badge(text, kind) {
  return el('span', { class: `badge ${kind}` }, text);
}

/** A labelled form control; `control` is the input/select/textarea element (it needs an id). */
export function field(label, control) {
  return el('label', { for: control.id }, el('span', null, label), control);
}

/**
 * A table with a caption for screen readers: `heads` are column titles (or ready <th>s), `rows` arrays
 * of cells (or ready <tr>s). The first cell of a row is its header; numbers are formatted and
 * right-aligned.
 */
export function dataTable(caption, heads, rows, attrs) {
  const cell = (v, i) => {
    const content = typeof v === 'number' ? formatNumber(v) : v;
    if (i === 0) return el('th', { scope: 'row' }, content);
    return el('td', { class: typeof v === 'number' ? 'num' : null }, content);
  };
  return el(
    'table',
    attrs,
    el('caption', { class: 'sr-only' }, caption),
    el(
      'thead',
      null,
      el(
        'tr',
        null,
        heads.map((h) => (h instanceof Node ? h : el('th', { scope: 'col' }, h))),
      ),
    ),
    el(
      'tbody',
      null,
      rows.map((r) => (r instanceof Node ? r : el('tr', null, r.map(cell)))),
    ),
  );
}

/**
 * The instances whose counts the store holds, when it is a city's shared PostgreSQL (several roje
 * instances); null for one box, where there is nothing to choose.
 */
export async function cityInstances() {
  const r = await api('GET', '/api/v1/stats/instances');
  return r.kind === 'postgres' ? r.instances.map((i) => i.instance) : null;
}

/** A chooser of the whole city (value "") or one instance, for choicesForm. */
export function instanceSelect(instances, chosen) {
  return el(
    'select',
    { id: 'instance', name: 'instance' },
    el('option', { value: '' }, t('wholeCity')),
    instances.map((i) => el('option', { value: i, selected: i === chosen }, i)),
  );
}

/**
 * A page's choices (`fields`: [label, select] pairs) and a submit button: a change or a submit calls
 * `apply`, which reads the selects and draws the page again.
 */
export function choicesForm(fields, submitLabel, apply) {
  for (const [, control] of fields) control.addEventListener('change', apply);
  return el(
    'form',
    {
      id: 'controls',
      onsubmit: (e) => {
        e.preventDefault();
        apply();
      },
    },
    fields.map(([label, control]) => field(label, control)),
    el('button', { type: 'submit' }, submitLabel),
  );
}

/** Runs an action from a button: disables it meanwhile, says the outcome, then calls `after`. */
export async function act(button, action, okKey, after) {
  button.disabled = true;
  try {
    const result = await action();
    if (okKey) setStatus(okKey, typeof result === 'object' ? null : { value: result }, 'ok');
    if (after) await after(result);
  } catch (err) {
    showError(err);
  } finally {
    button.disabled = false;
  }
}
