/**
 * The abuse key file: created once with mode 0600 and never overwritten, read back as the same key,
 * refused when it does not hold 64 hex digits or cannot be read; keys in memory (abuseKey, ephemeral).
 */
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { keyId } from '../../../src/policy/abuse/hmac.js';
import {
  abuseKey,
  ephemeralAbuseKey,
  KEY_BYTES,
  keyBytes,
  loadAbuseKey,
} from '../../../src/policy/abuse/key.js';

const HEX = 'a1'.repeat(32);

t.test('created on first use (mode 0600, 64 hex digits), then read back as the same key', async (t) => {
  const dir = t.testdir({});
  const path = join(dir, 'state', 'sub', 'abuse.key');
  const made = await loadAbuseKey(path, { create: true });
  const text = readFileSync(path, 'utf8');
  t.match(text, /^[0-9a-f]{64}\n$/);
  t.equal(statSync(path).mode & 0o777, 0o600, 'only roje reads it');
  t.equal(made.id, keyId(Buffer.from(text.trim(), 'hex')));
  t.same(Buffer.from(keyBytes(made)), Buffer.from(text.trim(), 'hex'));
  const again = await loadAbuseKey(path, { create: true });
  t.equal(again.id, made.id, 'the same key on the next start');
  t.equal(readFileSync(path, 'utf8'), text, 'never overwritten');
  t.same(again.hmac.digest('x.example.test'), made.hmac.digest('x.example.test'));
  const third = await loadAbuseKey(path, { create: false });
  t.equal(third.id, made.id);
});

t.test('concurrent first starts agree on one key', async (t) => {
  const dir = t.testdir({});
  const path = join(dir, 'abuse.key');
  const keys = await Promise.all([1, 2, 3, 4].map(() => loadAbuseKey(path, { create: true })));
  t.equal(new Set(keys.map((k) => k.id)).size, 1);
});

t.test('an existing file: whitespace and upper case accepted', async (t) => {
  const dir = t.testdir({ k1: `  ${HEX.toUpperCase()}\r\n`, k2: HEX });
  const a = await loadAbuseKey(join(dir, 'k1'), { create: false });
  const b = await loadAbuseKey(join(dir, 'k2'), { create: true });
  t.equal(a.id, keyId(Buffer.from(HEX, 'hex')));
  t.equal(b.id, a.id);
});

t.test('bad content is refused with ROJE_ERR_ABUSE_KEY, naming the file, never quoting it', async (t) => {
  const secretish = 'b2'.repeat(31);
  const dir = t.testdir({
    short: secretish,
    long: `${HEX}00`,
    nothex: 'z'.repeat(64),
    empty: '',
    two: `${HEX}\n${HEX}\n`,
  });
  for (const name of ['short', 'long', 'nothex', 'empty', 'two']) {
    const path = join(dir, name);
    const err = await loadAbuseKey(path, { create: true }).then(
      () => null,
      (e: unknown) => e as Error & { code?: string },
    );
    t.ok(err !== null, `${name}: refused`);
    t.equal(err?.code, 'ROJE_ERR_ABUSE_KEY');
    t.match(err?.message, `abuse key file ${path}: expected 64 hex digits`);
    t.notOk(err?.message.includes(secretish) || err?.message.includes(HEX), 'the content is not quoted');
  }
  t.equal(readFileSync(join(dir, 'empty'), 'utf8'), '', 'an empty key file is not replaced');
  t.equal(readFileSync(join(dir, 'short'), 'utf8'), secretish, 'a bad key file is left as it was');
});

t.test('missing without create, unreadable, or not creatable: ROJE_ERR_ABUSE_KEY', async (t) => {
  const dir = t.testdir({ 'abuse.key': HEX, blocker: 'a file' });
  await t.rejects(loadAbuseKey(join(dir, 'none.key'), { create: false }), {
    code: 'ROJE_ERR_ABUSE_KEY',
    message: /abuse key file .*none\.key cannot be found: ENOENT/,
  });
  // A directory cannot be read as a file.
  await t.rejects(loadAbuseKey(dir, { create: true }), {
    code: 'ROJE_ERR_ABUSE_KEY',
    message: /cannot be read or written: EISDIR/,
  });
  // Its parent is a file: it cannot be created.
  await t.rejects(loadAbuseKey(join(dir, 'blocker', 'abuse.key'), { create: true }), {
    code: 'ROJE_ERR_ABUSE_KEY',
    message: /blocker\/abuse\.key cannot be/,
  });
  if (process.getuid?.() !== 0) {
    const path = join(dir, 'abuse.key');
    chmodSync(path, 0o000);
    t.teardown(() => chmodSync(path, 0o600));
    await t.rejects(loadAbuseKey(path, { create: true }), {
      code: 'ROJE_ERR_ABUSE_KEY',
      message: /cannot be read or written: EACCES/,
    });
  }
});

t.test('abuseKey, keyBytes, ephemeralAbuseKey', async (t) => {
  const bytes = Buffer.from(HEX, 'hex');
  const key = abuseKey(bytes);
  t.equal(key.id, keyId(bytes));
  t.same(Buffer.from(keyBytes(key)), bytes);
  bytes[0] ^= 0xff;
  t.equal(keyBytes(key)[0], 0xa1, "a copy: changing the caller's bytes does not change the key");
  t.same(Object.keys(key).sort(), ['hmac', 'id'], 'the bytes are not on the object');
  t.notOk(JSON.stringify(key).includes(HEX), 'serializing the key does not show its bytes');
  t.throws(() => keyBytes({ hmac: key.hmac, id: key.id }), { code: 'ROJE_ERR_ABUSE_KEY' });
  const e1 = ephemeralAbuseKey();
  const e2 = ephemeralAbuseKey();
  t.equal(keyBytes(e1).length, KEY_BYTES);
  t.not(e1.id, e2.id, 'a fresh key each time');
  t.throws(() => abuseKey(Buffer.alloc(8)), RangeError);
});

t.test('a key file written by hand in the documented format is accepted', async (t) => {
  const dir = t.testdir({});
  const path = join(dir, 'hand.key');
  writeFileSync(path, `${HEX}\n`, { mode: 0o600 });
  t.equal((await loadAbuseKey(path, { create: false })).id, keyId(Buffer.from(HEX, 'hex')));
});
