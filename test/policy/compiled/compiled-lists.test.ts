import t from 'tap';
import { loadArtifact } from '../../../src/policy/compiled/artifact.js';
import { createListBuilder } from '../../../src/policy/compiled/builder.js';
import { ReferenceMatcher } from '../../../src/policy/compiled/reference.js';
import {
  ACTION,
  emptyResult,
  type ListRule,
  type RuleAction,
  type RuleScope,
} from '../../../src/policy/types.js';

type Spec = [name: string, scope: RuleScope, action: RuleAction, category: string, local?: ListRule['local']];

/** Compiles the rules (and feeds the reference matcher the same), returning both. */
function compile(specs: Spec[]) {
  const b = createListBuilder();
  const ref = new ReferenceMatcher();
  specs.forEach(([name, scope, action, category, local], i) => {
    const rule: ListRule = { name, scope, action, line: i + 1, ...(local ? { local } : {}) };
    const bit = b.category(category);
    b.add(rule, bit);
    ref.add(rule, bit);
  });
  return { lists: loadArtifact(b.finish()), ref };
}

const ADULT = 1;
const GAMBLING = 2;

t.test('a listed name blocks itself and its subtree, not its parent or siblings', async (t) => {
  const { lists } = compile([['example.com', 'subtree', 'block', 'adult']]);
  t.match(lists.lookup('example.com'), {
    blocked: ADULT,
    allowed: 0,
    action: ACTION.POLICY,
    matchedLabels: 2,
  });
  t.match(lists.lookup('a.b.example.com'), { blocked: ADULT, matchedLabels: 2 });
  t.match(lists.lookup('com'), { blocked: 0, matchedLabels: 0 });
  t.match(lists.lookup('example.org'), { blocked: 0, matchedLabels: 0 });
  t.match(lists.lookup('xexample.com'), { blocked: 0 }, 'a label suffix is not a name suffix');
  t.match(lists.lookup('example.com.evil'), { blocked: 0 });
  t.equal(lists.entries, 1);
  t.same(lists.categories, ['adult']);
});

t.test('case-insensitive, trailing dot ignored, in both lookup forms', async (t) => {
  const { lists } = compile([['Example.COM', 'subtree', 'block', 'adult']]);
  for (const q of ['example.com', 'EXAMPLE.com.', 'WwW.ExAmPlE.CoM', 'www.example.com.']) {
    t.equal(lists.lookup(q).blocked, ADULT, q);
  }
  const wire = Buffer.from([
    0,
    0,
    3,
    0x57,
    0x57,
    0x57,
    7,
    ...Buffer.from('EXAMPLE'),
    3,
    ...Buffer.from('Com'),
    0,
  ]);
  const out = emptyResult();
  t.equal(lists.lookupWire(wire, 2, out), out, 'fills and returns the caller-owned object');
  t.match(out, { blocked: ADULT, matchedLabels: 2 });
});

t.test('allow beats block at the same name and deeper rules win', async (t) => {
  const { lists } = compile([
    ['example.com', 'subtree', 'block', 'adult'],
    ['safe.example.com', 'subtree', 'allow', 'adult'],
    ['bad.safe.example.com', 'subtree', 'block', 'adult'],
    ['both.org', 'subtree', 'block', 'adult'],
    ['both.org', 'subtree', 'allow', 'adult'],
  ]);
  t.match(lists.lookup('x.example.com'), { blocked: ADULT, allowed: 0, matchedLabels: 2 });
  t.match(lists.lookup('safe.example.com'), { blocked: 0, allowed: ADULT, matchedLabels: 3 });
  t.match(lists.lookup('www.safe.example.com'), { blocked: 0, allowed: ADULT, matchedLabels: 3 });
  t.match(lists.lookup('bad.safe.example.com'), { blocked: ADULT, allowed: 0, matchedLabels: 4 });
  t.match(lists.lookup('x.bad.safe.example.com'), { blocked: ADULT, matchedLabels: 4 });
  t.match(
    lists.lookup('both.org'),
    { blocked: 0, allowed: ADULT, matchedLabels: 2 },
    'allow wins at one node',
  );
  t.match(lists.lookup('other.org'), { blocked: 0, allowed: 0, matchedLabels: 0 });
});

t.test('an allow clears only its own category', async (t) => {
  const { lists } = compile([
    ['casino.example', 'subtree', 'block', 'adult'],
    ['casino.example', 'subtree', 'block', 'gambling'],
    ['www.casino.example', 'subtree', 'allow', 'adult'],
  ]);
  t.match(lists.lookup('casino.example'), { blocked: ADULT | GAMBLING });
  t.match(lists.lookup('www.casino.example'), { blocked: GAMBLING, allowed: ADULT, matchedLabels: 2 });
});

