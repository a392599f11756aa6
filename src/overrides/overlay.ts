/**
 * The overlay merged into a venue's allow/deny additions, so that the hot path stays what it was: one
 * table probe per suffix of the query name, whether overrides exist or not. The most specific name
 * decides (as in the lists and the config additions); at one name a venue's override beats an
 * all-venue one, which beats the config's allow/deny.
 */

import { normalizeListName } from '../policy/name.js';
import { type Additions, createAdditions } from '../policy/venues.js';
import { EMPTY_OVERLAY, type Override, type OverrideOverlay } from './types.js';

/** The config's additions of one policy, as the config gives them. */
export interface ConfigAdditions {
  allow?: readonly string[] | undefined;
  deny?: readonly string[] | undefined;
}

function key(raw: string): string {
  const n = normalizeListName(raw.startsWith('*.') ? raw.slice(2) : raw);
  // A bad config name is refused by createAdditions with its own message: keep it as given.
  return n.name ?? raw;
}

/**
 * The additions of a venue (`venue` null: the clients of no venue) with the overrides that apply to it.
 * Throws as createAdditions does for a bad config name (the config was validated: it does not).
 */
export function additionsWithOverrides(
  settings: ConfigAdditions,
  overlay: OverrideOverlay,
  venue: string | null,
  what: string,
): Additions {
  // name -> allow?; written in rising precedence, so the last writer wins.
  const verdicts = new Map<string, boolean>();
  for (const name of settings.deny ?? []) verdicts.set(key(name), false);
  // At one name the config's allow beats its deny (createAdditions does the same).
  for (const name of settings.allow ?? []) verdicts.set(key(name), true);
  for (const o of overlay.entries) if (o.venue === null) verdicts.set(o.name, o.action === 'allow');
  if (venue !== null) {
    for (const o of overlay.entries) if (o.venue === venue) verdicts.set(o.name, o.action === 'allow');
  }
  const allow: string[] = [];
  const deny: string[] = [];
  for (const [name, allowed] of verdicts) (allowed ? allow : deny).push(name);
  return createAdditions(allow, deny, what);
}

/**
 * The override that decides `name` for `venue` (null: a client of no venue), or null when none
 * applies: the deepest matching name; at one name the venue's own override before an all-venue one.
 * For "why is it blocked" (the lookup API); the query path uses the merged additions instead.
 */
export function matchOverride(overlay: OverrideOverlay, name: string, venue: string | null): Override | null {
  if (overlay.entries.length === 0) return null;
  const n = normalizeListName(name);
  if (n.name === undefined) return null;
  let suffix = n.name;
  for (;;) {
    let all: Override | null = null;
    for (const o of overlay.entries) {
      if (o.name !== suffix) continue;
      if (venue !== null && o.venue === venue) return o;
      if (o.venue === null) all = o;
    }
    if (all !== null) return all;
    const dot = suffix.indexOf('.');
    if (dot < 0) return null;
    suffix = suffix.slice(dot + 1);
  }
}

/**
 * The overlay a query loop holds (src/workers): its primary sends the entries whole with each state
 * message; a new overlay (which rebuilds the venues' additions) is made only when they differ.
 */
export function createOverlayReceiver(): {
  current: () => OverrideOverlay;
  receive: (entries: readonly Override[]) => void;
} {
  let overlay = EMPTY_OVERLAY;
  let json = '[]';
  return {
    current: () => overlay,
    receive(entries) {
      const next = JSON.stringify(entries);
      if (next === json) return;
      json = next;
      overlay = Object.freeze({ entries: Object.freeze([...entries]) });
    },
  };
}
