/**
 * Venues and their effective policies. A venue is a set of client networks (a café, a library); its
 * policy says which categories are blocked, what the venue adds to allow or deny, and how a blocked
 * name is answered. Everything here runs at startup, on reload and once per list swap; the per-query
 * parts (venue of an address, the additions' match) allocate nothing on their common path.
 */
import { encodeName } from '../dns/name.js';
import { RojeError } from '../errors.js';
import { createCidrMatcher, parseCidr } from '../net/cidr.js';
import type { BlockMode } from './block-answer.js';
import { normalizeListName } from './name.js';
import { CONFIDENTIAL_CATEGORIES, type CompiledLists } from './types.js';

/** One policy, as the config gives it (names already normalized by config validation or not: both work). */
export interface PolicySettings {
  block: 'all' | readonly string[];
  blockMode: BlockMode;
  /** Names (each with its subtree) never blocked for this policy's clients. */
  allow?: readonly string[];
  /** Names (each with its subtree) always blocked for this policy's clients. */
  deny?: readonly string[];
}

export interface VenueSettings {
  name: string;
  /** CIDRs; IPv4-mapped IPv6 networks match IPv4 clients. */
  networks: readonly string[];
  /** A key of the policies map. */
  policy: string;
}

/** Name of the policy unknown clients get, and of the pseudo-venue they belong to. */
export const DEFAULT_POLICY = 'default';

/** Distinct client addresses whose venue is remembered; beyond it the memo starts over. */
const VENUE_MEMO_MAX = 65_536;

/**
 * `(clientAddress) => index into venues`, or -1 for a client of no venue (it gets the default policy).
 * The longest matching prefix wins, whatever the order of the venues. Addresses are remembered (a
 * venue's clients are few and come back), so the scan over the networks runs once per client address.
 */
export function createVenueResolver(
  venues: readonly Pick<VenueSettings, 'networks'>[],
): (address: string) => number {
  const entries: { prefix: number; venue: number; match: (address: string) => boolean }[] = [];
  venues.forEach((venue, index) => {
    for (const text of venue.networks) {
      const c = parseCidr(text);
      // An IPv4-mapped network is an IPv4 network: rank it by its IPv4 prefix.
      const mapped =
        c.version === 6 &&
        c.prefix >= 96 &&
        c.words[5] === 0xffff &&
        c.words[0] === 0 &&
        c.words[1] === 0 &&
        c.words[2] === 0 &&
        c.words[3] === 0 &&
        c.words[4] === 0;
      const prefix = c.version === 4 ? c.prefix : mapped ? c.prefix - 96 : c.prefix;
      entries.push({ prefix, venue: index, match: createCidrMatcher([text]) });
    }
  });
  // Longest prefix first; among equal prefixes (the same network listed twice) the first venue wins.
  entries.sort((a, b) => b.prefix - a.prefix || a.venue - b.venue);
  const n = entries.length;
  const memo = new Map<string, number>();

  return (address: string): number => {
    if (n === 0) return -1;
    const known = memo.get(address);
    if (known !== undefined) return known;
    let found = -1;
    for (let i = 0; i < n; i++) {
      if (entries[i].match(address)) {
        found = entries[i].venue;
        break;
      }
    }
    if (memo.size >= VENUE_MEMO_MAX) memo.clear();
    memo.set(address, found);
    return found;
  };
}

/** What a venue's additions say about a name. */
export const ADD_NONE = 0;
export const ADD_ALLOW = 1;
export const ADD_DENY = 2;

/**
 * A venue's allow and deny additions: a few names, each covering its subtree, matched on wire-form
 * names without allocating. They are few (tens), so entries are kept per wire length and compared byte
 * by byte, the deepest suffix of the query name first: the most specific entry decides, and at one
 * name allow beats deny (as in the lists).
 */
export interface Additions {
  readonly size: number;
  /**
   * ADD_ALLOW, ADD_DENY or ADD_NONE for the name at buf[start] (uncompressed labels ending with the
   * root label). Case-insensitive.
   */
  matchWire(buf: Buffer, start: number): number;
}

