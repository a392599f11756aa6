/**
 * The accepted differences (test/conformance/accepted.yaml): each names the differences it explains (a
 * signature, and tags the query must have or lack), classifies them and gives the reason. A difference
 * no entry explains fails the suite; an entry that explains nothing in a run is reported as stale (the
 * RFC fixes of issue #20 remove some: the lead deletes those entries after the merge, in either order).
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export const CLASSIFICATIONS = ['rfc-violation', 'peer-choice', 'harmless'] as const;
export type Classification = (typeof CLASSIFICATIONS)[number];

export interface AcceptedEntry {
  id: string;
  /** A difference signature ('flags.aa'), or a prefix ending in '*' ('opt.*'). */
  signature: string;
  /** Tags the query must have; '!tag' must not have. Empty: any query. */
  tags: string[];
  /** Categories the query may be of; empty: any. */
  categories: string[];
  classification: Classification;
  reason: string;
  /** 'accepted' (stays), or 'fixed-by-20' (expected to disappear once issue #20's fixes merge). */
  status: 'accepted' | 'fixed-by-20';
}

export function loadAccepted(path: string): AcceptedEntry[] {
  const raw: unknown = parse(readFileSync(path, 'utf8'));
  if (!Array.isArray(raw)) throw new Error(`${path}: expected a list of entries`);
  const ids = new Set<string>();
  return raw.map((value, i) => {
    const where = `${path}: entry ${i + 1}`;
    const e = value as Record<string, unknown>;
    const str = (key: string) => {
      if (typeof e[key] !== 'string' || e[key] === '')
        throw new Error(`${where}: ${key}: expected a non-empty string`);
      return e[key] as string;
    };
    const list = (key: string) => {
      const v = e[key] ?? [];
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
        throw new Error(`${where}: ${key}: expected a list of strings`);
      return v as string[];
    };
    const id = str('id');
    if (ids.has(id)) throw new Error(`${where}: id ${id} appears twice`);
    ids.add(id);
    const classification = str('classification') as Classification;
    if (!CLASSIFICATIONS.includes(classification))
      throw new Error(`${where} (${id}): classification: expected one of ${CLASSIFICATIONS.join(', ')}`);
    const status = (e.status ?? 'accepted') as AcceptedEntry['status'];
    if (status !== 'accepted' && status !== 'fixed-by-20')
      throw new Error(`${where} (${id}): status: expected accepted or fixed-by-20`);
    const categories = typeof e.category === 'string' ? [e.category] : list('categories');
    return {
      id,
      signature: str('signature'),
      tags: list('tags'),
      categories,
      classification,
      reason: str('reason'),
      status,
    };
  });
}

export function matches(
  entry: AcceptedEntry,
  signature: string,
  query: { category: string; tags: string[] },
): boolean {
  const sig = entry.signature.endsWith('*')
    ? signature.startsWith(entry.signature.slice(0, -1))
    : signature === entry.signature;
  if (!sig) return false;
  if (entry.categories.length > 0 && !entry.categories.includes(query.category)) return false;
  return entry.tags.every((t) =>
    t.startsWith('!') ? !query.tags.includes(t.slice(1)) : query.tags.includes(t),
  );
}

/** The first entry that explains the difference, or undefined. */
export function explain(
  entries: readonly AcceptedEntry[],
  signature: string,
  query: { category: string; tags: string[] },
): AcceptedEntry | undefined {
  return entries.find((e) => matches(e, signature, query));
}
