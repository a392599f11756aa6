/**
 * The overrides store: the entries in force, validated, persisted as one JSON file in stateDir (written
 * to a temporary file and renamed, so a crash leaves the old file or the new, never half of one) and
 * loaded at start. Without stateDir they live in memory only and a restart forgets them.
 * Each change swaps the overlay whole and tells the listener (the data plane), which applies it live.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { RojeError } from '../errors.js';
import { normalizeListName } from '../policy/name.js';
import { EMPTY_OVERLAY, type Override, type OverrideAction, type OverrideOverlay } from './types.js';

/** A bound against a runaway script, not a working size: an overlay of this many is still cheap. */
export const MAX_OVERRIDES = 10_000;
export const MAX_NOTE = 500;
const FILE_VERSION = 1;

export interface NewOverride {
  name: string;
  action: OverrideAction;
  venue: string | null;
  note?: string | undefined;
  who: string;
}

export interface OverridesStoreOptions {
  /** The JSON file; null: memory only. */
  path: string | null;
  /** The venue names of the config in force. */
  venues: () => readonly string[];
  /** Whether the abuse category blocks the (normalized) name in the lists in force. */
  abuseBlocks: (name: string) => boolean;
  now?: () => number;
}

export interface OverridesStore {
  /** Reads the file (absent: none); ROJE_ERR_OVERRIDE_READ when it cannot be read or is not valid. */
  load(): void;
  list(): readonly Override[];
  overlay(): OverrideOverlay;
  /**
   * Adds an entry; the same name, venue and action again returns the one already there (created false).
   * ROJE_ERR_OVERRIDE_INVALID, _VENUE_UNKNOWN, _ABUSE, _CONFLICT, _FULL or _WRITE.
   */
  add(entry: NewOverride): { override: Override; created: boolean };
  /** Removes the entry; ROJE_ERR_OVERRIDE_NOT_FOUND when there is none with that id. */
  remove(id: string): Override;
  /** Called after each change with the new overlay. */
  onChange(listener: (overlay: OverrideOverlay) => void): void;
}

function invalid(message: string): RojeError {
  return new RojeError('ROJE_ERR_OVERRIDE_INVALID', message);
}

/** The normalized name of an override, or ROJE_ERR_OVERRIDE_INVALID saying what is wrong. */
export function overrideName(raw: string): string {
  const text = raw.trim();
  const n = normalizeListName(text.startsWith('*.') ? text.slice(2) : text);
  if (n.name === undefined) {
    throw invalid(
      `${JSON.stringify(raw)} is not a domain name (${n.reason}): give a name such as example.com`,
    );
  }
  if (!n.name.includes('.')) {
    throw invalid(`${JSON.stringify(raw)} is a top-level domain: give a name such as example.com`);
  }
  return n.name;
}

function cleanNote(note: string | undefined): string {
  const text = (note ?? '').replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
  if (text.length > MAX_NOTE)
    throw invalid(`the note is ${text.length} characters long; the limit is ${MAX_NOTE}`);
  return text;
}