const LABEL_STARTS = new Int32Array(128);
const SUFFIX_HASHES = new Int32Array(128);
/**
 * From this many entries on, the additions are found by a hash of each suffix (one Map lookup per
 * suffix) rather than by comparing every entry of that wire length: a venue's config holds tens, but
 * run-time overrides (src/overrides) may add thousands, many of one length.
 */
const HASHED_FROM = 32;
const FNV_BASIS = 0x811c9dc5 | 0;
const FNV_PRIME = 16777619;

/**
 * FNV-1a of each suffix of the name whose labels start at `starts[0..labels)`, lowercased, computed
 * from the last label back so that the whole pass reads each byte once.
 */
function suffixHashes(buf: Buffer, starts: Int32Array, labels: number, out: Int32Array): void {
  let h = FNV_BASIS;
  for (let i = labels - 1; i >= 0; i--) {
    const s = starts[i];
    const l = buf[s];
    h = Math.imul(h ^ l, FNV_PRIME);
    for (let k = s + 1; k <= s + l; k++) {
      let c = buf[k];
      if (c >= 0x41 && c <= 0x5a) c |= 0x20;
      h = Math.imul(h ^ c, FNV_PRIME);
    }
    out[i] = h;
  }
}

/** The label starts of a wire name at buf[start]; -1 when it is malformed. */
function labelStarts(buf: Buffer, start: number): number {
  let p = start;
  let labels = 0;
  const len = buf.length;
  while (p < len && labels < 127) {
    const l = buf[p];
    if (l === 0 || l > 63) break;
    LABEL_STARTS[labels++] = p;
    p += l + 1;
  }
  return p >= len || buf[p] !== 0 ? -1 : labels;
}

interface Entry {
  wire: Buffer;
  verdict: number;
}

export function createAdditions(allow: readonly string[], deny: readonly string[], what: string): Additions {
  const byLength = new Map<number, Entry[]>();
  let size = 0;
  const add = (raw: string, verdict: number, kind: string) => {
    const n = normalizeListName(raw.startsWith('*.') ? raw.slice(2) : raw);
    if (n.name === undefined) {
      throw new RojeError(
        'ROJE_ERR_CONFIG_INVALID',
        `${what} ${kind}: ${JSON.stringify(raw)} is not a domain name (${n.reason}): give a name such as example.com`,
      );
    }
    const wire = encodeName(n.name);
    const list = byLength.get(wire.length) ?? [];
    const same = list.find((e) => e.wire.equals(wire));
    if (same !== undefined) {
      // Listed in both: allow wins at one name.
      if (verdict === ADD_ALLOW) same.verdict = ADD_ALLOW;
      return;
    }
    list.push({ wire, verdict });
    byLength.set(wire.length, list);
    size++;
  };
  for (const name of allow) add(name, ADD_ALLOW, 'allow');
  for (const name of deny) add(name, ADD_DENY, 'deny');
  // Dense table by wire length (<= 255): one array index per suffix instead of a Map lookup.
  const table: (Entry[] | undefined)[] = new Array(256).fill(undefined);
  for (const [len, list] of byLength) table[len] = list;
  // Many entries: by suffix hash instead (collisions are told apart by comparing the names).
  let hashed: Map<number, Entry[]> | null = null;
  if (size >= HASHED_FROM) {
    hashed = new Map();
    for (const list of byLength.values()) {
      for (const e of list) {
        suffixHashes(e.wire, LABEL_STARTS, labelStarts(e.wire, 0), SUFFIX_HASHES);
        const h = SUFFIX_HASHES[0];
        const same = hashed.get(h);
        if (same === undefined) hashed.set(h, [e]);
        else same.push(e);
      }
    }
  }

  return {
    size,
    matchWire(buf: Buffer, start: number): number {
      if (size === 0) return ADD_NONE;
      // The root name (no label) matches no entry; a malformed one none either.
      const labels = labelStarts(buf, start);
      if (labels <= 0) return ADD_NONE;
      const last = LABEL_STARTS[labels - 1];
      const end = last + buf[last] + 2;
      if (hashed !== null) {
        suffixHashes(buf, LABEL_STARTS, labels, SUFFIX_HASHES);
        for (let i = 0; i < labels; i++) {
          const list = hashed.get(SUFFIX_HASHES[i]);
          if (list === undefined) continue;
          const s = LABEL_STARTS[i];
          for (let k = 0; k < list.length; k++) {
            const e = list[k];
            if (e.wire.length === end - s && sameName(e.wire, buf, s)) return e.verdict;
          }
        }
        return ADD_NONE;
      }
      // The full name first: the deepest entry decides.
      for (let i = 0; i < labels; i++) {
        const s = LABEL_STARTS[i];
        const list = table[end - s];
        if (list === undefined) continue;
        for (let k = 0; k < list.length; k++) if (sameName(list[k].wire, buf, s)) return list[k].verdict;
      }
      return ADD_NONE;
    },
  };
}

