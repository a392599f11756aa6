/**
 * "Why is this name blocked?": the decision per venue (decisions.ts, the resolver's own decision code)
 * and, for each list category that holds the name, the source and line that put it there (scan.ts).
 * The scan reads list files again, so it is bounded: one at a time (another asker gets
 * ROJE_ERR_LOOKUP_BUSY), a time limit (ROJE_ERR_LOOKUP_TIMEOUT), and the last answers kept per lists
 * version. A name the abuse feed blocks is answered with the category "abuse" only: no source is read.
 */
import { LRUCache } from 'lru-cache';
import { RojeError } from '../errors.js';
import type { LoadedListSet } from '../policy/lists-loader.js';
import { normalizeListName } from '../policy/name.js';
import type { SafeSearchSettings } from '../policy/safesearch.js';
import type { PolicySettings, VenueSettings } from '../policy/venues.js';
import { decideForVenues, type OverridesView, type VenueDecision } from './decisions.js';
import { type RuleMatch, type SourceScan, scanSources } from './scan.js';

export type { OverrideMatch, OverridesView, VenueDecision } from './decisions.js';
export type { RuleMatch } from './scan.js';

export interface LookupDeps {
  /** The lists in force (with the compile report that names the files read), null before the first load. */
  lists: () => LoadedListSet | null;
  /** The venues and policies in force. */
  config: () => {
    venues: readonly VenueSettings[];
    policies: Readonly<Record<string, PolicySettings & { safeSearch?: SafeSearchSettings }>>;
  };
  /** Run-time allow and deny entries (src/overrides), considered per venue. */
  overrides?: OverridesView;
  /** A category's display name; the id itself when absent. */
  displayName?: (category: string) => { sq: string; en: string };
  /** Longest a source scan may take; default LOOKUP_TIMEOUT_MS. */
  timeoutMs?: number;
}

export interface ListedCategory {
  category: string;
  displayName: { sq: string; en: string };
  /** The rules that list the name (none for a confidential category: only its name is told). */
  rules: RuleMatch[];
}

export interface LookupAnswer {
  name: string;
  listsVersion: string;
  decisions: VenueDecision[];
  /** Each category whose sources hold a rule for the name or a parent of it. */
  listed: ListedCategory[];
  /**
   * Why sources could not be named: `compiled` (the lists came from a compiled artifact or a fleet pull:
   * it keeps no sources), `confidential` (the abuse feed blocks the name), or null.
   */
  sourcesUnavailable: 'compiled' | 'confidential' | null;
  /** Sources whose file changed since the compile, or that could not be read again. */
  changedSources: string[];
  unreadableSources: string[];
  /** The display name (sq, en) of every category and reason this answer names. */
  displayNames: Record<string, { sq: string; en: string }>;
  /** CNAME inspection happens on answers, not names: a lookup does not resolve the name (docs/lookup.md). */
  cname: 'inspected-on-answers';
}

export interface Lookup {
  /**
   * Answers for the name: every venue and clients of no venue (`venue` undefined), one venue, or
   * clients of no venue (null). Rejects with ROJE_ERR_LOOKUP_NAME, _VENUE, _NOT_READY, _BUSY, _TIMEOUT.
   */
  lookup(name: string, venue?: string | null): Promise<LookupAnswer>;
}

export const LOOKUP_TIMEOUT_MS = 10_000;
/** Scans kept (per lists version and name): an operator asks about the same few names in a session. */
export const LOOKUP_CACHE_SIZE = 64;

