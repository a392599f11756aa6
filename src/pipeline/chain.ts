/**
 * The resolver chain: every stage in its order, with the reason for each position, built from one
 * config. app.ts builds it for the main thread; a worker (src/workers) builds the same chain for its
 * own query loop, so the order lives here only.
 */
import type { Logger } from 'pino';
import { createDnsCache, type DnsCache } from '../cache/dns-cache.js';
import type { RojeConfig } from '../config/schema.js';
import { createCidrMatcher } from '../net/cidr.js';
import type { OverrideOverlay } from '../overrides/types.js';
import type { CompiledLists } from '../policy/types.js';
import { createVenueResolver } from '../policy/venues.js';
import { createUpstreamPool, type UpstreamPool } from '../upstream/pool.js';
import { compose } from './compose.js';
import { createAclStage } from './stages/acl.js';
import { createAnyQueryStage } from './stages/any-query.js';
import { createBypassStage } from './stages/bypass.js';
import { createCacheStage } from './stages/cache.js';
import { type ChaosName, createChaosStage } from './stages/chaos.js';
import { createContextStage } from './stages/context.js';
import { createForwardHandler } from './stages/forward.js';
import { createPolicyStage, type PolicyStage } from './stages/policy.js';
import { createQueryClassStage } from './stages/query-class.js';
import { createQueryTypeStage } from './stages/query-type.js';
import { createRateLimitStage } from './stages/rate-limit.js';
import { createReadyStage } from './stages/ready.js';
import { createRecursionStage } from './stages/recursion.js';
import { createSafeSearchStage } from './stages/safesearch.js';
import { createSpecialUseStage } from './stages/special-use.js';
import type { Handler } from './types.js';

export interface Chain {
  config: RojeConfig;
  handler: Handler;
  udpSize: number;
  pool: UpstreamPool;
  cache: DnsCache;
  policy: PolicyStage;
}

export interface ChainDeps {
  logger: Logger;
  /** The lists in force (swapped whole by the owner). */
  lists: () => CompiledLists | null;
  /** False while no good list is loaded: the ready stage then answers SERVFAIL (fail closed). */
  isReady: () => boolean;
  chaosStrings: (name: ChaosName) => string[];
  onUpstreamAttempt: (upstream: string, seconds: number, failure: string | null) => void;
  onUpstreamQueueFull: () => void;
  /**
   * Query loops sharing the rate limits (src/workers): each enforces 1/n of every rate and burst, since
   * the kernel spreads a client's queries evenly over them by source port. Default 1.
   */
  rateShares?: number;
  /** The run-time overrides in force (src/overrides); absent: none. */
  overrides?: () => OverrideOverlay;
}

