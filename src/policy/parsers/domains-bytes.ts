/**
 * The plain domains format read as bytes: the fast path of a compile (issue #15). A list of a million
 * names is a million lines, and the string path (index.ts, domains.ts) makes a string, a normalized
 * string and a rule object of each before the trie reads it again char by char. Here a line that is
 * just a name (ASCII letters, digits, '-', '_', dots; an optional `*.` or `.` prefix, blanks and a `#`
 * comment after it) goes to the builder as offsets into the chunk it was read in; every other line
 * (IDN, a bad name, two fields) is decoded and handed to the string parser's own line function, so the
 * rules, counts, samples and notes are those of the string path, and so is the artifact.
 *
 * Only an uncompressed file whose format is `domains` (named, or detected as the string path detects
 * it) takes this path; openDomainNames answers null for any other and the caller opens it as usual.
 */
import { createHash } from 'node:crypto';
import { type FileHandle, open } from 'node:fs/promises';
import { RojeError } from '../../errors.js';
import { rememberedDigest } from '../lists-version.js';
import { MAX_LABEL_LENGTH, MAX_NAME_LENGTH } from '../name.js';
import type { ListRule, ListSource, ParseStats } from '../types.js';
import { domainsLine } from './domains.js';
import { MAX_LINE_LENGTH, openList, systemReason } from './index.js';
import { createStats, recordNote } from './stats.js';

/** Where the names go: the compiler's builder. */
export interface NameSink {
  /** A checked name in `bytes[start, end)` (no trailing dot, any case), valid only during the call. */
  name(bytes: Uint8Array, start: number, end: number, scope: 'subtree' | 'below', line: number): void;
  /** A rule of a line the fast path left to the string parser (an IDN, say). */
  rule(rule: ListRule): void;
}

export interface OpenedNames {
  format: 'domains';
  /** Filled as the file is read. */
  stats: ParseStats;
  /** Reads the file a chunk per step, every rule of the chunk sent to `sink`; iterate once. */
  chunks(sink: NameSink): AsyncGenerator<void>;
  /** Hex SHA-256 of the file's bytes; valid once `chunks` is consumed. */
  sha256(): string;
  bytes(): number;
  /** Releases the file (idempotent). */
  close(): void;
}

/** The string path's read size (index.ts): the same chunks, so the same line-length check. */
const CHUNK = 256 * 1024;
const LF = 0x0a;
const CR = 0x0d;
const HASH = 0x23;
const BANG = 0x21;
const DOT = 0x2e;
const STAR = 0x2a;

// Per byte: 1 = a name byte (a-z 0-9 - _ and A-Z, which the trie folds), 2 = the dot, 3 = a blank.
const KIND = new Uint8Array(256);
for (let c = 0x61; c <= 0x7a; c++) KIND[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) KIND[c] = 1;
for (let c = 0x30; c <= 0x39; c++) KIND[c] = 1;
KIND[0x2d] = 1;
KIND[0x5f] = 1;
KIND[DOT] = 2;
for (const c of [0x20, 0x09, 0x0d, 0x0b, 0x0c]) KIND[c] = 3;

/**
 * Opens `source` for the fast path, or answers null when it is not an uncompressed domains list (or
 * cannot be opened: the string path then reports it). An `auto` source is detected by the string path
 * itself (openList reads its first lines), so detection and its errors are the same.
 */
export async function openDomainNames(source: ListSource): Promise<OpenedNames | null> {
  const requested = source.format ?? 'auto';
  if (requested !== 'domains' && requested !== 'auto') return null;
  if (requested === 'auto') {
    const probe = await openList(source);
    probe.close();
    if (probe.format !== 'domains') return null;
  }
  let fh: FileHandle;
  try {
    fh = await open(source.path, 'r');
  } catch {
    return null;
  }
  let known: string | null;
  try {
    const st = await fh.stat({ bigint: true });
    known = rememberedDigest(source.path, st);
    const head = Buffer.alloc(2);
    const { bytesRead } = st.isFile() ? await fh.read(head, 0, 2, 0) : { bytesRead: -1 };
    if (bytesRead < 0 || (bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b)) {
      await fh.close();
      return null;
    }
  } catch {
    await fh.close().catch(() => {});
    return null;
  }
  return readNames(fh, `list "${source.name}" (${source.path})`, known);
}

