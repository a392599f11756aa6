/**
 * The decision for one name per venue, as the resolver makes it: the venues' effective policies
 * (policy/venues.ts) and decide() (policy/decide.ts) are the policy stage's own code, called here with a
 * name instead of a query. Then what the answer adds for an operator: which venue addition won, whether
 * a SafeSearch rewrite applies, which list categories hold the name whether this venue blocks them or not.
 */
import { encodeName } from '../dns/name.js';
import { type Decision, decide, emptyDecision, LIST_BLOCK, PASS, VENUE_DENY } from '../policy/decide.js';
import {
  createEngineTable,
  SAFE_SEARCH_ENGINES,
  SAFE_SEARCH_ON,
  type SafeSearchSettings,
  safeHosts,
} from '../policy/safesearch.js';
import { ACTION, CONFIDENTIAL_CATEGORIES, type CompiledLists, emptyResult } from '../policy/types.js';
import {
  createAdditions,
  DEFAULT_POLICY,
  effectivePolicies,
  type PolicySettings,
  type VenueSettings,
} from '../policy/venues.js';

export type Verdict = 'blocked' | 'allowed' | 'safesearch' | 'passed';

/** What an override (src/overrides, run-time allow and deny entries) says about a name for a venue. */
export interface OverrideMatch {
  id: string | number;
  action: 'allow' | 'deny';
  /** The venue it applies to; null: every venue. */
  venue: string | null;
  note: string;
  /** Who made it (the token's name) and when (UTC ISO instant). */
  who: string;
  at: string;
}

/**
 * Run-time overrides (src/overrides: matchOverride, the query path's own precedence). Optional: without
 * it the answer says nothing of overrides. `venue` is null for clients of no venue.
 */
export interface OverridesView {
  match(name: string, venue: string | null): OverrideMatch | null;
}

export interface VenueDecision {
  /** null: clients of no venue (the default policy). */
  venue: string | null;
  policy: string;
  decision: Verdict;
  /** lists (categories), venue-deny, venue-allow, abuse, override, safesearch, or none (not listed here). */
  reason:
    | 'lists'
    | 'list-allow'
    | 'venue-deny'
    | 'venue-allow'
    | 'abuse'
    | 'override'
    | 'safesearch'
    | 'none';
  blockMode: string;
  /** The categories that block the name for this venue (only "abuse" when the abuse feed does). */
  categories: string[];
  /** The categories that list the name but that this venue does not block. */
  notBlocked: string[];
  /** reason list-allow: the categories this venue blocks whose allow rule (an adblock @@) passes the name. */
  allowedBy?: string[];
  /** RPZ action of the deciding list rule, when it is not the venue's block mode. */
  action?: 'nxdomain' | 'nodata' | 'local' | 'passthru';
  /** The venue's allow or deny entry that decided (most specific first, as the resolver matches). */
  addition?: { kind: 'allow' | 'deny'; entry: string; policy: string };
  override?: OverrideMatch;
  safeSearch?: { engine: string; host: string };
}

export interface DecisionInput {
  lists: CompiledLists;
  venues: readonly VenueSettings[];
  policies: Readonly<Record<string, PolicySettings & { safeSearch?: SafeSearchSettings }>>;
  overrides?: OverridesView;
}

const engines = createEngineTable();
const ACTION_NAMES: Record<number, VenueDecision['action']> = {
  [ACTION.NXDOMAIN]: 'nxdomain',
  [ACTION.NODATA]: 'nodata',
  [ACTION.LOCAL]: 'local',
};

/** Every category of `lists` in `mask`. */
function categoriesOf(lists: CompiledLists, mask: number): string[] {
  return lists.categories.filter((_, bit) => (mask & (1 << bit)) !== 0);
}

/**
 * One decision per venue (in config order, then clients of no venue), or for the one venue named
 * (`venue` undefined: all; null: clients of no venue). `name` is a normalized list name.
 */
