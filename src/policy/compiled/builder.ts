/**
 * Builds the compiled artifact from rules. Runs off the query loop (the compile worker), so it may use a
 * few Maps; what grows with the number of names lives in the trie (name-trie.ts), in typed arrays.
 * Rule records (which categories a node blocks or allows, in which scope, with which RPZ action) are
 * deduplicated, so a million names in one category share one record.
 *
 * The trie is built straight into the artifact's slot table (name-trie.ts, layout.ts); finish()
 * assembles the sections.
 */
import { createHash } from 'node:crypto';
import { RojeError } from '../../errors.js';
import { ACTION, type ListRule, type LocalRecord, MAX_CATEGORIES, type SourceMeta } from '../types.js';
import { buildHashedTable, type HashedEntry, SCOPE_EXACT, SCOPE_LISTED, SCOPE_SUBTREE } from './hashed.js';
import {
  ACT_BELOW,
  ACT_EXACT,
  ACT_SUB,
  align8,
  CHECKSUM_SIZE,
  FORMAT_VERSION,
  H,
  HEADER_SIZE,
  HEADER_WORDS,
  MAGIC,
  MAX_RECORDS,
  R,
  RECORD_STRIDE,
} from './layout.js';
import { BAD_LABEL_LENGTH, BAD_NAME_LENGTH, NameTrie } from './name-trie.js';

export interface ListBuilder {
  /** Bit index of a category, added on first use. ROJE_ERR_LIST_CATEGORIES past MAX_CATEGORIES. */
  category(name: string): number;
  /** Records a source's metadata in the artifact. */
  addSource(meta: SourceMeta): void;
  /**
   * Adds one rule in the category with bit index `categoryBit` (from category()). A rule with a
   * `digest` (an abuse feed entry) goes to the hashed section.
   */
  add(rule: ListRule, categoryBit: number): void;
  /**
   * add() of a block rule whose name is `bytes[start, end)`, checked and without its trailing dot (the
   * domains parser's fast path: parsers/domains-bytes.ts): the same artifact as add() of that rule,
   * without a string and an object per name. `line` is for messages.
   */
  addName(
    bytes: Uint8Array,
    start: number,
    end: number,
    scope: 'subtree' | 'below',
    categoryBit: number,
    line: number,
  ): void;
  /**
   * Adds a hashed entry that is not counted as a rule: `listed` (the host of a page entry counted as
   * not enforceable: it never blocks, but lookups can tell it is listed, so logs redact it) or the
   * built-in abuse canary (`subtree`).
   */
  addHashed(digest: Uint8Array, scope: 'subtree' | 'listed', categoryBit: number): void;
  /**
   * The artifact bytes. The builder cannot be used afterwards. `version` is the lists version of the
   * inputs (lists-version.ts); `hashedKeyId` names the key of the hashed entries (required when there
   * are any).
   */
  finish(options?: { compiledAt?: string; version?: string; hashedKeyId?: string | null }): Buffer;
}

/** Artifact metadata section (JSON). */
export interface ArtifactMeta {
  categories: string[];
  sources: SourceMeta[];
  compiledAt: string;
  /** The inputs' lists version; absent in artifacts built without one (the checksum stands in). */
  version?: string;
  entries: number;
  local: LocalRecord[][];
  /** Id of the key the hashed entries were made with; null when there are none. */
  hashedKeyId: string | null;
}

const ACTION_CODE: Record<ListRule['action'], number> = {
  block: ACTION.POLICY,
  allow: ACTION.POLICY,
  nxdomain: ACTION.NXDOMAIN,
  nodata: ACTION.NODATA,
  local: ACTION.LOCAL,
};
/** The rule's part of a merge memo key (see mergeRecord). */
const ACTION_KEY: Record<ListRule['action'], number> = {
  block: 0,
  allow: 1,
  nxdomain: 2,
  nodata: 3,
  local: 4,
};
const SCOPE_KEY: Record<ListRule['scope'], number> = { subtree: 0, exact: 1, below: 2 };
/** What addName() merges: a record merge reads only the scope and the action of a rule without local data. */
const BLOCK_SUBTREE: ListRule = { name: '', scope: 'subtree', action: 'block', line: 0 };
const BLOCK_BELOW: ListRule = { name: '', scope: 'below', action: 'block', line: 0 };

export interface ListBuilderOptions {
  /**
   * About how many names will be added (a guess is fine): sizes the slot table once instead of growing
   * it. It decides where the nodes land, so it must come from the inputs alone (same inputs, same bytes).
   */
  expectedNames?: number;
}

