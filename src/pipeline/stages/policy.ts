import type { Logger } from 'pino';
import { EMPTY } from '../../dns/bytes.js';
import { HEADER_SIZE, QTYPE, RCODE } from '../../dns/constants.js';
import { encodeName, skipName } from '../../dns/name.js';
import { additionsWithOverrides } from '../../overrides/overlay.js';
import { EMPTY_OVERLAY, type OverrideOverlay } from '../../overrides/types.js';
import {
  type ActionTemplates,
  actionTemplate,
  type BlockMode,
  buildActionTemplates,
  buildModeTemplates,
  categoryOpt,
  type EdeOpt,
  localTemplate,
  type ModeTemplates,
  pickTemplate,
  renderBlock,
  type Template,
  venueDenyOpt,
} from '../../policy/block-answer.js';
import {
  copyNameUncompressed,
  type Decision,
  decide,
  EMPTY_LISTS,
  emptyDecision,
  firstCategory,
  LIST_BLOCK,
  PASS,
  VENUE_DENY,
} from '../../policy/decide.js';
import { ACTION, CONFIDENTIAL_CATEGORIES, type CompiledLists, emptyResult } from '../../policy/types.js';
import {
  createVenueResolver,
  type EffectivePolicy,
  effectivePolicies,
  type PolicySettings,
  type VenueSettings,
} from '../../policy/venues.js';
import type { Answer, Query, Stage } from '../types.js';

export interface PolicyStageOptions {
  /** The lists in force, read per query so that a list swap needs no new chain; null: none loaded. */
  lists: () => CompiledLists | null;
  venues: readonly VenueSettings[];
  /**
   * The venue of a client address, for explain() (queries carry theirs); the chain's shared resolver,
   * built from `venues` if absent.
   */
  venueOf?: (address: string) => number;
  /** Policy name -> settings; "default" is what clients of no venue get (block all, NXDOMAIN if absent). */
  policies: Readonly<Record<string, PolicySettings>>;
  /**
   * The run-time overrides in force (src/overrides), read per query like the lists: a change swaps the
   * overlay whole and the venues' additions are rebuilt once. Absent: none.
   */
  overrides?: () => OverrideOverlay;
  /** Seconds. */
  blockTtl: number;
  blockPage: { ipv4?: string | null; ipv6?: string | null };
  logger: Pick<Logger, 'warn'>;
}

/** What the stage derives from one CompiledLists; rebuilt when the lists are swapped. */
interface ListState {
  lists: CompiledLists;
  overlay: OverrideOverlay;
  /** Per venue, then the default last. */
  policies: EffectivePolicy[];
  /** The block mode templates of each of `policies`, by the same index. */
  templates: ModeTemplates[];
  /** Per category bit: the OPT with EDE 15 "blocked: <category>". */
  categoryOpts: EdeOpt[];
  /** RPZ local data answers, per (local index, qtype), built on first use. */
  local: Map<number, Template>;
}

/** RPZ local answers remembered per list state; a bound against odd query types, not a working size. */
const LOCAL_TEMPLATES_MAX = 4096;

/**
 * The policy stage: decides per query whether the name is blocked for the client's venue and answers
 * blocked names itself from templates; passes the rest on, and inspects the answers that come back for
 * CNAME chains that reach a blocked name. It sits before the cache (app.ts), so cache hits are
 * inspected too and the shared cache never holds a venue's decision.
 */
export interface PolicyStage extends Stage {
  /**
   * Takes in the lists in force now rather than at the next query, so that a policy category the
   * lists lack is warned about when they load, not when the first client asks.
   */
  prepare(): void;
  /**
   * Why `host` is blocked for a client at `clientAddress` (for the block page), or null when it is not:
   * the blocking categories (`venue-deny` for the venue's own deny list) and the venue's name.
   */
  explain(host: string, clientAddress: string): BlockExplanation | null;
}

export interface BlockExplanation {
  categories: string[];
  venue: string | null;
  confidential: boolean;
}

