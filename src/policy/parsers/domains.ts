/**
 * Plain domain lists: one name per line, `#` and `!` comments (whole line or after the name). A name
 * blocks itself and its subtree. `*.name` blocks only the names under it (scope `below`, counted as the
 * `wildcard-below` note); `.name` (squid and dnsmasq spelling) is the same as `name`.
 *
 * squidGuard/UT1 `domains` files are the same format; their parser differs only in its name.
 */
import { normalizeListName } from '../name.js';
import type { ListFormat, ListRule, ParseStats, RuleScope } from '../types.js';
import { isBlank, type LineParser, type LineReader, lineParser, recordNote, recordSkip } from './stats.js';

const HASH = 0x23;
const BANG = 0x21;
const DOT = 0x2e;
const STAR = 0x2a;

function createDomainsReader(stats: ParseStats): LineReader {
  let lineNo = 0;
  const line = (raw: string, out: ListRule[]): void => {
    lineNo++;
    stats.lines++;
    domainsLine(raw, lineNo, stats, out);
  };
  return { line, end: () => {} };
}

/**
 * One line of a domains list, already counted in `stats.lines`: its rule (if any) appended to `out`, a
 * skip or note recorded. The byte fast path (domains-bytes.ts) sends here every line it does not take.
 */
export function domainsLine(raw: string, lineNo: number, stats: ParseStats, out: ListRule[]): void {
  let start = 0;
  let end = raw.length;
  while (start < end && isBlank(raw.charCodeAt(start))) start++;
  if (start === end) return;
  const first = raw.charCodeAt(start);
  if (first === HASH || first === BANG) return;
  const hash = raw.indexOf('#', start);
  if (hash >= 0) end = hash;
  while (end > start && isBlank(raw.charCodeAt(end - 1))) end--;
  let scope: RuleScope = 'subtree';
  if (first === STAR && raw.charCodeAt(start + 1) === DOT) {
    scope = 'below';
    start += 2;
  } else if (first === DOT) {
    start += 1;
  }
  const text = start === 0 && end === raw.length ? raw : raw.slice(start, end);
  const r = normalizeListName(text);
  if (r.name === undefined) {
    // Two fields ("0.0.0.0 name", "name comment") are another format, not a bad name.
    let blank = false;
    for (let i = 0; i < text.length && !blank; i++) blank = isBlank(text.charCodeAt(i));
    recordSkip(stats, lineNo, blank ? 'unsupported-syntax' : r.reason, raw.trim());
    return;
  }
  if (scope === 'below') recordNote(stats, 'wildcard-below');
  stats.rules++;
  out.push({ name: r.name, scope, action: 'block', line: lineNo });
}

export function createDomainsParser(format: ListFormat = 'domains'): LineParser {
  return lineParser(format, createDomainsReader);
}

export const domainsParser: LineParser = createDomainsParser('domains');
