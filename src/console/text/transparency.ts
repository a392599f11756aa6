/** The transparency page's text. */
import { pageText } from './define.js';

export const transparencyText = pageText({
  en: {
    'transparency.title': 'transparency',
  },
  sq: {
    'transparency.title': 'transparency',
  },
});
