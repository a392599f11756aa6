/**
 * One parsed source as bytes: what the parser said about it (format, counts, sample lines) and its rules,
 * length-prefixed, so that a compile can feed the builder from it without reading or parsing the list.
 * A rule is a flags byte (scope, action, digest, page, local data), its line as a varint, then its name
 * (or its digest) and, rarely, its local data as JSON: about the name's length plus 3 bytes a rule.
 */
import type { ListFormat, ListRule, ParseStats, RuleAction, RuleScope } from '../types.js';

/** What the parser reported about the source, kept beside its rules. */
export interface ParsedMeta {
  /** The format it was read as (detected when `auto` was asked). */
  format: ListFormat;
  stats: ParseStats;
  /** Bytes of the file as stored (compressed if .gz). */
  bytes: number;
  /** Rules in the entry. */
  count: number;
}

export interface ParsedSource {
  meta: ParsedMeta;
  /** The encoded entry (meta and rules): what the cache keeps and writes. */
  bytes: Uint8Array;
}

const SCOPES: readonly RuleScope[] = ['subtree', 'exact', 'below'];
const ACTIONS: readonly RuleAction[] = ['block', 'allow', 'nxdomain', 'nodata', 'local'];
const SCOPE_CODE = new Map(SCOPES.map((s, i) => [s, i]));
const ACTION_CODE = new Map(ACTIONS.map((a, i) => [a, i]));
const F_DIGEST = 0x20;
const F_PAGE = 0x40;
const F_LOCAL = 0x80;
/** A name length byte that says "not ASCII: a varint byte length and UTF-8 follow" (names are <= 253). */
const WIDE_NAME = 0xff;

/** Appends rules as they are parsed; finish() gives the entry. */
export interface RuleEncoder {
  add(rule: ListRule): void;
  finish(meta: Omit<ParsedMeta, 'count'>): ParsedSource;
}

