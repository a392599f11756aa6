import { EMPTY } from '../../dns/bytes.js';
import { EDE, HEADER_SIZE } from '../../dns/constants.js';
import {
  buildActionTemplates,
  buildEdeOpt,
  type EdeOpt,
  renderBlock,
  type Template,
} from '../../policy/block-answer.js';
import { ADD_DENY, createAdditions } from '../../policy/venues.js';
import type { Answer, Query, Stage } from '../types.js';

/** Which bypass rules are on (config `bypass`); every one is on by default. */
export interface BypassRules {
  /** `use-application-dns.net` -> NXDOMAIN: Firefox then keeps its DNS-over-HTTPS off. */
  firefoxCanary: boolean;
  /** `mask.icloud.com`, `mask-h2.icloud.com` -> NXDOMAIN: iCloud Private Relay stays off on this network. */
  privateRelay: boolean;
  /** `resolver.arpa` (RFC 9462 DDR) -> NODATA: clients are not told of an encrypted resolver to upgrade to. */
  ddr: boolean;
}

export interface BypassStageOptions {
  rules: BypassRules;
  blockTtl: number;
}

export const FIREFOX_CANARY = ['use-application-dns.net'];
export const PRIVATE_RELAY = ['mask.icloud.com', 'mask-h2.icloud.com'];
export const DDR = ['resolver.arpa'];

/**
 * Bypass prevention, before the lists: the signals that make browsers and phones switch to their own
 * encrypted DNS (and so past the filter) are answered here, for every client and every query type,
 * from prebuilt templates with EDE 17 (Filtered). Each name covers its subdomains.
 */
export function createBypassStage(options: BypassStageOptions): Stage {
  const { rules, blockTtl } = options;
  const nxdomainNames = [
    ...(rules.firefoxCanary ? FIREFOX_CANARY : []),
    ...(rules.privateRelay ? PRIVATE_RELAY : []),
  ];
  const nodataNames = rules.ddr ? DDR : [];
  const nxdomain = createAdditions([], nxdomainNames, 'bypass prevention');
  const nodata = createAdditions([], nodataNames, 'bypass prevention');
  const templates = buildActionTemplates(blockTtl);
  const opt: EdeOpt = buildEdeOpt(EDE.FILTERED, 'bypass prevention');
  // Answered synchronously, and read by the responder before the next query: one Answer per template,
  // refilled, its wire in a reply buffer (nothing allocated per query).
  const nxdomainAnswer: Answer = { wire: EMPTY, source: 'policy', rcode: templates.nxdomain.rcode };
  const nodataAnswer: Answer = { wire: EMPTY, source: 'policy', rcode: templates.nodata.rcode };
  const answer = (a: Answer, t: Template, query: Query): Answer => {
    a.wire = renderBlock(query, t, opt, query.udpSize, true);
    return a;
  };
  if (nxdomain.size === 0 && nodata.size === 0) return (next) => next;
  return (next) => (query) => {
    if (nxdomain.size !== 0 && nxdomain.matchWire(query.msg, HEADER_SIZE) === ADD_DENY)
      return answer(nxdomainAnswer, templates.nxdomain, query);
    if (nodata.size !== 0 && nodata.matchWire(query.msg, HEADER_SIZE) === ADD_DENY)
      return answer(nodataAnswer, templates.nodata, query);
    return next(query);
  };
}
