/**
 * Detects a list's format from its first lines. Each non-comment line votes for the format it looks
 * like; the format with most votes wins if it holds at least half of them. Headers decide at once:
 * `[Adblock Plus ...]` is adblock, `$TTL`/`$ORIGIN` is a zone file (RPZ). squidGuard `domains` files are
 * domain lists, so detection answers `domains` for them.
 */
import { normalizeListName } from '../name.js';
import type { ListFormat } from '../types.js';
import { addressKind } from './hosts.js';

/** Non-comment lines that detection looks at. */
export const DETECT_LINES = 200;

/** The formats detection can answer, in the order it reports them. */
export const DETECTABLE: readonly ListFormat[] = ['hosts', 'domains', 'adblock', 'rpz'];

const RR_TYPES = new Set(['SOA', 'NS', 'CNAME', 'A', 'AAAA', 'TXT', 'DNAME']);

export function detectFormat(sampleLines: readonly string[]): ListFormat | null {
  const votes = { hosts: 0, domains: 0, adblock: 0, rpz: 0 };
  let considered = 0;
  for (const line of sampleLines) {
    if (considered >= DETECT_LINES) break;
    const s = line.trim();
    if (s === '') continue;
    if (/^\[(adblock|adguard|ublock)/i.test(s)) return 'adblock';
    if (/^\$(ttl|origin)\b/i.test(s)) return 'rpz';
    const c0 = s.charCodeAt(0);
    // '#', '!' and ';' comments (a lone '##rule' is cosmetic adblock syntax, counted below).
    if ((c0 === 0x23 && s.charCodeAt(1) !== 0x23) || c0 === 0x21 || c0 === 0x3b) continue;
    considered++;
    const kind = classify(s);
    if (kind !== null) votes[kind]++;
  }
  let best: ListFormat | null = null;
  let bestVotes = 0;
  for (const format of DETECTABLE) {
    const v = votes[format as keyof typeof votes];
    if (v > bestVotes) {
      best = format;
      bestVotes = v;
    }
  }
  return best !== null && bestVotes * 2 >= considered ? best : null;
}

function classify(s: string): 'hosts' | 'domains' | 'adblock' | 'rpz' | null {
  if (s.startsWith('||') || s.startsWith('@@') || s.startsWith('|')) return 'adblock';
  const tokens = s.split(/\s+/, 6);
  if (tokens.length >= 2 && addressKind(tokens[0]) !== 0) return 'hosts';
  // A record type after the owner (or a blank owner) and an optional TTL and class, with data after it.
  for (let i = 0; i + 1 < tokens.length && i < 4; i++) {
    if (RR_TYPES.has(tokens[i].toUpperCase())) return 'rpz';
  }
  if (s.includes('##') || s.includes('#@#')) return 'adblock'; // cosmetic rules
  if (tokens.length === 1 || (tokens.length > 1 && tokens[1].startsWith('#'))) {
    let name = tokens[0];
    if (name.startsWith('*.')) name = name.slice(2);
    else if (name.startsWith('.')) name = name.slice(1);
    if (normalizeListName(name).name !== undefined) return 'domains';
  }
  return null;
}
