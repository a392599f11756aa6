/** Placeholder: the selftest page (being written). */
import { el, t } from '../core.js';

async function render(root) {
  root.append(el('h2', { tabindex: '-1' }, t('selftest.title')));
}

export default { id: 'selftest', nav: 'nav.selftest', role: 'auditor', render };