export function createPolicyStage(options: PolicyStageOptions): PolicyStage {
  const { blockTtl } = options;
  const venueOf = options.venueOf ?? createVenueResolver(options.venues);
  const current = createListStates(options);
  const actions: ActionTemplates = buildActionTemplates(blockTtl);
  const denyOpt = venueDenyOpt();
  const lookup = emptyResult();
  const decision = emptyDecision();
  // CNAME targets decompressed here: lookupWire reads uncompressed names only.
  const target = Buffer.alloc(256);

  // The block answer given synchronously (the stage's own decision, or a cache hit's CNAME): read by
  // the responder before the next query, so refilled, its wire in a reply buffer. An answer after an
  // upstream exchange is built whole: other queries run while its promise settles.
  const lentBlock = { categories: 0, venue: -1 };
  const lent: Answer = { wire: EMPTY, source: 'policy', rcode: 0, block: lentBlock };

  function blockAnswer(query: Query, pi: number, s: ListState, d: Decision, sync: boolean): Answer {
    const policy = s.policies[pi];
    let t: Template | null;
    let opt: EdeOpt;
    if (d.kind === VENUE_DENY) {
      opt = denyOpt;
      t = pickTemplate(s.templates[pi], query.qtype);
    } else {
      opt = s.categoryOpts[firstCategory(d.categories)];
      t = actionTemplate(actions, d.action);
      if (t === null) {
        t =
          d.action === ACTION.LOCAL && d.localIndex >= 0
            ? localAnswer(s, d.localIndex, query.qtype)
            : pickTemplate(s.templates[pi], query.qtype);
      }
    }
    if (!sync) {
      return {
        wire: renderBlock(query, t, opt, query.udpSize),
        source: 'policy',
        rcode: t.rcode,
        block: { categories: d.categories, venue: policy.venueIndex },
      };
    }
    lent.wire = renderBlock(query, t, opt, query.udpSize, true);
    lent.rcode = t.rcode;
    lentBlock.categories = d.categories;
    lentBlock.venue = policy.venueIndex;
    return lent;
  }

  function localAnswer(s: ListState, index: number, qtype: number): Template {
    const key = index * 65536 + qtype;
    let t = s.local.get(key);
    if (t === undefined) {
      t = localTemplate(s.lists.localData(index), qtype, blockTtl);
      if (s.local.size >= LOCAL_TEMPLATES_MAX) s.local.clear();
      s.local.set(key, t);
    }
    return t;
  }

  /**
   * The answer itself, or a block answer when a CNAME in its answer section points at a name blocked
   * for this venue. Cheap when there is nothing to inspect: no answer records, or none of type CNAME
   * (records are stepped over without reading their names).
   */
  function inspect(query: Query, answer: Answer, pi: number, s: ListState, sync: boolean): Answer {
    const wire = answer.wire;
    const len = wire.length;
    if (len < HEADER_SIZE) return answer;
    const ancount = (wire[6] << 8) | wire[7];
    if (ancount === 0) return answer;
    const rcode = wire[3] & 0x0f;
    if (rcode !== RCODE.NOERROR && rcode !== RCODE.NXDOMAIN) return answer;
    let p = skipName(wire, HEADER_SIZE, len);
    if (p < 0 || (wire[4] << 8) + wire[5] !== 1) return answer;
    p += 4;
    for (let i = 0; i < ancount; i++) {
      p = skipName(wire, p, len);
      if (p < 0 || p + 10 > len) return answer;
      const type = (wire[p] << 8) | wire[p + 1];
      const rdEnd = p + 10 + ((wire[p + 8] << 8) | wire[p + 9]);
      if (rdEnd > len) return answer;
      if (type === QTYPE.CNAME) {
        const n = copyNameUncompressed(wire, p + 10, target);
        if (n > 0 && decide(s.lists, s.policies[pi], target, 0, lookup, decision) !== PASS) {
          return blockAnswer(query, pi, s, decision, sync);
        }
      }
      p = rdEnd;
    }
    return answer;
  }

  const stage: Stage = (next) => (query) => {
    const s = current();
    const v = query.venue;
    const pi = v < 0 ? s.policies.length - 1 : v;
    if (decide(s.lists, s.policies[pi], query.msg, HEADER_SIZE, lookup, decision) !== PASS) {
      return blockAnswer(query, pi, s, decision, true);
    }
    // An explicit allow addition is the operator's word for this name and whatever it points at.
    if (decision.venueAllowed) return next(query);
    const pending = next(query);
    if (pending instanceof Promise) return inspectLater(pending, query, pi, s);
    return inspect(query, pending, pi, s, true);
  };
  // Apart from the handler: a closure there would make V8 allocate a context on every query.
  function inspectLater(pending: Promise<Answer>, query: Query, pi: number, s: ListState): Promise<Answer> {
    return pending.then((answer) => inspect(query, answer, pi, s, false));
  }
  function explain(host: string, clientAddress: string): BlockExplanation | null {
    let wire: Buffer;
    try {
      wire = encodeName(host.toLowerCase());
    } catch {
      return null; // not a name: nothing is blocked there
    }
    if (wire.length === 1) return null; // the root
    const s = current();
    const v = venueOf(clientAddress);
    const pi = v < 0 ? s.policies.length - 1 : v;
    const policy = s.policies[pi];
    const d = emptyDecision();
    const kind = decide(s.lists, policy, wire, 0, emptyResult(), d);
    if (kind === PASS) return null;
    const venue = v < 0 ? null : policy.venue;
    if (kind !== LIST_BLOCK) return { categories: ['venue-deny'], venue, confidential: false };
    const categories = s.lists.categories.filter((_, bit) => (d.categories & (1 << bit)) !== 0);
    return { categories, venue, confidential: categories.some((c) => CONFIDENTIAL_CATEGORIES.has(c)) };
  }

  return Object.assign(stage, { prepare: () => void current(), explain });
}

