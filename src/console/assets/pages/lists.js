/**
 * Lists: what needs attention first (roje's warnings, a held copy), then every list source with its
 * category, kind, size and freshness. A feed copy or list file that came empty or shrank is held, the
 * good copy staying in force; an operator accepts or rejects it here, each with a second click to
 * confirm, since either choice changes what children can reach. The abuse feed shows counts only.
 */
import {
  act,
  api,
  badge,
  can,
  categoryName,
  el,
  facts,
  formatAge,
  formatNumber,
  formatTime,
  session,
  t,
} from '../core.js';

const CONFIDENTIAL = 'abuse';

function secondsSince(iso) {
  return iso ? Math.max(0, (Date.now() - Date.parse(iso)) / 1000) : null;
}

/** "6 Dec 2026, 23:20 (3 h ago)", or null for no time. */
function when(iso, ageSeconds) {
  if (!iso) return null;
  return t('lists.when', { time: formatTime(iso), age: formatAge(ageSeconds ?? secondsSince(iso)) });
}

/** Every source by name: the compiled one in force, its feed or file guard, its abuse counts. */
function sourcesOf(status) {
  const byName = new Map();
  const entry = (name) => {
    if (!byName.has(name)) byName.set(name, { name });
    return byName.get(name);
  };
  for (const s of status.lists?.sources ?? [])
    Object.assign(entry(s.name), { compiled: s, category: s.category });
  for (const f of status.feeds ?? []) Object.assign(entry(f.name), { feed: f, category: f.category });
  for (const f of status.files ?? []) Object.assign(entry(f.name), { file: f, category: f.category });
  for (const a of status.abuse?.feeds ?? [])
    Object.assign(entry(a.name), { abuse: a, category: CONFIDENTIAL });
  return [...byName.values()];
}

/** ok, stale, held or failed: what an operator must look at first. */
function health(s) {
  if ((s.feed ?? s.file)?.held) return 'held';
  if (s.feed && (s.feed.good === null || s.feed.lastAttempt?.result === 'failed')) return 'failed';
  if (s.abuse?.stale) return 'stale';
  if (s.feed?.good && s.feed.good.ageSeconds > 2 * s.feed.refreshSeconds) return 'stale';
  return 'ok';
}
const HEALTH_BADGE = { ok: 'ok', stale: 'warn', held: 'warn', failed: 'bad' };

/** A button that acts on its second click: the first one asks for it ("Click again to ..."). */
function confirmButton(verb, label, confirmLabel, run) {
  const button = el('button', { type: 'button', class: 'secondary', 'data-verb': verb }, label);
  const disarm = () => {
    delete button.dataset.armed;
    button.textContent = label;
  };
  button.addEventListener('click', () => {
    if (button.dataset.armed === undefined) {
      button.dataset.armed = '';
      button.textContent = confirmLabel;
      return;
    }
    disarm();
    run(button);
  });
  button.addEventListener('blur', disarm);
  return button;
}

/** The held copy: its counts, why it was held, and (for operators) accept and reject. */
function heldBox(s, held, redraw) {
  const why =
    held.rules === 0
      ? t('lists.why.empty')
      : t('lists.why.shrunk', {
          pct: formatNumber(Math.round((1 - held.rules / Math.max(1, held.previousRules)) * 100)),
        });
  const decide = (verb) => (button) =>
    act(
      button,
      async () => {
        await api('POST', `/api/v1/lists/${encodeURIComponent(s.name)}/${verb}`, { body: {} });
        return s.name;
      },
      verb === 'accept' ? 'lists.accepted' : 'lists.rejected',
      redraw,
    );
  return el(
    'div',
    { class: 'panel held', role: 'group', 'aria-label': t('lists.held') },
    el('strong', null, t('lists.held')),
    el(
      'p',
      null,
      t('lists.heldCounts', { before: formatNumber(held.previousRules), after: formatNumber(held.rules) }),
      ' ',
      why,
    ),
    el('p', { class: 'muted' }, t('lists.heldSince', { time: formatTime(held.heldAt ?? held.fetchedAt) })),
    el('p', { class: 'muted' }, t('lists.heldAdvice')),
    can('operator')
      ? el(
          'div',
          { class: 'actions' },
          confirmButton('accept', t('lists.accept'), t('lists.confirmAccept'), decide('accept')),
          confirmButton('reject', t('lists.reject'), t('lists.confirmReject'), decide('reject')),
        )
      : null,
  );
}

