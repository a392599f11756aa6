import t from 'tap';
import { normalizeListName } from '../../src/policy/name.js';

t.test('lowercases, strips one trailing dot, keeps underscores and bare TLDs', async (t) => {
  t.same(normalizeListName('WWW.Example.COM'), { name: 'www.example.com' });
  t.same(normalizeListName('example.com.'), { name: 'example.com' });
  t.same(normalizeListName('_dmarc.example.com'), { name: '_dmarc.example.com' });
  t.same(normalizeListName('a-b.c_d.example'), { name: 'a-b.c_d.example' });
  t.same(normalizeListName('xxx'), { name: 'xxx' }, 'a bare TLD is a valid name (blocks the TLD)');
  t.same(normalizeListName('PORN.'), { name: 'porn' });
  t.same(normalizeListName('1337x.to'), { name: '1337x.to' }, 'digits are fine outside the TLD');
  const plain = 'already.lower.case';
  t.equal(normalizeListName(plain).name, plain, 'no copy when nothing changes');
});

t.test('maps IDNs to their A-labels', async (t) => {
  t.same(normalizeListName('münchen.de'), { name: 'xn--mnchen-3ya.de' });
  t.same(normalizeListName('ПРИМЕР.РФ.'), { name: 'xn--e1afmkfd.xn--p1ai' });
  t.same(normalizeListName('xn--mnchen-3ya.de'), { name: 'xn--mnchen-3ya.de' }, 'an A-label stays');
  t.same(normalizeListName('bücher.example'), normalizeListName('BÜCHER.example'));
  t.same(normalizeListName('a\u00a0b.com'), { reason: 'bad-character' }, 'UTS #46 rejects a no-break space');
});

t.test('skips bad names with the reason', async (t) => {
  const l63 = 'a'.repeat(63);
  t.same(normalizeListName(`${l63}.com`), { name: `${l63}.com` }, '63 octets is the limit');
  t.same(normalizeListName(`${'a'.repeat(64)}.com`), { reason: 'label-too-long' });
  t.same(normalizeListName(`www.${'a'.repeat(64)}`), { reason: 'label-too-long' }, 'last label too');
  // 4 labels of 63 + 3 dots = 255; 253 is the longest allowed.
  const n253 = `${l63}.${l63}.${l63}.${'b'.repeat(61)}`;
  t.equal(n253.length, 253);
  t.same(normalizeListName(n253), { name: n253 });
  t.same(normalizeListName(`${n253}.`), { name: n253 }, 'a trailing dot does not count');
  t.same(normalizeListName(`${l63}.${l63}.${l63}.${'b'.repeat(62)}`), { reason: 'name-too-long' });
  t.same(normalizeListName('exa mple.com'), { reason: 'bad-character' });
  t.same(normalizeListName('example.com/path'), { reason: 'bad-character' });
  t.same(normalizeListName('*.example.com'), { reason: 'bad-character' });
  t.same(normalizeListName('ex!ample.com'), { reason: 'bad-character' });
  t.same(normalizeListName(''), { reason: 'empty-label' });
  t.same(normalizeListName('.'), { reason: 'empty-label' });
  t.same(normalizeListName('a..b'), { reason: 'empty-label' });
  t.same(normalizeListName('.example.com'), { reason: 'empty-label' });
  t.same(normalizeListName('example.com..'), { reason: 'empty-label' }, 'only one trailing dot is stripped');
  t.same(normalizeListName('192.0.2.1'), { reason: 'not-a-name' }, 'an IPv4 address');
  t.same(normalizeListName('2001:db8::1'), { reason: 'not-a-name' }, 'an IPv6 address');
  t.same(normalizeListName('example.123'), { reason: 'not-a-name' }, 'no TLD is all digits');
});
