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

/** Makes a backend that delivers each set to `deliver`. */
export type OverridesBackendFactory = (deliver: (entries: readonly Override[]) => void) => OverridesBackend;

export const EMPTY_OVERLAY: OverrideOverlay = Object.freeze({ entries: Object.freeze([]) });

/** Where the overrides live: the JSON file of one box, or the shared store's PostgreSQL. */
export type OverridesBackendState =
  | { backend: 'file' }
  | {
      backend: 'postgres';
      /** The last read or write reached the database. */
      up: boolean;
      /** The LISTEN connection is open: changes made elsewhere arrive within moments, not a poll. */
      listening: boolean;
      /** When the set was last read (UTC ISO), null: never since start. */
      lastRead: string | null;
      /** Why the database could not be used last (no credentials), null when up. */
      lastError: string | null;
    };

/**
 * A store of overrides under the validation of store.ts: it writes and removes single entries and
 * delivers the whole set in force (to the `deliver` it was made with, which compares it with the set in
 * force): at open, after its own changes and (PostgreSQL) after changes made by other instances.
 */
export interface OverridesBackend {
  readonly kind: 'file' | 'postgres';
  /** Delivers the entries to start with; PostgreSQL then watches for changes made elsewhere. */
  open(): Promise<void>;
  /**
   * Writes a new entry and delivers a set holding it before resolving; `existing` when another writer
   * put an entry at the same (name, venue) first.
   */
  insert(override: Override, current: readonly Override[]): Promise<'inserted' | { existing: Override }>;
  /** Removes the entry and delivers the set without it; null when there is none with that id. */
  delete(id: string, current: readonly Override[]): Promise<Override | null>;
  state(): OverridesBackendState;
  close(): Promise<void>;
}
