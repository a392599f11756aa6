/** The overrides page's text. */
import { pageText } from './define.js';

export const overridesText = pageText({
  en: {
    'overrides.title': 'overrides',
  },
  sq: {
    'overrides.title': 'overrides',
  },
});