function sourceItem(s, redraw) {
  const state = health(s);
  const confidential = s.category === CONFIDENTIAL;
  const feed = s.feed;
  const file = s.file;
  const entries = s.abuse?.entries ?? s.compiled?.entries ?? feed?.good?.rules ?? file?.good?.rules;
  const updated = feed?.good
    ? when(feed.good.fetchedAt, feed.good.ageSeconds)
    : file?.good
      ? when(file.good.checkedAt)
      : s.compiled
        ? when(s.compiled.readAt)
        : null;
  const attempt = feed?.lastAttempt;
  const held = (feed ?? file)?.held;
  return el(
    'article',
    { class: 'item', 'data-source': s.name, 'data-health': state },
    el(
      'div',
      { class: 'head' },
      el('h4', { class: 'name' }, s.name),
      badge(t(`lists.badge.${state}`), HEALTH_BADGE[state]),
    ),
    facts([
      [t('lists.category'), categoryName(s.category)],
      [t('lists.kind'), t(feed ? 'lists.kind.feed' : file ? 'lists.kind.file' : 'lists.kind.other')],
      [t('lists.entries'), entries === undefined ? null : formatNumber(entries)],
      [t('lists.pages'), s.abuse ? formatNumber(s.abuse.pages) : null],
      [t('lists.updated'), s.abuse ? formatAge(s.abuse.ageSeconds) : updated],
      // Where a list comes from says nothing secret, except for the confidential feed.
      [t('lists.where'), confidential ? null : (feed?.url ?? file?.path ?? null)],
      [
        t('lists.lastAttempt'),
        attempt ? `${t(`lists.attempt.${attempt.result}`)}, ${when(attempt.at)}` : null,
      ],
      [t('lists.error'), attempt?.reason ?? null],
      [t('lists.failures'), feed?.failures ? formatNumber(feed.failures) : null],
      [t('lists.nextRefresh'), feed?.nextRefreshAt ? formatTime(feed.nextRefreshAt) : null],
    ]),
    confidential ? el('p', { class: 'muted' }, t('lists.confidential')) : null,
    held ? heldBox(s, held, redraw) : null,
  );
}

/** What needs attention: our own sentences first, then roje's (English) warnings, labelled. */
function warningsOf(status, sources) {
  const ours = [];
  if (status.serving && !status.serving.ready)
    ours.push(t('lists.notServing', { reason: status.serving.reason }));
  if (status.lists?.missing?.length)
    ours.push(t('lists.missing', { names: status.lists.missing.join(', ') }));
  for (const s of sources) if (health(s) === 'held') ours.push(t('lists.heldWarning', { name: s.name }));
  if (status.lists?.lastError) {
    ours.push(
      t('lists.lastError', { time: formatTime(status.lists.lastErrorAt), message: status.lists.lastError }),
    );
  }
  const theirs = status.warnings ?? [];
  const label = session.lang === 'en' ? null : t('lists.fromRoje');
  const items = [
    ...ours.map((w) => el('li', null, w)),
    ...theirs.map((w) => el('li', { lang: 'en' }, label ? `${label}: ` : '', w)),
  ];
  return el(
    'section',
    { class: 'panel', id: 'lists-warnings', 'aria-labelledby': 'lists-warnings-h' },
    el('h3', { id: 'lists-warnings-h' }, t('lists.warnings')),
    items.length ? el('ul', null, items) : el('p', null, t('lists.noWarnings')),
  );
}

/**
 * Draws the page into `into`; an action draws it again into `page` itself, not through the shell, so
 * that the status line keeps the action's outcome, and gives focus back to the heading.
 */
async function draw(into, page) {
  const status = await api('GET', '/api/v1/status');
  const sources = sourcesOf(status);
  const redraw = async () => {
    const fresh = el('div');
    await draw(fresh, page);
    page.replaceChildren(...fresh.childNodes);
    page.querySelector('h2')?.focus();
  };
  const lists = status.lists;
  const refresh = can('operator')
    ? el('button', { type: 'button', id: 'lists-refresh' }, t('lists.refresh'))
    : null;
  refresh?.addEventListener('click', () =>
    act(
      refresh,
      () => api('POST', '/api/v1/lists/refresh', { body: {} }).then(() => ''),
      'lists.refreshed',
      redraw,
    ),
  );
  // Node.append would write a null as the text "null": leave the absent parts out.
  const parts = [
    el('h2', { tabindex: '-1' }, t('lists.title')),
    el('p', { class: 'muted' }, t('lists.tagline')),
    warningsOf(status, sources),
    lists?.loadedAt
      ? el(
          'p',
          { id: 'lists-in-force' },
          t('lists.inForce', {
            entries: formatNumber(lists.entries),
            sources: formatNumber(lists.sources?.length ?? 0),
            time: formatTime(lists.loadedAt),
            age: formatAge(secondsSince(lists.loadedAt)),
          }),
        )
      : null,
    refresh ? el('div', { class: 'actions' }, refresh) : null,
    el('h3', null, t('lists.sources')),
    el(
      'div',
      { id: 'lists-sources' },
      sources.map((s) => sourceItem(s, redraw)),
    ),
  ];
  into.append(...parts.filter((part) => part !== null));
}

async function render(root) {
  await draw(root, root);
}

export default { id: 'lists', nav: 'nav.lists', role: 'auditor', render };
