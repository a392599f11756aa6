/**
 * The console's shell: sign-in with an API token (kept in sessionStorage, never in a URL sent to a
 * server), the page list for the token's role, the language switch (remembered in localStorage), and
 * routing by the URL fragment (#/reports, #/lookup?name=...), so that a page can be bookmarked and the
 * browser's back button works.
 */
import {
  api,
  browserLang,
  can,
  el,
  rememberLang,
  repeatStatus,
  session,
  setStatus,
  showError,
  storedLang,
  t,
  token,
  ZONE,
  zoneOffset,
} from './core.js';
import lists from './pages/lists.js';
import lookup from './pages/lookup.js';
import overrides from './pages/overrides.js';
import reports from './pages/reports.js';
import selftest from './pages/selftest.js';
import stats from './pages/stats.js';
import transparency from './pages/transparency.js';

/**
 * Each page: { id, nav (text key), role (least role to see it), render(root, params) }. render fills
 * root with el() (which skips null and false children; root.append itself would write "null").
 */
const PAGES = [stats, reports, overrides, lookup, lists, selftest, transparency];
const $ = (id) => document.getElementById(id);

// A token may arrive in the fragment (#token=...): it never reaches a server log; moved to sessionStorage.
const fromFragment = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
if (fromFragment) {
  token.set(decodeURIComponent(fromFragment[1]));
  history.replaceState(null, '', location.pathname + location.search);
}

function route() {
  const [path, query] = location.hash.replace(/^#\/?/, '').split('?');
  const allowed = PAGES.filter((p) => can(p.role));
  const page = allowed.find((p) => p.id === path) ?? allowed[0];
  return { page, params: new URLSearchParams(query ?? '') };
}

function drawNav(current) {
  const list = $('nav-list');
  list.textContent = '';
  for (const page of PAGES.filter((p) => can(p.role))) {
    list.append(
      el(
        'li',
        null,
        el('a', { href: `#/${page.id}`, 'aria-current': page === current ? 'page' : null }, t(page.nav)),
      ),
    );
  }
  list.append(
    el(
      'li',
      { class: 'who' },
      el(
        'span',
        null,
        t('console.signedInAs', { name: session.who.name, role: t(`role.${session.who.role}`) }),
      ),
      el(
        'button',
        { type: 'button', class: 'secondary', id: 'sign-out', onclick: signOut },
        t('console.signOut'),
      ),
    ),
  );
}

let rendering = 0;
/** Draws the page the fragment names (or the first the role may see), moving focus to its heading. */
async function show({ focus = false } = {}) {
  if (session.who === null) return;
  const { page, params } = route();
  drawNav(page);
  document.title = `${t(page.nav)} · ${t('console.title')}`;
  const root = $('page');
  const mine = ++rendering;
  root.textContent = '';
  root.dataset.page = page.id;
  setStatus('console.loading');
  try {
    await page.render(root, params);
    if (mine !== rendering) return;
    if (document.getElementById('status').textContent === t('console.loading')) setStatus(null);
  } catch (err) {
    if (mine === rendering) showError(err);
  }
  if (focus) root.querySelector('h2')?.focus();
}

async function signIn() {
  try {
    session.who = await api('GET', '/api/v1/whoami');
  } catch (err) {
    session.who = null;
    if (err.auth || err.status === 403) return signedOut('console.refused');
    return showError(err);
  }
  $('login').classList.add('hidden');
  $('nav').classList.remove('hidden');
  await show();
}

function signedOut(key) {
  token.clear();
  session.who = null;
  $('page').textContent = '';
  $('nav').classList.add('hidden');
  $('login').classList.remove('hidden');
  setStatus(key, null, key === 'console.refused' ? 'error' : '');
  $('token').focus();
}

function signOut() {
  signedOut('console.signedOut');
}

function setLang(lang, remember) {
  session.lang = lang;
  if (remember) rememberLang(lang);
  document.documentElement.lang = lang;
  document.title = t('console.title');
  for (const node of document.querySelectorAll('[data-t]')) node.textContent = t(node.dataset.t);
  for (const b of document.querySelectorAll('#langs button')) {
    b.setAttribute('aria-pressed', String(b.value === lang));
  }
  $('langs').setAttribute('aria-label', t('console.language'));
  $('nav').setAttribute('aria-label', t('console.pages'));
  $('zone').textContent = t('console.zone', { zone: ZONE, offset: zoneOffset() });
  if (session.who !== null) show();
  else repeatStatus();
}

$('login').addEventListener('submit', (e) => {
  e.preventDefault();
  const value = $('token').value.trim();
  if (!value) return;
  token.set(value);
  $('token').value = '';
  signIn();
});
$('langs').addEventListener('click', (e) => {
  const b = e.target.closest('button');
  if (b) setLang(b.value, true);
});
window.addEventListener('hashchange', () => show({ focus: true }));
document.addEventListener('roje:signed-out', () => signedOut('console.refused'));
/** A page asks the shell to draw it again (after an action changed what it shows). */
document.addEventListener('roje:redraw', () => show());

setLang(storedLang() || browserLang(), false);
if (token.get()) signIn();
else signedOut(null);
