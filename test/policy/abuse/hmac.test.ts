/**
 * NameHmac (our own HMAC-SHA-256) against node:crypto's: every input length a name can have, keys
 * shorter than, equal to and longer than a block, offsets into a larger buffer, and the key id.
 */
import { createHmac } from 'node:crypto';
import t from 'tap';
import {
  bytesToWords,
  DIGEST_BYTES,
  keyId,
  MAX_INPUT,
  NameHmac,
  wordsToBytes,
} from '../../../src/policy/abuse/hmac.js';
import { rng } from '../../helpers/rng.js';

function randomBytesFrom(next: () => number, n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = next() & 0xff;
  return out;
}

function reference(key: Uint8Array, data: Uint8Array): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

t.test(
  'equals node:crypto createHmac for every length 0..MAX_INPUT, keys of 16, 32, 64 and 100 bytes',
  async (t) => {
    const next = rng(0x5eed_ab05);
    for (const keyLen of [16, 32, 64, 100]) {
      const key = randomBytesFrom(next, keyLen);
      const hmac = new NameHmac(key);
      const words = new Int32Array(8);
      let bad = 0;
      for (let len = 0; len <= MAX_INPUT; len++) {
        const data = randomBytesFrom(next, len);
        const want = reference(key, data);
        if (!hmac.digest(data).equals(want)) bad++;
        // digestInto writes big-endian words: the same bytes through wordsToBytes.
        hmac.digestInto(data, 0, len, words);
        if (!wordsToBytes(words).equals(want)) bad++;
      }
      t.equal(bad, 0, `key of ${keyLen} bytes: every length matches`);
    }
  },
);

t.test('a string is hashed as its UTF-8 bytes', async (t) => {
  const key = Buffer.alloc(32, 7);
  const hmac = new NameHmac(key);
  for (const s of ['', 'example.test', 'xn--bcher-kva.test', 'bücher.test']) {
    t.same(hmac.digest(s), reference(key, Buffer.from(s, 'utf8')), JSON.stringify(s));
  }
  t.equal(hmac.digest('a').length, DIGEST_BYTES);
});

t.test('digestInto hashes bytes[start, end) only', async (t) => {
  const next = rng(42);
  const key = randomBytesFrom(next, 32);
  const hmac = new NameHmac(key);
  const buf = randomBytesFrom(next, 400);
  const words = new Int32Array(8);
  for (const [start, end] of [
    [0, 0],
    [5, 5],
    [1, 2],
    [3, 58],
    [7, 71],
    [100, 100 + MAX_INPUT],
    [399, 400],
    [17, 17 + 64],
    [17, 17 + 55],
    [17, 17 + 56],
  ]) {
    hmac.digestInto(buf, start, end, words);
    t.same(wordsToBytes(words), reference(key, buf.subarray(start, end)), `[${start}, ${end})`);
  }
  // Results do not depend on what the previous call left in the scratch.
  hmac.digestInto(buf, 0, 200, words);
  hmac.digestInto(buf, 10, 20, words);
  t.same(wordsToBytes(words), reference(key, buf.subarray(10, 20)), 'no state carried between calls');
});

t.test('refuses inputs it cannot take, and short keys', async (t) => {
  const hmac = new NameHmac(Buffer.alloc(16, 1));
  const buf = Buffer.alloc(MAX_INPUT + 10);
  const words = new Int32Array(8);
  t.throws(() => hmac.digestInto(buf, 0, MAX_INPUT + 1, words), RangeError);
  t.throws(() => hmac.digestInto(buf, 5, 4, words), RangeError);
  t.throws(() => new NameHmac(Buffer.alloc(15, 1)), RangeError);
});

t.test('wordsToBytes and bytesToWords are inverses', async (t) => {
  const next = rng(9);
  for (let i = 0; i < 20; i++) {
    const bytes = randomBytesFrom(next, 32);
    t.same(wordsToBytes(bytesToWords(bytes)), bytes);
  }
});

t.test('keyId: stable, 16 hex digits, differs between keys, reveals no key bytes', async (t) => {
  const a = Buffer.alloc(32, 0xab);
  const b = Buffer.alloc(32, 0xac);
  t.match(keyId(a), /^[0-9a-f]{16}$/);
  t.equal(keyId(a), keyId(Buffer.from(a)), 'same key, same id');
  t.equal(keyId(a), createHmac('sha256', a).update('roje abuse key id').digest('hex').slice(0, 16));
  t.not(keyId(a), keyId(b));
  t.notOk(a.toString('hex').includes(keyId(a)), 'the id is not a slice of the key');
});