t.test('exact applies to the name only; below to names under it only', async (t) => {
  const { lists } = compile([
    ['exact.test', 'exact', 'block', 'adult'],
    ['wild.test', 'below', 'block', 'adult'],
  ]);
  t.equal(lists.lookup('exact.test').blocked, ADULT);
  t.equal(lists.lookup('a.exact.test').blocked, 0);
  t.equal(lists.lookup('wild.test').blocked, 0);
  t.match(lists.lookup('a.wild.test'), { blocked: ADULT, matchedLabels: 2 });
  t.match(lists.lookup('b.a.wild.test'), { blocked: ADULT, matchedLabels: 2 });
});

t.test('a bare top-level entry blocks the whole TLD', async (t) => {
  const { lists } = compile([['xxx', 'subtree', 'block', 'adult']]);
  t.match(lists.lookup('xxx'), { blocked: ADULT, matchedLabels: 1 });
  t.match(lists.lookup('anything.xxx'), { blocked: ADULT, matchedLabels: 1 });
  t.equal(lists.lookup('xxx.com').blocked, 0);
});

t.test('RPZ actions and local data come from the deciding rule', async (t) => {
  const local = [
    { type: 'A' as const, data: '192.0.2.1' },
    { type: 'AAAA' as const, data: '2001:db8::1' },
  ];
  const { lists } = compile([
    ['nx.test', 'exact', 'nxdomain', 'rpz'],
    ['nx.test', 'below', 'nodata', 'rpz'],
    ['loc.test', 'exact', 'local', 'rpz', [local[0]]],
    ['loc.test', 'exact', 'local', 'rpz', [local[1]]],
    ['loc.test', 'subtree', 'block', 'adult'],
    ['pass.nx.test', 'exact', 'allow', 'rpz'],
  ]);
  t.match(lists.lookup('nx.test'), { blocked: 1, action: ACTION.NXDOMAIN, matchedLabels: 2 });
  t.match(lists.lookup('a.nx.test'), { blocked: 1, action: ACTION.NODATA, matchedLabels: 2 });
  t.match(lists.lookup('pass.nx.test'), { blocked: 0, allowed: 1, action: ACTION.POLICY, matchedLabels: 3 });
  t.match(
    lists.lookup('x.pass.nx.test'),
    { blocked: 1, action: ACTION.NODATA },
    'the exact allow stops at its name',
  );
  const r = lists.lookup('loc.test');
  t.match(r, { blocked: 1 | 2, action: ACTION.LOCAL, matchedLabels: 2 });
  t.same(lists.localData(r.localIndex), local, 'local records of one name are joined');
  t.match(
    lists.lookup('www.loc.test'),
    { blocked: 2, action: ACTION.POLICY, localIndex: -1 },
    'subtree: policy',
  );
  t.same(lists.localData(99), []);
  const allowedAction = compile([
    ['x.test', 'subtree', 'block', 'adult'],
    ['x.test', 'exact', 'nxdomain', 'rpz'],
    ['x.test', 'exact', 'allow', 'rpz'],
  ]).lists;
  t.match(
    allowedAction.lookup('x.test'),
    { blocked: 1, allowed: 2, action: ACTION.POLICY },
    'an action whose block an allow cleared does not apply',
  );
});

t.test('malformed or odd queries never match and never throw', async (t) => {
  const { lists } = compile([['example.com', 'subtree', 'block', 'adult']]);
  for (const q of [
    '',
    '.',
    '..',
    'example..com',
    `${'a'.repeat(64)}.example.com`,
    `${'a.'.repeat(130)}com`,
  ]) {
    t.match(lists.lookup(q), { blocked: 0, matchedLabels: 0 }, JSON.stringify(q).slice(0, 30));
  }
  const out = emptyResult();
  t.equal(lists.lookupWire(Buffer.from([7, 0x65, 0x78]), 0, out).blocked, 0, 'runs past the buffer');
  t.equal(lists.lookupWire(Buffer.from([0xc0, 0x0c]), 0, out).blocked, 0, 'a compression pointer');
  t.equal(lists.lookupWire(Buffer.from([0]), 0, out).blocked, 0, 'the root');
  t.equal(lists.lookupWire(Buffer.alloc(0), 0, out).blocked, 0, 'empty buffer');
});

