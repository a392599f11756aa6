import t from 'tap';
import {
  addressKey,
  expandIPv6,
  formatListenAddress,
  isLoopback,
  isUnspecified,
  parseListenAddress,
  stripScope,
  unwrapMapped,
} from '../../src/net/address.js';

t.test('parseListenAddress', async (t) => {
  t.same(parseListenAddress('127.0.0.1:5353'), { host: '127.0.0.1', port: 5353 });
  t.same(parseListenAddress('[::1]:53'), { host: '::1', port: 53 });
  t.same(parseListenAddress('0.0.0.0:0'), { host: '0.0.0.0', port: 0 });
  t.same(parseListenAddress('[fe80::1%eth0]:53'), { host: 'fe80::1%eth0', port: 53 });
  for (const bad of [
    '127.0.0.1',
    '::1:53',
    '[::1]',
    '[127.0.0.1]:53',
    'localhost:53',
    '1.2.3.4:65536',
    '1.2.3.4:-1',
    '1.2.3:53',
    '[::1]:5x',
    ':53',
    '',
  ]) {
    t.equal(parseListenAddress(bad), null, bad);
  }
  t.equal(formatListenAddress({ host: '::1', port: 53 }), '[::1]:53');
  t.equal(formatListenAddress({ host: '10.0.0.1', port: 53 }), '10.0.0.1:53');
});

t.test('unwrapMapped', async (t) => {
  t.equal(unwrapMapped('::ffff:1.2.3.4'), '1.2.3.4');
  t.equal(unwrapMapped('::FFFF:10.0.0.1'), '10.0.0.1');
  t.equal(unwrapMapped('::ffff:1.2.3'), '::ffff:1.2.3');
  t.equal(unwrapMapped('1.2.3.4'), '1.2.3.4');
  t.equal(unwrapMapped('::1'), '::1');
  t.equal(unwrapMapped('2001:db8::1'), '2001:db8::1');
  t.equal(unwrapMapped('::ffff:abcd:1234'), '::ffff:abcd:1234');
});

t.test('address helpers', async (t) => {
  t.same(expandIPv6('::'), [0, 0, 0, 0, 0, 0, 0, 0]);
  t.same(expandIPv6('2001:db8::1'), [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]);
  t.same(expandIPv6('::ffff:1.2.3.4'), [0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304]);
  t.same(expandIPv6('1:2:3:4:5:6:7:8'), [1, 2, 3, 4, 5, 6, 7, 8]);
  t.equal(expandIPv6('1.2.3.4'), null);
  t.equal(addressKey('0:0:0:0:0:0:0:1'), addressKey('::1'));
  t.equal(addressKey('::ffff:10.0.0.1'), '10.0.0.1');
  t.equal(addressKey('nope'), null);
  t.equal(stripScope('fe80::1%eth0'), 'fe80::1');
  t.ok(isLoopback('127.0.0.53'));
  t.ok(isLoopback('::1'));
  t.ok(isLoopback('::ffff:127.0.0.1'));
  t.notOk(isLoopback('10.0.0.1'));
  t.notOk(isLoopback('::2'));
  t.ok(isUnspecified('0.0.0.0'));
  t.ok(isUnspecified('::'));
  t.notOk(isUnspecified('::1'));
});
