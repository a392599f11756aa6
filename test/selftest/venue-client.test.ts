/** The client address the self-test asks as for a venue: the first host of its first network. */
import t from 'tap';
import { venueClientAddress } from '../../src/selftest/venue-client.js';

t.test('the first host address of the first network', async (t) => {
  t.equal(venueClientAddress(['198.51.100.0/24', '203.0.113.0/24']), '198.51.100.1');
  t.equal(venueClientAddress(['10.20.0.0/16']), '10.20.0.1');
  t.equal(venueClientAddress(['10.20.30.0/30']), '10.20.30.1');
  t.equal(venueClientAddress(['2001:db8:7::/48']), '2001:db8:7::1');
});

t.test('a network with no room for a host beside its network address: that address', async (t) => {
  t.equal(venueClientAddress(['192.0.2.7/32']), '192.0.2.7');
  t.equal(venueClientAddress(['192.0.2.6/31']), '192.0.2.6');
  t.equal(venueClientAddress(['2001:db8::5/128']), '2001:db8::5');
});

t.test('no network: none', async (t) => {
  t.equal(venueClientAddress([]), null);
});
