/**
 * RPZ zone files (Response Policy Zones, draft-vixie-dnsop-dns-rpz), as BIND, Unbound and Knot load them.
 * Only QNAME triggers are read; the policy is the owner's record:
 *
 * | record                         | rule                                                         |
 * |--------------------------------|--------------------------------------------------------------|
 * | `name CNAME .`                 | nxdomain, exact                                              |
 * | `*.name CNAME .`               | nxdomain, below (with `name CNAME .` next to it: one subtree)|
 * | `name CNAME *.`                | nodata                                                       |
 * | `name CNAME rpz-passthru.`     | allow (also BIND's legacy form `name CNAME name.`)           |
 * | `name CNAME rpz-drop.`         | nxdomain: roje does not drop silently; counted as `rpz-drop` |
 * | `name A/AAAA/TXT ...`, `CNAME target.` | local data; records of one owner merge into one rule |
 *
 * Triggers other than QNAME (`rpz-ip`, `rpz-nsdname`, `rpz-nsip`, `rpz-client-ip`), `rpz-tcp-only.`,
 * wildcard CNAME targets, other record types, `$INCLUDE` and `$GENERATE` are `unsupported-syntax`.
 *
 * Zone file syntax handled: `$ORIGIN`, `$TTL`, `;` comments, `(...)` across lines, quoted strings, a blank
 * owner (the previous owner), `@`, optional TTL and class in either order, names relative to the origin
 * or absolute (the zone's own origin is stripped: `bad.example.rpz.zone. CNAME .` with `$ORIGIN
 * rpz.zone.` is `bad.example`). Without `$ORIGIN`, an absolute SOA owner names the zone. SOA and NS at
 * the apex are the zone's structure and are ignored.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { normalizeListName } from '../name.js';
import type { ListRule, LocalRecord, ParseStats, RuleAction, RuleScope, SkipReason } from '../types.js';
import {
  isBlank,
  type LineParser,
  type LineReader,
  lineParser,
  recordNote,
  recordSkip,
  splitBlanks,
} from './stats.js';

const TRIGGER_LABELS = new Set(['rpz-ip', 'rpz-nsdname', 'rpz-nsip', 'rpz-client-ip']);
const CLASSES = new Set(['IN', 'CH', 'HS', 'CS', 'ANY']);
/** A record in parentheses longer than this is not an RPZ record: skip it rather than buffer the file. */
const MAX_RECORD_LINES = 64;

type Outcome = ListRule | SkipReason | null;

class RpzReader {
  /** Lowercase, no trailing dot; '' = the root; null = not known (no $ORIGIN, no absolute SOA owner). */
  origin: string | null = null;
  /** The previous owner, relative to the origin ('' = apex), for records with a blank owner. */
  previousOwner: string | null = null;
  /** The rule not yet yielded: the next record may merge into it. */
  pending: ListRule | null = null;

  constructor(readonly stats: ParseStats) {}

  /** Reads one record's tokens. Returns a rule, a skip reason, or null (directive, apex record). */
  record(tokens: string[], n: number, blankOwner: boolean, line: number): Outcome {
    if (!blankOwner && tokens[0].charCodeAt(0) === 0x24) return this.directive(tokens, n);
    let i = blankOwner ? 0 : 1;
    // Optional TTL and class, in either order.
    for (let k = 0; k < 2 && i < n; k++) {
      const t = tokens[i];
      if (isTtl(t) || (t.length <= 3 && CLASSES.has(t.toUpperCase()))) i++;
      else break;
    }
    if (i >= n) return 'unsupported-syntax';
    const type = tokens[i] === 'CNAME' ? 'CNAME' : tokens[i].toUpperCase();
    const rdata = i + 1;

    let owner: string | null;
    if (blankOwner) {
      owner = this.previousOwner;
      if (owner === null) return 'unsupported-syntax';
    } else {
      const token = tokens[0].toLowerCase();
      if (type === 'SOA' && this.origin === null && token.length > 1 && token.endsWith('.')) {
        this.origin = token.slice(0, -1);
      }
      owner = this.relative(token);
      if (owner === null) return 'unsupported-syntax'; // out of zone
      this.previousOwner = owner;
    }
    if (owner === '') return type === 'SOA' || type === 'NS' ? null : 'unsupported-syntax';

    if (owner.includes('rpz-')) {
      for (const label of owner.split('.')) if (TRIGGER_LABELS.has(label)) return 'unsupported-syntax';
    }
    let scope: RuleScope = 'exact';
    let name = owner;
    if (name.charCodeAt(0) === 0x2a && name.charCodeAt(1) === 0x2e) {
      scope = 'below';
      name = name.slice(2);
    }
    const r = normalizeListName(name);
    if (r.name === undefined) return r.reason;
    name = r.name;

