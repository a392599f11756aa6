/**
 * squidGuard/UT1 category trees: `<tree>/<category>/domains`, one name per line, each covering its
 * subtree. The `domains` file is read like a plain domain list (an IP address in it is `not-a-name`);
 * `urls` and `expressions` files are URL and regex filters for a proxy, which a resolver cannot apply.
 */
import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { RojeError } from '../../errors.js';
import { createDomainsParser } from './domains.js';
import type { LineParser } from './stats.js';

export const squidGuardParser: LineParser = createDomainsParser('squidguard');

export interface SquidGuardCategory {
  /** The folder name, e.g. "gambling". */
  category: string;
  /** Path of its `domains` file. */
  path: string;
  /** Symbolic links to the folder (UT1 ships `aggressive -> agressif`, `drugs -> drogue`). */
  aliases: string[];
  /**
   * The folder's DEFAULT_TYPE in the tree's `global_usage` catalogue: `white` for lists of sites to let
   * through (UT1's `child`, `liste_bu`, `sexual_education`...), `black` for sites to block; null when the
   * tree has no catalogue or it does not name the folder.
   */
  usage: 'white' | 'black' | null;
}

/** Most folders a tree may hold: UT1 has about 100. */
const MAX_FOLDERS = 10_000;

/**
 * Lists the category folders of a squidGuard tree that hold a `domains` file, sorted by name, for the
 * compile command to turn into sources. `dir` is the folder of categories, or a UT1 checkout whose
 * categories sit in `blacklists/`. Symbolic links to a category are reported as its aliases, not twice.
 */
export async function readSquidGuardTree(dir: string): Promise<SquidGuardCategory[]> {
  const found = await readTree(dir);
  if (found.length > 0) return found;
  const nested = join(dir, 'blacklists');
  if (await isDirectory(nested)) {
    const inner = await readTree(nested);
    if (inner.length > 0) return inner;
  }
  throw new RojeError(
    'ROJE_ERR_LIST_READ',
    `squidGuard tree ${dir}: no category folder with a "domains" file (expected ${dir}/<category>/domains)`,
  );
}

async function readTree(dir: string): Promise<SquidGuardCategory[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new RojeError('ROJE_ERR_LIST_READ', `squidGuard tree ${dir} cannot be read: ${reason(err)}`, {
      cause: err,
    });
  }
  if (entries.length > MAX_FOLDERS) {
    throw new RojeError(
      'ROJE_ERR_LIST_READ',
      `squidGuard tree ${dir} holds more than ${MAX_FOLDERS} entries`,
    );
  }
  const byName = new Map<string, SquidGuardCategory>();
  // The identity (device:inode) of each category's domains file, to tell an alias from a category.
  const ids = new Map<string, SquidGuardCategory>();
  const links: string[] = [];
  for (const entry of entries) {
    if (entry.isSymbolicLink()) links.push(entry.name);
    else if (entry.isDirectory()) {
      const path = join(dir, entry.name, 'domains');
      const id = await fileId(path);
      if (id === null) continue;
      const category: SquidGuardCategory = { category: entry.name, path, aliases: [], usage: null };
      byName.set(entry.name, category);
      ids.set(id, category);
    }
  }
  for (const link of links) {
    const path = join(dir, link, 'domains');
    const id = await fileId(path);
    if (id === null) continue;
    const target = ids.get(id);
    if (target) target.aliases.push(link);
    else byName.set(link, { category: link, path, aliases: [], usage: null });
  }
  const usage = await readGlobalUsage(join(dir, 'global_usage'));
  for (const c of byName.values()) {
    c.aliases.sort();
    c.usage = usage.get(c.category) ?? null;
  }
  return [...byName.values()].sort((a, b) =>
    a.category < b.category ? -1 : a.category > b.category ? 1 : 0,
  );
}

/**
 * UT1's `global_usage` catalogue: blocks of `NAME: folder` followed by `DEFAULT_TYPE: white|black`.
 * A missing or unreadable file is an empty catalogue: the folders are then taken as they come.
 */
async function readGlobalUsage(path: string): Promise<Map<string, 'white' | 'black'>> {
  const usage = new Map<string, 'white' | 'black'>();
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return usage;
  }
  let name: string | null = null;
  for (const line of text.split('\n')) {
    const m = /^(NAME|DEFAULT_TYPE)\s*:\s*(\S+)/.exec(line);
    if (m === null) continue;
    if (m[1] === 'NAME') name = m[2];
    else if (name !== null && (m[2] === 'white' || m[2] === 'black')) usage.set(name, m[2]);
  }
  return usage;
}

/** "dev:ino" of a regular file, null when it is missing or not a file. */
async function fileId(path: string): Promise<string | null> {
  try {
    const s = await stat(path);
    return s.isFile() ? `${s.dev}:${s.ino}` : null;
  } catch {
    return null;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code ? `${e.code} ${e.message}` : String(err);
}
