/** `venues`: client networks -> venue -> policy; other clients get policy "default". */
import type { Static } from '@sinclair/typebox';
import { parseCidr } from '../../net/cidr.js';
import { invalidKey } from '../config-error.js';
import { Type } from '../json-schema.js';
import { CidrString, type SectionContext } from './common.js';
import { PolicyName } from './policies.js';

const Venue = Type.Object(
  {
    name: PolicyName,
    networks: Type.Array(CidrString, { minItems: 1 }),
    policy: PolicyName,
  },
  { additionalProperties: false, 'x-expected': 'a mapping with keys name, networks, policy' },
);

export const VenuesSchema = Type.Array(Venue, {
  default: [],
  description: 'client networks -> venue -> policy; other clients get policy "default"',
});

export type VenueConfig = ReturnType<typeof normalizeVenues>[number];

/** Names unique, each venue's policy defined, each network in one venue only (canonical CIDR texts). */
export function normalizeVenues(
  ctx: SectionContext,
  raw: Static<typeof VenuesSchema>,
  policies: Readonly<Record<string, unknown>>,
) {
  const { file } = ctx;
  const names = new Set<string>();
  const networks = new Map<string, string>();
  return raw.map((v, i) => {
    if (names.has(v.name)) {
      throw invalidKey(
        file,
        `venues[${i}].name`,
        `the venue name "${v.name}" is used twice`,
        'a unique name',
      );
    }
    names.add(v.name);
    if (!Object.hasOwn(policies, v.policy)) {
      throw invalidKey(
        file,
        `venues[${i}].policy`,
        `no policy "${v.policy}" (policies: ${Object.keys(policies).join(', ')})`,
        'the name of a policy under `policies`',
      );
    }
    const canonical = v.networks.map((text, j) => {
      const net = parseCidr(text).text;
      const owner = networks.get(net);
      if (owner !== undefined) {
        throw invalidKey(
          file,
          `venues[${i}].networks[${j}]`,
          `${net} is already a network of venue "${owner}": a client network belongs to one venue (a longer prefix inside it may go to another)`,
          'a network no other venue lists',
        );
      }
      networks.set(net, v.name);
      return net;
    });
    /** networks: canonical CIDR texts; policy: a key of `policies`. */
    return { name: v.name, networks: canonical, policy: v.policy };
  });
}
