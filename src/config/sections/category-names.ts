/**
 * `categoryNames`: what the block page, the console and a lookup call a category, in Albanian and
 * English. roje names the categories it ships (blockpage/i18n.ts); this adds names for the operator's
 * own categories or replaces a built-in one. Keys are category ids as lists and policies write them.
 */
import type { Static } from '@sinclair/typebox';
import { Type } from '../json-schema.js';

const EXPECTED = 'a mapping of category id to { sq: "...", en: "..." } (each 1 to 80 characters)';

const DisplayName = Type.Object(
  {
    sq: Type.String({ minLength: 1, maxLength: 80 }),
    en: Type.String({ minLength: 1, maxLength: 80 }),
  },
  { additionalProperties: false, 'x-expected': EXPECTED },
);

export const CategoryNamesSchema = Type.Record(
  Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' }),
  DisplayName,
  {
    default: {},
    description: 'display names of categories, in Albanian (sq) and English (en)',
    'x-expected': EXPECTED,
  },
);

export type CategoryNamesConfig = Readonly<Record<string, { sq: string; en: string }>>;

export function normalizeCategoryNames(raw: Static<typeof CategoryNamesSchema>): CategoryNamesConfig {
  const out: Record<string, { sq: string; en: string }> = {};
  for (const [id, name] of Object.entries(raw)) out[id] = { sq: name.sq.trim(), en: name.en.trim() };
  return Object.freeze(out);
}
