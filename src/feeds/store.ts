/**
 * The feeds' state on disk: per source, the last good copy `<stateDir>/feeds/<name>` with its metadata
 * `<name>.json`, and at most one held copy `<name>.held` (+ `.held.json`) waiting for an operator.
 * Every write goes to a temp file in the same folder, is synced, then renamed over the old one, so a
 * crash leaves either the old copy or the new one, never half of one.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { RojeError } from '../errors.js';
import type { AbuseKey } from '../policy/abuse/format.js';
import type { FeedCopies } from '../policy/lists-loader.js';
import { openList } from '../policy/parsers/index.js';
import type { ListFormat } from '../policy/types.js';
import { FEED_NAME_RE } from './types.js';

export interface FeedMeta {
  /** The URL it came from, redacted. */
  url: string;
  etag: string | null;
  lastModified: string | null;
  /** Hex SHA-256 of the body as served (an abuse feed is stored hashed: this is not the file's). */
  sha256: string;
  /** Size of the stored file. */
  bytes: number;
  format: ListFormat;
  rules: number;
  skipped: number;
  /**
   * False while `rules` and `skipped` are only what a check up to the first rule saw (a list file seen for
   * the first time: files.ts); the compile's counts replace them. Absent: complete.
   */
  counted?: false;
  /** When this content was downloaded (ISO 8601). */
  fetchedAt: string;
  /** When the server last confirmed it (a 304 or the same bytes again), or fetchedAt. */
  checkedAt: string;
}

export type Slot = 'good' | 'held';

export interface FeedStore {
  readonly dir: string;
  /** Path of a slot's data file (whether or not it exists). */
  path(name: string, slot: Slot): string;
  read(name: string, slot: Slot): Promise<FeedMeta | null>;
  /** A fresh temp path in the store's folder, for a download to land in. */
  tempPath(name: string): string;
  /** Flushes a temp file to disk ahead of its commit (which then finds it clean). */
  flush(tempFile: string): Promise<void>;
  /** Moves `tempFile` into `slot` with `meta`, replacing what was there. */
  commit(name: string, slot: Slot, tempFile: string, meta: FeedMeta): Promise<void>;
  /** Rewrites a slot's metadata only (checkedAt, validators after a 304). */
  writeMeta(name: string, slot: Slot, meta: FeedMeta): Promise<void>;
  /** held -> good. */
  promote(name: string, meta: FeedMeta): Promise<void>;
  discard(name: string, slot: Slot): Promise<void>;
}

export function feedsDir(stateDir: string): string {
  return join(stateDir, 'feeds');
}

export function createFeedStore(stateDir: string): Promise<FeedStore> {
  return createCopyStore(feedsDir(stateDir));
}

