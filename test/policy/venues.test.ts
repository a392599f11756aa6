import t from 'tap';
import { encodeName } from '../../src/dns/name.js';
import {
  ADD_ALLOW,
  ADD_DENY,
  ADD_NONE,
  createAdditions,
  createVenueResolver,
  effectivePolicies,
  type VenueSettings,
} from '../../src/policy/venues.js';

t.test('the longest prefix wins, whatever the order of the venues', async (t) => {
  const venues = [
    { networks: ['10.0.0.0/8'] },
    { networks: ['10.1.0.0/16', '2001:db8::/32'] },
    { networks: ['10.1.2.0/24', '2001:db8:1::/48'] },
    { networks: ['10.1.2.3'] },
  ];
  for (const order of [venues, [...venues].reverse()]) {
    const venueOf = createVenueResolver(order);
    const index = (i: number) => order.indexOf(venues[i]);
    t.equal(venueOf('10.9.9.9'), index(0));
    t.equal(venueOf('10.1.9.9'), index(1));
    t.equal(venueOf('10.1.2.9'), index(2));
    t.equal(venueOf('10.1.2.3'), index(3));
    t.equal(venueOf('10.1.2.3'), index(3), 'remembered: same answer');
    t.equal(venueOf('2001:db8:9::1'), index(1));
    t.equal(venueOf('2001:db8:1::1'), index(2));
    t.equal(venueOf('2001:DB8:1::1'), index(2), 'IPv6 in upper case');
    t.equal(venueOf('192.168.1.1'), -1, 'no venue: the default policy');
    t.equal(venueOf('2001:db9::1'), -1);
    t.equal(venueOf('not an address'), -1);
  }
});

t.test('IPv4-mapped clients and IPv4-mapped networks', async (t) => {
  const venueOf = createVenueResolver([
    { networks: ['192.0.2.0/24'] },
    { networks: ['::ffff:192.0.2.128/121'] },
  ]);
  t.equal(venueOf('::ffff:192.0.2.1'), 0, 'a mapped client matches the IPv4 network');
  t.equal(venueOf('192.0.2.200'), 1, 'a mapped network (/121 = IPv4 /25) is more specific than /24');
  t.equal(venueOf('::ffff:192.0.2.200'), 1);
  t.equal(venueOf('192.0.3.1'), -1);
});

t.test('no venues: every client gets the default', async (t) => {
  const venueOf = createVenueResolver([]);
  t.equal(venueOf('10.0.0.1'), -1);
});

t.test('the same network in two venues: the first one listed wins', async (t) => {
  const venueOf = createVenueResolver([{ networks: ['10.0.0.0/8'] }, { networks: ['10.0.0.0/8'] }]);
  t.equal(venueOf('10.2.3.4'), 0);
});

t.test('additions match names and their subtrees; the deepest entry decides, allow at a tie', async (t) => {
  const add = createAdditions(
    ['Example.COM.', 'deep.a.example.com', '*.wild.test', 'xxx', 'bücher.example', 'both.test'],
    ['a.example.com', 'bad.deep.a.example.com', 'both.test', 'deny.test'],
    'policy x',
  );
  t.equal(add.size, 9, 'a name in both lists is one entry');
  const verdict = (name: string) => add.matchWire(encodeName(name), 0);
  t.equal(verdict('example.com'), ADD_ALLOW);
  t.equal(verdict('www.EXAMPLE.com'), ADD_ALLOW, 'case-insensitive');
  t.equal(verdict('a.example.com'), ADD_DENY, 'a deeper deny beats an allow above it');
  t.equal(verdict('x.a.example.com'), ADD_DENY);
  t.equal(verdict('x.deep.a.example.com'), ADD_ALLOW, 'and a deeper allow beats that deny');
  t.equal(verdict('bad.deep.a.example.com'), ADD_DENY);
  t.equal(verdict('both.test'), ADD_ALLOW, 'at one name allow wins');
  t.equal(verdict('www.deny.test'), ADD_DENY);
  t.equal(verdict('notexample.com'), ADD_NONE, 'label boundaries only');
  t.equal(verdict('com'), ADD_NONE);
  t.equal(verdict('wild.test'), ADD_ALLOW, '"*." entries cover their subtree');
  t.equal(verdict('site.xxx'), ADD_ALLOW, 'a bare TLD covers the TLD');
  t.equal(verdict('www.xn--bcher-kva.example'), ADD_ALLOW, 'IDN entries as A-labels');
  const withOffset = Buffer.concat([Buffer.from([1, 2, 3]), encodeName('www.deny.test')]);
  t.equal(add.matchWire(withOffset, 3), ADD_DENY, 'reads from an offset');
  t.equal(add.matchWire(Buffer.from([3, 0x77, 0x77]), 0), ADD_NONE, 'a truncated name matches nothing');
  t.throws(
    () => createAdditions(['bad name'], [], 'policy x'),
    /policy x allow: "bad name" is not a domain name/,
  );
  t.equal(createAdditions([], [], 'empty').matchWire(encodeName('example.com'), 0), ADD_NONE);
});

t.test(
  'effective policies: masks from category names, default last, unknown categories warned',
  async (t) => {
    const venues: VenueSettings[] = [
      { name: 'cafe', networks: ['10.0.0.0/8'], policy: 'cafe' },
      { name: 'library', networks: ['10.1.0.0/16'], policy: 'strict' },
    ];
    const policies = {
      default: { block: ['abuse'], blockMode: 'nxdomain' as const },
      cafe: {
        block: ['adult', 'gambling', 'nope'],
        blockMode: 'blockpage' as const,
        deny: ['casino.example'],
      },
      strict: { block: 'all' as const, blockMode: 'null' as const, allow: ['school.example'] },
    };
    // "nope" has no list: no bit (the config refuses it unless optional: config/policy-categories.ts).
    const out = effectivePolicies(venues, policies, { categories: ['abuse', 'adult', 'gambling'] });
    t.same(
      out.map((p) => [p.venue, p.venueIndex, p.policy, p.blockMask, p.blockMode, p.additions.size]),
      [
        ['cafe', 0, 'cafe', 0b110, 'blockpage', 1],
        ['library', 1, 'strict', 0b111, 'null', 1],
        ['default', -1, 'default', 0b001, 'nxdomain', 0],
      ],
    );
    t.throws(
      () => effectivePolicies([{ name: 'x', networks: [], policy: 'missing' }], policies, { categories: [] }),
      /policy "missing" is not defined/,
    );
    const noDefault = effectivePolicies([], {}, { categories: ['a', 'b'] });
    t.same(
      [noDefault[0].blockMask, noDefault[0].blockMode],
      [0b11, 'nxdomain'],
      'no default policy: block all',
    );
    const many = Array.from({ length: 32 }, (_, i) => `c${i}`);
    t.equal(effectivePolicies([], {}, { categories: many })[0].blockMask, -1, '32 categories: every bit');
  },
);
