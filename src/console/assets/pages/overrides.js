/** Placeholder: the overrides page (being written). */
import { el, t } from '../core.js';

async function render(root) {
  root.append(el('h2', { tabindex: '-1' }, t('overrides.title')));
}

export default { id: 'overrides', nav: 'nav.overrides', role: 'auditor', render };