    let action: RuleAction;
    let local: LocalRecord | undefined;
    if (rdata >= n) return 'unsupported-syntax';
    switch (type) {
      case 'CNAME': {
        if (n > rdata + 1) return 'unsupported-syntax';
        const target = tokens[rdata].toLowerCase();
        if (target === '.') action = 'nxdomain';
        else if (target === '*.') action = 'nodata';
        else if (target === 'rpz-passthru.' || target === 'rpz-passthru') action = 'allow';
        else if (target === 'rpz-drop.' || target === 'rpz-drop') {
          action = 'nxdomain';
          recordNote(this.stats, 'rpz-drop');
        } else if (target.startsWith('rpz-') || target.charCodeAt(0) === 0x2a) {
          return 'unsupported-syntax'; // rpz-tcp-only., rpz-skipzone., wildcard targets (*.example.)
        } else {
          const absolute = target.endsWith('.');
          const full = absolute ? target.slice(0, -1) : this.origin ? `${target}.${this.origin}` : target;
          // BIND's legacy passthru: a CNAME to the owner name without the zone's origin (the query name).
          if (absolute && scope === 'exact' && full === name) {
            action = 'allow';
            break;
          }
          const t = normalizeListName(full);
          if (t.name === undefined) return t.reason;
          action = 'local';
          local = { type: 'CNAME', data: t.name };
        }
        break;
      }
      case 'A':
        if (n > rdata + 1 || !isIPv4(tokens[rdata])) return 'unsupported-syntax';
        action = 'local';
        local = { type: 'A', data: tokens[rdata] };
        break;
      case 'AAAA':
        if (n > rdata + 1 || !isIPv6(tokens[rdata])) return 'unsupported-syntax';
        action = 'local';
        local = { type: 'AAAA', data: tokens[rdata].toLowerCase() };
        break;
      case 'TXT': {
        let text = '';
        for (let k = rdata; k < n; k++) text += unquote(tokens[k]);
        action = 'local';
        local = { type: 'TXT', data: text };
        break;
      }
      default:
        return 'unsupported-syntax';
    }
    return local === undefined
      ? { name, scope, action, line }
      : { name, scope, action, local: [local], line };
  }

  /**
   * Folds `rule` into the pending rule when it belongs there (more local data for the same owner, or
   * the `name`/`*.name` pair of one policy); otherwise returns the pending rule to yield and keeps `rule`.
   */
  merge(rule: ListRule): ListRule | null {
    const p = this.pending;
    if (p !== null && p.name === rule.name && p.action === rule.action) {
      if (rule.action === 'local') {
        if (p.scope === rule.scope) {
          p.local!.push(rule.local![0]);
          return null;
        }
      } else if (
        (p.scope === 'exact' && rule.scope === 'below') ||
        (p.scope === 'below' && rule.scope === 'exact')
      ) {
        p.scope = 'subtree';
        recordNote(this.stats, 'rpz-merged');
        return null;
      } else if (p.scope === rule.scope || p.scope === 'subtree') {
        return null; // a repeated record: the rule is already pending
      }
    }
    this.pending = rule;
    return p;
  }

  flush(): ListRule | null {
    const p = this.pending;
    this.pending = null;
    return p;
  }

  private directive(tokens: string[], n: number): Outcome {
    const d = tokens[0].toUpperCase();
    if (d === '$TTL') return null;
    if (d === '$ORIGIN' && n >= 2) {
      const token = tokens[1].toLowerCase();
      if (token === '.') this.origin = '';
      else if (token.endsWith('.')) this.origin = token.slice(0, -1);
      else this.origin = this.origin ? `${token}.${this.origin}` : token;
      this.previousOwner = null;
      return null;
    }
    return 'unsupported-syntax'; // $INCLUDE (no file reads from a list), $GENERATE
  }

  /** An owner token relative to the origin: '' for the apex, null when outside the zone. */
  private relative(token: string): string | null {
    if (token === '@') return '';
    if (!token.endsWith('.')) return token;
    const name = token.slice(0, -1);
    const origin = this.origin;
    if (origin === null || origin === '') return name;
    if (name === origin) return '';
    if (
      name.length > origin.length &&
      name.endsWith(origin) &&
      name.charCodeAt(name.length - origin.length - 1) === 0x2e
    ) {
      return name.slice(0, name.length - origin.length - 1);
    }
    return null;
  }
}

function isTtl(token: string): boolean {
  const c = token.charCodeAt(0);
  if (c < 0x30 || c > 0x39) return false;
  for (let i = 1; i < token.length; i++) {
    const d = token.charCodeAt(i) | 0x20;
    if (!((d >= 0x30 && d <= 0x39) || d === 0x73 || d === 0x6d || d === 0x68 || d === 0x64 || d === 0x77)) {
      return false;
    }
  }
  return true;
}

