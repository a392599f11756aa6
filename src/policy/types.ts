/**
 * The shared vocabulary of roje's filtering: what a list parser yields, what the compiler builds, what a
 * lookup answers. Parsers (src/policy/parsers), the compiled structure (src/policy/compiled), the
 * compile command and the policy stage all meet here.
 */

/**
 * The list formats roje reads. `auto` detects the format from the content. `abuse` (the confidential
 * abuse feed: domains, URLs or pre-hashed entries, src/policy/abuse/format.ts) is never detected: it is
 * the format of every source in a confidential category, and only of those.
 */
export type ListFormat = 'hosts' | 'domains' | 'adblock' | 'rpz' | 'squidguard' | 'abuse';

/**
 * How far a rule reaches from its name:
 * - `subtree`: the name and every name under it (hosts, domain lists, adblock `||x^`, squidGuard);
 * - `exact`: the name only (RPZ `name CNAME .`, adblock `|x^`);
 * - `below`: names under it but not the name itself (RPZ `*.name CNAME .`).
 */
export type RuleScope = 'subtree' | 'exact' | 'below';

/**
 * What a rule does. `block` and `allow` are the common case; RPZ sources can say more, and roje honours
 * what an RPZ rule says (as BIND and Unbound do): NXDOMAIN, NODATA, or local data instead of the
 * venue's block mode.
 */
export type RuleAction = 'block' | 'allow' | 'nxdomain' | 'nodata' | 'local';

/** One rule, normalized: lowercase A-label name, no trailing dot, validated (labels <= 63, name <= 253). */
export interface ListRule {
  name: string;
  scope: RuleScope;
  action: RuleAction;
  /** RPZ local data (`name A 192.0.2.1`, `name CNAME other.example`), for action `local`. */
  local?: LocalRecord[];
  /** 1-based line in the source, for messages. */
  line: number;
  /**
   * An abuse feed entry: the HMAC-SHA-256 of its name (and `name` is empty: the name is never kept).
   * Scope subtree for a whole domain, exact for the host of a listed page.
   */
  digest?: Uint8Array;
  /** An abuse entry that lists a page, not a whole domain: DNS can only act on its host. */
  page?: boolean;
}

export interface LocalRecord {
  type: 'A' | 'AAAA' | 'CNAME' | 'TXT';
  /** Presentation form: "192.0.2.1", "2001:db8::1", "target.example", "some text". */
  data: string;
}

/** Why a line was skipped: counted per reason, the first few kept with their line numbers. */
export type SkipReason =
  | 'label-too-long'
  | 'name-too-long'
  | 'bad-character'
  | 'empty-label'
  | 'unsupported-syntax'
  | 'not-a-name';

export interface ParseStats {
  /** Lines read, comments and blanks included. */
  lines: number;
  /** Rules produced. */
  rules: number;
  /** Lines skipped, per reason. */
  skipped: Partial<Record<SkipReason, number>>;
  /** The first skipped lines (at most 20), for `roje compile` to show. */
  samples: Array<{ line: number; reason: SkipReason; text: string }>;
  /**
   * Lines a parser read differently from their literal meaning, per kind (optional: added with the
   * parsers, so that `roje compile` can say so instead of converting silently).
   */
  notes?: Partial<Record<ParseNote, number>>;
}

/**
 * - `rpz-drop`: an RPZ `CNAME rpz-drop.` rule, answered NXDOMAIN (roje never drops a query silently);
 * - `rpz-merged`: an RPZ `name CNAME .` and `*.name CNAME .` pair read as one subtree rule;
 * - `wildcard-below`: a `*.name` entry in a domain or adblock list, read as scope `below`;
 * - `hosts-local`: a hosts line with a routable address (not 0.0.0.0, 127.x, ::, ::1), read as local data.
 */
export type ParseNote = 'rpz-drop' | 'rpz-merged' | 'wildcard-below' | 'hosts-local';

/** A parser reads lines (as an async iterable, so files stream) and yields rules, counting what it skips. */
export interface ListParser {
  readonly format: ListFormat;
  parse(lines: AsyncIterable<string>, stats: ParseStats): AsyncIterable<ListRule>;
}

/** One list the operator configured: a file (URLs come with the list refresh work) and its category. */
export interface ListSource {
  /** Unique name of the source, e.g. "hagezi-nsfw" (defaults to the file's base name). */
  name: string;
  /** Category name, e.g. "adult", "gambling", "abuse". */
  category: string;
  path: string;
  /** Omitted or 'auto': detected from the content. */
  format?: ListFormat | 'auto';
}