export function decideForVenues(input: DecisionInput, name: string, venue?: string | null): VenueDecision[] {
  const { lists } = input;
  const wire = encodeName(name);
  const policies = effectivePolicies(input.venues, input.policies, lists);
  // Every category that lists the name, whatever a venue blocks (the abuse feed is looked up apart).
  const all = lists.lookup(name, emptyResult());
  const hashed = lists.hashedEntries !== 0 ? lists.lookupHashedWire(wire, 0) : 0;
  const engine = engines.matchWire(wire, 0, wire.length);
  const out: VenueDecision[] = [];
  for (const p of policies) {
    const venueName = p.venueIndex < 0 ? null : p.venue;
    if (venue !== undefined && venue !== venueName) continue;
    const d: Decision = emptyDecision();
    const kind = decide(lists, p, wire, 0, emptyResult(), d);
    const settings = input.policies[p.policy] ?? input.policies[DEFAULT_POLICY];
    const entry: VenueDecision = {
      venue: venueName,
      policy: p.policy,
      decision: 'passed',
      reason: 'none',
      blockMode: p.blockMode,
      categories: [],
      notBlocked: [],
    };
    const blocking = kind === LIST_BLOCK ? categoriesOf(lists, d.categories) : [];
    if ((hashed !== 0 && kind === LIST_BLOCK) || blocking.some((c) => CONFIDENTIAL_CATEGORIES.has(c))) {
      // The abuse feed: its category and nothing else, whatever the other lists say.
      entry.decision = 'blocked';
      entry.reason = 'abuse';
      entry.categories = blocking.filter((c) => CONFIDENTIAL_CATEGORIES.has(c));
      out.push(entry);
      continue;
    }
    const listed = categoriesOf(lists, all.blocked).filter((c) => !CONFIDENTIAL_CATEGORIES.has(c));
    if (kind === VENUE_DENY) {
      entry.decision = 'blocked';
      entry.reason = 'venue-deny';
      entry.addition = winningAddition(settings, name, p.policy);
    } else if (kind === LIST_BLOCK) {
      entry.decision = 'blocked';
      entry.reason = 'lists';
      entry.categories = blocking;
      const action = ACTION_NAMES[d.action];
      if (action !== undefined) entry.action = action;
    } else if (d.venueAllowed) {
      entry.decision = 'allowed';
      entry.reason = 'venue-allow';
      entry.addition = winningAddition(settings, name, p.policy);
    } else if ((all.allowed & p.blockMask) !== 0) {
      entry.decision = 'allowed';
      entry.reason = 'list-allow';
      entry.allowedBy = categoriesOf(lists, all.allowed & p.blockMask);
    }
    entry.notBlocked = listed.filter((c) => !entry.categories.includes(c));
    if (kind === PASS && !d.venueAllowed && engine >= 0) {
      const host = safeHosts(settings?.safeSearch ?? SAFE_SEARCH_ON)[engine];
      if (host !== null) {
        entry.decision = 'safesearch';
        entry.reason = 'safesearch';
        entry.safeSearch = { engine: SAFE_SEARCH_ENGINES[engine], host };
      }
    }
    applyOverride(input.overrides, name, venueName, entry);
    out.push(entry);
  }
  return out;
}

/**
 * An override allows or blocks the name for the venue; the abuse feed is never overridden (answered
 * above, before this is asked).
 */
function applyOverride(
  overrides: OverridesView | undefined,
  name: string,
  venue: string | null,
  entry: VenueDecision,
): void {
  const match = overrides?.match(name, venue) ?? null;
  if (match === null) return;
  entry.override = match;
  entry.reason = 'override';
  entry.decision = match.action === 'allow' ? 'allowed' : 'blocked';
  if (match.action === 'allow') entry.categories = [];
}

/**
 * The venue addition that decided: each entry matched on its own with the resolver's matcher; the
 * deepest matching name wins, and at one name allow beats deny (policy/venues.ts).
 */
function winningAddition(
  settings: PolicySettings | undefined,
  name: string,
  policy: string,
): VenueDecision['addition'] {
  if (settings === undefined) return undefined;
  const wire = encodeName(name);
  let best: VenueDecision['addition'];
  let bestDepth = -1;
  const consider = (entries: readonly string[] | undefined, kind: 'allow' | 'deny') => {
    for (const entry of entries ?? []) {
      const one =
        kind === 'allow' ? createAdditions([entry], [], policy) : createAdditions([], [entry], policy);
      if (one.matchWire(wire, 0) === 0) continue;
      const depth = entry.replace(/^\*\./, '').split('.').length;
      if (depth > bestDepth || (depth === bestDepth && kind === 'allow')) {
        best = { kind, entry, policy };
        bestDepth = depth;
      }
    }
  };
  consider(settings.deny, 'deny');
  consider(settings.allow, 'allow');
  return best;
}