export function createOverridesStore(options: OverridesStoreOptions): OverridesStore {
  const now = options.now ?? Date.now;
  let overlay: OverrideOverlay = EMPTY_OVERLAY;
  const listeners: Array<(overlay: OverrideOverlay) => void> = [];

  function persist(entries: readonly Override[]): void {
    const path = options.path;
    if (path === null) return;
    try {
      mkdirSync(dirname(path), { recursive: true });
      const tmp = `${path}.${process.pid}.tmp`;
      writeFileSync(tmp, `${JSON.stringify({ version: FILE_VERSION, overrides: entries }, null, 2)}\n`, {
        mode: 0o640,
      });
      renameSync(tmp, path);
    } catch (err) {
      throw new RojeError(
        'ROJE_ERR_OVERRIDE_WRITE',
        `cannot write the overrides to ${path}: ${(err as Error).message}; nothing changed`,
        { cause: err },
      );
    }
  }

  /** Persisted first: a change the file does not hold is not put in force. */
  function swap(entries: readonly Override[]): void {
    persist(entries);
    overlay = Object.freeze({ entries: Object.freeze([...entries]) });
    for (const l of listeners) l(overlay);
  }

  return {
    load() {
      const path = options.path;
      if (path === null) return;
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw new RojeError('ROJE_ERR_OVERRIDE_READ', `cannot read ${path}: ${(err as Error).message}`, {
          cause: err,
        });
      }
      try {
        const data = JSON.parse(text) as { version?: unknown; overrides?: unknown };
        if (data.version !== FILE_VERSION || !Array.isArray(data.overrides)) {
          throw new Error(`expected { "version": ${FILE_VERSION}, "overrides": [...] }`);
        }
        const entries = (data.overrides as Override[]).map((o) => {
          if (o === null || typeof o !== 'object' || typeof o.id !== 'string')
            throw new Error('an entry has no id');
          if (o.action !== 'allow' && o.action !== 'deny')
            throw new Error(`${o.id}: action must be allow or deny`);
          if (o.venue !== null && typeof o.venue !== 'string')
            throw new Error(`${o.id}: venue must be a string or null`);
          return {
            id: o.id,
            name: overrideName(String(o.name)),
            action: o.action,
            venue: o.venue,
            note: String(o.note ?? ''),
            who: String(o.who ?? ''),
            at: String(o.at ?? ''),
          };
        });
        overlay = Object.freeze({ entries: Object.freeze(entries) });
      } catch (err) {
        throw new RojeError(
          'ROJE_ERR_OVERRIDE_READ',
          `${path} is not a valid overrides file: ${(err as Error).message}; fix or remove it`,
          { cause: err },
        );
      }
    },
    list: () => overlay.entries,
    overlay: () => overlay,
    add(entry) {
      const name = overrideName(entry.name);
      if (entry.action !== 'allow' && entry.action !== 'deny') {
        throw invalid(`action ${JSON.stringify(entry.action)} must be allow or deny`);
      }
      const venue = entry.venue;
      if (venue !== null && !options.venues().includes(venue)) {
        throw new RojeError(
          'ROJE_ERR_OVERRIDE_VENUE_UNKNOWN',
          `there is no venue ${JSON.stringify(venue)}: name one of the config's venues (${options.venues().join(', ') || 'none'}) or none for every client`,
        );
      }
      const note = cleanNote(entry.note);
      const entries = overlay.entries;
      const same = entries.find((o) => o.name === name && o.venue === venue);
      if (same !== undefined && same.action === entry.action) return { override: same, created: false };
      if (same !== undefined) {
        throw new RojeError(
          'ROJE_ERR_OVERRIDE_CONFLICT',
          `${name} already has a ${same.action} override (${same.id}) for ${venue === null ? 'every venue' : `venue ${venue}`}: delete it first`,
        );
      }
      // Checked against the lists in force now; the policy stage checks again at query time.
      if (entry.action === 'allow' && options.abuseBlocks(name)) {
        throw new RojeError(
          'ROJE_ERR_OVERRIDE_ABUSE',
          // The name is not repeated: errors reach logs and the audit log, which must not list abuse names.
          "the abuse category blocks this name, and no allow override can pass it: appeals go to the list's maintainer",
        );
      }
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
      swap([...entries, override]);
      return { override, created: true };
    },
    remove(id) {
      const found = overlay.entries.find((o) => o.id === id);
      if (found === undefined) {
        throw new RojeError(
          'ROJE_ERR_OVERRIDE_NOT_FOUND',
          `there is no override with id ${JSON.stringify(id)}`,
        );
      }
      swap(overlay.entries.filter((o) => o !== found));
      return found;
    },
    onChange(listener) {
      listeners.push(listener);
    },
  };
}
