/**
 * The overrides store: the entries in force, validated here (whatever the backend) and kept by a
 * backend: the JSON file of one box (file.ts) or the shared store's PostgreSQL (postgres.ts), where
 * another instance's change arrives too. Each set the backend delivers that differs from the one in
 * force swaps the overlay whole and tells the listeners (the data plane), which apply it live; a set
 * equal to the one in force changes nothing, so a re-read does not churn the query loops.
 */
import { randomBytes } from 'node:crypto';
import { RojeError } from '../errors.js';
import { createFileBackend } from './file.js';
import {
  EMPTY_OVERLAY,
  type Override,
  type OverrideAction,
  type OverrideOverlay,
  type OverridesBackendFactory,
  type OverridesBackendState,
} from './types.js';
import { cleanNote, invalidOverride, overrideName } from './validate.js';

export { MAX_NOTE, overrideName } from './validate.js';

/** A bound against a runaway script, not a working size: an overlay of this many is still cheap. */
export const MAX_OVERRIDES = 10_000;

export interface NewOverride {
  name: string;
  action: OverrideAction;
  venue: string | null;
  note?: string | undefined;
  who: string;
}

export interface OverridesStoreOptions {
  /** Where the entries live; absent: the JSON file at `path`. */
  backend?: OverridesBackendFactory;
  /** The JSON file when no backend is given; null: memory only. */
  path?: string | null;
  /** The venue names of the config in force. */
  venues: () => readonly string[];
  /** Whether the abuse category blocks the (normalized) name in the lists in force. */
  abuseBlocks: (name: string) => boolean;
  now?: () => number;
}

export interface OverridesStore {
  /**
   * Opens the backend: reads the entries to start with (the file: absent is none, not valid is
   * ROJE_ERR_OVERRIDE_READ; PostgreSQL: the database, or the local copy while it is down).
   */
  load(): Promise<void>;
  list(): readonly Override[];
  overlay(): OverrideOverlay;
  /**
   * Adds an entry; the same name, venue and action again returns the one already there (created false).
   * ROJE_ERR_OVERRIDE_INVALID, _VENUE_UNKNOWN, _ABUSE, _CONFLICT, _FULL, _WRITE or
   * ROJE_ERR_STORE_UNAVAILABLE.
   */
  add(entry: NewOverride): Promise<{ override: Override; created: boolean }>;
  /** Removes the entry; ROJE_ERR_OVERRIDE_NOT_FOUND when there is none with that id. */
  remove(id: string): Promise<Override>;
  /** Called after each change of the set in force with the new overlay. */
  onChange(listener: (overlay: OverrideOverlay) => void): void;
  state(): OverridesBackendState;
  close(): Promise<void>;
}

/** Ids and every field, in the backend's order: what "the set changed" means. */
function fingerprint(entries: readonly Override[]): string {
  return JSON.stringify(entries.map((o) => [o.id, o.name, o.action, o.venue, o.note, o.who, o.at]));
}

/** The answer when (name, venue) already has an entry: the same action is that entry, else a conflict. */
function settle(same: Override, action: OverrideAction): { override: Override; created: false } {
  if (same.action === action) return { override: same, created: false };
  const where = same.venue === null ? 'every venue' : `venue ${same.venue}`;
  throw new RojeError(
    'ROJE_ERR_OVERRIDE_CONFLICT',
    `${same.name} already has a ${same.action} override (${same.id}) for ${where}: delete it first`,
  );
}

export function createOverridesStore(options: OverridesStoreOptions): OverridesStore {
  const now = options.now ?? Date.now;
  let overlay: OverrideOverlay = EMPTY_OVERLAY;
  let inForce = fingerprint([]);
  const listeners: Array<(overlay: OverrideOverlay) => void> = [];

  function deliver(entries: readonly Override[]): void {
    const next = fingerprint(entries);
    if (next === inForce) return;
    inForce = next;
    overlay = Object.freeze({ entries: Object.freeze([...entries]) });
    for (const l of listeners) l(overlay);
  }

  const backend = (options.backend ?? ((d) => createFileBackend(options.path ?? null, d)))(deliver);

  /** The checks that need no store: name, action, venue, note. */
  function checked(entry: NewOverride): { name: string; venue: string | null; note: string } {
    const name = overrideName(entry.name);
    if (entry.action !== 'allow' && entry.action !== 'deny') {
      throw invalidOverride(`action ${JSON.stringify(entry.action)} must be allow or deny`);
    }
    const venue = entry.venue;
    if (venue !== null && !options.venues().includes(venue)) {
      throw new RojeError(
        'ROJE_ERR_OVERRIDE_VENUE_UNKNOWN',
        `there is no venue ${JSON.stringify(venue)}: name one of the config's venues (${options.venues().join(', ') || 'none'}) or none for every client`,
      );
    }
    return { name, venue, note: cleanNote(entry.note) };
  }

  return {
    load: () => backend.open(),
    list: () => overlay.entries,
    overlay: () => overlay,
    async add(entry) {
      const { name, venue, note } = checked(entry);
      const entries = overlay.entries;
      const same = entries.find((o) => o.name === name && o.venue === venue);
      if (same !== undefined) return settle(same, entry.action);
      // Checked against the lists in force now; the policy stage checks again at query time.
      if (entry.action === 'allow' && options.abuseBlocks(name)) {
        throw new RojeError(
          'ROJE_ERR_OVERRIDE_ABUSE',
          // The name is not repeated: errors reach logs and the audit log, which must not list abuse names.
          "the abuse category blocks this name, and no allow override can pass it: appeals go to the list's maintainer",
        );
      }
      // Against the set in force: with PostgreSQL, writers racing at the limit may pass it by a few.
      if (entries.length >= MAX_OVERRIDES) {
        throw new RojeError(
          'ROJE_ERR_OVERRIDE_FULL',
          `there are ${entries.length} overrides (the limit is ${MAX_OVERRIDES}): move some into the config and delete them`,
        );
      }
      const override: Override = {
        id: `o-${randomBytes(6).toString('hex')}`,
        name,
        action: entry.action,
        venue,
        note,
        who: entry.who,
        at: new Date(now()).toISOString(),
      };
      // Another instance may have made an entry at (name, venue) since our last read: the database's
      // unique index settles it, and the answer is the one a local duplicate gets.
      const result = await backend.insert(override, entries);
      return result === 'inserted' ? { override, created: true } : settle(result.existing, entry.action);
    },
    async remove(id) {
      const removed = await backend.delete(id, overlay.entries);
      if (removed === null) {
        throw new RojeError(
          'ROJE_ERR_OVERRIDE_NOT_FOUND',
          `there is no override with id ${JSON.stringify(id)}`,
        );
      }
      return removed;
    },
    onChange(listener) {
      listeners.push(listener);
    },
    state: () => backend.state(),
    close: () => backend.close(),
  };
}
