/** `bypass`: answers that keep devices on this filtering resolver. */
import type { Static } from '@sinclair/typebox';
import { Type } from '../json-schema.js';
import { section } from './common.js';

export const BypassSchema = section(
  {
    firefoxCanary: Type.Boolean({
      default: true,
      description: 'use-application-dns.net -> NXDOMAIN, so that Firefox keeps its own DNS-over-HTTPS off',
    }),
    privateRelay: Type.Boolean({
      default: true,
      description: 'mask.icloud.com, mask-h2.icloud.com -> NXDOMAIN, so that iCloud Private Relay stays off',
    }),
    ddr: Type.Boolean({
      default: true,
      description: 'resolver.arpa -> NODATA, so that clients discover no encrypted resolver (RFC 9462)',
    }),
  },
  'bypass prevention: answers that keep devices on this filtering resolver',
);

export type BypassConfig = Static<typeof BypassSchema>;

export function normalizeBypass(raw: BypassConfig): BypassConfig {
  return { ...raw };
}
