/**
 * Builds the compiled artifact from rules. Runs off the query loop (the compile worker), so it may use a
 * few Maps, but what grows with the number of names lives in typed arrays that double as needed:
 * interned labels (one byte pool + an open-addressing table), trie nodes (parent, label, record) and a
 * (parent, label) -> node table. About 40 bytes per node while building, whatever the names.
 *
 * finish() lays the nodes out in their final hash table (see layout.ts), keyed by the parent's final
 * slot, which is known because a parent is always created before its children.
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
  HAS_CHILDREN,
  HEADER_SIZE,
  HEADER_WORDS,
  hashByte,
  hashFinish,
  hashStart,
  homeSlot,
  INLINE_LABEL,
  MAGIC,
  MAX_RECORDS,
  R,
  RECORD_STRIDE,
  ROOT,
  SLOT_STRIDE,
  slotCountFor,
  slotScale,
} from './layout.js';

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

function grow32(a: Uint32Array, need: number): Uint32Array {
  if (need <= a.length) return a;
  const b = new Uint32Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

/** Hash of two u32 (builder-internal tables only). */
function mix2(a: number, b: number): number {
  return hashFinish(Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca6b));
}

// long-function: the trie being built (typed arrays grown in place) is the builder's state, shared by its
// inner functions (intern a label, a node, a record; finish() lays it out).
export function createListBuilder(): ListBuilder {
  const categories: string[] = [];
  const sources: SourceMeta[] = [];
  const local: LocalRecord[][] = [];
  const hashed: HashedEntry[] = [];
  let entries = 0;
  let finished = false;

  // Labels: bytes in `pool`, id -> (offset, length), and an open-addressing table of id + 1.
  let pool = new Uint8Array(1 << 16);
  let poolLen = 0;
  let labelOff: Uint32Array = new Uint32Array(1 << 12);
  let labelLen: Uint32Array = new Uint32Array(1 << 12);
  let labelCount = 0;
  let labelTable = new Uint32Array(1 << 13);
  const scratch = new Uint8Array(64);

  // Nodes: id 0 is the root. Table of (parent, label) -> id (0 = empty: the root is never a child).
  let nodeParent: Uint32Array = new Uint32Array(1 << 12);
  let nodeLabel: Uint32Array = new Uint32Array(1 << 12);
  let nodeRec: Uint32Array = new Uint32Array(1 << 12);
  let nodeCount = 1;
  let nodeTable = new Uint32Array(1 << 13);

  // Records, deduplicated by content; record 0 is all zeros ("no rule").
  const records: number[] = new Array(RECORD_STRIDE).fill(0);
  const recordIds = new Map<string, number>([[records.join(','), 0]]);

  function labelHash(len: number): number {
    let h = hashStart(0);
    for (let i = 0; i < len; i++) h = hashByte(h, scratch[i]);
    return hashFinish(h);
  }

  function rehashLabels(): void {
    const table = new Uint32Array(labelTable.length * 2);
    const mask = table.length - 1;
    for (let id = 0; id < labelCount; id++) {
      let h = hashStart(0);
      for (let i = 0; i < labelLen[id]; i++) h = hashByte(h, pool[labelOff[id] + i]);
      let s = hashFinish(h) & mask;
      while (table[s] !== 0) s = (s + 1) & mask;
      table[s] = id + 1;
    }
    labelTable = table;
  }

  /** Interns the label in scratch[0..len). */
  function internLabel(len: number): number {
    const mask = labelTable.length - 1;
    let s = labelHash(len) & mask;
    for (;;) {
      const v = labelTable[s];
      if (v === 0) break;
      const id = v - 1;
      if (labelLen[id] === len) {
        const off = labelOff[id];
        let i = 0;
        while (i < len && pool[off + i] === scratch[i]) i++;
        if (i === len) return id;
      }
      s = (s + 1) & mask;
    }
    const id = labelCount++;
    if (poolLen + len > pool.length) {
      const p = new Uint8Array(Math.max(poolLen + len, pool.length * 2));
      p.set(pool.subarray(0, poolLen));
      pool = p;
    }
    pool.set(scratch.subarray(0, len), poolLen);
    labelOff = grow32(labelOff, labelCount);
    labelLen = grow32(labelLen, labelCount);
    labelOff[id] = poolLen;
    labelLen[id] = len;
    poolLen += len;
    labelTable[s] = id + 1;
    if (labelCount * 2 > labelTable.length) rehashLabels();
    return id;
  }

  function rehashNodes(): void {
    const table = new Uint32Array(nodeTable.length * 2);
    const mask = table.length - 1;
    for (let id = 1; id < nodeCount; id++) {
      let s = mix2(nodeParent[id], nodeLabel[id]) & mask;
      while (table[s] !== 0) s = (s + 1) & mask;
      table[s] = id;
    }
    nodeTable = table;
  }

  function child(parent: number, label: number): number {
    const mask = nodeTable.length - 1;
    let s = mix2(parent, label) & mask;
    for (;;) {
      const id = nodeTable[s];
      if (id === 0) break;
      if (nodeParent[id] === parent && nodeLabel[id] === label) return id;
      s = (s + 1) & mask;
    }
    const id = nodeCount++;
    nodeParent = grow32(nodeParent, nodeCount);
    nodeLabel = grow32(nodeLabel, nodeCount);
    nodeRec = grow32(nodeRec, nodeCount);
    nodeParent[id] = parent;
    nodeLabel[id] = label;
    nodeRec[id] = 0;
    nodeTable[s] = id;
    if (nodeCount * 2 > nodeTable.length) rehashNodes();
    return id;
  }

  function fail(rule: ListRule, what: string): never {
    throw new RojeError('ROJE_ERR_LIST_COMPILE', `rule "${rule.name}" (line ${rule.line}): ${what}`);
  }

  /** The node of a rule's name, created with its ancestors as needed. */
  function nodeOf(rule: ListRule): number {
    const name = rule.name.endsWith('.') ? rule.name.slice(0, -1) : rule.name;
    if (name.length === 0 || name.length > 253) fail(rule, 'expected a name of 1 to 253 characters');
    let node = 0;
    let end = name.length;
    // Labels from the right; at most 127 in a 253-character name.
    for (let guard = 0; guard < 128 && end > 0; guard++) {
      const dot = name.lastIndexOf('.', end - 1);
      const start = dot + 1;
      const len = end - start;
      if (len < 1 || len > 63) fail(rule, 'expected labels of 1 to 63 characters');
      for (let i = 0; i < len; i++) {
        const c = name.charCodeAt(start + i);
        if (c > 0x7f) fail(rule, 'expected an ASCII name (IDNs as A-labels)');
        scratch[i] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
      }
      node = child(node, internLabel(len));
      end = dot;
    }
    return node;
  }

  function mergeRecord(rec: number, rule: ListRule, bit: number): number {
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
      nodeRec[node] = mergeRecord(nodeRec[node], rule, categoryBit);
      entries++;
    },
    addHashed(digest, scope, categoryBit) {
      checkOpen();
      hashed.push({ digest, scope: scope === 'listed' ? SCOPE_LISTED : SCOPE_SUBTREE, bit: categoryBit });
    },
    finish(options = {}) {
      checkOpen();
      finished = true;
      const nodes = nodeCount - 1;
      // Labels too long to sit in a slot go to the artifact's pool, once each.
      let longBytes = 0;
      for (let lab = 0; lab < labelCount; lab++) if (labelLen[lab] > INLINE_LABEL) longBytes += labelLen[lab];
      const longPool = new Uint8Array(longBytes);
      const longOff = new Int32Array(labelCount).fill(-1);
      for (let lab = 0, at = 0; lab < labelCount; lab++) {
        if (labelLen[lab] <= INLINE_LABEL) continue;
        longPool.set(pool.subarray(labelOff[lab], labelOff[lab] + labelLen[lab]), at);
        longOff[lab] = at;
        at += labelLen[lab];
      }
      const slotCount = slotCountFor(nodes);
      const scale = slotScale(slotCount);
      const slots = new Int32Array(slotCount * SLOT_STRIDE);
      const slotOf = new Int32Array(nodeCount);
      slotOf[0] = ROOT;
      const hasChildren = new Uint8Array(nodeCount);
      for (let id = 1; id < nodeCount; id++) hasChildren[nodeParent[id]] = 1;
      for (let id = 1; id < nodeCount; id++) {
        const parent = slotOf[nodeParent[id]];
        const lab = nodeLabel[id];
        const off = labelOff[lab];
        const len = labelLen[lab];
        let h = hashStart(parent);
        let w0 = 0;
        let w1 = 0;
        for (let i = 0; i < len; i++) {
          const c = pool[off + i];
          h = hashByte(h, c);
          if (i < 4) w0 |= c << (i * 8);
          else if (i < 8) w1 |= c << ((i - 4) * 8);
        }
        let s = homeSlot(hashFinish(h), scale);
        while (slots[s * SLOT_STRIDE + 1] !== 0) s = s + 1 === slotCount ? 0 : s + 1;
        const b = s * SLOT_STRIDE;
        slots[b] = parent;
        slots[b + 1] = (nodeRec[id] << 7) | (hasChildren[id] === 1 ? HAS_CHILDREN : 0) | len;
        slots[b + 2] = len <= INLINE_LABEL ? w0 : longOff[lab];
        slots[b + 3] = len <= INLINE_LABEL ? w1 : w0;
        slotOf[id] = s;
      }
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
  const metaOff = HEADER_SIZE;
  const poolOff = align8(metaOff + meta.length);
  const recsOff = align8(poolOff + pool.length);
  const slotsOff = align8(recsOff + recs.byteLength);
  const hashedOff = align8(slotsOff + slots.byteLength);
  const total = align8(hashedOff + hashed.byteLength);
  if (total > 0xffffffff) throw new RojeError('ROJE_ERR_LIST_COMPILE', 'the artifact would exceed 4 GiB');
  const buf = Buffer.alloc(total + CHECKSUM_SIZE);
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
  meta.copy(buf, metaOff);
  buf.set(pool, poolOff);
  copyU32LE(recs, buf, recsOff);
  copyU32LE(slots, buf, slotsOff);
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
