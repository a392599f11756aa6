import t from 'tap';
import { isRojeError } from '../../src/errors.js';
import { cidrProblem, createCidrMatcher, parseCidr } from '../../src/net/cidr.js';

t.test('parseCidr accepts networks and single addresses', async (t) => {
  t.match(parseCidr('10.0.0.0/8'), { version: 4, prefix: 8, text: '10.0.0.0/8' });
  t.match(parseCidr('192.0.2.7'), { version: 4, prefix: 32, text: '192.0.2.7/32' });
  t.match(parseCidr('0.0.0.0/0'), { version: 4, prefix: 0 });
  t.match(parseCidr('fc00::/7'), { version: 6, prefix: 7, text: 'fc00::/7' });
  t.match(parseCidr('2001:DB8::/32'), { version: 6, text: '2001:db8::/32' });
  t.match(parseCidr('::1'), { version: 6, prefix: 128, text: '::1/128' });
  t.match(parseCidr('::/0'), { prefix: 0, text: '::/0' });
});

t.test('parseCidr rejects with a reason', async (t) => {
  const cases: [string, RegExp][] = [
    ['10.0.0.0/33', /prefix length 33 is out of range 0-32/],
    ['::/129', /out of range 0-128/],
    ['10.0.0.1/8', /host bits are set after \/8; the network is "10\.0\.0\.0\/8"/],
    ['fc00::1/7', /host bits.*"fc00::\/7"/],
    ['10.0.0.0/x', /prefix length "x" is not a number/],
    ['10.0.0/8', /not an IPv4 or IPv6 address/],
    ['example.com/24', /not an IPv4 or IPv6 address/],
    ['fe80::%eth0/10', /zone id/],
    ['', /not an IPv4/],
  ];
  for (const [text, why] of cases) {
    t.match(cidrProblem(text), why, text);
    t.throws(() => parseCidr(text), { code: 'ROJE_ERR_NET_CIDR', message: why });
  }
  t.equal(cidrProblem('10.0.0.0/8'), null);
});

t.test('IPv4 matching', async (t) => {
  const allowed = createCidrMatcher(['10.0.0.0/8', '192.168.1.0/24', '203.0.113.9', '100.64.0.0/10']);
  for (const a of ['10.0.0.0', '10.255.255.255', '192.168.1.77', '203.0.113.9', '100.127.255.255']) {
    t.ok(allowed(a), a);
  }
  for (const a of ['11.0.0.1', '192.168.2.1', '203.0.113.10', '100.128.0.0', '9.255.255.255']) {
    t.notOk(allowed(a), a);
  }
});

t.test('IPv4-mapped IPv6 clients match IPv4 rules', async (t) => {
  const allowed = createCidrMatcher(['10.0.0.0/8']);
  t.ok(allowed('::ffff:10.1.2.3'));
  t.ok(allowed('::FFFF:10.1.2.3'));
  t.ok(allowed('::ffff:a01:203'), 'hex-written mapped address');
  t.notOk(allowed('::ffff:11.1.2.3'));
  // A rule written as a mapped network is an IPv4 rule.
  const mapped = createCidrMatcher(['::ffff:192.168.0.0/112']);
  t.ok(mapped('192.168.3.4'));
  t.ok(mapped('::ffff:192.168.3.4'));
  t.notOk(mapped('192.169.0.1'));
});

t.test('IPv6 matching', async (t) => {
  const allowed = createCidrMatcher([
    'fc00::/7',
    'fe80::/10',
    '::1/128',
    '2001:db8:abcd:12::/64',
    '2001:db8::5',
  ]);
  for (const a of [
    'fc00::1',
    'fdff:ffff::1',
    'fe80::1',
    'fe80::1%eth0',
    'febf::1',
    '::1',
    '0:0:0:0:0:0:0:1',
    '2001:db8:abcd:12:ffff::1',
    '2001:DB8:ABCD:12::',
    '2001:db8::5',
  ]) {
    t.ok(allowed(a), a);
  }
  for (const a of ['fe00::1', 'fec0::1', '::2', '::', '2001:db8:abcd:13::1', '2001:db8::6', '2001:db9::5']) {
    t.notOk(allowed(a), a);
  }
  // IPv4 rules do not leak into IPv6 and back.
  t.notOk(allowed('10.0.0.1'));
  t.notOk(createCidrMatcher(['10.0.0.0/8'])('::a00:1'));
});

t.test('hostile or odd input is simply not allowed', async (t) => {
  const all = createCidrMatcher(['0.0.0.0/0', '::/0']);
  t.ok(all('1.2.3.4'));
  t.ok(all('2001:db8::1'));
  for (const bad of [
    '',
    ':',
    ':::',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '1..2.3',
    '1.2.3.4 ',
    '01234.1.1.1',
    'a:b:c:d:e:f:a:b:c',
    '1::2::3',
    '12345::',
    'g::1',
    '::ffff:1.2.3.999',
    '1:2:3:4:5:6:7:1.2.3.4',
    'x'.repeat(10_000),
    undefined as unknown as string,
  ]) {
    t.notOk(all(bad), JSON.stringify(bad)?.slice(0, 30));
  }
  t.ok(all('1:2:3:4:5:6:1.2.3.4'));
  t.ok(all('::'));
});

t.test('matcher agrees with a slow reference on many addresses', async (t) => {
  const rules = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '127.0.0.0/8'];
  const allowed = createCidrMatcher(rules);
  const slow = (a: string) => {
    const n = a.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
    return rules.some((r) => {
      const [net, p] = r.split('/');
      const base = net.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
      const size = 2 ** (32 - Number(p));
      return n >= base && n < base + size;
    });
  };
  let seed = 42;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed;
  };
  let mismatches = 0;
  for (let i = 0; i < 20_000; i++) {
    const first = [10, 172, 192, 100, 127, rand() % 256][rand() % 6];
    const a = `${first}.${rand() % 256}.${rand() % 256}.${rand() % 256}`;
    if (allowed(a) !== slow(a)) mismatches++;
  }
  t.equal(mismatches, 0);
});

t.test('createCidrMatcher throws on a bad rule', async (t) => {
  try {
    createCidrMatcher(['10.0.0.0/8', 'nope']);
    t.fail('should throw');
  } catch (err) {
    t.ok(isRojeError(err, 'ROJE_ERR_NET_CIDR'));
    t.match((err as Error).message, /CIDR "nope" is not valid/);
  }
});