/** The same good/held slots in any folder: the guarded file sources keep theirs in <stateDir>/files. */
export async function createCopyStore(dir: string): Promise<FeedStore> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o750 });
  } catch (err) {
    throw storeError(`cannot create the folder ${dir}`, err);
  }
  const path = (name: string, slot: Slot) => slotPath(dir, name, slot);
  const metaPath = (name: string, slot: Slot) => `${path(name, slot)}.json`;

  async function writeMeta(name: string, slot: Slot, meta: FeedMeta): Promise<void> {
    const tmp = tempPath(name);
    try {
      await writeSynced(tmp, `${JSON.stringify(meta, null, 2)}\n`);
      await rename(tmp, metaPath(name, slot));
    } catch (err) {
      await rm(tmp, { force: true });
      throw storeError(`cannot write ${metaPath(name, slot)}`, err);
    }
  }

  function tempPath(name: string): string {
    return join(dir, `.${checkName(name)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  }

  return {
    dir,
    path,
    tempPath,
    writeMeta,
    read: (name, slot) => readSlot(dir, name, slot),
    flush: syncFile,
    async commit(name, slot, tempFile, meta) {
      try {
        await syncFile(tempFile);
        await rename(tempFile, path(name, slot));
      } catch (err) {
        await rm(tempFile, { force: true });
        throw storeError(`cannot store ${path(name, slot)}`, err);
      }
      await writeMeta(name, slot, meta);
    },
    async promote(name, meta) {
      try {
        await rename(path(name, 'held'), path(name, 'good'));
      } catch (err) {
        throw storeError(`cannot promote ${path(name, 'held')}`, err);
      }
      await writeMeta(name, 'good', meta);
      await rm(metaPath(name, 'held'), { force: true });
    },
    async discard(name, slot) {
      await rm(metaPath(name, slot), { force: true });
      await rm(path(name, slot), { force: true });
    },
  };
}

function slotPath(dir: string, name: string, slot: Slot): string {
  return join(dir, slot === 'good' ? checkName(name) : `${checkName(name)}.held`);
}

/** A slot's metadata, or null when it is missing, unreadable or does not match its data file. */
async function readSlot(dir: string, name: string, slot: Slot): Promise<FeedMeta | null> {
  const path = slotPath(dir, name, slot);
  let meta: FeedMeta;
  try {
    meta = JSON.parse(await readFile(`${path}.json`, 'utf8')) as FeedMeta;
    // Data and metadata are renamed one after the other: a crash between the two leaves a pair
    // that does not match, and a copy without its metadata is not trusted.
    const st = await stat(path);
    if (!st.isFile() || st.size !== meta.bytes || typeof meta.rules !== 'number') return null;
  } catch {
    return null;
  }
  return meta;
}

/**
 * The good copies on disk, read without the feed manager (and without creating anything): for
 * commands that compile the server's lists without fetching, such as `roje compile --config` and
 * `roje check-config`. Pass the result as `feeds` to loadLists.
 */
export async function readFeedCopies(stateDir: string, names: readonly string[]): Promise<FeedCopies> {
  const dir = feedsDir(stateDir);
  const found = new Map<string, string>();
  for (const name of names) {
    if (FEED_NAME_RE.test(name) && (await readSlot(dir, name, 'good')) !== null) {
      found.set(name, slotPath(dir, name, 'good'));
    }
  }
  return { localPath: (name) => found.get(name) ?? null };
}

/** Bytes a check that stops at the first rule reads at a time (firstRuleOnly). */
const FIRST_RULE_CHUNK = 16 * 1024;

/** What a parse of a downloaded copy found. */
export interface ListCheck {
  format: ListFormat;
  rules: number;
  skipped: number;
  /** False when the check stopped at the first rule (`firstRuleOnly`): the counts are partial. */
  complete: boolean;
}

/**
 * Parses a downloaded copy with the compiler's own parsers. A copy is good only if it parses and
 * yields at least one rule: an HTML error page served with status 200 parses to nothing.
 * Throws ROJE_ERR_FEED_INVALID naming the source. `firstRuleOnly` stops at the first batch that holds a
 * rule: enough to tell a list from an empty one, without parsing a million lines twice.
 */
export async function checkList(
  source: { name: string; category: string; format?: ListFormat | 'auto' },
  file: string,
  label: string,
  abuseKey?: AbuseKey,
  options: { firstRuleOnly?: boolean } = {},
): Promise<ListCheck> {
  let opened: Awaited<ReturnType<typeof openList>>;
  let rules = 0;
  let complete = true;
  try {
    opened = await openList(
      {
        name: source.name,
        category: source.category,
        path: file,
        // A confidential feed was stored hashed, in the abuse format.
        format: abuseKey !== undefined ? 'abuse' : source.format,
      },
      {
        ...(abuseKey !== undefined ? { abuseKey } : {}),
        // A first rule is in the first lines of any real list: parsing a whole 256 KiB chunk into rules
        // to find it cost ~80 ms of a start with a 1M-name list.
        ...(options.firstRuleOnly === true ? { chunkBytes: FIRST_RULE_CHUNK } : {}),
      },
    );
    for await (const batch of opened.batches) {
      rules += batch.length;
      if (rules > 0 && options.firstRuleOnly === true) {
        complete = false;
        break;
      }
    }
  } catch (err) {
    // The parser names the temp file: say "it" instead.
    const own = `list "${source.name}" (${file})`;
    const why = (err as Error).message.replace(`${own}: `, '').replace(own, 'it');
    throw new RojeError('ROJE_ERR_FEED_INVALID', `${label}: the download is not a usable list: ${why}`, {
      cause: err,
    });
  }
  let skipped = 0;
  for (const n of Object.values(opened.stats.skipped)) skipped += n ?? 0;
  if (rules === 0) {
    throw new RojeError(
      'ROJE_ERR_FEED_INVALID',
      `${label}: the download holds no rules (${opened.stats.lines} lines, ${skipped} skipped as ${opened.format}): not used`,
    );
  }
  return { format: opened.format, rules, skipped, complete };
}

function checkName(name: string): string {
  // Names come from validated config; this guards the path join against anything else.
  if (!FEED_NAME_RE.test(name))
    throw new RojeError('ROJE_ERR_FEED_UNKNOWN', `"${name}" is not a valid feed name`);
  return name;
}

async function writeSynced(file: string, text: string): Promise<void> {
  const fh = await open(file, 'w', 0o640);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function syncFile(file: string): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function storeError(what: string, err: unknown): RojeError {
  const code = (err as NodeJS.ErrnoException)?.code;
  return new RojeError('ROJE_ERR_FEED_STORE', `${what}: ${code ?? (err as Error)?.message ?? err}`, {
    cause: err,
  });
}
