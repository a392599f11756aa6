/** The certifier's sample key: created 0600 when absent, reused after, refused when not a key. */
import { createHmac } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { loadOrCreateSampleKey, nameHash, sampleKeyId } from '../../src/verify/sample-key.js';

t.test('created, then read back', async (t) => {
  const file = join(t.testdir(), 'sub', 'sample.key');
  const made = await loadOrCreateSampleKey(file);
  t.equal(made.created, true);
  t.equal(statSync(file).mode & 0o777, 0o600);
  t.match(readFileSync(file, 'utf8'), /^[0-9a-f]{64}\n$/);
  const again = await loadOrCreateSampleKey(file);
  t.equal(again.created, false);
  t.same(again.key, made.key);
  t.equal(again.id, sampleKeyId(made.key));
  t.match(again.id, /^[0-9a-f]{16}$/);
  t.notOk(made.key.toString('hex').includes(made.id), 'the id is not a piece of the key');
});

t.test('the hash: HMAC-SHA-256 of the normalised name', async (t) => {
  const key = Buffer.alloc(32, 7);
  const expected = createHmac('sha256', key).update('adult.example').digest('hex');
  t.equal(nameHash(key, 'adult.example'), expected);
  t.equal(nameHash(key, 'Adult.Example.'), expected, 'case and trailing dot do not matter');
  t.not(nameHash(Buffer.alloc(32, 8), 'adult.example'), expected, 'another key, another hash');
});

t.test('not a key: a clear error naming the file', async (t) => {
  const file = join(t.testdir(), 'bad.key');
  writeFileSync(file, 'secret\n');
  await t.rejects(loadOrCreateSampleKey(file), {
    code: 'ROJE_ERR_VERIFY_SAMPLE',
    message: /bad\.key is not a key: expected 64 or more hex digits/,
  });
});
