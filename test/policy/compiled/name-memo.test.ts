/**
 * The typed-array memo of the hashed (abuse feed) lookup: a name finds its own value and no other's, even
 * one of its length in its index slot; any int32 is a value; a memo that is full (by count or by arena)
 * starts over, and keeps answering right after.
 */
import t from 'tap';
import { ARENA_BYTES, hashName, MAX_NAMES, NameMemo, SLOTS } from '../../../src/policy/compiled/name-memo.js';

const bytes = (name: string) => Buffer.from(name, 'latin1');

function remember(memo: NameMemo, name: string, value: number): void {
  const b = bytes(name);
  t.equal(memo.find(b, b.length), -1, `${name} is new`);
  memo.set(b, b.length, value);
}

function recall(memo: NameMemo, name: string): number | undefined {
  const b = bytes(name);
  const id = memo.find(b, b.length);
  return id < 0 ? undefined : memo.value(id);
}

t.test('each name its own value, rivals in its slot and of its length included', async (t) => {
  const memo = new NameMemo();
  const first = 'listed.example.test';
  const slot = hashName(bytes(first), first.length) & (SLOTS - 1);
  const rivals: string[] = [];
  for (let i = 0; rivals.length < 3 && i < 50_000_000; i++) {
    const name = `${i.toString(36).padStart(6, '0')}.example.test`;
    if ((hashName(bytes(name), name.length) & (SLOTS - 1)) === slot) rivals.push(name);
  }
  t.equal(rivals.length, 3, `three names of ${first.length} bytes in slot ${slot}`);
  remember(memo, first, 1 << 31);
  for (const [i, name] of rivals.entries()) remember(memo, name, i);
  t.equal(recall(memo, first), 1 << 31, 'a negative value is a value');
  for (const [i, name] of rivals.entries()) t.equal(recall(memo, name), i, name);
  t.equal(recall(memo, 'LISTED.example.test'), undefined, 'bytes as given: the caller folds case');
  t.equal(recall(memo, 'listed.example.tes'), undefined, 'a prefix is another name');
});

t.test('names of one length and one hash are told apart by their bytes', async (t) => {
  // "declinate" and "macallums": a known FNV-1a collision, which the final mix keeps (it is a bijection).
  const [a, b] = ['declinate', 'macallums'];
  t.equal(hashName(bytes(a), a.length), hashName(bytes(b), b.length), 'the same hash');
  const memo = new NameMemo();
  remember(memo, a, 1);
  t.equal(recall(memo, b), undefined, "the other name does not get the first one's value");
  remember(memo, b, 2);
  t.equal(recall(memo, a), 1);
  t.equal(recall(memo, b), 2);
});

t.test('full by count: it starts over, and answers right after', async (t) => {
  const memo = new NameMemo();
  for (let i = 0; i < MAX_NAMES; i++) memo.set(bytes(`n${i}.test`), `n${i}.test`.length, i);
  t.equal(recall(memo, 'n0.test'), 0);
  t.equal(recall(memo, `n${MAX_NAMES - 1}.test`), MAX_NAMES - 1);
  memo.set(bytes('one.more.test'), 'one.more.test'.length, 7);
  t.equal(recall(memo, 'n0.test'), undefined, 'the old names are gone');
  t.equal(recall(memo, 'one.more.test'), 7, 'the new one is there');
});

t.test('full by arena: long names start it over too', async (t) => {
  const memo = new NameMemo();
  const long = (i: number) => `${String(i).padStart(6, '0')}.${'x'.repeat(240)}.test`;
  const fit = Math.floor(ARENA_BYTES / long(0).length);
  for (let i = 0; i < fit; i++) memo.set(bytes(long(i)), long(i).length, i);
  t.equal(recall(memo, long(0)), 0);
  t.equal(recall(memo, long(fit - 1)), fit - 1);
  memo.set(bytes(long(fit)), long(fit).length, fit);
  t.equal(recall(memo, long(0)), undefined, 'started over');
  t.equal(recall(memo, long(fit)), fit);
});