function sameName(entry: Buffer, buf: Buffer, start: number): boolean {
  const n = entry.length;
  for (let i = 0; i < n; i++) {
    let c = buf[start + i];
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c !== entry[i]) return false;
  }
  return true;
}

/** A policy made ready for one CompiledLists: its categories as a bit mask, its additions as name sets. */
export interface EffectivePolicy {
  /** Venue name ('default' for clients of no venue), for logs. */
  venue: string;
  /** Venue index (-1 for the default pseudo-venue), for metrics. */
  venueIndex: number;
  policy: string;
  /** Bit i set: categories[i] of the lists is blocked here. */
  blockMask: number;
  blockMode: BlockMode;
  /** The policy's allow and deny additions (with the run-time overrides merged in, src/overrides). */
  additions: Additions;
  /** The confidential (abuse) categories this policy blocks: no allow addition or override passes them. */
  abuseMask: number;
}

/**
 * One EffectivePolicy per venue, in venue order, then the default's (clients of no venue) last.
 * A category the lists lack has no bit: the config and the lists service refuse such a policy before
 * it gets here (config/policy-categories.ts), unless it is `abuse` or optional, which the status reports.
 */
export function effectivePolicies(
  venues: readonly VenueSettings[],
  policies: Readonly<Record<string, PolicySettings>>,
  lists: Pick<CompiledLists, 'categories'>,
): EffectivePolicy[] {
  const perPolicy = new Map<string, Omit<EffectivePolicy, 'venue' | 'venueIndex'>>();
  const resolvePolicy = (name: string) => {
    let p = perPolicy.get(name);
    if (p !== undefined) return p;
    const settings = policies[name] ?? (name === DEFAULT_POLICY ? DEFAULT_SETTINGS : undefined);
    if (settings === undefined)
      throw new RojeError(
        'ROJE_ERR_CONFIG_INVALID',
        `policy ${JSON.stringify(name)} is not defined: add it under \`policies\` or name an existing one`,
      );
    let mask = 0;
    if (settings.block === 'all') {
      mask = lists.categories.length >= 32 ? -1 : (1 << lists.categories.length) - 1;
    } else {
      for (const category of settings.block) {
        const bit = lists.categories.indexOf(category);
        if (bit >= 0) mask |= 1 << bit;
      }
    }
    let abuseMask = 0;
    lists.categories.forEach((c, bit) => {
      if (CONFIDENTIAL_CATEGORIES.has(c)) abuseMask |= 1 << bit;
    });
    p = {
      policy: name,
      blockMask: mask,
      abuseMask: abuseMask & mask,
      blockMode: settings.blockMode,
      additions: createAdditions(settings.allow ?? [], settings.deny ?? [], `policy ${name}`),
    };
    perPolicy.set(name, p);
    return p;
  };
  const out: EffectivePolicy[] = venues.map((v, i) => ({
    venue: v.name,
    venueIndex: i,
    ...resolvePolicy(v.policy),
  }));
  out.push({ venue: DEFAULT_POLICY, venueIndex: -1, ...resolvePolicy(DEFAULT_POLICY) });
  return out;
}

/** When the config defines no "default" policy: block every category, answer NXDOMAIN. */
const DEFAULT_SETTINGS: PolicySettings = { block: 'all', blockMode: 'nxdomain' };
