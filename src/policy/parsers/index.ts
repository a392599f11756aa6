/**
 * Opening a list source: one streaming read of the file that hashes the bytes as they pass, gunzips a
 * gzip file, splits lines, detects the format from the first lines when asked to (buffering them, then
 * replaying them to the parser) and hands out the parser's rules.
 */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { pipeline, type Readable, Transform } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { RojeError } from '../../errors.js';
import { type AbuseKey, createAbuseReader } from '../abuse/format.js';
import type { ListFormat, ListRule, ListSource, ParseStats } from '../types.js';
import { adblockParser } from './adblock.js';
import { DETECT_LINES, DETECTABLE, detectFormat } from './detect.js';
import { domainsParser } from './domains.js';
import { hostsParser } from './hosts.js';
import { rpzParser } from './rpz.js';
import { squidGuardParser } from './squidguard.js';
import { createStats, type LineParser, type LineReader } from './stats.js';

export { detectFormat } from './detect.js';
export { readSquidGuardTree, type SquidGuardCategory } from './squidguard.js';
export { createStats, skippedTotal } from './stats.js';

/** The formats a source may name, besides `abuse` (only and always the abuse category's). */
export const LIST_FORMATS: readonly ListFormat[] = ['hosts', 'domains', 'adblock', 'rpz', 'squidguard'];

const PARSERS: Record<Exclude<ListFormat, 'abuse'>, LineParser> = {
  hosts: hostsParser,
  domains: domainsParser,
  adblock: adblockParser,
  rpz: rpzParser,
  squidguard: squidGuardParser,
};

export function isListFormat(value: unknown): value is ListFormat {
  return typeof value === 'string' && (value === 'abuse' || Object.hasOwn(PARSERS, value));
}

export function parserFor(format: ListFormat): LineParser {
  if (format === 'abuse' || !isListFormat(format)) {
    throw new RojeError('ROJE_ERR_LIST_FORMAT', `unknown list format "${format}": ${formatChoices()}`);
  }
  return PARSERS[format];
}

export interface OpenedList {
  format: ListFormat;
  /** Filled as `rules` is consumed. */
  stats: ParseStats;
  /** The rules, streamed from the file; iterate once. Read errors throw ROJE_ERR_LIST_READ from here. */
  rules: AsyncIterable<ListRule>;
  /**
   * The same rules a chunk of the file at a time (one await per chunk instead of per rule: the fast
   * way for the compiler). Iterate either `rules` or `batches`, once. A batch array is the caller's.
   */
  batches: AsyncIterable<ListRule[]>;
  /** Hex SHA-256 of the file's bytes (as stored, compressed or not); valid once `rules` is consumed. */
  sha256(): string;
  /** Bytes of the file read so far (all of them once `rules` is consumed). */
  bytes(): number;
  /** Releases the file when `rules` is not consumed to the end (idempotent). */
  close(): void;
}

/** Lines buffered for detection at most, comments included (headers run to a few dozen lines). */
const MAX_DETECT_BUFFER = 5_000;
/** A longer line is not a list: stop rather than buffer a binary file in memory. */
export const MAX_LINE_LENGTH = 64 * 1024;

/**
 * Opens a list source and, when its format is omitted or `auto`, detects it from the first lines.
 * Throws ROJE_ERR_LIST_READ when the file cannot be read, ROJE_ERR_LIST_FORMAT when its format is not
 * known or cannot be detected.
 */
