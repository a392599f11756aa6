/**
 * The slow path of a lookup: the compiled lists keep only category bits, so which source and which line
 * listed a name is found by reading the sources again, with the compiler's own parsers, from the files
 * the compile read (its report names each path: a feed's or a guarded file's good copy). Sources of a
 * confidential category (abuse) are never opened here.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { RojeError } from '../errors.js';
import { openList } from '../policy/parsers/index.js';
import { CONFIDENTIAL_CATEGORIES, type ListFormat, type ListRule, type RuleScope } from '../policy/types.js';

/** A source as the compile read it (CompileReport.sources). */
export interface ScannedSource {
  name: string;
  category: string;
  path: string;
  format: ListFormat;
  sha256: string;
}

export interface RuleMatch {
  source: string;
  category: string;
  /** The line as written in the source, trimmed. */
  rule: string;
  /** 1-based line number in the source. */
  line: number;
  /** The name the rule is written for (the queried name or a parent). */
  name: string;
  scope: RuleScope;
  action: ListRule['action'];
  /**
   * The rule that decides within its category, as the compiled lists do: the deepest name wins, and at
   * one name an allow rule beats a block.
   */
  won: boolean;
}

export interface SourceScan {
  matches: RuleMatch[];
  /** Sources whose file has changed since the compile (their line numbers may not be the compiled ones). */
  changed: string[];
  /** Sources that could not be read (their name only). */
  unreadable: string[];
}

/** Matches kept per source: a list that names a domain a thousand times needs no thousand lines here. */
export const MAX_MATCHES_PER_SOURCE = 20;

/** Does `rule` reach `name`? The rule's scope decides whether its own name, its subtree, or only below. */
export function ruleReaches(rule: Pick<ListRule, 'name' | 'scope'>, name: string): boolean {
  if (rule.name === '') return false;
  if (rule.name === name) return rule.scope !== 'below';
  return rule.scope !== 'exact' && name.endsWith(`.${rule.name}`);
}

/** Marks the deciding rule of each category (see RuleMatch.won). */
export function markWinners(matches: RuleMatch[]): void {
  const best = new Map<string, RuleMatch>();
  for (const m of matches) {
    const b = best.get(m.category);
    const deeper = b === undefined || m.name.length > b.name.length;
    const allowAtSameName =
      b !== undefined && m.name === b.name && m.action === 'allow' && b.action !== 'allow';
    if (deeper || allowAtSameName) best.set(m.category, m);
  }
  for (const m of best.values()) m.won = true;
}

export async function scanSources(
  sources: readonly ScannedSource[],
  name: string,
  signal: AbortSignal,
): Promise<SourceScan> {
  const out: SourceScan = { matches: [], changed: [], unreadable: [] };
  for (const source of sources) {
    if (CONFIDENTIAL_CATEGORIES.has(source.category) || source.format === 'abuse') continue;
    signal.throwIfAborted();
    try {
      const found = await scanOne(source, name, signal);
      if (found.changed) out.changed.push(source.name);
      out.matches.push(...found.matches);
    } catch (err) {
      if (signal.aborted) throw err;
      out.unreadable.push(source.name);
    }
  }
  markWinners(out.matches);
  return out;
}

async function scanOne(
  source: ScannedSource,
  name: string,
  signal: AbortSignal,
): Promise<{ matches: RuleMatch[]; changed: boolean }> {
  const opened = await openList({
    name: source.name,
    category: source.category,
    path: source.path,
    format: source.format,
  });
  const hits: ListRule[] = [];
  try {
    for await (const batch of opened.batches) {
      signal.throwIfAborted();
      for (const rule of batch) {
        if (hits.length < MAX_MATCHES_PER_SOURCE && ruleReaches(rule, name)) hits.push(rule);
      }
    }
  } finally {
    opened.close();
  }
  const changed = opened.sha256() !== source.sha256;
  if (hits.length === 0) return { matches: [], changed };
  const text = await linesAt(
    source.path,
    hits.map((h) => h.line),
    signal,
  );
  return {
    changed,
    matches: hits.map((h) => ({
      source: source.name,
      category: source.category,
      rule: text.get(h.line) ?? '',
      line: h.line,
      name: h.name,
      scope: h.scope,
      action: h.action,
      won: false,
    })),
  };
}

/** The text of the given lines of a (possibly gzipped) file; reading stops after the last one. */
async function linesAt(path: string, wanted: number[], signal: AbortSignal): Promise<Map<number, string>> {
  const want = new Set(wanted);
  const last = Math.max(...wanted);
  const head = Buffer.alloc(2);
  const fh = await open(path, 'r');
  try {
    await fh.read(head, 0, 2, 0);
  } finally {
    await fh.close();
  }
  const raw = createReadStream(path);
  const input: Readable = head[0] === 0x1f && head[1] === 0x8b ? raw.pipe(createGunzip()) : raw;
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  const out = new Map<number, string>();
  let n = 0;
  try {
    for await (const line of lines) {
      n++;
      if (want.has(n)) out.set(n, line.trim());
      if (n >= last) break;
      if ((n & 0xfff) === 0) signal.throwIfAborted();
    }
  } catch (err) {
    if (signal.aborted) throw err;
    throw new RojeError('ROJE_ERR_LIST_READ', `list file ${path} cannot be read again for a lookup`, {
      cause: err,
    });
  } finally {
    lines.close();
    raw.destroy();
  }
  return out;
}
