/** Placeholder: the lookup page (being written). */
import { el, t } from '../core.js';

async function render(root) {
  root.append(el('h2', { tabindex: '-1' }, t('lookup.title')));
}

export default { id: 'lookup', nav: 'nav.lookup', role: 'auditor', render };