export function createLookup(deps: LookupDeps): Lookup {
  const timeoutMs = deps.timeoutMs ?? LOOKUP_TIMEOUT_MS;
  const recent = new LRUCache<string, SourceScan>({ max: LOOKUP_CACHE_SIZE });
  let running: { key: string; scan: Promise<SourceScan> } | null = null;
  const displayName = deps.displayName ?? ((c: string) => ({ sq: c, en: c }));

  async function scanFor(set: LoadedListSet, name: string): Promise<SourceScan> {
    const key = `${set.lists.version}\n${name}`;
    const kept = recent.get(key);
    if (kept !== undefined) return kept;
    if (running !== null) {
      if (running.key === key) return running.scan;
      throw new RojeError(
        'ROJE_ERR_LOOKUP_BUSY',
        'another lookup is reading the lists: ask again in a moment',
      );
    }
    const sources = set.report?.sources ?? [];
    const signal = AbortSignal.timeout(timeoutMs);
    const scan = scanSources(sources, name, signal).catch((err: unknown) => {
      if (signal.aborted) {
        throw new RojeError(
          'ROJE_ERR_LOOKUP_TIMEOUT',
          `reading the list sources took longer than ${timeoutMs} ms: ask again later (the name is not logged)`,
        );
      }
      throw err;
    });
    running = { key, scan };
    try {
      const done = await scan;
      recent.set(key, done);
      return done;
    } finally {
      running = null;
    }
  }

  return {
    async lookup(raw, venue) {
      const normalized = normalizeListName(raw.trim());
      if (normalized.name === undefined || normalized.name === '') {
        throw new RojeError(
          'ROJE_ERR_LOOKUP_NAME',
          `${JSON.stringify(raw)} is not a domain name (${normalized.reason ?? 'empty'}): give a name such as example.com`,
        );
      }
      const name = normalized.name;
      const config = deps.config();
      if (typeof venue === 'string' && !config.venues.some((v) => v.name === venue)) {
        throw new RojeError(
          'ROJE_ERR_LOOKUP_VENUE',
          `no venue is named ${JSON.stringify(venue)}: name one of venues[].name, or leave venue out for all`,
        );
      }
      const set = deps.lists();
      if (set === null) throw new RojeError('ROJE_ERR_LOOKUP_NOT_READY', 'no lists are loaded yet');
      const decisions = decideForVenues(
        { lists: set.lists, venues: config.venues, policies: config.policies, overrides: deps.overrides },
        name,
        venue,
      );
      const answer: LookupAnswer = {
        name,
        listsVersion: set.lists.version,
        decisions,
        listed: [],
        sourcesUnavailable: null,
        changedSources: [],
        unreadableSources: [],
        displayNames: {},
        cname: 'inspected-on-answers',
      };
      const named = (a: LookupAnswer): LookupAnswer => {
        const ids = new Set<string>();
        for (const d of a.decisions) {
          for (const c of [...d.categories, ...d.notBlocked]) ids.add(c);
          if (d.reason === 'venue-deny') ids.add('venue-deny');
        }
        for (const c of a.listed) ids.add(c.category);
        for (const id of ids) a.displayNames[id] = displayName(id);
        return a;
      };
      // The abuse feed: its category name and nothing else; no list is read for this name at all.
      const abuse = decisions.find((d) => d.reason === 'abuse');
      if (abuse !== undefined) {
        answer.sourcesUnavailable = 'confidential';
        answer.listed = abuse.categories.map((c) => ({
          category: c,
          displayName: displayName(c),
          rules: [],
        }));
        return named(answer);
      }
      if (set.report === null) {
        answer.sourcesUnavailable = 'compiled';
        const categories = new Set(decisions.flatMap((d) => [...d.categories, ...d.notBlocked]));
        answer.listed = [...categories].map((c) => ({ category: c, displayName: displayName(c), rules: [] }));
        return named(answer);
      }
      const scan = await scanFor(set, name);
      const byCategory = new Map<string, RuleMatch[]>();
      for (const m of scan.matches) {
        const list = byCategory.get(m.category) ?? [];
        list.push(m);
        byCategory.set(m.category, list);
      }
      answer.listed = [...byCategory].map(([category, rules]) => ({
        category,
        displayName: displayName(category),
        rules,
      }));
      answer.changedSources = scan.changed;
      answer.unreadableSources = scan.unreadable;
      return named(answer);
    },
  };
}
