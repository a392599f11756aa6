/**
 * What an override may hold, checked in one place whatever the backend (the JSON file or PostgreSQL):
 * a domain name below a top-level domain, a short note without control characters.
 */
import { RojeError } from '../errors.js';
import { normalizeListName } from '../policy/name.js';

export const MAX_NOTE = 500;

export function invalidOverride(message: string): RojeError {
  return new RojeError('ROJE_ERR_OVERRIDE_INVALID', message);
}

/** The normalized name of an override, or ROJE_ERR_OVERRIDE_INVALID saying what is wrong. */
export function overrideName(raw: string): string {
  const text = raw.trim();
  const n = normalizeListName(text.startsWith('*.') ? text.slice(2) : text);
  if (n.name === undefined) {
    throw invalidOverride(
      `${JSON.stringify(raw)} is not a domain name (${n.reason}): give a name such as example.com`,
    );
  }
  if (!n.name.includes('.')) {
    throw invalidOverride(`${JSON.stringify(raw)} is a top-level domain: give a name such as example.com`);
  }
  return n.name;
}

export function cleanNote(note: string | undefined): string {
  const text = (note ?? '').replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
  if (text.length > MAX_NOTE) {
    throw invalidOverride(`the note is ${text.length} characters long; the limit is ${MAX_NOTE}`);
  }
  return text;
}
