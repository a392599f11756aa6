/** A page's text in both languages: the compiler holds Albanian and English to the same keys. */
export interface PageText<K extends string> {
  en: Readonly<Record<K, string>>;
  sq: Readonly<Record<K, string>>;
}

export function pageText<K extends string>(text: PageText<K>): PageText<K> {
  return text;
}
