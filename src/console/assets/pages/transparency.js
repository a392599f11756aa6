/** Placeholder: the transparency page (being written). */
import { el, t } from '../core.js';

async function render(root) {
  root.append(el('h2', { tabindex: '-1' }, t('transparency.title')));
}

export default { id: 'transparency', nav: 'nav.transparency', role: 'auditor', render };
