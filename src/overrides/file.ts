/**
 * The overrides as one JSON file: the single box's store (stateDir/overrides.json), and the PostgreSQL
 * backend's local copy of the last set it read (stateDir/overrides-cache.json). Written to a temporary
 * file and renamed, so a crash leaves the old file or the new, never half of one.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { RojeError } from '../errors.js';
import type { Override, OverridesBackend } from './types.js';
import { overrideName } from './validate.js';

const FILE_VERSION = 1;

/** The entries of the file, or null when there is none; ROJE_ERR_OVERRIDE_READ when it is not valid. */
export function readOverridesFile(path: string): Override[] | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new RojeError('ROJE_ERR_OVERRIDE_READ', `cannot read ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  try {
    const data = JSON.parse(text) as { version?: unknown; overrides?: unknown };
    if (data.version !== FILE_VERSION || !Array.isArray(data.overrides)) {
      throw new Error(`expected { "version": ${FILE_VERSION}, "overrides": [...] }`);
    }
    return (data.overrides as unknown[]).map(checkedOverride);
  } catch (err) {
    throw new RojeError(
      'ROJE_ERR_OVERRIDE_READ',
      `${path} is not a valid overrides file: ${(err as Error).message}; fix or remove it`,
      { cause: err },
    );
  }
}

/** An entry read from a file or a database row, checked field by field; throws saying what is wrong. */
export function checkedOverride(value: unknown): Override {
  const o = value as Partial<Record<keyof Override, unknown>> | null;
  if (o === null || typeof o !== 'object' || typeof o.id !== 'string') throw new Error('an entry has no id');
  if (o.action !== 'allow' && o.action !== 'deny') throw new Error(`${o.id}: action must be allow or deny`);
  if (o.venue !== null && typeof o.venue !== 'string') {
    throw new Error(`${o.id}: venue must be a string or null`);
  }
  return {
    id: o.id,
    name: overrideName(String(o.name)),
    action: o.action,
    venue: o.venue,
    note: String(o.note ?? ''),
    who: String(o.who ?? ''),
    at: String(o.at ?? ''),
  };
}

/** Writes the file whole; ROJE_ERR_OVERRIDE_WRITE when it cannot (the old file stays). */
export function writeOverridesFile(path: string, entries: readonly Override[]): void {
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

/**
 * One box: the file is the store (null: memory only, a restart forgets them). A change is written
 * first and put in force after: a change the file does not hold is not in force.
 */
export function createFileBackend(
  path: string | null,
  apply: (entries: readonly Override[]) => void,
): OverridesBackend {
  const persist = (entries: readonly Override[]) => {
    if (path !== null) writeOverridesFile(path, entries);
    apply(entries);
  };
  return {
    kind: 'file',
    async open() {
      const entries = path === null ? null : readOverridesFile(path);
      if (entries !== null) apply(entries);
    },
    async insert(override, current) {
      persist([...current, override]);
      return 'inserted';
    },
    async delete(id, current) {
      const found = current.find((o) => o.id === id);
      if (found === undefined) return null;
      persist(current.filter((o) => o !== found));
      return found;
    },
    state: () => ({ backend: 'file' }),
    async close() {},
  };
}