// long-function: the records and the trie are the builder's state, shared by its inner functions (merge a
// record, fail with the rule; finish() lays it out).
export function createListBuilder(options: ListBuilderOptions = {}): ListBuilder {
  const categories: string[] = [];
  const sources: SourceMeta[] = [];
  const local: LocalRecord[][] = [];
  const hashed: HashedEntry[] = [];
  let entries = 0;
  let finished = false;
  // A name adds about one node besides those it shares (1.01 to 1.14 on the real lists, 1.4 on a short one).
  const trie = new NameTrie(Math.ceil((options.expectedNames ?? 0) * 1.1));

  // Records, deduplicated by content; record 0 is all zeros ("no rule").
  const records: number[] = new Array(RECORD_STRIDE).fill(0);
  const recordIds = new Map<string, number>([[records.join(','), 0]]);
  // (record, scope, action, bit) -> merged record, for rules without local data: a merge is then a pure
  // function of those, and a million names in one category make the same few merges over and over.
  const merged = new Map<number, number>();

  function fail(rule: ListRule, what: string): never {
    throw new RojeError('ROJE_ERR_LIST_COMPILE', `rule "${rule.name}" (line ${rule.line}): ${what}`);
  }

  /** The node of a rule's name, created with its ancestors as needed. */
  function nodeOf(rule: ListRule): number {
    const node = trie.nodeOf(rule.name);
    if (node >= 0) return node;
    if (node === BAD_NAME_LENGTH) fail(rule, 'expected a name of 1 to 253 characters');
    if (node === BAD_LABEL_LENGTH) fail(rule, 'expected labels of 1 to 63 characters');
    return fail(rule, 'expected an ASCII name (IDNs as A-labels)');
  }

  // The last merge: a list's rules are mostly new names (record 0) with the same action and category.
  let lastKey = -1;
  let lastId = 0;

  function mergeRecord(rec: number, rule: ListRule, bit: number): number {
    if (rule.action === 'local') return mergeNew(rec, rule, bit);
    const key = ((rec * 3 + SCOPE_KEY[rule.scope]) * 5 + ACTION_KEY[rule.action]) * 32 + bit;
    if (key === lastKey) return lastId;
    let id = merged.get(key);
    if (id === undefined) {
      id = mergeNew(rec, rule, bit);
      merged.set(key, id);
    }
    lastKey = key;
    lastId = id;
    return id;
  }

  function mergeNew(rec: number, rule: ListRule, bit: number): number {
    const r = records.slice(rec * RECORD_STRIDE, rec * RECORD_STRIDE + RECORD_STRIDE);
    const scope = rule.scope === 'subtree' ? 0 : rule.scope === 'exact' ? 1 : 2;
    const mask = (1 << bit) >>> 0;
    if (rule.action === 'allow') {
      r[R.ALLOW_SUB + scope] = (r[R.ALLOW_SUB + scope] | mask) >>> 0;
    } else {
      r[R.BLOCK_SUB + scope] = (r[R.BLOCK_SUB + scope] | mask) >>> 0;
      const code = ACTION_CODE[rule.action];
      const shift = scope === 0 ? ACT_SUB : scope === 1 ? ACT_EXACT : ACT_BELOW;
      const current = (r[R.ACTIONS] >>> shift) & 3;
      // A scope keeps the first RPZ action it gets; more local data for the same name joins its list.
      if (code === ACTION.LOCAL && current === ACTION.LOCAL) {
        local[r[R.LOCAL_SUB + scope] - 1].push(...(rule.local ?? []));
      } else if (code !== ACTION.POLICY && current === ACTION.POLICY) {
        r[R.ACTIONS] |= code << shift;
        if (code === ACTION.LOCAL) {
          local.push([...(rule.local ?? [])]);
          r[R.LOCAL_SUB + scope] = local.length;
        }
      }
    }
    const key = r.join(',');
    let id = recordIds.get(key);
    if (id === undefined) {
      id = records.length / RECORD_STRIDE;
      if (id >= MAX_RECORDS)
        throw new RojeError('ROJE_ERR_LIST_COMPILE', 'more than 2^25 distinct rule records');
      records.push(...r);
      recordIds.set(key, id);
    }
    return id;
  }

  function checkOpen(): void {
    if (finished) throw new RojeError('ROJE_ERR_LIST_COMPILE', 'the list builder was already finished');
  }

  return {
    category(name) {
      checkOpen();
      const i = categories.indexOf(name);
      if (i >= 0) return i;
      if (categories.length >= MAX_CATEGORIES) {
        throw new RojeError(
          'ROJE_ERR_LIST_CATEGORIES',
          `category "${name}" would be number ${categories.length + 1}, but an artifact holds at most ` +
            `${MAX_CATEGORIES} (${categories.join(', ')}): merge some categories`,
        );
      }
      categories.push(name);
      return categories.length - 1;
    },
    addSource(meta) {
      checkOpen();
      sources.push({ ...meta });
    },
    add(rule, categoryBit) {
      checkOpen();
      if (!Number.isInteger(categoryBit) || categoryBit < 0 || categoryBit >= categories.length) {
        fail(rule, `category bit ${categoryBit} was not returned by category()`);
      }
      if (rule.digest !== undefined) {
        if (rule.action !== 'block' || rule.scope === 'below') fail(rule, 'a hashed entry only blocks');
        hashed.push({
          digest: rule.digest,
          scope: rule.scope === 'exact' ? SCOPE_EXACT : SCOPE_SUBTREE,
          bit: categoryBit,
        });
        entries++;
        return;
      }
      const node = nodeOf(rule);
      trie.setRecord(node, mergeRecord(trie.record(node), rule, categoryBit));
      entries++;
    },
    addName(bytes, start, end, scope, categoryBit, line) {
      checkOpen();
      const rule = scope === 'subtree' ? BLOCK_SUBTREE : BLOCK_BELOW;
      if (!Number.isInteger(categoryBit) || categoryBit < 0 || categoryBit >= categories.length) {
        fail(rule, `category bit ${categoryBit} was not returned by category()`);
      }
      const node = trie.nodeOfBytes(bytes, start, end);
      if (node < 0) {
        // Not reached with the parser's checked names; the message then names the rule as add() would.
        nodeOf({ ...rule, name: Buffer.from(bytes.subarray(start, end)).toString('latin1'), line });
      }
      trie.setRecord(node, mergeRecord(trie.record(node), rule, categoryBit));
      entries++;
    },
    addHashed(digest, scope, categoryBit) {
      checkOpen();
      hashed.push({ digest, scope: scope === 'listed' ? SCOPE_LISTED : SCOPE_SUBTREE, bit: categoryBit });
    },
    finish(options = {}) {
      checkOpen();
      finished = true;
      const { longPool, slots, slotCount, nodes } = trie.layout();
      const hashedKeyId = options.hashedKeyId ?? null;
      if (hashed.length > 0 && hashedKeyId === null) {
        throw new RojeError(
          'ROJE_ERR_ABUSE_KEY',
          'hashed entries need the id of the key they were made with',
        );
      }
      const meta: ArtifactMeta = {
        categories,
        sources,
        compiledAt: options.compiledAt ?? new Date().toISOString(),
        ...(options.version !== undefined ? { version: options.version } : {}),
        entries,
        local,
        hashedKeyId: hashed.length > 0 ? hashedKeyId : null,
      };
      return assemble(
        Buffer.from(JSON.stringify(meta), 'utf8'),
        longPool,
        Uint32Array.from(records),
        slots,
        slotCount,
        nodes,
        buildHashedTable(hashed).table,
      );
    },
  };
}

