/** Placeholder: the lists page (being written). */
import { el, t } from '../core.js';

async function render(root) {
  root.append(el('h2', { tabindex: '-1' }, t('lists.title')));
}

export default { id: 'lists', nav: 'nav.lists', role: 'auditor', render };
