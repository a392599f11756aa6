import { setU16 } from '../../dns/bytes.js';
import { spliceCname } from '../../dns/cname-splice.js';
import {
  EDE,
  type ExtendedError,
  FLAG_CD,
  FLAG_RD,
  HEADER_SIZE,
  MAX_MESSAGE,
  QCLASS,
  QTYPE,
  RCODE,
} from '../../dns/constants.js';
import { OPT_FIXED_SIZE, writeOpt } from '../../dns/edns.js';
import { encodeName } from '../../dns/name.js';
import {
  createEngineTable,
  SAFE_SEARCH_ON,
  type SafeSearchSettings,
  safeHosts,
} from '../../policy/safesearch.js';
import { DEFAULT_POLICY, type VenueSettings } from '../../policy/venues.js';
import type { Answer, Query, Stage } from '../types.js';

export interface SafeSearchStageOptions {
  /** The venues, in the order query.venue indexes them. */
  venues: readonly Pick<VenueSettings, 'policy'>[];
  /** Policy name -> what it enforces; "default" is what clients of no venue get (everything on if absent). */
  policies: Readonly<Record<string, { safeSearch: SafeSearchSettings }>>;
}

/** CNAME TTL when the safe host has no address of the asked type (and no SOA says for how long). */
export const SAFE_SEARCH_EMPTY_TTL = 300;

const FORGED: readonly ExtendedError[] = Object.freeze([{ code: EDE.FORGED_ANSWER, text: 'safesearch' }]);

/** A safe host and the inner query for it, prebuilt: header, question, and a spare OPT. */
interface SafeHost {
  /** Lowercase wire name. */
  wire: Buffer;
  name: string;
  /**
   * Header + question (QTYPE, QCLASS patched per query) + an OPT record (kept only for EDNS clients;
   * its UDP size and DO patched per query).
   */
  template: Buffer;
}

/**
 * SafeSearch: a query for a search engine's name (google.com, www.youtube.com...) from a client whose
 * policy enforces that engine is answered with a CNAME to the engine's safe host, followed by the
 * safe host's own records. Those are asked for with an inner query passed down the chain, so the cache
 * keys and stores the safe host's answer like any other and a second client is served from it. The
 * inner query never reaches the responder: it is not counted as a client query.
 *
 * Sits after the policy stage, which therefore blocks engines by category (nosafesearch) first and
 * inspects the CNAME chain answered here like any other.
 */
export function createSafeSearchStage(options: SafeSearchStageOptions): Stage {
  const table = createEngineTable();
  const hosts = new Map<string, SafeHost>();
  const hostFor = (name: string | null): SafeHost | null => {
    if (name === null) return null;
    let h = hosts.get(name);
    if (h === undefined) {
      const wire = encodeName(name);
      const template = Buffer.alloc(HEADER_SIZE + wire.length + 4 + OPT_FIXED_SIZE);
      setU16(template, 4, 1);
      wire.copy(template, HEADER_SIZE);
      writeOpt(template, HEADER_SIZE + wire.length + 4, 0, 0, false);
      h = { wire, name, template };
      hosts.set(name, h);
    }
    return h;
  };
  const settingsOf = (policy: string) => options.policies[policy]?.safeSearch ?? SAFE_SEARCH_ON;
  // Per venue, then the default's last: the safe host per engine, null where it is not enforced.
  const perVenue: (SafeHost | null)[][] = [
    ...options.venues.map((v) => settingsOf(v.policy)),
    settingsOf(DEFAULT_POLICY),
  ].map((settings) => safeHosts(settings).map(hostFor));
  if (perVenue.every((row) => row.every((h) => h === null))) return (next) => next;
  const defaultIndex = perVenue.length - 1;

  return (next) => (query) => {
    if (query.qclass !== QCLASS.IN) return next(query);
    const engine = table.matchWire(query.msg, HEADER_SIZE, query.nameEnd);
    if (engine < 0) return next(query);
    const v = query.venue;
    const host = perVenue[v < 0 ? defaultIndex : v][engine];
    if (host === null) return next(query);
    if (query.qtype === QTYPE.CNAME) {
      return {
        wire: spliceCname(query, host.wire, null, {
          udpSize: query.udpSize,
          ede: FORGED,
          emptyTtl: SAFE_SEARCH_EMPTY_TTL,
        }),
        source: 'local',
        rcode: RCODE.NOERROR,
        safeSearch: engine,
      };
    }
    const pending = next(innerQuery(query, host));
    if (pending instanceof Promise) return pending.then((inner) => answer(query, host, engine, inner));
    return answer(query, host, engine, pending);
  };

  function answer(query: Query, host: SafeHost, engine: number, inner: Answer): Answer {
    const wire = spliceCname(query, host.wire, inner.wire, {
      udpSize: query.udpSize,
      ede: FORGED,
      emptyTtl: SAFE_SEARCH_EMPTY_TTL,
    });
    const ok = inner.rcode === RCODE.NOERROR || inner.rcode === RCODE.NXDOMAIN;
    return ok
      ? { wire, source: inner.source, rcode: inner.rcode, safeSearch: engine }
      : { wire, source: inner.source, rcode: inner.rcode };
  }

  /**
   * The query for the safe host: the client's type, class, RD, CD and DO, so it shares their cache
   * entry, and the client's venue and roje's UDP size, as the context stage gave them. RD as the client
   * set it: a query without RD is not resolved upstream for the alias either (RFC 1034 §4.3.1), and its
   * REFUSED becomes the answer.
   */
  function innerQuery(query: Query, host: SafeHost): Query {
    const { edns, udpSize } = query;
    const questionEnd = HEADER_SIZE + host.wire.length + 4;
    const msg = Buffer.allocUnsafe(edns !== null ? host.template.length : questionEnd);
    host.template.copy(msg, 0, 0, msg.length);
    const flags = query.flags & (FLAG_RD | FLAG_CD);
    setU16(msg, 2, flags);
    setU16(msg, questionEnd - 4, query.qtype);
    setU16(msg, questionEnd - 2, query.qclass);
    if (edns !== null) {
      setU16(msg, 10, 1);
      setU16(msg, questionEnd + 3, udpSize);
      if (edns.do) msg[questionEnd + 7] |= 0x80;
    }
    return {
      msg,
      id: 0,
      flags,
      name: host.name,
      nameEnd: questionEnd - 4,
      questionEnd,
      qtype: query.qtype,
      qclass: query.qclass,
      edns: edns === null ? null : { udpSize, do: edns.do, version: 0 },
      client: query.client,
      maxSize: MAX_MESSAGE,
      receivedAt: query.receivedAt,
      venue: query.venue,
      udpSize,
    };
  }
}
