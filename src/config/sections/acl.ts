/** `acl`: who may query. */
import type { Static } from '@sinclair/typebox';
import { Type } from '../json-schema.js';
import { CidrString, section } from './common.js';

/** Defaults suit a hotspot gateway: serve only local networks. */
export const DEFAULT_ACL_ALLOW = [
  '127.0.0.0/8',
  '::1/128',
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  'fc00::/7',
  'fe80::/10',
];

export const AclSchema = section(
  {
    allow: Type.Array(CidrString, {
      minItems: 1,
      default: DEFAULT_ACL_ALLOW,
      description: 'client networks that are served; everyone else gets REFUSED',
    }),
  },
  'who may query',
);

/** Client networks that are served, as written (validated CIDRs); feed to createCidrMatcher. */
export type AclConfig = Static<typeof AclSchema>;

export function normalizeAcl(raw: AclConfig): AclConfig {
  return { allow: [...raw.allow] };
}
