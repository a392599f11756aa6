/**
 * Adblock-style DNS rules, the subset that means something to a resolver (as AdGuard Home reads them):
 * - `||name^` blocks the name and its subtree; `|name^` the name only; `||*.name^` only names below it;
 * - `@@` in front makes the rule an exception (allow);
 * - `$important` is accepted (the most specific rule already wins here); any other modifier
 *   (`$third-party`, `$dnstype=`, `$client=`, `$denyallow=`, ...) changes the meaning, so the line is
 *   counted as `unsupported-syntax` rather than read as a plain block;
 * - `!` lines, `# ` lines and `[Adblock Plus 2.0]` headers are comments;
 * - cosmetic rules (`##`, `#@#`), paths (`||x.com/ads`), regexes (`/.../`), bare patterns without `||`
 *   and rules without the `^` separator are `unsupported-syntax`.
 */
import { normalizeListName } from '../name.js';
import type { ListRule, ParseStats, RuleAction, RuleScope } from '../types.js';
import { type LineParser, type LineReader, lineParser, recordNote, recordSkip } from './stats.js';

const BANG = 0x21;
const BRACKET = 0x5b;
const HASH = 0x23;
const PIPE = 0x7c;
const AT = 0x40;
const CARET = 0x5e;
const SPACE = 0x20;

/** Characters of adblock pattern syntax: a name holding one is a pattern, not a bad name. */
const PATTERN_CHARS = /[/*^|$#:?=&%@]/;

function createAdblockReader(stats: ParseStats): LineReader {
  let lineNo = 0;
  const line = (raw: string, out: ListRule[]): void => {
    lineNo++;
    stats.lines++;
    const s = raw.trim();
    const len = s.length;
    if (len === 0) return;
    const c0 = s.charCodeAt(0);
    if (c0 === BANG) return;
    if (c0 === BRACKET && s.charCodeAt(len - 1) === 0x5d) return;
    if (c0 === HASH && (len === 1 || s.charCodeAt(1) === SPACE)) return;

    let i = 0;
    let action: RuleAction = 'block';
    if (c0 === AT && s.charCodeAt(1) === AT) {
      action = 'allow';
      i = 2;
    }
    let scope: RuleScope;
    if (s.charCodeAt(i) === PIPE && s.charCodeAt(i + 1) === PIPE) {
      scope = 'subtree';
      i += 2;
    } else if (s.charCodeAt(i) === PIPE) {
      scope = 'exact';
      i += 1;
    } else {
      recordSkip(stats, lineNo, 'unsupported-syntax', s);
      return;
    }

    let end = len;
    const dollar = s.indexOf('$', i);
    if (dollar >= 0) {
      if (!importantOnly(s, dollar + 1)) {
        recordSkip(stats, lineNo, 'unsupported-syntax', s);
        return;
      }
      end = dollar;
    }
    // `^` ends the name; `^|` (separator then end of address) means the same to a resolver.
    if (s.charCodeAt(end - 1) === PIPE && s.charCodeAt(end - 2) === CARET) end--;
    if (end <= i || s.charCodeAt(end - 1) !== CARET) {
      recordSkip(stats, lineNo, 'unsupported-syntax', s);
      return;
    }
    end--;
    if (scope === 'subtree' && s.charCodeAt(i) === 0x2a && s.charCodeAt(i + 1) === 0x2e) {
      scope = 'below';
      i += 2;
    }
    const body = s.slice(i, end);
    const r = normalizeListName(body);
    if (r.name === undefined) {
      const reason =
        r.reason === 'bad-character' && PATTERN_CHARS.test(body) ? 'unsupported-syntax' : r.reason;
      recordSkip(stats, lineNo, reason, s);
      return;
    }
    if (scope === 'below') recordNote(stats, 'wildcard-below');
    stats.rules++;
    out.push({ name: r.name, scope, action, line: lineNo });
  };
  return { line, end: () => {} };
}

/** True when the modifier list from `from` to the end is `important` (repeats allowed), nothing else. */
function importantOnly(s: string, from: number): boolean {
  if (from >= s.length) return false;
  for (const m of s.slice(from).split(',')) {
    if (m.trim() !== 'important') return false;
  }
  return true;
}

export const adblockParser: LineParser = lineParser('adblock', createAdblockReader);