/**
 * The ListState of the lists in force, rebuilt when they are swapped (read per query, so a swap needs
 * no new chain). Block mode templates are shared across rebuilds; each (policy, category) the lists
 * lack is warned about once per chain, not on every swap.
 */
function createListStates(options: PolicyStageOptions): () => ListState {
  const { blockTtl } = options;
  const blockPage = {
    ...(options.blockPage.ipv4 != null ? { ipv4: options.blockPage.ipv4 } : {}),
    ...(options.blockPage.ipv6 != null ? { ipv6: options.blockPage.ipv6 } : {}),
  };
  const modes = new Map<BlockMode, ModeTemplates>();
  const templatesFor = (mode: BlockMode): ModeTemplates => {
    let t = modes.get(mode);
    if (t === undefined) {
      t = buildModeTemplates(mode, { blockTtl, blockPage });
      modes.set(mode, t);
    }
    return t;
  };
  const overridesOf = options.overrides ?? (() => EMPTY_OVERLAY);
  const build = (lists: CompiledLists, overlay: OverrideOverlay): ListState => {
    const policies = effectivePolicies(options.venues, options.policies, lists);
    if (overlay.entries.length !== 0) {
      for (const p of policies) {
        p.additions = additionsWithOverrides(
          options.policies[p.policy] ?? {},
          overlay,
          p.venueIndex < 0 ? null : p.venue,
          `policy ${p.policy}`,
        );
      }
    }
    return {
      lists,
      overlay,
      policies,
      templates: policies.map((p) => templatesFor(p.blockMode)),
      categoryOpts: lists.categories.map((c) => categoryOpt(c)),
      local: new Map(),
    };
  };
  // Built now, so that a policy naming an unknown policy or a bad addition fails at startup; the lists
  // are not read yet (the app may build its chain before it loads them), the first query does that.
  let state = build(EMPTY_LISTS, EMPTY_OVERLAY);
  return () => {
    const lists = options.lists() ?? EMPTY_LISTS;
    const overlay = overridesOf();
    if (lists !== state.lists || overlay !== state.overlay) state = build(lists, overlay);
    return state;
  };
}