function assemble(
  meta: Buffer,
  pool: Uint8Array,
  recs: Uint32Array,
  slots: Int32Array,
  slotCount: number,
  nodes: number,
  hashed: Int32Array,
): Buffer {
  // The slots first: the trie built them at this offset of a buffer with room for the rest (name-trie.ts),
  // so the artifact is assembled around them. Page faults of a fresh 30 MB copy cost ~100 ms of CPU here.
  const slotsOff = HEADER_SIZE;
  const metaOff = align8(slotsOff + slots.byteLength);
  const poolOff = align8(metaOff + meta.length);
  const recsOff = align8(poolOff + pool.length);
  const hashedOff = align8(recsOff + recs.byteLength);
  const total = align8(hashedOff + hashed.byteLength);
  if (total > 0xffffffff) throw new RojeError('ROJE_ERR_LIST_COMPILE', 'the artifact would exceed 4 GiB');
  const room = slots.buffer;
  // Every byte not written below is still zero in the trie's buffer, as in a fresh one.
  const inPlace =
    LITTLE_ENDIAN &&
    room instanceof ArrayBuffer &&
    slots.byteOffset === slotsOff &&
    room.byteLength >= total + CHECKSUM_SIZE;
  const buf = inPlace ? Buffer.from(room, 0, total + CHECKSUM_SIZE) : Buffer.alloc(total + CHECKSUM_SIZE);
  buf.write(MAGIC, 0, 'latin1');
  buf.writeUInt16LE(FORMAT_VERSION, 6);
  const header: number[] = new Array(HEADER_WORDS).fill(0);
  header[H.TOTAL] = total;
  header[H.META_OFF] = metaOff;
  header[H.META_LEN] = meta.length;
  header[H.POOL_OFF] = poolOff;
  header[H.POOL_LEN] = pool.length;
  header[H.RECS_OFF] = recsOff;
  header[H.RECS_LEN] = recs.byteLength;
  header[H.SLOTS_OFF] = slotsOff;
  header[H.SLOTS_LEN] = slots.byteLength;
  header[H.SLOT_COUNT] = slotCount;
  header[H.NODE_COUNT] = nodes;
  header[H.HASHED_OFF] = hashedOff;
  header[H.HASHED_LEN] = hashed.byteLength;
  for (let i = 0; i < header.length; i++) buf.writeUInt32LE(header[i], 8 + 4 * i);
  if (!inPlace) copyU32LE(slots, buf, slotsOff);
  meta.copy(buf, metaOff);
  buf.set(pool, poolOff);
  copyU32LE(recs, buf, recsOff);
  copyU32LE(hashed, buf, hashedOff);
  createHash('sha256').update(buf.subarray(0, total)).digest().copy(buf, total);
  return buf;
}

const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

function copyU32LE(src: Uint32Array | Int32Array, dst: Buffer, off: number): void {
  if (LITTLE_ENDIAN) {
    dst.set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength), off);
  } else {
    for (let i = 0; i < src.length; i++) dst.writeUInt32LE(src[i] >>> 0, off + 4 * i);
  }
}
