/** `rateLimit`: response rate limiting per client (UDP, and TCP in its own bucket) and per venue (UDP). */
import type { Static } from '@sinclair/typebox';
import { Type } from '../json-schema.js';
import { CidrString, section } from './common.js';

export const RateLimitSchema = section(
  {
    enabled: Type.Boolean({ default: true }),
    responsesPerSecond: Type.Integer({
      minimum: 1,
      maximum: 1_000_000,
      default: 1000,
      description:
        'answers per second to one client address (IPv4, or IPv6 /64), over UDP and, in a bucket of its own, over TCP: sized for a NAT gateway with hundreds of phones',
    }),
    burst: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 2000 }),
    venueResponsesPerSecond: Type.Integer({
      minimum: 0,
      maximum: 10_000_000,
      default: 20_000,
      description: "UDP answers per second to all of one venue's clients together; 0: no venue limit",
    }),
    venueBurst: Type.Integer({ minimum: 1, maximum: 10_000_000, default: 40_000 }),
    slip: Type.Integer({
      minimum: 0,
      maximum: 10,
      default: 2,
      description: 'every slip-th answer over the limit goes out empty with TC set; 0 drops all',
    }),
    exempt: Type.Array(CidrString, {
      default: [],
      description: 'clients never limited, e.g. a NAT gateway speaking for a whole venue',
    }),
  },
  'response rate limiting over UDP and TCP',
);

/** The file's form is the normalized form: counts, and CIDRs as written. */
export type RateLimitConfig = Static<typeof RateLimitSchema>;

export function normalizeRateLimit(raw: RateLimitConfig): RateLimitConfig {
  return { ...raw, exempt: [...raw.exempt] };
}
