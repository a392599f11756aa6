/** The changed keys of a reload, for its audit entry: dotted paths, never values. */
import t from 'tap';
import { changedConfigKeys } from '../../src/config/diff.js';

t.test('names each changed key by its path, added and removed ones too', async (t) => {
  const before = {
    blockTtl: 60,
    cache: { maxTtl: 3600, minTtl: 0 },
    policies: { cafe: { block: ['adult'] } },
  };
  t.same(changedConfigKeys(before, structuredClone(before)), [], 'nothing changed');
  t.same(
    changedConfigKeys(before, {
      blockTtl: 30,
      cache: { maxTtl: 3600, minTtl: 5 },
      policies: { cafe: { block: ['adult', 'gambling'] }, school: { block: 'all' } },
    }),
    ['blockTtl', 'cache.minTtl', 'policies.cafe.block', 'policies.school'],
  );
  t.same(changedConfigKeys({ a: 1 }, {}), ['a'], 'a removed key');
});

t.test('arrays by index while their length holds, else as a whole; deep paths stop at depth 3', async (t) => {
  const up = (url: string) => ({
    upstreams: [
      { url, timeout: 2 },
      { url: 'udp://b', timeout: 2 },
    ],
  });
  t.same(changedConfigKeys(up('udp://a'), up('udp://c')), ['upstreams[0].url']);
  t.same(changedConfigKeys({ listen: ['a'] }, { listen: ['a', 'b'] }), ['listen']);
  t.same(changedConfigKeys({ a: { b: { c: { d: 1 } } } }, { a: { b: { c: { d: 2 } } } }), ['a.b.c']);
  t.same(changedConfigKeys(1, 2), ['(the whole config)']);
});

t.test('a secret that changed is named, its value never appears', async (t) => {
  const keys = changedConfigKeys(
    { admin: { tokens: [{ name: 'a', sha256: 'aaaa' }] } },
    { admin: { tokens: [{ name: 'a', sha256: 'bbbb' }] } },
  );
  t.same(keys, ['admin.tokens[0]']);
  t.notMatch(keys.join(' '), /aaaa|bbbb/);
});
