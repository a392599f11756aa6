/** Placeholder: the reports page (being written). */
import { el, t } from '../core.js';

async function render(root) {
  root.append(el('h2', { tabindex: '-1' }, t('reports.title')));
}

export default { id: 'reports', nav: 'nav.reports', role: 'auditor', render };
