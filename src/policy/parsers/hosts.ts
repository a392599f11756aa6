/**
 * Hosts files: `0.0.0.0 name [name...]`, `127.0.0.1 name`, `:: name`, `::1 name`, `#` comments.
 *
 * A name mapped to a sinkhole address (0.0.0.0, 127.x, ::, ::1) is blocked with its subtree, like every
 * other list format. A name mapped to a routable address is what a hosts file literally says: answer this
 * address for this name (SafeSearch lists map google.* to forcesafesearch.google.com's address that way),
 * so it becomes local data for the name itself, counted as the `hosts-local` note. Blocking those names
 * instead would take Google and Bing down for a whole venue.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { normalizeListName } from '../name.js';
import type { ListRule, ParseStats } from '../types.js';
import {
  type LineParser,
  type LineReader,
  lineParser,
  recordNote,
  recordSkip,
  splitBlanks,
} from './stats.js';

/** Names every stock hosts file carries for the machine itself: not list entries. */
const HOST_NAMES = new Set(['localhost', 'localhost.localdomain', 'broadcasthost', 'local', '0.0.0.0']);

const SINK = 1;
const V4 = 2;
const V6 = 3;

/** SINK, V4, V6, or 0 when the token is not an address. */
export function addressKind(token: string): number {
  if (token === '0.0.0.0' || token === '127.0.0.1' || token === '::' || token === '::1') return SINK;
  const c = token.charCodeAt(0);
  // Cheap reject before node:net: an address starts with a hex digit or a colon.
  const hex = (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46) || c === 0x3a;
  if (!hex) return 0;
  if (isIPv4(token)) return token.startsWith('127.') ? SINK : V4;
  const zone = token.indexOf('%');
  // A zone id (fe80::1%lo0) is a link-local, machine-local address: never an answer to hand out.
  if (zone > 0) return isIPv6(token.slice(0, zone)) ? SINK : 0;
  if (isIPv6(token)) return /^[0:]*$/.test(token) || /^[0:]*:0{0,3}1$/.test(token) ? SINK : V6;
  return 0;
}

function isHostName(token: string): boolean {
  // Every name to ignore starts with l, b, i or 0: most names leave here without a lookup.
  const c = token.charCodeAt(0) | 0x20;
  if (c !== 0x6c && c !== 0x62 && c !== 0x69 && c !== 0x30) return false;
  if (HOST_NAMES.has(token)) return true;
  if (token.startsWith('ip6-')) return token.indexOf('.') < 0;
  const lower = token.toLowerCase();
  return lower !== token && (HOST_NAMES.has(lower) || (lower.startsWith('ip6-') && lower.indexOf('.') < 0));
}

function createHostsReader(stats: ParseStats): LineReader {
  const tokens: string[] = [];
  let lineNo = 0;
  const line = (raw: string, out: ListRule[]): void => {
    lineNo++;
    stats.lines++;
    // The common line, "0.0.0.0 name" and nothing else, without tokenizing: a blank or '#' after the
    // name makes it fail normalization and take the general path below.
    if (raw.startsWith('0.0.0.0 ')) {
      const r = normalizeListName(raw.slice(8));
      if (r.name !== undefined) {
        if (!isHostName(r.name)) {
          stats.rules++;
          out.push({ name: r.name, scope: 'subtree', action: 'block', line: lineNo });
        }
        return;
      }
    }
    const hash = raw.indexOf('#');
    const n = splitBlanks(hash < 0 ? raw : raw.slice(0, hash), tokens);
    if (n === 0) return;
    const address = tokens[0];
    const kind = addressKind(address);
    if (kind === 0 || n === 1) {
      recordSkip(stats, lineNo, 'unsupported-syntax', raw.trim());
      return;
    }
    for (let i = 1; i < n; i++) {
      const token = tokens[i];
      if (isHostName(token)) continue;
      const r = normalizeListName(token);
      if (r.name === undefined) {
        recordSkip(stats, lineNo, r.reason, raw.trim());
        continue;
      }
      stats.rules++;
      if (kind === SINK) {
        out.push({ name: r.name, scope: 'subtree', action: 'block', line: lineNo });
      } else {
        recordNote(stats, 'hosts-local');
        out.push({
          name: r.name,
          scope: 'exact',
          action: 'local',
          local: [{ type: kind === V4 ? 'A' : 'AAAA', data: address }],
          line: lineNo,
        });
      }
    }
  };
  return { line, end: () => {} };
}

export const hostsParser: LineParser = lineParser('hosts', createHostsReader);
