/** The lookup page's text. */
import { pageText } from './define.js';

export const lookupText = pageText({
  en: {
    'lookup.title': 'lookup',
  },
  sq: {
    'lookup.title': 'lookup',
  },
});
