/**
 * `profile`: the certification roje checks its config and lists against (src/policy/compliance.ts owns
 * the profiles and their rules). `friendly-wifi` shows every gap as a warning; `none` is for networks
 * that are not Friendly WiFi venues.
 */
import type { Static } from '@sinclair/typebox';
import { PROFILES, type Profile } from '../../policy/compliance.js';
import { Type } from '../json-schema.js';

export const ProfileSchema = Type.Union(
  PROFILES.map((p) => Type.Literal(p)),
  {
    default: 'friendly-wifi',
    description:
      'friendly-wifi: warn (status, CH TXT policy.roje., metrics, check-config) about every compliance gap; none: no such warnings',
    'x-expected': PROFILES.join(' or '),
  },
);

export function normalizeProfile(raw: Static<typeof ProfileSchema>): Profile {
  return raw as Profile;
}
