/**
 * Allow and deny: the run-time overrides (src/overrides), per venue or for everyone, live within
 * seconds without a reload. Auditors read them and download the YAML a config would hold; operators add
 * and remove them. A removal takes a second click on the same button, so a slip of the finger (or of
 * the Enter key) never unblocks a site. The API refuses an allow the abuse list blocks; the page says so.
 */
import {
  ApiError,
  api,
  badge,
  can,
  download,
  el,
  facts,
  field,
  formatTime,
  setStatus,
  showError,
  showRefusal,
  t,
} from '../core.js';

/** What the last action did, said once the page has been drawn again. */
let outcome = null;

const venueLabel = (venue) => (venue === null ? t('everyone') : venue);

function redrawSaying(key, vars) {
  outcome = [key, vars];
  document.dispatchEvent(new Event('roje:redraw'));
}

/** The venues an entry may name: the config's (operators may read it), else those already in use. */
async function knownVenues(entries) {
  const inUse = entries.map((o) => o.venue).filter((v) => v !== null);
  try {
    const config = await api('GET', '/api/v1/config');
    return [...new Set([...(config.venues ?? []).map((v) => v.name), ...inUse])];
  } catch {
    return [...new Set(inUse)];
  }
}

function addForm(venues) {
  const name = el('input', {
    id: 'ov-name',
    name: 'name',
    type: 'text',
    required: true,
    maxlength: '300',
    autocomplete: 'off',
    autocapitalize: 'none',
    spellcheck: 'false',
    placeholder: 'example.com',
  });
  const action = el(
    'select',
    { id: 'ov-action', name: 'action' },
    el('option', { value: 'allow' }, t('overrides.allow')),
    el('option', { value: 'deny' }, t('overrides.deny')),
  );
  const venue = el(
    'select',
    { id: 'ov-venue', name: 'venue' },
    el('option', { value: '' }, t('overrides.everyone')),
    venues.map((v) => el('option', { value: v }, v)),
  );
  const note = el('input', { id: 'ov-note', name: 'note', type: 'text', maxlength: '500' });
  const submit = el('button', { type: 'submit', id: 'ov-add' }, t('overrides.add'));
  const form = el(
    'form',
    { id: 'override-form', 'aria-labelledby': 'ov-add-h' },
    field(t('overrides.name'), name),
    field(t('overrides.action'), action),
    field(t('venue'), venue),
    field(t('note'), note),
    submit,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { name: name.value.trim(), action: action.value };
    if (venue.value) body.venue = venue.value;
    if (note.value.trim()) body.note = note.value.trim();
    submit.disabled = true;
    try {
      const made = await api('POST', '/api/v1/overrides', { body });
      redrawSaying(`overrides.done.${made.action}`, { name: made.name, venue: venueLabel(made.venue) });
    } catch (err) {
      showRefusal('overrides', err);
      submit.disabled = false;
      name.focus();
    }
  });
  return el('section', { class: 'panel' }, el('h3', { id: 'ov-add-h' }, t('overrides.addTitle')), form);
}

/** Remove, then "Confirm removal" on the same button (focus stays put), with a way back. */
function removeControls(entry) {
  const remove = el(
    'button',
    { type: 'button', class: 'secondary', 'data-remove': entry.id },
    t('overrides.remove'),
  );
  const cancel = el('button', { type: 'button', class: 'secondary hidden' }, t('overrides.cancel'));
  let armed = false;
  const disarm = () => {
    armed = false;
    remove.textContent = t('overrides.remove');
    remove.className = 'secondary';
    cancel.classList.add('hidden');
  };
  cancel.addEventListener('click', () => {
    disarm();
    remove.focus();
  });
  remove.addEventListener('click', async () => {
    if (!armed) {
      armed = true;
      remove.textContent = t('overrides.confirm');
      remove.className = 'danger';
      cancel.classList.remove('hidden');
      return;
    }
    remove.disabled = true;
    cancel.disabled = true;
    try {
      await api('DELETE', `/api/v1/overrides/${entry.id}`);
      redrawSaying('overrides.done.removed', { name: entry.name, venue: venueLabel(entry.venue) });
    } catch (err) {
      showRefusal('overrides', err);
      if (err instanceof ApiError && err.code === 'ROJE_ERR_OVERRIDE_NOT_FOUND') {
        document.dispatchEvent(new Event('roje:redraw'));
        return;
      }
      remove.disabled = false;
      cancel.disabled = false;
      disarm();
    }
  });
  return el('div', { class: 'actions' }, remove, cancel);
}

function entryItem(entry) {
  return el(
    'article',
    { class: 'item override', 'data-id': entry.id, 'aria-labelledby': `ov-${entry.id}` },
    el(
      'div',
      { class: 'head' },
      el('h4', { class: 'name', id: `ov-${entry.id}` }, entry.name),
      badge(t(`overrides.badge.${entry.action}`), entry.action === 'allow' ? 'ok' : 'bad'),
    ),
    facts([
      [t('overrides.for'), venueLabel(entry.venue)],
      [t('overrides.by'), entry.who],
      [t('overrides.at'), formatTime(entry.at)],
      [t('note'), entry.note ? entry.note : null],
    ]),
    can('operator') ? removeControls(entry) : null,
  );
}

async function render(root) {
  const { overrides } = await api('GET', '/api/v1/overrides');
  const operator = can('operator');
  const venues = operator ? await knownVenues(overrides) : [];
  const exporter = el(
    'button',
    { type: 'button', class: 'secondary', id: 'ov-export' },
    t('overrides.export'),
  );
  exporter.addEventListener('click', async () => {
    const file = `roje-overrides-${new Date().toISOString().slice(0, 10)}.yaml`;
    exporter.disabled = true;
    try {
      await download('/api/v1/overrides', { format: 'yaml' }, file);
      setStatus('overrides.done.exported', { file }, 'ok');
    } catch (err) {
      showError(err);
    } finally {
      exporter.disabled = false;
    }
  });
  // Newest first: what was just added is on top.
  const entries = [...overrides].sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  root.append(
    el('h2', { tabindex: '-1' }, t('overrides.title')),
    el('p', { class: 'muted' }, t('overrides.tagline')),
    operator ? addForm(venues) : el('p', { class: 'muted', id: 'read-only' }, t('overrides.readOnly')),
    el(
      'section',
      { id: 'overrides', 'aria-labelledby': 'ov-list-h' },
      el('h3', { id: 'ov-list-h' }, t('overrides.listTitle', { n: entries.length })),
      entries.length ? entries.map(entryItem) : el('p', { class: 'muted' }, t('overrides.none')),
      el('div', { class: 'actions' }, exporter),
      el('p', { class: 'muted' }, t('overrides.exportHint')),
    ),
  );
  if (outcome !== null) {
    const [key, vars] = outcome;
    outcome = null;
    setStatus(key, vars, 'ok');
    // The control used is gone or emptied: the keyboard continues from the page's heading.
    root.querySelector('h2').focus();
  }
}

export default { id: 'overrides', nav: 'nav.overrides', role: 'auditor', render };
