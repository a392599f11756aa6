/** The lists page's text. */
import { pageText } from './define.js';

export const listsText = pageText({
  en: {
    'lists.title': 'lists',
  },
  sq: {
    'lists.title': 'lists',
  },
});
