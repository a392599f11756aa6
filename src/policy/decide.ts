/**
 * The per-query decision: is this name blocked for this venue, why, and how. Hot path: no allocation,
 * results go into caller-owned objects. Order (README "Policies and block modes"):
 *   0. the abuse feed's hashed entries block for every venue (no allow addition or policy passes them);
 *   1. the venue's deny additions block (EDE 17 Filtered, "venue-deny"), unless an allow addition is
 *      as specific or more;
 *   2. the venue's allow additions pass the name whatever the lists say, except what the abuse category
 *      blocks (the run-time overrides of src/overrides are merged into the additions: same rules);
 *   3. the lists: the categories that block the name, masked by the categories the venue blocks.
 */
import {
  ACTION,
  type CompiledLists,
  clearResult,
  emptyResult,
  type LocalRecord,
  type LookupResult,
} from './types.js';
import { ADD_ALLOW, ADD_DENY, type EffectivePolicy } from './venues.js';

export const PASS = 0;
/** Blocked by the lists, in at least one category the venue blocks. */
export const LIST_BLOCK = 1;
/** Blocked by the venue's own deny additions. */
export const VENUE_DENY = 2;

export interface Decision {
  /** PASS, LIST_BLOCK or VENUE_DENY. */
  kind: number;
  /** For LIST_BLOCK: the blocking categories the venue blocks (bit i = lists.categories[i]). */
  categories: number;
  /** For LIST_BLOCK: the RPZ ACTION code of the deciding rule (ACTION.POLICY: the venue's block mode). */
  action: number;
  /** For ACTION.LOCAL: index into lists.localData. */
  localIndex: number;
  /** The venue's allow additions matched: the name passes, and its CNAME chain is not inspected. */
  venueAllowed: boolean;
}

export function emptyDecision(): Decision {
  return { kind: PASS, categories: 0, action: ACTION.POLICY, localIndex: -1, venueAllowed: false };
}

/**
 * Decides for the name at buf[start] (uncompressed labels ending with the root label), filling `out`
 * (and `scratch` with the lists' raw lookup). Returns out.kind.
 */
export function decide(
  lists: CompiledLists,
  policy: EffectivePolicy,
  buf: Buffer,
  start: number,
  scratch: LookupResult,
  out: Decision,
): number {
  out.categories = 0;
  out.action = ACTION.POLICY;
  out.localIndex = -1;
  out.venueAllowed = false;
  // The abuse feed first, and whatever the venue's policy says: it is mandatory for every client.
  if (lists.hashedEntries !== 0) {
    const hashed = lists.lookupHashedWire(buf, start);
    if (hashed !== 0) {
      out.kind = LIST_BLOCK;
      out.categories = hashed;
      return LIST_BLOCK;
    }
  }
  const additions = policy.additions;
  if (additions.size !== 0) {
    const verdict = additions.matchWire(buf, start);
    if (verdict === ADD_DENY) {
      out.kind = VENUE_DENY;
      return VENUE_DENY;
    }
    if (verdict === ADD_ALLOW) {
      // Defence in depth: an allow (config or override) is refused for an abuse name when it is made,
      // and must not pass one here either (a list refresh may have listed it since).
      if (policy.abuseMask !== 0) {
        const abuse = lists.lookupWire(buf, start, scratch).blocked & policy.abuseMask;
        if (abuse !== 0) {
          out.kind = LIST_BLOCK;
          out.categories = abuse;
          out.action = scratch.action;
          out.localIndex = scratch.localIndex;
          return LIST_BLOCK;
        }
      }
      out.venueAllowed = true;
      out.kind = PASS;
      return PASS;
    }
  }
  const mask = policy.blockMask;
  if (mask === 0) {
    out.kind = PASS;
    return PASS;
  }
  lists.lookupWire(buf, start, scratch);
  const blocked = scratch.blocked & mask;
  if (blocked === 0) {
    out.kind = PASS;
    return PASS;
  }
  out.kind = LIST_BLOCK;
  out.categories = blocked;
  out.action = scratch.action;
  out.localIndex = scratch.localIndex;
  return LIST_BLOCK;
}

/** Index of the lowest set bit of a non-zero mask: the category an EDE text names. */
export function firstCategory(mask: number): number {
  return 31 - Math.clz32(mask & -mask);
}

/** Lists that block nothing: what the policy stage uses while no lists are loaded. */
export const EMPTY_LISTS: CompiledLists = Object.freeze({
  categories: [],
  sources: [],
  entries: 0,
  version: 'empty',
  compiledAt: new Date(0).toISOString(),
  lookupWire(_buf: Buffer, _start: number, out: LookupResult): LookupResult {
    return clearResult(out);
  },
  lookup(_name: string, out: LookupResult = emptyResult()): LookupResult {
    return EMPTY_LISTS.lookupWire(Buffer.alloc(1), 0, out);
  },
  localData(): readonly LocalRecord[] {
    return [];
  },
  hashedEntries: 0,
  lookupHashedWire: () => 0,
  hashedListedWire: () => false,
});

/**
 * Copies the (possibly compressed) name at msg[offset] into `dst` as uncompressed wire labels ending
 * with the root label, ASCII-lowercased. Returns the bytes written, or -1 when the name is malformed
 * (runs past the message, label > 63, forward or looping pointer, longer than 255 octets).
 * For CNAME targets in answers: lookupWire takes only uncompressed names.
 */
export function copyNameUncompressed(msg: Buffer, offset: number, dst: Buffer): number {
  const len = msg.length;
  let p = offset;
  let floor = offset;
  let n = 0;
  // At most 127 labels fit in 255 octets; pointers must go strictly backwards: both bound the loop.
  for (let steps = 0; steps < 256; steps++) {
    if (p >= len) return -1;
    const l = msg[p];
    if (l === 0) {
      if (n + 1 > 255) return -1;
      dst[n++] = 0;
      return n;
    }
    if (l <= 63) {
      if (p + 1 + l > len || n + 1 + l + 1 > 255) return -1;
      dst[n++] = l;
      for (let i = p + 1; i <= p + l; i++) {
        const c = msg[i];
        dst[n++] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
      }
      p += l + 1;
      continue;
    }
    if ((l & 0xc0) !== 0xc0 || p + 1 >= len) return -1;
    const target = ((l & 0x3f) << 8) | msg[p + 1];
    if (target >= floor) return -1;
    floor = target;
    p = target;
  }
  return -1;
}
