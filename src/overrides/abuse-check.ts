/**
 * Whether the abuse category blocks a name in the lists in force: an allow override is refused for such
 * a name (the IWF-style list is not the operator's to override). Answers a boolean only, never which
 * entry matched.
 */
import { encodeName } from '../dns/name.js';
import { CONFIDENTIAL_CATEGORIES, type CompiledLists, emptyResult } from '../policy/types.js';

export function confidentialMask(lists: Pick<CompiledLists, 'categories'>): number {
  let mask = 0;
  lists.categories.forEach((c, bit) => {
    if (CONFIDENTIAL_CATEGORIES.has(c)) mask |= 1 << bit;
  });
  return mask;
}

/** `name` is a normalized name (lowercase A-label, no trailing dot). */
export function abuseBlocks(lists: CompiledLists | null, name: string): boolean {
  if (lists === null) return false;
  const wire = encodeName(name);
  if (lists.hashedEntries !== 0 && lists.lookupHashedWire(wire, 0) !== 0) return true;
  const mask = confidentialMask(lists);
  return mask !== 0 && (lists.lookupWire(wire, 0, emptyResult()).blocked & mask) !== 0;
}