export async function openList(
  source: ListSource,
  options: {
    abuseKey?: AbuseKey;
    /** Bytes read at a time (default 256 KiB); a check that stops at the first rule reads less. */
    chunkBytes?: number;
  } = {},
): Promise<OpenedList> {
  const requested = source.format ?? 'auto';
  const label = `list "${source.name}" (${source.path})`;
  if (requested !== 'auto' && !isListFormat(requested)) {
    throw new RojeError(
      'ROJE_ERR_LIST_FORMAT',
      `${label}: unknown format "${requested}": ${formatChoices()}`,
    );
  }

  let fh: FileHandle;
  try {
    fh = await open(source.path, 'r');
  } catch (err) {
    throw new RojeError('ROJE_ERR_LIST_READ', `${label} cannot be read: ${systemReason(err)}`, {
      cause: err,
    });
  }
  let gzip: boolean;
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new Error('not a regular file');
    const head = Buffer.alloc(2);
    const { bytesRead } = await fh.read(head, 0, 2, 0);
    gzip = bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } catch (err) {
    await fh.close().catch(() => {});
    throw new RojeError('ROJE_ERR_LIST_READ', `${label} cannot be read: ${systemReason(err)}`, {
      cause: err,
    });
  }

  const hash = createHash('sha256');
  let bytes = 0;
  let digest: string | null = null;
  const raw = fh.createReadStream({ start: 0, highWaterMark: options.chunkBytes ?? 256 * 1024 });
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  // pipeline destroys every stream on an error (and closes the file); the iteration below rethrows it.
  const ignore = () => {};
  const out: Readable = gzip ? pipeline(raw, tap, createGunzip(), ignore) : pipeline(raw, tap, ignore);
  const close = () => {
    if (!out.destroyed) out.destroy();
    if (!raw.destroyed) raw.destroy();
  };
  const chunks = readLineChunks(out, label, gzip, () => {
    digest = hash.digest('hex');
  });

  let format: ListFormat;
  let buffered: string[] = [];
  if (requested === 'auto') {
    try {
      buffered = await bufferForDetection(chunks);
    } catch (err) {
      close();
      throw err;
    }
    const detected = detectFormat(buffered);
    if (detected === null) {
      close();
      throw new RojeError(
        'ROJE_ERR_LIST_FORMAT',
        `${label}: cannot detect its format from its first ${DETECT_LINES} entries (tried ${DETECTABLE.join(', ')}; ` +
          `${buffered.length === 0 ? 'the file is empty' : 'no format fits at least half of them'}): ` +
          `name the format of the source (${LIST_FORMATS.join(', ')})`,
      );
    }
    format = detected;
  } else {
    format = requested;
  }

  const stats = createStats();
  let reader: LineReader;
  if (format === 'abuse') {
    if (options.abuseKey === undefined) {
      close();
      throw new RojeError('ROJE_ERR_ABUSE_KEY', `${label}: an abuse list needs the deployment's abuse key`);
    }
    reader = createAbuseReader(stats, options.abuseKey, label);
  } else {
    reader = PARSERS[format].createReader(stats);
  }
  const batches = ruleBatches(reader, buffered, chunks, close);
  return {
    format,
    stats,
    rules: flattenBatches(batches),
    batches,
    sha256() {
      if (digest === null) throw new Error(`${label}: sha256() is known once its rules are consumed`);
      return digest;
    },
    bytes: () => bytes,
    close,
  };
}

async function bufferForDetection(chunks: AsyncIterator<string[]>): Promise<string[]> {
  const buffered: string[] = [];
  let entries = 0;
  while (buffered.length < MAX_DETECT_BUFFER && entries < DETECT_LINES) {
    const r = await chunks.next();
    if (r.done) break;
    for (const line of r.value) {
      buffered.push(line);
      const c = line.trimStart().charCodeAt(0);
      // Only entries count toward DETECT_LINES (not blanks and whole-line comments).
      if (!Number.isNaN(c) && c !== 0x23 && c !== 0x21 && c !== 0x3b) entries++;
    }
  }
  return buffered;
}

/** Feeds the buffered lines, then every further chunk of lines, to the reader; yields each chunk's rules. */
async function* ruleBatches(
  reader: LineReader,
  buffered: string[],
  chunks: AsyncGenerator<string[]>,
  close: () => void,
): AsyncGenerator<ListRule[]> {
  try {
    let out: ListRule[] = [];
    for (let i = 0; i < buffered.length; i++) reader.line(buffered[i], out);
    buffered.length = 0;
    for (;;) {
      if (out.length > 0) {
        yield out;
        out = [];
      }
      const r = await chunks.next();
      if (r.done) break;
      const lines = r.value;
      for (let i = 0; i < lines.length; i++) reader.line(lines[i], out);
    }
    reader.end(out);
    if (out.length > 0) yield out;
  } finally {
    // A consumer that stops early (break, throw) releases the file here.
    close();
  }
}