export function createRuleEncoder(): RuleEncoder {
  let buf = Buffer.allocUnsafe(1 << 16);
  let pos = 0;
  let count = 0;
  const room = (n: number) => {
    if (pos + n <= buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(pos + n, buf.length * 2));
    buf.copy(next, 0, 0, pos);
    buf = next;
  };
  const varint = (v: number) => {
    while (v >= 0x80) {
      buf[pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    buf[pos++] = v;
  };
  return {
    add(rule) {
      const name = rule.name;
      room(name.length * 3 + 48 + (rule.digest?.length ?? 0));
      let flags = (SCOPE_CODE.get(rule.scope) ?? 0) | ((ACTION_CODE.get(rule.action) ?? 0) << 2);
      if (rule.digest !== undefined) flags |= F_DIGEST;
      if (rule.page === true) flags |= F_PAGE;
      if (rule.local !== undefined) flags |= F_LOCAL;
      buf[pos++] = flags;
      varint(rule.line);
      if (rule.digest !== undefined) {
        buf[pos++] = rule.digest.length;
        buf.set(rule.digest, pos);
        pos += rule.digest.length;
      } else if (isAscii(name)) {
        buf[pos++] = name.length;
        for (let i = 0; i < name.length; i++) buf[pos++] = name.charCodeAt(i);
      } else {
        buf[pos++] = WIDE_NAME;
        const wide = Buffer.from(name, 'utf8');
        varint(wide.length);
        room(wide.length);
        wide.copy(buf, pos);
        pos += wide.length;
      }
      if (rule.local !== undefined) {
        const json = Buffer.from(JSON.stringify(rule.local), 'utf8');
        room(json.length + 8);
        varint(json.length);
        json.copy(buf, pos);
        pos += json.length;
      }
      count++;
    },
    finish(partial) {
      const meta: ParsedMeta = { ...partial, count };
      const head = Buffer.from(JSON.stringify(meta), 'utf8');
      // Its own memory, never a slice of Node's pool: a worker moves it to the main thread.
      const out = Buffer.allocUnsafeSlow(4 + head.length + pos);
      out.writeUInt32LE(head.length, 0);
      head.copy(out, 4);
      buf.copy(out, 4 + head.length, 0, pos);
      return { meta, bytes: out };
    },
  };
}

function isAscii(s: string): boolean {
  if (s.length > 253) return false;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** The meta of an encoded entry and where its rules start; throws on bytes that are not an entry. */
export function decodeMeta(bytes: Uint8Array): { meta: ParsedMeta; rulesAt: number } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = buf.readUInt32LE(0);
  if (4 + len > buf.length) throw new Error('truncated parse cache entry');
  const meta = JSON.parse(buf.toString('utf8', 4, 4 + len)) as ParsedMeta;
  if (typeof meta?.format !== 'string' || typeof meta.count !== 'number' || typeof meta.stats !== 'object') {
    throw new Error('not a parse cache entry');
  }
  return { meta, rulesAt: 4 + len };
}

/**
 * Whether the rules of an entry are well formed (lengths in bounds, as many as the meta says), walked
 * without building them: an entry read from disk is checked before any of its rules reach a builder.
 */
export function entryIsWhole(bytes: Uint8Array): boolean {
  try {
    const { meta, rulesAt } = decodeMeta(bytes);
    let pos = rulesAt;
    const end = bytes.length;
    const skipVarint = () => {
      let v = 0;
      let mul = 1;
      for (;;) {
        if (pos >= end) throw new Error('truncated');
        const b = bytes[pos++];
        v += (b & 0x7f) * mul;
        if (b < 0x80) return v;
        mul *= 128;
      }
    };
    for (let n = 0; n < meta.count; n++) {
      const flags = bytes[pos++];
      skipVarint();
      const len = bytes[pos++];
      // Each length read first: `pos += skipVarint()` would add to pos as it was before the varint.
      const name = (flags & F_DIGEST) === 0 && len === WIDE_NAME ? skipVarint() : len;
      pos += name;
      if ((flags & F_LOCAL) !== 0) {
        const local = skipVarint();
        pos += local;
      }
      if (pos > end) return false;
    }
    return pos === end;
  } catch {
    return false;
  }
}

/**
 * The rules of an encoded entry, `batch` at a time (one array a batch, the caller's). Throws when the
 * bytes end early or hold more rules than the meta says: the caller then parses the source instead.
 */
export function* decodeRules(bytes: Uint8Array, batch = 4096): Generator<ListRule[]> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { meta, rulesAt } = decodeMeta(bytes);
  let pos = rulesAt;
  const end = buf.length;
  const need = (n: number) => {
    if (pos + n > end) throw new Error('truncated parse cache entry');
  };
  const varint = () => {
    let v = 0;
    let mul = 1;
    for (;;) {
      need(1);
      const b = buf[pos++];
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
  };
  let out: ListRule[] = [];
  for (let n = 0; n < meta.count; n++) {
    need(2);
    const flags = buf[pos++];
    const rule: ListRule = {
      name: '',
      scope: SCOPES[flags & 0x03] ?? 'subtree',
      action: ACTIONS[(flags >> 2) & 0x07] ?? 'block',
      line: varint(),
    };
    need(1);
    const len = buf[pos++];
    if ((flags & F_DIGEST) !== 0) {
      need(len);
      rule.digest = Buffer.from(buf.subarray(pos, pos + len));
      pos += len;
    } else if (len === WIDE_NAME) {
      const wide = varint();
      need(wide);
      rule.name = buf.toString('utf8', pos, pos + wide);
      pos += wide;
    } else {
      need(len);
      rule.name = buf.toString('latin1', pos, pos + len);
      pos += len;
    }
    if ((flags & F_PAGE) !== 0) rule.page = true;
    if ((flags & F_LOCAL) !== 0) {
      const json = varint();
      need(json);
      rule.local = JSON.parse(buf.toString('utf8', pos, pos + json));
      pos += json;
    }
    out.push(rule);
    if (out.length >= batch) {
      yield out;
      out = [];
    }
  }
  if (pos !== end) throw new Error('parse cache entry longer than its rules');
  if (out.length > 0) yield out;
}
