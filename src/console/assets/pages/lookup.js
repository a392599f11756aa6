/**
 * "Why blocked?": an operator types a site's name (a parent's call, a teacher's complaint) and sees,
 * per venue, roje's own decision with the category, the list and the line that made it, or the venue
 * entry or override that did. The abuse feed is named as a category only: the API sends no entry and
 * this page has none to show. The fragment (#/lookup?name=&venue=) holds the question, so a result can
 * be bookmarked and other pages can link here.
 */
import {
  api,
  badge,
  categoryName,
  el,
  facts,
  formatTime,
  setStatus,
  showError,
  t,
  venueName,
} from '../core.js';

/** Venues seen in answers for every venue: the API gives auditors no other list of them. */
const knownVenues = new Set();
const VERDICT_BADGE = { blocked: 'bad', allowed: 'ok', passed: 'ok', safesearch: 'warn' };
let asked = 0;

/** "#/lookup?name=...&venue=...", the question as an address. */
function fragment(name, venue) {
  const q = new URLSearchParams({ name });
  if (venue) q.set('venue', venue);
  return `#/lookup?${q}`;
}

/** The rules that decide within `categories`: the winners, or every match when none is marked. */
function rulesFor(answer, categories) {
  const out = [];
  for (const listed of answer.listed) {
    if (!categories.includes(listed.category)) continue;
    const won = listed.rules.filter((r) => r.won);
    out.push(...(won.length ? won : listed.rules));
  }
  return out;
}

function ruleText(r) {
  const vars = { rule: r.rule, source: r.source, line: r.line };
  return t(r.action === 'allow' ? 'lookup.ruleAllows' : 'lookup.ruleLine', vars);
}

function reasonText(d) {
  if (d.reason === 'override') {
    const scope =
      d.override.venue === null ? t('everyone') : t('lookup.overrideVenue', { venue: d.override.venue });
    return t(`lookup.reason.override-${d.override.action}`, { id: d.override.id, scope });
  }
  if (d.reason === 'safesearch') return t('lookup.reason.safesearch', d.safeSearch);
  if (d.reason === 'none' && d.notBlocked.length) return t('lookup.reason.notBlockedHere');
  return t(`lookup.reason.${d.reason}`, { entry: d.addition?.entry ?? '' });
}

/** One venue's decision: its verdict, why, and the rule and line behind it. */
function decisionItem(answer, d) {
  const confidential = d.reason === 'abuse';
  const deciding = d.reason === 'list-allow' ? (d.allowedBy ?? []) : d.categories;
  // Nothing of the abuse feed but its category: no rule is looked for, even if one were sent.
  const rules = confidential ? [] : rulesFor(answer, deciding);
  const ruleList =
    rules.length > 0
      ? el(
          'ul',
          { class: 'rules' },
          rules.map((r) => el('li', null, el('code', null, ruleText(r)))),
        )
      : null;
  const listsDecided = d.reason === 'lists' || d.reason === 'list-allow';
  const noRule =
    listsDecided && rules.length === 0 && answer.sourcesUnavailable === null ? t('lookup.noRule') : null;
  return el(
    'article',
    { class: 'item', 'data-venue': d.venue ?? '', 'data-decision': d.decision },
    el(
      'div',
      { class: 'head' },
      el('h4', { class: 'name' }, venueName(d.venue)),
      badge(t(`lookup.${d.decision}`), VERDICT_BADGE[d.decision] ?? 'muted'),
    ),
    facts([
      [t('lookup.why'), reasonText(d)],
      [t('lookup.categories'), d.categories.length ? d.categories.map(categoryName).join(', ') : null],
      [t('lookup.rule'), ruleList ?? noRule],
      [t('lookup.notBlocked'), d.notBlocked.length ? d.notBlocked.map(categoryName).join(', ') : null],
      [
        t('lookup.overrideBy'),
        d.override ? t('lookup.byAt', { who: d.override.who, time: formatTime(d.override.at) }) : null,
      ],
      [t('note'), d.override?.note || null],
      [t('lookup.policy'), d.policy],
    ]),
  );
}

/** Asks the API and draws the answer into `out`; rejects with the API's error. */
async function runLookup(out, name, venue) {
  const mine = ++asked;
  setStatus('lookup.asking', { name });
  const answer = await api('GET', '/api/v1/lookup', { query: { name, venue } });
  if (mine !== asked) return;
  if (!venue) for (const d of answer.decisions) if (d.venue !== null) knownVenues.add(d.venue);
  const notes = [];
  if (answer.sourcesUnavailable === 'compiled') notes.push(t('lookup.compiled'));
  if (answer.changedSources.length) {
    notes.push(t('lookup.changed', { sources: answer.changedSources.join(', ') }));
  }
  if (answer.unreadableSources.length) {
    notes.push(t('lookup.unreadable', { sources: answer.unreadableSources.join(', ') }));
  }
  out.textContent = '';
  out.append(
    el('h3', { id: 'lookup-result-h' }, t('lookup.result', { name: answer.name })),
    ...notes.map((n) => el('p', { class: 'panel' }, n)),
    ...answer.decisions.map((d) => decisionItem(answer, d)),
    el('p', { class: 'muted' }, t('lookup.cname')),
  );
  setStatus('lookup.done', { name: answer.name, time: formatTime(new Date()) }, 'ok');
}

/** The venue choices: every venue seen so far, the chosen one selected. */
function fillVenues(select, chosen) {
  select.textContent = '';
  select.append(
    el('option', { value: '' }, t('allVenues')),
    ...[...knownVenues].sort().map((v) => el('option', { value: v, selected: v === chosen }, v)),
  );
}

async function render(root, params) {
  const name = params.get('name') ?? '';
  const venue = params.get('venue') ?? '';
  if (venue) knownVenues.add(venue);
  const input = el('input', {
    id: 'lookup-name',
    name: 'name',
    type: 'text',
    inputmode: 'url',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    maxlength: '300',
    placeholder: t('lookup.placeholder'),
    value: name,
  });
  const venues = el('select', { id: 'lookup-venue', name: 'venue' });
  fillVenues(venues, venue);
  const out = el('div', { id: 'lookup-result', 'aria-live': 'polite' });
  const form = el(
    'form',
    {
      id: 'lookup-form',
      role: 'search',
      onsubmit: async (e) => {
        e.preventDefault();
        const question = input.value.trim();
        if (!question) return;
        // replaceState: no hashchange, so the page is not drawn again and focus stays in the form.
        history.replaceState(null, '', fragment(question, venues.value));
        try {
          const chosen = venues.value;
          await runLookup(out, question, chosen);
          fillVenues(venues, chosen);
        } catch (err) {
          out.textContent = '';
          showError(err);
        }
      },
    },
    el('label', { for: 'lookup-name' }, el('span', null, t('lookup.name')), input),
    el('label', { for: 'lookup-venue' }, el('span', null, t('lookup.venue')), venues),
    el('button', { type: 'submit' }, t('lookup.ask')),
  );
  root.append(
    el('h2', { tabindex: '-1' }, t('lookup.title')),
    el('p', { class: 'muted' }, t('lookup.tagline')),
    form,
    out,
  );
  if (name) {
    await runLookup(out, name, venue);
    fillVenues(venues, venue);
  }
}

export default { id: 'lookup', nav: 'nav.lookup', role: 'auditor', render };
