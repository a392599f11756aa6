/** The selftest page's text. */
import { pageText } from './define.js';

export const selfTestText = pageText({
  en: {
    'selftest.title': 'selftest',
  },
  sq: {
    'selftest.title': 'selftest',
  },
});