export function buildChain(config: RojeConfig, previous: Chain | undefined, deps: ChainDeps): Chain {
  const udpSize = config.edns.udpSize;
  // Keep the cache (and its contents) across reloads unless its bounds changed.
  const cache =
    previous !== undefined && sameJson(previous.config.cache, config.cache)
      ? previous.cache
      : createDnsCache({
          maxEntries: config.cache.maxEntries,
          maxBytes: config.cache.maxBytes,
          serveStale: {
            enabled: config.cache.serveStale.enabled,
            maxStale: config.cache.serveStale.maxStale,
          },
        });
  const pool = createUpstreamPool(
    {
      upstreams: config.upstreams,
      timeoutMs: config.upstream.timeoutMs,
      udpSize,
      maxPending: config.upstream.maxPending,
      maxPendingPerClient: config.upstream.maxPendingPerClient,
      maxPendingPerVenue: config.upstream.maxPendingPerVenue,
      jostleAfterMs: config.upstream.jostleAfterMs,
    },
    {
      logger: deps.logger.child({ module: 'upstream' }),
      onAttempt: deps.onUpstreamAttempt,
      onQueueFull: deps.onUpstreamQueueFull,
    },
  );
  const rateLimit = config.rateLimit;
  const share = 1 / Math.max(1, deps.rateShares ?? 1);
  // One venue resolver (and its per-address memo): the context stage's, and the block page's explain().
  const venueOf = createVenueResolver(config.venues);
  const policy = createPolicyStage({
    lists: deps.lists,
    venues: config.venues,
    venueOf,
    policies: config.policies,
    ...(deps.overrides !== undefined ? { overrides: deps.overrides } : {}),
    blockTtl: config.blockTtl,
    blockPage: config.blockPage,
    logger: deps.logger.child({ module: 'policy' }),
  });
  const handler = compose(
    [
      // 0. Context before everything: the client's venue (rate limit, policy, SafeSearch) and roje's UDP
      //    size (every answer), resolved once per query; the venue's memo makes a repeat client one lookup.
      createContextStage({ venueOf, udpSize }),
      // 1. Rate limit first: every answer, REFUSED included, can be reflected at a forged UDP source.
      ...(rateLimit.enabled
        ? [
            createRateLimitStage({
              responsesPerSecond: rateLimit.responsesPerSecond * share,
              burst: Math.max(1, Math.ceil(rateLimit.burst * share)),
              slip: rateLimit.slip,
              isExempt: createCidrMatcher(rateLimit.exempt),
              venues: config.venues.length,
              venueResponsesPerSecond: rateLimit.venueResponsesPerSecond * share,
              venueBurst: Math.max(1, Math.ceil(rateLimit.venueBurst * share)),
            }),
          ]
        : []),
      // 2. ACL: a client outside the served networks gets REFUSED before any work (no open resolver).
      createAclStage({ isAllowed: createCidrMatcher(config.acl.allow) }),
      // 3. Policy status over DNS (CH TXT version.roje., policy.roje.) for the clients roje serves, and
      //    answered even while not ready: a certifier should see which lists are missing.
      createChaosStage({ enabled: config.chaos.enabled, strings: deps.chaosStrings }),
      // 3b. Every class but IN and CHAOS: NOTIMP here, never forwarded (no upstream spent or marked down).
      createQueryClassStage(),
      // 3c. Meta-types (OPT, TSIG, TKEY, MAILA, MAILB: FORMERR) and zone transfers (REFUSED), RFC 6895
      //     §3.1: not questions for data, so never forwarded; after the ACL and the rate limit, like
      //     every answer roje makes.
      createQueryTypeStage(),
      // 3d. Special-use names (localhost, *.onion, *.invalid, *.local, home.arpa, private reverse zones:
      //     RFC 6761, 6762, 7686, 8375, 6303) answered locally, as unbound's default local zones. Before
      //     the ready stage: these answers need no list and can carry nothing a list would block, so
      //     `localhost` resolves while the lists load. Before the policy: no list entry can make them
      //     reach the Internet, and none needs to, their answers being NXDOMAIN or loopback. After
      //     the ACL and the rate limit: only clients roje serves, at their rate.
      createSpecialUseStage(),
      // 4. Fail closed: until a good list is loaded (a feed not downloaded yet), SERVFAIL with EDE 14,
      //    never an unfiltered answer.
      createReadyStage({ isReady: deps.isReady }),
      // 5. Bypass prevention before the lists: the names that switch devices to their own encrypted DNS
      //    are answered for everyone, whatever a venue's policy allows.
      createBypassStage({ rules: config.bypass, blockTtl: config.blockTtl }),
      // 6. Policy before the cache: decisions differ per venue while the cache is shared by all, so a
      //    blocked name never reaches the cache or the upstream, and cache hits pass back through here
      //    to have their CNAME chains inspected like fresh upstream answers.
      policy,
      // 7. SafeSearch after the policy (a blocked engine stays blocked, and the CNAME chain answered
      //    here is inspected like any other) and before the cache, which then keys and stores the safe
      //    host's answer that the stage asks for like any other query.
      createSafeSearchStage({ venues: config.venues, policies: config.policies }),
      // 7b. QTYPE ANY: RFC 8482's minimal answer, after the policy (a blocked name keeps its block answer).
      createAnyQueryStage(),
      // 7c. RD=0 (RFC 1034 §4.3.1): REFUSED before the cache and the upstream, after every stage that
      //     answers by itself (policy, SafeSearch, ANY), so a blocked name stays blocked without RD.
      //     Not from the cache either: that would be cache snooping across a venue's devices.
      createRecursionStage(),
      // 8. Cache before forwarding; serve-stale lives here because only the cache holds expired answers.
      createCacheStage({ cache, serveStale: config.cache.serveStale }),
    ],
    // 9. Forward: coalesced, failed over across upstreams, prepared once for the cache.
    createForwardHandler({
      pool,
      ttl: {
        minTtl: config.cache.minTtl,
        maxTtl: config.cache.maxTtl,
        negativeMaxTtl: config.cache.negativeMaxTtl,
      },
    }),
  );
  return { config, handler, udpSize, pool, cache, policy };
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
