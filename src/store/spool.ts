/**
 * The spool: batches that could not be written wait here, in order, until the store takes them. On disk
 * (one file per batch, named by a monotonic sequence, written to a temporary name, fsynced, renamed,
 * and the folder fsynced) they survive a restart; without a folder they wait in memory. Bounded by
 * maxBytes: past it the oldest batches are dropped, counted, and said loudly (the newest matter most,
 * and a full disk must not stop DNS).
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Batch } from './batch.js';

export interface SpoolOptions {
  /** The folder; null: memory only. */
  path: string | null;
  maxBytes: number;
}

export interface SpoolState {
  batches: number;
  bytes: number;
  /** Batches dropped to keep within maxBytes, since start. */
  dropped: number;
}

export interface Spool {
  /** Appends a batch (durably, when on disk); may drop the oldest to stay within the bound. */
  push(batch: Batch): void;
  /** The oldest batch, or undefined when empty. A file that cannot be read is dropped (counted). */
  peek(): Batch | undefined;
  /** Removes the oldest batch (after it was written). */
  shift(): void;
  state(): SpoolState;
}

interface Entry {
  seq: number;
  bytes: number;
  /** Memory only, or read from its file once. */
  batch?: Batch;
}

const FILE = /^(\d{16})\.batch\.json$/;
const name = (seq: number) => `${String(seq).padStart(16, '0')}.batch.json`;

function fsyncDir(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function writeDurably(dir: string, seq: number, text: string): void {
  const tmp = join(dir, `${name(seq)}.tmp`);
  const fd = openSync(tmp, 'w', 0o640);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, name(seq)));
  fsyncDir(dir);
}

export function openSpool(options: SpoolOptions, logger: Pick<Logger, 'error' | 'warn'>): Spool {
  const dir = options.path;
  const entries: Entry[] = [];
  let bytes = 0;
  let dropped = 0;
  let next = 1;

  if (dir !== null) {
    mkdirSync(dir, { recursive: true, mode: 0o750 });
    for (const file of readdirSync(dir).sort()) {
      const m = FILE.exec(file);
      if (m === null) {
        // A write cut short by a crash: never renamed, never acknowledged as spooled.
        if (file.endsWith('.tmp')) unlinkSync(join(dir, file));
        continue;
      }
      const seq = Number(m[1]);
      const size = statSync(join(dir, file)).size;
      entries.push({ seq, bytes: size });
      bytes += size;
      next = Math.max(next, seq + 1);
    }
  }

  function remove(entry: Entry): void {
    bytes -= entry.bytes;
    if (dir !== null) {
      try {
        unlinkSync(join(dir, name(entry.seq)));
      } catch {
        // already gone
      }
    }
  }

  function bound(): void {
    let n = 0;
    while (bytes > options.maxBytes && entries.length > 0) {
      remove(entries.shift() as Entry);
      n++;
    }
    if (n > 0) {
      dropped += n;
      logger.error(
        { module: 'store', code: 'ROJE_ERR_STORE_UNAVAILABLE', dropped: n, maxBytes: options.maxBytes },
        'the store spool is full: the oldest batches of counts were dropped',
      );
    }
  }

  return {
    push(batch) {
      const text = JSON.stringify(batch);
      const seq = next++;
      const entry: Entry = { seq, bytes: Buffer.byteLength(text) };
      if (dir === null) entry.batch = batch;
      else {
        try {
          writeDurably(dir, seq, text);
        } catch (err) {
          // A full or read-only disk: the batch waits in memory (still bounded) rather than be lost.
          entry.batch = batch;
          logger.warn(
            { module: 'store', err: (err as Error).message },
            'cannot write to the store spool folder; the batch waits in memory',
          );
        }
      }
      entries.push(entry);
      bytes += entry.bytes;
      bound();
    },
    peek() {
      while (entries.length > 0) {
        const head = entries[0] as Entry;
        if (head.batch !== undefined) return head.batch;
        try {
          head.batch = JSON.parse(readFileSync(join(dir as string, name(head.seq)), 'utf8')) as Batch;
          return head.batch;
        } catch (err) {
          logger.error(
            { module: 'store', file: name(head.seq), err: (err as Error).message },
            'a spooled batch cannot be read; dropped',
          );
          remove(entries.shift() as Entry);
          dropped++;
        }
      }
      return undefined;
    },
    shift() {
      const head = entries.shift();
      if (head !== undefined) remove(head);
    },
    state: () => ({ batches: entries.length, bytes, dropped }),
  };
}
