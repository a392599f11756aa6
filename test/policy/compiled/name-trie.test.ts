/**
 * The trie is built straight into the artifact's slot table, sized from a guess of the node count
 * (name-trie.ts): whatever the guess (none, short, right, far too large), the lookups are the reference
 * matcher's, the table is at most MAX_LOAD full and at most twice the slots it needs, long labels are
 * pooled once each, and the same inputs give the same bytes.
 */
import t from 'tap';
import { loadArtifact } from '../../../src/policy/compiled/artifact.js';
import { createListBuilder } from '../../../src/policy/compiled/builder.js';
import { H, MAX_LOAD } from '../../../src/policy/compiled/layout.js';
import { ReferenceMatcher } from '../../../src/policy/compiled/reference.js';
import type { ListRule } from '../../../src/policy/types.js';
import { rng } from '../../helpers/rng.js';

const LABELS = [
  'a',
  'ab',
  'www',
  'mail',
  'cdn-01',
  'images',
  'shop_x',
  'exactly8',
  'ninechars',
  'a-much-longer-label',
];
const TLDS = ['com', 'net', 'org', 'xyz', 'co', 'uk', 'verylongtld'];

/** Deterministic names with shared suffixes, short and long labels, and some upper case. */
function names(count: number, seed: number): string[] {
  const next = rng(seed);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const depth = 1 + (next() % 3);
    const labels = [TLDS[next() % TLDS.length]];
    // A label of its own per name (the new second-level names of a real list), long or short.
    labels.unshift(`${next() % 2 === 0 ? 'site' : 'a-site-with-a-long-name-'}${next() % (count * 2)}`);
    for (let d = 1; d < depth; d++) labels.unshift(LABELS[next() % LABELS.length]);
    const name = labels.join('.');
    out.push(next() % 7 === 0 ? name.toUpperCase() : name);
  }
  return out;
}

function build(list: string[], expectedNames: number | undefined) {
  const builder = createListBuilder(expectedNames === undefined ? {} : { expectedNames });
  const ref = new ReferenceMatcher();
  const bit = builder.category('adult');
  list.forEach((name, i) => {
    const rule: ListRule = {
      name,
      scope: i % 5 === 0 ? 'exact' : 'subtree',
      action: i % 11 === 0 ? 'allow' : 'block',
      line: i + 1,
    };
    builder.add(rule, bit);
    ref.add(rule, bit);
  });
  return { artifact: builder.finish({ compiledAt: '2026-01-01T00:00:00.000Z' }), ref };
}

const header = (artifact: Buffer) => ({
  slots: artifact.readUInt32LE(8 + 4 * H.SLOT_COUNT),
  nodes: artifact.readUInt32LE(8 + 4 * H.NODE_COUNT),
  pool: artifact.readUInt32LE(8 + 4 * H.POOL_LEN),
});

t.test('any guess of the size: the reference answers, a table at most MAX_LOAD full', async (t) => {
  const list = names(20_000, 7);
  const probes = [...list, ...list.map((n) => `x.${n}`), ...names(5_000, 99), 'com', 'nothing.example'];
  let nodes = -1;
  for (const guess of [undefined, 10, 5_000, 20_000, 400_000]) {
    const { artifact, ref } = build(list, guess);
    const lists = loadArtifact(artifact);
    const h = header(artifact);
    if (nodes === -1) nodes = h.nodes;
    t.equal(h.nodes, nodes, `guess ${guess}: the same nodes`);
    t.ok(h.nodes <= h.slots * MAX_LOAD, `guess ${guess}: load ${(h.nodes / h.slots).toFixed(2)} <= MAX_LOAD`);
    t.ok(h.nodes >= (h.slots * MAX_LOAD) / 2 - 1, `guess ${guess}: not more than twice the slots needed`);
    let wrong = 0;
    for (const q of probes) {
      const got = lists.lookup(q);
      const want = ref.lookup(q.toLowerCase());
      if (got.blocked !== want.blocked || got.allowed !== want.allowed) wrong++;
    }
    t.equal(wrong, 0, `guess ${guess}: every lookup as the reference's (${probes.length} names)`);
  }
});

t.test('the same inputs give the same bytes; each long label is pooled once', async (t) => {
  const list = names(3_000, 3);
  const a = build(list, 3_000).artifact;
  const b = build(list, 3_000).artifact;
  t.ok(a.equals(b), 'byte-identical');
  const distinctLong = new Set(
    list.flatMap((n) => n.toLowerCase().split('.')).filter((label) => label.length > 8),
  );
  const poolBytes = [...distinctLong].reduce((sum, label) => sum + label.length, 0);
  t.equal(header(a).pool, poolBytes, 'the pool holds each long label once');
});

t.test('labels of 8 bytes and less that differ only in length or a NUL are different nodes', async (t) => {
  const builder = createListBuilder();
  const bit = builder.category('adult');
  builder.add({ name: 'ab.com', scope: 'exact', action: 'block', line: 1 }, bit);
  builder.add({ name: 'ab\u0000.com', scope: 'exact', action: 'allow', line: 2 }, bit);
  const lists = loadArtifact(builder.finish());
  t.equal(lists.lookup('ab.com').blocked, 1);
  t.equal(lists.lookup('a.com').blocked, 0);
  t.equal(lists.lookup('abc.com').blocked, 0);
});