/**
 * One rule at a time from batches of rules, without an async generator step per rule (a parser's batches,
 * or a parse-cache entry's replay).
 */
export function flattenBatches(batches: AsyncIterable<ListRule[]>): AsyncIterable<ListRule> {
  return {
    [Symbol.asyncIterator]() {
      const it = batches[Symbol.asyncIterator]();
      let batch: ListRule[] = [];
      let i = 0;
      const refill = async (): Promise<IteratorResult<ListRule>> => {
        for (;;) {
          const r = await it.next();
          if (r.done) return { done: true, value: undefined };
          batch = r.value;
          i = 0;
          if (batch.length > 0) return { done: false, value: batch[i++] };
        }
      };
      return {
        next: () => (i < batch.length ? Promise.resolve({ done: false, value: batch[i++] }) : refill()),
        // A consumer that stops early releases the source (the parser's file).
        return: async () => {
          await it.return?.();
          return { done: true, value: undefined };
        },
      };
    },
  };
}

/**
 * Splits a byte stream into lines (LF or CRLF, a UTF-8 BOM dropped), the lines of each chunk as one
 * array; read errors name the file and the line.
 *
 * Lines are cut from the decoded chunk itself (a flat string), never from `rest + chunk`: slicing a
 * concatenated (cons) string makes V8 flatten it, and optimized code running under precise coverage
 * (tap's, on Node 20 to 24) flattens a fresh copy of the whole chunk for every slice instead of once,
 * each line then holding its own 256 KB copy: gigabytes for a list of a few MB. Only the one line
 * that spans two chunks is joined from `rest`.
 */
async function* readLineChunks(
  stream: Readable,
  label: string,
  gzip: boolean,
  onEnd: () => void,
): AsyncGenerator<string[]> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let line = 0;
  let first = true;
  try {
    for await (const chunk of stream) {
      let text = decoder.write(chunk as Buffer);
      if (first && text.length > 0) {
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        first = false;
      }
      const lines: string[] = [];
      let start = 0;
      for (;;) {
        const nl = text.indexOf('\n', start);
        if (nl < 0) break;
        if (start === 0 && rest.length > 0) {
          // The line begun in an earlier chunk: short (MAX_LINE_LENGTH at most), joined once.
          const joined = rest + text.slice(0, nl);
          rest = '';
          lines.push(joined.charCodeAt(joined.length - 1) === 0x0d ? joined.slice(0, -1) : joined);
        } else {
          const end = nl > start && text.charCodeAt(nl - 1) === 0x0d ? nl - 1 : nl;
          lines.push(text.slice(start, end));
        }
        start = nl + 1;
      }
      line += lines.length;
      if (lines.length > 0) yield lines;
      // A chunk without a line end adds to the line carried over (bounded below).
      rest = start === 0 ? rest + text : text.slice(start);
      if (rest.length > MAX_LINE_LENGTH) {
        throw new RojeError(
          'ROJE_ERR_LIST_READ',
          `${label}: line ${line + 1} is longer than ${MAX_LINE_LENGTH} characters: not a text list`,
        );
      }
    }
  } catch (err) {
    if (err instanceof RojeError) throw err;
    const what =
      gzip && (err as NodeJS.ErrnoException)?.code?.startsWith('Z_') ? 'is not valid gzip' : 'read failed';
    throw new RojeError('ROJE_ERR_LIST_READ', `${label} ${what} after line ${line}: ${systemReason(err)}`, {
      cause: err,
    });
  }
  rest += decoder.end();
  if (rest.length > 0) {
    yield [rest.charCodeAt(rest.length - 1) === 0x0d ? rest.slice(0, -1) : rest];
  }
  onEnd();
}

function formatChoices(): string {
  return `expected one of ${LIST_FORMATS.join(', ')} or auto`;
}

export function systemReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT') return 'no such file (ENOENT)';
  if (e?.code === 'EACCES') return 'permission denied (EACCES)';
  if (e?.code === 'EISDIR') return 'it is a folder (EISDIR)';
  if (e?.code) return `${e.message.replace(/^[A-Z]+: /, '')} (${e.code})`;
  return e?.message ?? String(err);
}