// long-function: the read loop and the line scan share the carried line, the counters and the hash.
/** `known`: the file's digest, remembered for this very file (lists-version.ts): not hashed again. */
function readNames(fh: FileHandle, label: string, known: string | null): OpenedNames {
  const stats = createStats();
  const hash = known === null ? createHash('sha256') : null;
  let bytes = 0;
  let digest: string | null = null;
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    fh.close().catch(() => {});
  };
  let lineNo = 0;
  const out: ListRule[] = [];

  /** One line, `b[s, e)` without its line end. */
  function line(b: Buffer, s: number, e: number, sink: NameSink): void {
    lineNo++;
    stats.lines++;
    let i = s;
    while (i < e && KIND[b[i]] === 3) i++;
    if (i === e) return;
    const first = b[i];
    if (first === HASH || first === BANG) return;
    let scope: 'subtree' | 'below' = 'subtree';
    if (first === STAR && i + 1 < e && b[i + 1] === DOT) {
      scope = 'below';
      i += 2;
    } else if (first === DOT) {
      i += 1;
    }
    const from = i;
    while (i < e && KIND[b[i]] !== 0 && KIND[b[i]] !== 3) i++;
    let to = i;
    // After the name: only blanks, up to the end or a comment.
    while (i < e && KIND[b[i]] === 3) i++;
    if (to > from && b[to - 1] === DOT) to--;
    if ((i === e || b[i] === HASH) && validName(b, from, to)) {
      if (scope === 'below') recordNote(stats, 'wildcard-below');
      stats.rules++;
      sink.name(b, from, to, scope, lineNo);
      return;
    }
    domainsLine(b.toString('utf8', s, e), lineNo, stats, out);
    for (let r = 0; r < out.length; r++) sink.rule(out[r]);
    out.length = 0;
  }

  async function* chunks(sink: NameSink): AsyncGenerator<void> {
    const buf = Buffer.allocUnsafe(CHUNK);
    // The line begun in an earlier chunk (bounded by MAX_LINE_LENGTH, as the string path's).
    let carry: Buffer = Buffer.allocUnsafe(1024);
    let carried = 0;
    let first = true;
    try {
      for (;;) {
        let n: number;
        try {
          ({ bytesRead: n } = await fh.read(buf, 0, CHUNK, null));
        } catch (err) {
          throw new RojeError(
            'ROJE_ERR_LIST_READ',
            `${label} read failed after line ${lineNo}: ${systemReason(err)}`,
            { cause: err },
          );
        }
        if (n === 0) break;
        hash?.update(buf.subarray(0, n));
        bytes += n;
        let pos = 0;
        if (first) {
          first = false;
          if (n >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) pos = 3;
        }
        for (;;) {
          const nl = buf.indexOf(LF, pos);
          if (nl < 0 || nl >= n) break;
          if (carried > 0) {
            carry = append(carry, carried, buf, pos, nl);
            const len = carried + nl - pos;
            carried = 0;
            line(carry, 0, len > 0 && carry[len - 1] === CR ? len - 1 : len, sink);
          } else {
            line(buf, pos, nl > pos && buf[nl - 1] === CR ? nl - 1 : nl, sink);
          }
          pos = nl + 1;
        }
        if (pos < n) {
          carry = append(carry, carried, buf, pos, n);
          carried += n - pos;
          // Counted in characters, as the string path counts it: bytes bound it from above.
          if (carried > MAX_LINE_LENGTH && carry.toString('utf8', 0, carried).length > MAX_LINE_LENGTH) {
            throw new RojeError(
              'ROJE_ERR_LIST_READ',
              `${label}: line ${lineNo + 1} is longer than ${MAX_LINE_LENGTH} characters: not a text list`,
            );
          }
        }
        yield;
      }
      if (carried > 0) {
        line(carry, 0, carry[carried - 1] === CR ? carried - 1 : carried, sink);
        yield;
      }
      digest = hash === null ? known : hash.digest('hex');
    } finally {
      close();
    }
  }

  return {
    format: 'domains',
    stats,
    chunks,
    sha256() {
      if (digest === null) throw new Error(`${label}: sha256() is known once it is read`);
      return digest;
    },
    bytes: () => bytes,
    close,
  };
}

/**
 * Whether normalizeListName() takes the name bytes `b[from, to)` (name bytes and dots only) as they are:
 * 1 to 63 bytes a label, at most 253 in all, the last label not all digits (an address, not a name).
 */
function validName(b: Buffer, from: number, to: number): boolean {
  if (to <= from || to - from > MAX_NAME_LENGTH) return false;
  let labelStart = from;
  let digits = true;
  for (let i = from; i < to; i++) {
    const c = b[i];
    if (c === DOT) {
      const n = i - labelStart;
      if (n === 0 || n > MAX_LABEL_LENGTH) return false;
      labelStart = i + 1;
      digits = true;
    } else if (c < 0x30 || c > 0x39) {
      digits = false;
    }
  }
  const n = to - labelStart;
  return n > 0 && n <= MAX_LABEL_LENGTH && !digits;
}

/** `carry` with `src[from, to)` appended after its first `used` bytes (grown as needed). */
function append(carry: Buffer, used: number, src: Buffer, from: number, to: number): Buffer {
  const need = used + to - from;
  let out = carry;
  if (need > carry.length) {
    out = Buffer.allocUnsafe(Math.max(need, carry.length * 2));
    carry.copy(out, 0, 0, used);
  }
  src.copy(out, used, from, to);
  return out;
}
