/**
 * Overrides: allow and deny entries an operator manages at run time (the admin API, or accepting a
 * wrong-block report), per venue or for every client. They are a small overlay on the policy's own
 * allow/deny additions, applied live: no compile, no reload.
 */

export type OverrideAction = 'allow' | 'deny';

export interface Override {
  /** Stable, random: `o-` and 12 hex digits. */
  id: string;
  /** A lowercase A-label name without the trailing dot; the entry covers it and its subdomains. */
  name: string;
  action: OverrideAction;
  /** The venue it applies to; null: every venue and the clients of no venue. */
  venue: string | null;
  note: string;
  /** The token's name that made it. */
  who: string;
  /** UTC ISO instant it was made. */
  at: string;
}

/**
 * The overrides in force, swapped whole on each change: the policy stage compares the reference per
 * query and rebuilds its venue additions only when it changed.
 */
export interface OverrideOverlay {
  readonly entries: readonly Override[];
}

export const EMPTY_OVERLAY: OverrideOverlay = Object.freeze({ entries: Object.freeze([]) });
