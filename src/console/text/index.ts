/**
 * Every visible string of the console, in Albanian and English, one module per page. It travels to the
 * browser in a JSON data block (not a script), so the console's scripts stay static files.
 */
import { commonText } from './common.js';
import { listsText } from './lists.js';
import { lookupText } from './lookup.js';
import { overridesText } from './overrides.js';
import { reportsText } from './reports.js';
import { selfTestText } from './selftest.js';
import { statsText } from './stats.js';
import { transparencyText } from './transparency.js';

const PAGES = [
  commonText,
  statsText,
  reportsText,
  overridesText,
  lookupText,
  listsText,
  selfTestText,
  transparencyText,
];

export type Lang = 'en' | 'sq';

export const CONSOLE_TEXT: Readonly<Record<Lang, Readonly<Record<string, string>>>> = {
  en: Object.assign({}, ...PAGES.map((p) => p.en)),
  sq: Object.assign({}, ...PAGES.map((p) => p.sq)),
};
