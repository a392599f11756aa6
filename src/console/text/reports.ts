/** The reports page's text. */
import { pageText } from './define.js';

export const reportsText = pageText({
  en: {
    'reports.title': 'reports',
  },
  sq: {
    'reports.title': 'reports',
  },
});
