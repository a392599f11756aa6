/**
 * The accepted differences (test/conformance/accepted.yaml): each names the differences it explains
 * (signatures, tags the query must have or lack, the RCODEs of both answers), classifies them and gives
 * the reason. A difference no entry explains fails the suite; an entry that explains nothing in a run
 * is reported as stale and fails nothing (issue #20's fixes remove some differences: the lead deletes
 * their entries after the merge, in whichever order the branches land).
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export const CLASSIFICATIONS = ['rfc-violation', 'peer-choice', 'harmless'] as const;
export type Classification = (typeof CLASSIFICATIONS)[number];

export const STATUSES = ['accepted', 'fixed-by-20'] as const;

export interface AcceptedEntry {
  id: string;
  /** Difference signatures ('flags.aa:set'), or prefixes ending in '*' ('opt.*'); one must match. */
  signatures: string[];
  /**
   * Tags the query must have, all of them: 'special:*' matches a prefix, 'a|b' either, '!tag' one the
   * query must not have. Empty: any query.
   */
  tags: string[];
  /** Categories the query may be of; empty: any. */
  categories: string[];
  /**
   * The RCODE each side must have answered with (the fingerprint of a bug), when given: 'SERVFAIL',
   * 'FORMERR|NOTIMP' (either), '!REFUSED' (any other).
   */
  rcode: { roje?: string; unbound?: string };
  classification: Classification;
  reason: string;
  /** 'accepted' stays; 'fixed-by-20' is expected to disappear once issue #20's fixes are merged. */
  status: (typeof STATUSES)[number];
}

export function loadAccepted(path: string): AcceptedEntry[] {
  const raw: unknown = parse(readFileSync(path, 'utf8'));
  if (!Array.isArray(raw)) throw new Error(`${path}: expected a list of entries`);
  const ids = new Set<string>();
  return raw.map((value, i) => parseEntry(value, `${path}: entry ${i + 1}`, ids));
}

function parseEntry(value: unknown, where: string, ids: Set<string>): AcceptedEntry {
  if (typeof value !== 'object' || value === null) throw new Error(`${where}: expected a mapping`);
  const e = value as Record<string, unknown>;
  const str = (key: string) => {
    if (typeof e[key] !== 'string' || e[key] === '')
      throw new Error(`${where}: ${key}: expected a non-empty string`);
    return e[key] as string;
  };
  const list = (key: string) => {
    const v = typeof e[key] === 'string' ? [e[key]] : (e[key] ?? []);
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
      throw new Error(`${where}: ${key}: expected a string or a list of strings`);
    return v as string[];
  };
  const id = str('id');
  if (ids.has(id)) throw new Error(`${where}: id ${id} appears twice`);
  ids.add(id);
  const classification = str('classification') as Classification;
  if (!CLASSIFICATIONS.includes(classification))
    throw new Error(`${where} (${id}): classification: expected one of ${CLASSIFICATIONS.join(', ')}`);
  const status = (e.status ?? 'accepted') as AcceptedEntry['status'];
  if (!STATUSES.includes(status))
    throw new Error(`${where} (${id}): status: expected one of ${STATUSES.join(', ')}`);
  const signatures = list('signature');
  if (signatures.length === 0) throw new Error(`${where} (${id}): signature: expected at least one`);
  const rcode = (e.rcode ?? {}) as AcceptedEntry['rcode'];
  if (typeof rcode !== 'object' || Object.keys(rcode).some((k) => k !== 'roje' && k !== 'unbound'))
    throw new Error(`${where} (${id}): rcode: expected a mapping with keys roje and/or unbound`);
  return {
    id,
    signatures,
    tags: list('tags'),
    categories: list('category'),
    rcode,
    classification,
    reason: str('reason'),
    status,
  };
}

/** What a difference is matched against: the query, and the RCODE of each answer ('none': no answer). */
export interface MatchContext {
  category: string;
  tags: string[];
  rcode: { roje: string; unbound: string };
}

const glob = (pattern: string, value: string) =>
  pattern.endsWith('*') ? value.startsWith(pattern.slice(0, -1)) : value === pattern;

/** 'SERVFAIL', 'FORMERR|NOTIMP' (either), '!REFUSED' or '!FORMERR|BADVERS' (none of them). */
function rcodeMatches(pattern: string | undefined, rcode: string): boolean {
  if (pattern === undefined) return true;
  const negated = pattern.startsWith('!');
  const hit = (negated ? pattern.slice(1) : pattern).split('|').includes(rcode);
  return negated ? !hit : hit;
}

export function matches(entry: AcceptedEntry, signature: string, context: MatchContext): boolean {
  if (!entry.signatures.some((s) => glob(s, signature))) return false;
  if (entry.categories.length > 0 && !entry.categories.includes(context.category)) return false;
  if (!rcodeMatches(entry.rcode.roje, context.rcode.roje)) return false;
  if (!rcodeMatches(entry.rcode.unbound, context.rcode.unbound)) return false;
  const has = (spec: string) => spec.split('|').some((alt) => context.tags.some((x) => glob(alt, x)));
  return entry.tags.every((t) => (t.startsWith('!') ? !has(t.slice(1)) : has(t)));
}

/** The first entry (in file order) that explains the difference, or undefined. */
export function explain(
  entries: readonly AcceptedEntry[],
  signature: string,
  context: MatchContext,
): AcceptedEntry | undefined {
  return entries.find((e) => matches(e, signature, context));
}
