/**
 * decide() with the abuse feed's hashed entries: they are checked first, so no venue allow addition, no
 * policy that leaves the category out and no other verdict can pass them.
 */
import { join } from 'node:path';
import t from 'tap';
import { abuseKey } from '../../src/policy/abuse/key.js';
import { compileSources } from '../../src/policy/compile.js';
import { loadArtifact } from '../../src/policy/compiled/index.js';
import { decide, EMPTY_LISTS, emptyDecision, LIST_BLOCK, PASS, VENUE_DENY } from '../../src/policy/decide.js';
import { ACTION, emptyResult } from '../../src/policy/types.js';
import { effectivePolicies, type PolicySettings } from '../../src/policy/venues.js';
import { ABUSE_CANARY, ABUSE_CANARY_FILE } from '../helpers/canaries.js';

const KEY = abuseKey(Buffer.alloc(32, 0x42));
const DOMAIN = ABUSE_CANARY.domain;

function wire(name: string): Buffer {
  const parts: Buffer[] = [];
  for (const label of name.split('.')) parts.push(Buffer.from([label.length]), Buffer.from(label, 'latin1'));
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

t.test('hashed entries block whatever the venue policy says', async (t) => {
  const dir = t.testdir({ 'adult.txt': 'adult.example.test\n' });
  const { artifact } = await compileSources(
    [
      { name: 'adult', category: 'adult', path: join(dir, 'adult.txt') },
      { name: 'abuse', category: 'abuse', path: ABUSE_CANARY_FILE },
    ],
    { abuse: { key: KEY, pageEntries: 'count' } },
  );
  const lists = loadArtifact(artifact, '(test)', { abuseKey: KEY });
  t.same(lists.categories, ['adult', 'abuse']);
  const ABUSE_BIT = 0b10;

  const policies: Record<string, PolicySettings> = {
    default: { block: 'all', blockMode: 'nxdomain' },
    // Allows the abuse names themselves and a parent: an allow addition must not pass them.
    allowing: { block: 'all', blockMode: 'blockpage', allow: [DOMAIN, 'abuse.roje.test'] },
    // Leaves the category out (config refuses this; decide must not depend on it).
    adultOnly: { block: ['adult'], blockMode: 'blockpage' },
    nothing: { block: [], blockMode: 'blockpage', allow: ['roje.test'] },
    denying: { block: 'all', blockMode: 'refused', deny: [DOMAIN] },
  };
  const venues = [
    { name: 'allowing', networks: ['10.1.0.0/16'], policy: 'allowing' },
    { name: 'adult-only', networks: ['10.2.0.0/16'], policy: 'adultOnly' },
    { name: 'nothing', networks: ['10.3.0.0/16'], policy: 'nothing' },
    { name: 'denying', networks: ['10.4.0.0/16'], policy: 'denying' },
  ];
  const effective = effectivePolicies(venues, policies, lists);
  const scratch = emptyResult();
  const out = emptyDecision();

  for (const policy of effective) {
    for (const name of [DOMAIN, `www.${DOMAIN}`, ABUSE_CANARY.site, DOMAIN.toUpperCase()]) {
      const kind = decide(lists, policy, wire(name), 0, scratch, out);
      t.equal(kind, LIST_BLOCK, `${policy.venue}: ${name} blocked`);
      t.equal(out.categories, ABUSE_BIT, `${policy.venue}: by the abuse category`);
      t.equal(out.action, ACTION.POLICY, 'answered in the venue block mode');
      t.equal(out.venueAllowed, false, 'not marked allowed (its CNAMEs stay inspected)');
    }
  }

  // The same policies for other names: their own rules still apply.
  const [allowing, adultOnly, nothing, denying, dflt] = effective;
  t.equal(
    decide(lists, allowing, wire('x.abuse.roje.test'), 0, scratch, out),
    PASS,
    'the allow addition passes an unlisted name',
  );
  t.equal(out.venueAllowed, true);
  t.equal(decide(lists, adultOnly, wire('adult.example.test'), 0, scratch, out), LIST_BLOCK);
  t.equal(out.categories, 0b01);
  t.equal(decide(lists, nothing, wire('adult.example.test'), 0, scratch, out), PASS);
  t.equal(decide(lists, denying, wire('other.example.test'), 0, scratch, out), PASS);
  t.equal(decide(lists, dflt, wire(ABUSE_CANARY.page), 0, scratch, out), PASS, 'page hosts only counted');
  // A venue deny on the abuse name: blocked either way; the abuse feed decides first.
  t.equal(decide(lists, denying, wire(DOMAIN), 0, scratch, out), LIST_BLOCK);
  t.not(out.kind, VENUE_DENY);
});

t.test('EMPTY_LISTS hold no hashed entries', async (t) => {
  t.equal(EMPTY_LISTS.hashedEntries, 0);
  t.equal(EMPTY_LISTS.lookupHashedWire(wire(DOMAIN), 0), 0);
});