/** A quoted token's text with `\X` and `\DDD` escapes resolved; an unquoted token as it is. */
function unquote(token: string): string {
  const quoted =
    token.length >= 2 && token.charCodeAt(0) === 0x22 && token.charCodeAt(token.length - 1) === 0x22;
  const s = quoted ? token.slice(1, -1) : token;
  if (s.indexOf('\\') < 0) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c !== '\\' || i + 1 >= s.length) {
      out += c;
      continue;
    }
    const digits = s.slice(i + 1, i + 4);
    if (/^\d{3}$/.test(digits)) {
      out += String.fromCharCode(Number(digits) & 0xff);
      i += 3;
    } else {
      out += s[i + 1];
      i += 1;
    }
  }
  return out;
}

/**
 * Tokenizes one line of zone file syntax into `out` from index `n`: blanks separate, `;` starts a
 * comment, `(` and `)` only change `depth.value`, a quoted string (with `\"` escapes) is one token that
 * keeps its quotes. Returns the new token count.
 */
function tokenizeZoneLine(s: string, out: string[], n: number, depth: { value: number }): number {
  const len = s.length;
  let i = 0;
  while (i < len) {
    const c = s.charCodeAt(i);
    if (isBlank(c)) {
      i++;
    } else if (c === 0x3b) {
      break;
    } else if (c === 0x28) {
      depth.value++;
      i++;
    } else if (c === 0x29) {
      depth.value--;
      i++;
    } else if (c === 0x22) {
      let j = i + 1;
      while (j < len && s.charCodeAt(j) !== 0x22) j += s.charCodeAt(j) === 0x5c ? 2 : 1;
      out[n++] = s.slice(i, Math.min(j + 1, len));
      i = j + 1;
    } else {
      const start = i;
      while (i < len) {
        const d = s.charCodeAt(i);
        if (isBlank(d) || d === 0x3b || d === 0x28 || d === 0x29 || d === 0x22) break;
        i += d === 0x5c ? 2 : 1;
      }
      out[n++] = s.slice(start, Math.min(i, len));
    }
  }
  return n;
}

function createRpzReader(stats: ParseStats): LineReader {
  const reader = new RpzReader(stats);
  const tokens: string[] = [];
  const depth = { value: 0 };
  let lineNo = 0;
  // A record continued across lines: where it started, its tokens so far, its text for a sample.
  let n = 0;
  let recordLine = 0;
  let recordLines = 0;
  let blankOwner = false;
  let text = '';

  const line = (raw: string, out: ListRule[]): void => {
    lineNo++;
    stats.lines++;
    if (depth.value === 0) {
      // The hot path: no quotes or parentheses, a comment cut at ';'.
      const simple = raw.indexOf('"') < 0 && raw.indexOf('(') < 0 && raw.indexOf(')') < 0;
      if (simple) {
        const semi = raw.indexOf(';');
        n = splitBlanks(semi < 0 ? raw : raw.slice(0, semi), tokens);
      } else {
        n = tokenizeZoneLine(raw, tokens, 0, depth);
      }
      if (n === 0 && depth.value === 0) return;
      recordLine = lineNo;
      recordLines = 1;
      blankOwner = raw.length > 0 && isBlank(raw.charCodeAt(0));
      text = raw;
    } else {
      n = tokenizeZoneLine(raw, tokens, n, depth);
      recordLines++;
      if (text.length < 200) text += ` ${raw.trim()}`;
    }
    if (depth.value > 0) {
      if (recordLines < MAX_RECORD_LINES) return;
      recordSkip(stats, recordLine, 'unsupported-syntax', text.trim());
      depth.value = 0;
      return;
    }
    if (depth.value < 0 || n === 0) {
      depth.value = 0;
      recordSkip(stats, recordLine, 'unsupported-syntax', text.trim());
      return;
    }
    const outcome = reader.record(tokens, n, blankOwner, recordLine);
    if (outcome === null) return;
    if (typeof outcome === 'string') {
      recordSkip(stats, recordLine, outcome, text.trim());
      return;
    }
    const ready = reader.merge(outcome);
    if (ready !== null) {
      stats.rules++;
      out.push(ready);
    }
  };

  const end = (out: ListRule[]): void => {
    if (depth.value > 0) recordSkip(stats, recordLine, 'unsupported-syntax', text.trim());
    depth.value = 0;
    const last = reader.flush();
    if (last !== null) {
      stats.rules++;
      out.push(last);
    }
  };
  return { line, end };
}

export const rpzParser: LineParser = lineParser('rpz', createRpzReader);
