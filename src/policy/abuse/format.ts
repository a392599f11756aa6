/**
 * The abuse feed format (README "Abuse feed"): one entry a line, `#` comments.
 *
 *   example.test                         a whole domain: the name and everything under it is blocked
 *   http://host.test/some/page.jpg       a page: DNS can only act on its host (see pageEntries)
 *   host.test/some/page.jpg              the same without a scheme (as IWF lists are written)
 *   d 3f2a...(64 hex)                    a whole domain, pre-hashed: HMAC-SHA-256(key, "example.test")
 *   p 9c1b...(64 hex)                    a page entry, pre-hashed: HMAC-SHA-256(key, its host)
 *   #roje-hashed key=<16 hex>            the key id the hashes were made with (checked when present)
 *
 * A clear entry is hashed as soon as its line is read: the name lives only in that line's string. This is
 * the one format roje stores abuse copies in (the hashed lines), so a downloaded feed never reaches the
 * disk in clear. Skipped lines are counted, never quoted.
 */
import { Transform } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { RojeError } from '../../errors.js';
import { normalizeListName } from '../name.js';
import { isBlank, type LineReader, recordSkip } from '../parsers/stats.js';
import type { ListRule, ParseStats, SkipReason } from '../types.js';
import type { NameHmac } from './hmac.js';

/** What a skipped abuse line shows in reports and logs instead of its text. */
export const CONFIDENTIAL_TEXT = '[confidential]';

export interface AbuseKey {
  hmac: NameHmac;
  /** keyId(key): recorded in hashed copies and artifacts. */
  id: string;
}

const HEX64 = /^[0-9a-f]{64}$/;
const KEY_LINE = /^#\s*roje-hashed\s+key=([0-9a-f]{16})\s*$/i;

export type AbuseLine =
  | { kind: 'domain' | 'page'; digest: Buffer }
  | { kind: 'skip'; reason: SkipReason }
  | { kind: 'key'; id: string }
  | null;

/** Reads one line: an entry (hashed), a key directive, a skipped line, or null (blank, comment). */
export function readAbuseLine(raw: string, hmac: NameHmac): AbuseLine {
  const text = raw.trim();
  if (text === '') return null;
  if (text.charCodeAt(0) === 0x23) {
    const m = KEY_LINE.exec(text);
    return m === null ? null : { kind: 'key', id: m[1].toLowerCase() };
  }
  if (text.length === 66 && (text[0] === 'd' || text[0] === 'p') && isBlank(text.charCodeAt(1))) {
    const hex = text.slice(2).toLowerCase();
    if (!HEX64.test(hex)) return { kind: 'skip', reason: 'unsupported-syntax' };
    return { kind: text[0] === 'd' ? 'domain' : 'page', digest: Buffer.from(hex, 'hex') };
  }
  for (let i = 0; i < text.length; i++) {
    if (isBlank(text.charCodeAt(i))) return { kind: 'skip', reason: 'unsupported-syntax' };
  }
  if (text.includes('/')) return readUrl(text, hmac);
  const name = hostName(text.startsWith('*.') ? text.slice(2) : text);
  if (typeof name !== 'string') return name;
  return { kind: 'domain', digest: hmac.digest(name) };
}

function readUrl(text: string, hmac: NameHmac): AbuseLine {
  let u: URL;
  try {
    u = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`);
  } catch {
    return { kind: 'skip', reason: 'not-a-name' };
  }
  if (u.hostname.startsWith('[')) return { kind: 'skip', reason: 'not-a-name' };
  const name = hostName(u.hostname);
  if (typeof name !== 'string') return name;
  // A URL naming no page ("http://host/") lists the whole site.
  const whole = (u.pathname === '/' || u.pathname === '') && u.search === '';
  return { kind: whole ? 'domain' : 'page', digest: hmac.digest(name) };
}

/** A normalized name of two labels or more, or the reason to skip. */
function hostName(text: string): string | { kind: 'skip'; reason: SkipReason } {
  const n = normalizeListName(text);
  if (n.name === undefined) return { kind: 'skip', reason: n.reason };
  // A bare TLD is never an abuse entry, and lookups do not hash single labels.
  if (!n.name.includes('.')) return { kind: 'skip', reason: 'not-a-name' };
  return n.name;
}

/**
 * The list reader the compiler uses for format `abuse`: entries become rules that carry a digest
 * (scope subtree for a domain, exact for a page's host, marked `page`) and an empty name.
 * A key directive for another key fails the whole source (ROJE_ERR_ABUSE_KEY): its hashes would match
 * nothing, and an abuse list that silently matches nothing is the one failure roje must not have.
 */
export function createAbuseReader(stats: ParseStats, key: AbuseKey, label: string): LineReader {
  let lineNo = 0;
  return {
    line(raw: string, out: ListRule[]): void {
      lineNo++;
      stats.lines++;
      const r = readAbuseLine(raw, key.hmac);
      if (r === null) return;
      if (r.kind === 'key') {
        if (r.id !== key.id) throw keyMismatch(label, r.id, key.id);
        return;
      }
      if (r.kind === 'skip') {
        recordSkip(stats, lineNo, r.reason, CONFIDENTIAL_TEXT);
        return;
      }
      stats.rules++;
      out.push({
        name: '',
        scope: r.kind === 'domain' ? 'subtree' : 'exact',
        action: 'block',
        line: lineNo,
        digest: r.digest,
        ...(r.kind === 'page' ? { page: true } : {}),
      });
    },
    end: () => {},
  };
}

export function keyMismatch(label: string, found: string, ours: string): RojeError {
  return new RojeError(
    'ROJE_ERR_ABUSE_KEY',
    `${label} was hashed with key ${found}, but this deployment's key is ${ours} (abuse.keyFile): its entries would match nothing, so it is refused`,
  );
}

/**
 * A stream that turns a feed as downloaded (clear or already hashed) into its hashed form, line by
 * line, so that the download is written to disk only as `d`/`p` lines under a key directive. Lines that
 * are not entries are dropped (comments may quote entries); a directive for another key fails the stream.
 */
export function createAbuseHashStream(key: AbuseKey, label: string, maxLine = 64 * 1024): Transform {
  const decoder = new StringDecoder('utf8');
  const header = `#roje-hashed key=${key.id}\n`;
  let rest = '';
  let started = false;
  const convert = (lines: string[]): string => {
    let out = started ? '' : header;
    started = true;
    for (const line of lines) {
      const r = readAbuseLine(line, key.hmac);
      if (r === null || r.kind === 'skip') continue;
      if (r.kind === 'key') {
        if (r.id !== key.id) throw keyMismatch(label, r.id, key.id);
        continue;
      }
      out += `${r.kind === 'domain' ? 'd' : 'p'} ${r.digest.toString('hex')}\n`;
    }
    return out;
  };
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      try {
        let text = rest + decoder.write(chunk);
        if (!started && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        const lines = text.split('\n');
        rest = lines.pop() ?? '';
        if (rest.length > maxLine) {
          throw new RojeError(
            'ROJE_ERR_FEED_INVALID',
            `${label}: a line is longer than ${maxLine} characters: not a list`,
          );
        }
        done(null, convert(lines));
      } catch (err) {
        done(err as Error);
      }
    },
    flush(done) {
      try {
        done(null, convert([rest + decoder.end()]));
      } catch (err) {
        done(err as Error);
      }
    },
  });
}
