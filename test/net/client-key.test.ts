import t from 'tap';
import { parseIPv6Into } from '../../src/net/cidr.js';
import { clientKey } from '../../src/net/client-key.js';

t.test('IPv6 clients are keyed by their /64, whatever the spelling', async (t) => {
  const same = [
    '2001:db8:1:2::1',
    '2001:db8:1:2:aaaa:bbbb:cccc:dddd',
    '2001:0DB8:0001:0002:0:0:0:ffff',
    '2001:db8:1:2::',
    '2001:db8:1:2::1.2.3.4',
    '2001:db8:1:2::1%eth0',
  ];
  for (const a of same) t.equal(clientKey(a), clientKey(same[0]), a);
});

t.test('`::` inside the first four groups still keys by the /64', async (t) => {
  // 2001:db8:0:0/64: the compressed zeros are part of the prefix.
  const prefix = [
    '2001:db8::1',
    '2001:db8::2',
    '2001:db8::aaaa:bbbb:cccc:dddd',
    '2001:db8:0:0:1::',
    '2001:db8::',
  ];
  for (const a of prefix) t.equal(clientKey(a), clientKey(prefix[0]), a);
  t.equal(clientKey('fe80::1'), clientKey('fe80::abcd:1234:5678:9abc'), 'link-local');
  t.equal(clientKey('::1'), clientKey('::2'), 'the all-zero /64');
  t.equal(clientKey('1::2:3:4:5:6:7'), clientKey('1:0:2:3::'), 'groups after `::` can fall in the prefix');
  t.not(clientKey('2001:db8::1'), clientKey('2001:db8:0:1::1'), 'the next /64');
  t.not(clientKey('2001:db8::1'), clientKey('2001:db9::1'));
  t.not(clientKey('1::2:3:4:5:6:7'), clientKey('1::3:4:5:6:7'), 'a different fill');
});

t.test('IPv4-mapped addresses are the IPv4 client', async (t) => {
  t.equal(clientKey('::ffff:192.168.1.10'), clientKey('192.168.1.10'));
  t.equal(clientKey('::FFFF:192.168.1.10'), clientKey('192.168.1.10'));
  t.equal(clientKey('0:0:0:0:0:ffff:192.168.1.10'), clientKey('192.168.1.10'));
  t.not(clientKey('::ffff:192.168.1.11'), clientKey('192.168.1.10'), 'each mapped address is its own client');
  t.not(clientKey('192.168.1.10'), clientKey('192.168.1.11'));
});

t.test('a key is never 0 and unparsable text still gets a key', async (t) => {
  for (const a of ['', 'not-an-address', ':::', '1:2:3:4:5:6:7:8:9', '::ffff:1.2.3', 'x::y']) {
    t.ok(clientKey(a) !== 0 && Number.isInteger(clientKey(a)), JSON.stringify(a));
  }
});

t.test('parseIPv6Into', async (t) => {
  const w = new Uint16Array(8);
  t.ok(parseIPv6Into('2001:db8::1', w));
  t.same([...w], [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]);
  t.ok(parseIPv6Into('::ffff:10.0.0.1', w));
  t.same([...w], [0, 0, 0, 0, 0, 0xffff, 0x0a00, 1]);
  t.ok(parseIPv6Into('::', w));
  t.same([...w], [0, 0, 0, 0, 0, 0, 0, 0]);
  for (const bad of [
    ':',
    '1:2',
    '1::2::3',
    '12345::',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7:8::',
    ':1::',
    '1:',
    '::1.2.3.256',
  ]) {
    t.notOk(parseIPv6Into(bad, w), bad);
  }
});