/** What the artifact records of each source it was compiled from. */
export interface SourceMeta {
  name: string;
  category: string;
  format: ListFormat;
  /** Rules compiled from it. */
  entries: number;
  /** Lines skipped, all reasons. */
  skipped: number;
  /** Hex SHA-256 of the source bytes. */
  sha256: string;
  /** ISO 8601 time the source was read. */
  readAt: string;
  /**
   * Abuse sources: page-level entries read (a URL on a host that also serves other content), and
   * whether their hosts are blocked (`abuse.pageEntries: block-host`) or only counted as not
   * enforceable by DNS. `entries` counts what is enforced.
   */
  pages?: number;
  pagesBlocked?: boolean;
}

/**
 * Categories whose entries are confidential (the IWF-style abuse feed): no log, report, API or page may
 * show one of their names or lines, only counts.
 */
export const CONFIDENTIAL_CATEGORIES: ReadonlySet<string> = new Set(['abuse']);

/** Most categories one artifact can hold: a lookup answers a 32-bit mask. */
export const MAX_CATEGORIES = 32;

/** Action codes in a lookup result (0 = the venue's block mode applies). */
export const ACTION = { POLICY: 0, NXDOMAIN: 1, NODATA: 2, LOCAL: 3 } as const;

/**
 * A lookup's answer, written into a caller-owned object so that lookups allocate nothing.
 * Semantics (README "Matching"): walk from the TLD to the full name; at each matching rule, a block
 * sets its category bit and an allow clears it; deeper (more specific) rules win; at one name, allow
 * beats block.
 */
export interface LookupResult {
  /** Categories that block the name (bit i = categories[i]). 0 = not blocked. */
  blocked: number;
  /** Categories in which an allow rule decided (so a venue can tell "allowed by list" from "not listed"). */
  allowed: number;
  /** ACTION code of the deepest blocking rule that carries one (RPZ); ACTION.POLICY otherwise. */
  action: number;
  /** For ACTION.LOCAL: index into the artifact's local data table. */
  localIndex: number;
  /** Labels of the name that matched the deciding rule (0 when nothing matched): for logs and the EDE text. */
  matchedLabels: number;
}

/** Resets `out` to "nothing matched" and returns it. */
export function clearResult(out: LookupResult): LookupResult {
  out.blocked = 0;
  out.allowed = 0;
  out.action = ACTION.POLICY;
  out.localIndex = -1;
  out.matchedLabels = 0;
  return out;
}

export function emptyResult(): LookupResult {
  return { blocked: 0, allowed: 0, action: 0, localIndex: -1, matchedLabels: 0 };
}

/** A compiled, immutable set of lists. Swapped whole on reload or refresh. */
export interface CompiledLists {
  /** The artifact these lists were loaded from, checksum included (handed to workers, published to a fleet). */
  readonly artifact?: Uint8Array;
  /** Category names; bit i of a mask is categories[i]. */
  readonly categories: readonly string[];
  readonly sources: readonly SourceMeta[];
  /** Total rules across sources. */
  readonly entries: number;
  /** The artifact's own checksum (hex SHA-256 of everything before it), as a version id. */
  readonly version: string;
  /** When it was compiled (ISO 8601). */
  readonly compiledAt: string;
  /**
   * Looks up a name in wire form: `buf` from `start` holds uncompressed labels ending with the root
   * label (a query's question name). Case-insensitive. Returns `out`, filled.
   */
  lookupWire(buf: Buffer, start: number, out: LookupResult): LookupResult;
  /** Same for a presentation name ("www.example.com", trailing dot optional). For tools and tests. */
  lookup(name: string, out?: LookupResult): LookupResult;
  /** RPZ local data, by LookupResult.localIndex. */
  localData(index: number): readonly LocalRecord[];
  /** Distinct hashed (abuse feed) entries enforced; 0 when there are none. */
  readonly hashedEntries: number;
  /**
   * Category mask of the hashed entries that match the wire name at buf[start] (the name itself or a
   * parent domain of two labels or more; a page host only as the name itself). 0 when none match.
   */
  lookupHashedWire(buf: Buffer, start: number): number;
  /**
   * Whether the wire name matches any hashed entry, enforced or only counted (a page host under
   * `abuse.pageEntries: count`): what a query log must not print. Not for the hot path.
   */
  hashedListedWire(buf: Buffer, start: number): boolean;
}