t.test('agrees with the reference on crafted overlapping rules', async (t) => {
  const specs: Spec[] = [
    ['com', 'below', 'block', 'a'],
    ['example.com', 'subtree', 'allow', 'a'],
    ['example.com', 'exact', 'block', 'b'],
    ['example.com', 'below', 'nxdomain', 'b'],
    ['www.example.com', 'subtree', 'block', 'a'],
    ['www.example.com', 'exact', 'allow', 'b'],
    ['deep.www.example.com', 'below', 'local', 'c', [{ type: 'CNAME', data: 'safe.example' }]],
    ['deep.www.example.com', 'subtree', 'nodata', 'a'],
    ['x.deep.www.example.com', 'exact', 'allow', 'c'],
  ];
  const { lists, ref } = compile(specs);
  const queries = [
    'com',
    'a.com',
    'example.com',
    'a.example.com',
    'www.example.com',
    'a.www.example.com',
    'deep.www.example.com',
    'x.deep.www.example.com',
    'y.x.deep.www.example.com',
    'org',
    'example.org',
  ];
  for (const q of queries) {
    const got = lists.lookup(q);
    const want = ref.lookup(q);
    t.same({ ...got, local: lists.localData(got.localIndex), localIndex: 0 }, { ...want, localIndex: 0 }, q);
  }
});

t.test('labels of every length, in and out of the slot, match only themselves', async (t) => {
  const specs: Spec[] = [];
  for (let len = 1; len <= 63; len++) {
    specs.push([`${'k'.repeat(len)}.test`, 'subtree', 'block', 'adult']);
    specs.push([`${'m'.repeat(len)}`, 'exact', 'block', 'adult']);
  }
  const { lists } = compile(specs);
  for (let len = 1; len <= 63; len++) {
    const k = 'k'.repeat(len);
    t.equal(lists.lookup(`${k.toUpperCase()}.test`).blocked, ADULT, `${len} bytes`);
    t.equal(lists.lookup(`x.${k}.test`).blocked, ADULT);
    t.equal(lists.lookup(`${'m'.repeat(len)}.`).blocked, ADULT);
    // Same length, one byte different: first, fifth, ninth and last byte.
    for (const at of [0, 4, 8, len - 1]) {
      if (at >= len) continue;
      const other = `${k.slice(0, at)}q${k.slice(at + 1)}`;
      t.equal(lists.lookup(`${other}.test`).blocked, 0, `${len} bytes, byte ${at} differs`);
    }
    t.equal(lists.lookup(`${k}k.test`).blocked, len === 63 ? 0 : ADULT, 'one byte longer is the next name');
  }
  t.equal(
    lists.lookup('kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk.test').blocked,
    0,
    '65 bytes',
  );
});

t.test('categories: at most 32, each name once', async (t) => {
  const b = createListBuilder();
  for (let i = 0; i < 32; i++) t.equal(b.category(`c${i}`), i);
  t.equal(b.category('c5'), 5);
  t.throws(() => b.category('one-too-many'), { code: 'ROJE_ERR_LIST_CATEGORIES', message: /at most 32/ });
  b.add({ name: 'top.test', scope: 'subtree', action: 'block', line: 1 }, 31);
  const lists = loadArtifact(b.finish());
  t.equal(lists.lookup('top.test').blocked, 0x80000000 >>> 0, 'bit 31 reads as an unsigned mask');
  t.equal(lists.categories.length, 32);
});

t.test('the builder rejects bad rules and use after finish', async (t) => {
  const b = createListBuilder();
  const bit = b.category('adult');
  const rule = (name: string): ListRule => ({ name, scope: 'subtree', action: 'block', line: 7 });
  t.throws(() => b.add(rule('a..b'), bit), { code: 'ROJE_ERR_LIST_COMPILE', message: /line 7.*1 to 63/ });
  t.throws(() => b.add(rule(`${'a'.repeat(64)}.com`), bit), { code: 'ROJE_ERR_LIST_COMPILE' });
  t.throws(() => b.add(rule('bücher.de'), bit), { code: 'ROJE_ERR_LIST_COMPILE', message: /A-labels/ });
  t.throws(() => b.add(rule(''), bit), { code: 'ROJE_ERR_LIST_COMPILE' });
  t.throws(() => b.add(rule('ok.com'), 3), { code: 'ROJE_ERR_LIST_COMPILE', message: /category bit 3/ });
  b.add(rule('ok.com.'), bit);
  const lists = loadArtifact(b.finish());
  t.equal(lists.lookup('ok.com').blocked, 1);
  t.throws(() => b.add(rule('x.com'), bit), { code: 'ROJE_ERR_LIST_COMPILE', message: /already finished/ });
});

t.test('an empty artifact loads and matches nothing', async (t) => {
  const lists = loadArtifact(createListBuilder().finish());
  t.equal(lists.entries, 0);
  t.equal(lists.lookup('example.com').blocked, 0);
});
