import t from 'tap';
import { encodeName } from '../../src/dns/name.js';
import { additionsWithOverrides, createOverlayReceiver, matchOverride } from '../../src/overrides/overlay.js';
import type { Override, OverrideOverlay } from '../../src/overrides/types.js';
import { ADD_ALLOW, ADD_DENY, ADD_NONE } from '../../src/policy/venues.js';

let n = 0;
const o = (name: string, action: 'allow' | 'deny', venue: string | null): Override => ({
  id: `o-${String(++n).padStart(12, '0')}`,
  name,
  action,
  venue,
  note: '',
  who: 'ops',
  at: '2026-12-06T00:00:00.000Z',
});
const overlay = (...entries: Override[]): OverrideOverlay => ({ entries });
const verdict = (a: ReturnType<typeof additionsWithOverrides>, name: string) =>
  a.matchWire(encodeName(name), 0);

t.test('merged with the config additions: deepest name decides, venue beats all beats config', async (t) => {
  const ov = overlay(
    o('example.com', 'allow', null),
    o('example.com', 'deny', 'cafe'),
    o('www.example.com', 'allow', 'cafe'),
    o('denied.example', 'deny', null),
    o('config-denied.example', 'allow', 'cafe'),
  );
  const settings = { allow: ['config-allowed.example'], deny: ['config-denied.example', 'sub.example.com'] };
  const cafe = additionsWithOverrides(settings, ov, 'cafe', 'policy kids');
  const library = additionsWithOverrides(settings, ov, 'library', 'policy kids');
  const noVenue = additionsWithOverrides({}, ov, null, 'policy default');

  t.equal(verdict(cafe, 'example.com'), ADD_DENY, 'the venue override beats the all-venue one at one name');
  t.equal(verdict(library, 'example.com'), ADD_ALLOW);
  t.equal(verdict(noVenue, 'a.example.com'), ADD_ALLOW, 'all-venue entries reach clients of no venue');
  t.equal(verdict(cafe, 'x.www.example.com'), ADD_ALLOW, 'the deeper name decides');
  t.equal(verdict(cafe, 'sub.example.com'), ADD_DENY, 'a deeper config deny still counts');
  t.equal(verdict(cafe, 'config-denied.example'), ADD_ALLOW, 'an override beats the config at one name');
  t.equal(verdict(library, 'config-denied.example'), ADD_DENY, 'elsewhere the config stands');
  t.equal(verdict(library, 'config-allowed.example'), ADD_ALLOW);
  t.equal(verdict(noVenue, 'denied.example'), ADD_DENY);
  t.equal(verdict(noVenue, 'other.example'), ADD_NONE);
});

t.test('matchOverride: the deciding entry for a name and venue, for "why is it blocked"', async (t) => {
  const venueEntry = o('example.com', 'deny', 'cafe');
  const allEntry = o('example.com', 'allow', null);
  const deeper = o('www.example.com', 'allow', null);
  const ov = overlay(allEntry, venueEntry, deeper);
  t.equal(matchOverride(ov, 'a.example.com', 'cafe'), venueEntry);
  t.equal(matchOverride(ov, 'A.Example.Com.', 'library'), allEntry);
  t.equal(matchOverride(ov, 'x.www.example.com', 'cafe'), deeper);
  t.equal(matchOverride(ov, 'example.com', null), allEntry);
  t.equal(matchOverride(ov, 'other.org', 'cafe'), null);
  t.equal(matchOverride(overlay(), 'example.com', 'cafe'), null);
});

t.test('a query loop swaps its overlay only when the entries differ', async (t) => {
  const r = createOverlayReceiver();
  const empty = r.current();
  r.receive([]);
  t.equal(r.current(), empty);
  const e = [o('a.example', 'allow', null)];
  r.receive(e);
  const first = r.current();
  t.not(first, empty);
  r.receive(JSON.parse(JSON.stringify(e)));
  t.equal(r.current(), first, 'the same entries again: the same overlay');
});
