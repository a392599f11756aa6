/**
 * Where parsed sources are kept between compiles: in memory, and (when there is a stateDir) in
 * `<stateDir>/parsed/<sha256>-<format>.bin`, so that a restart parses nothing that has not changed.
 * The cache only ever saves work: a file that is missing, unreadable, corrupt or from another roje
 * version is ignored and the source parsed again, and the folder can be deleted at any time.
 *
 * Bounded: a compile that succeeds keeps only the entries it used, in memory and on disk. Abuse sources
 * (a confidential category) are kept in memory only: even hashed, their entries never reach this folder.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { VERSION } from '../../version.js';
import { entryIsWhole } from './codec.js';

const MAGIC = Buffer.from('ROJEPC01', 'latin1');
const DIGEST = 32;
/** Bumped when the entry encoding changes; the roje version covers a parser that reads lines differently. */
const TAG = `roje ${VERSION} parse-cache 1`;
/** The keys that may be written: content hash and a requested format, never the abuse format. */
const PERSISTABLE = /^[0-9a-f]{64}-(auto|hosts|domains|adblock|rpz|squidguard)$/;
const CACHE_FILE = /^[0-9a-f]{64}-[a-z]+\.bin$/;

export interface ParseCache {
  /** The entry under `key` (memory first, then disk), or null. Marks it used by this compile. */
  get(key: string): Promise<Uint8Array | null>;
  /** Keeps `entry` in memory and writes it to disk in the background (persistable keys only). */
  put(key: string, entry: Uint8Array): void;
  /** A compile starts: no entry is used yet. */
  begin(): void;
  /** The compile succeeded: the cache keeps only the entries it used. Returns their keys. */
  commit(): Promise<string[]>;
  /** The entries in memory (handed to a compile worker, which cannot share this Map). */
  entries(): Array<[string, Uint8Array]>;
  /** Entries put since begin() (a worker hands them back). */
  added(): Array<[string, Uint8Array]>;
  /** A worker's compile succeeded: take its new entries, keep only `keys` (the worker pruned the disk). */
  adopt(added: ReadonlyArray<[string, Uint8Array]>, keys: readonly string[]): void;
  /** The folder on disk, or null (memory only). */
  readonly dir: string | null;
  /** Waits for the disk writes started so far. */
  settle(): Promise<void>;
}

/** The cache key of a source: its content hash, the format asked for and, for abuse, the key's id. */
export function parseCacheKey(sha256: string, format: string, abuseKeyId: string | null): string {
  return format === 'abuse' ? `${sha256}-abuse-${abuseKeyId ?? 'none'}` : `${sha256}-${format}`;
}

export function createParseCache(options: {
  dir: string | null;
  seed?: ReadonlyArray<[string, Uint8Array]>;
}): ParseCache {
  const dir = options.dir;
  const memory = new Map<string, Uint8Array>(options.seed ?? []);
  let used = new Set<string>();
  let fresh = new Map<string, Uint8Array>();
  const pending = new Set<Promise<void>>();

  async function fromDisk(key: string): Promise<Uint8Array | null> {
    if (dir === null || !PERSISTABLE.test(key)) return null;
    const bytes = await readFile(join(dir, `${key}.bin`)).catch(() => null);
    return bytes === null ? null : unwrap(bytes, key);
  }

  function write(key: string, entry: Uint8Array): void {
    if (dir === null || !PERSISTABLE.test(key)) return;
    const p = writeAtomic(dir, key, entry)
      .catch(() => {
        // A cache that cannot be written (full disk, read-only stateDir) costs a parse next time, no more.
      })
      .finally(() => pending.delete(p));
    pending.add(p);
  }

  async function settle(): Promise<void> {
    while (pending.size > 0) await Promise.all([...pending]);
  }

  return {
    dir,
    async get(key) {
      const hit = memory.get(key) ?? (await fromDisk(key));
      if (hit !== null) {
        memory.set(key, hit);
        used.add(key);
      }
      return hit;
    },
    put(key, entry) {
      memory.set(key, entry);
      fresh.set(key, entry);
      used.add(key);
      write(key, entry);
    },
    begin() {
      used = new Set();
      fresh = new Map();
    },
    async commit() {
      const keys = [...used];
      for (const key of memory.keys()) if (!used.has(key)) memory.delete(key);
      await settle();
      if (dir !== null) await prune(dir, used);
      return keys;
    },
    entries: () => [...memory],
    added: () => [...fresh],
    adopt(added, keys) {
      for (const [key, entry] of added) memory.set(key, entry);
      const keep = new Set(keys);
      for (const key of memory.keys()) if (!keep.has(key)) memory.delete(key);
    },
    settle,
  };
}

/** The file's entry, or null when it is not whole: another version, another key, a bad digest. */
function unwrap(file: Buffer, key: string): Uint8Array | null {
  if (file.length < MAGIC.length + DIGEST + 2 || !file.subarray(0, MAGIC.length).equals(MAGIC)) return null;
  const body = file.subarray(MAGIC.length + DIGEST);
  const digest = createHash('sha256').update(body).digest();
  if (!digest.equals(file.subarray(MAGIC.length, MAGIC.length + DIGEST))) return null;
  const tagLen = body.readUInt16LE(0);
  if (2 + tagLen > body.length || body.toString('utf8', 2, 2 + tagLen) !== `${TAG} ${key}`) return null;
  const entry = body.subarray(2 + tagLen);
  return entryIsWhole(entry) ? entry : null;
}

/** magic, sha256(body), body = u16 tag length, tag (version and key), entry. */
function wrap(key: string, entry: Uint8Array): Uint8Array[] {
  const tag = Buffer.from(`${TAG} ${key}`, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16LE(tag.length);
  const digest = createHash('sha256').update(len).update(tag).update(entry).digest();
  return [MAGIC, digest, len, tag, entry];
}

/** Temp file in the same folder, synced, renamed over: a reader never sees half an entry. */
async function writeAtomic(dir: string, key: string, entry: Uint8Array): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${key}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    const fh = await open(tmp, 'w', 0o600);
    try {
      // writeFile goes on from the current position and writes each piece whole.
      for (const piece of wrap(key, entry)) await fh.writeFile(piece);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(dir, `${key}.bin`));
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Removes the entries no compile uses any more, and temp files a crash left behind. */
async function prune(dir: string, used: ReadonlySet<string>): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const stale = CACHE_FILE.test(name) ? !used.has(name.slice(0, -4)) : name.endsWith('.tmp');
    if (stale) await rm(join(dir, name), { force: true }).catch(() => {});
  }
}
