/**
 * The abuse feed format: every kind of line, the key directive, skipped lines that never quote their
 * text, and the hash stream that stores a downloaded feed hashed (no clear name reaches its output).
 */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import t from 'tap';
import {
  type AbuseLine,
  CONFIDENTIAL_TEXT,
  createAbuseHashStream,
  createAbuseReader,
  keyMismatch,
  readAbuseLine,
} from '../../../src/policy/abuse/format.js';
import { abuseKey } from '../../../src/policy/abuse/key.js';
import { createStats } from '../../../src/policy/parsers/stats.js';
import type { ListRule } from '../../../src/policy/types.js';
import { ABUSE_CANARY_SECRETS, ABUSE_CANARY_TEXT } from '../../helpers/canaries.js';

const KEY = abuseKey(Buffer.alloc(32, 0x11));
const OTHER = abuseKey(Buffer.alloc(32, 0x22));
const hmac = KEY.hmac;

const domain = (name: string): AbuseLine => ({ kind: 'domain', digest: hmac.digest(name) });
const page = (name: string): AbuseLine => ({ kind: 'page', digest: hmac.digest(name) });
const skip = (reason: string): AbuseLine => ({ kind: 'skip', reason }) as AbuseLine;

t.test('every line kind', async (t) => {
  const hex = hmac.digest('pre.hashed.test').toString('hex');
  const cases: Array<[string, AbuseLine]> = [
    ['', null],
    ['   \t', null],
    ['# a comment naming bad.example.test', null],
    ['example.test', domain('example.test')],
    ['  Example.TEST.  ', domain('example.test')],
    ['*.wild.example.test', domain('wild.example.test')],
    ['http://host.example.test/some/page.jpg', page('host.example.test')],
    ['https://host.example.test:8443/some/page.jpg', page('host.example.test')],
    ['host.example.test/some/page.jpg', page('host.example.test')],
    ['HOST.Example.test/Page', page('host.example.test')],
    ['http://user:pw@host.example.test/p', page('host.example.test')],
    ['https://site.example.test/', domain('site.example.test')],
    ['https://site.example.test', domain('site.example.test')],
    ['site.example.test/', domain('site.example.test')],
    ['http://q.example.test/?id=7', page('q.example.test')],
    ['q.example.test/view.php?id=7&x=1', page('q.example.test')],
    ['bücher.example.test', domain('xn--bcher-kva.example.test')],
    ['http://bücher.example.test/a.jpg', page('xn--bcher-kva.example.test')],
    ['xn--bcher-kva.example.test', domain('xn--bcher-kva.example.test')],
    ['192.0.2.1', skip('not-a-name')],
    ['http://192.0.2.1/page.jpg', skip('not-a-name')],
    ['192.0.2.1/page.jpg', skip('not-a-name')],
    ['2001:db8::1', skip('not-a-name')],
    ['http://[2001:db8::1]/page.jpg', skip('not-a-name')],
    ['localhost', skip('not-a-name')],
    ['http://intranet/page.jpg', skip('not-a-name')],
    ['*.test', skip('not-a-name')],
    ['two words.test', skip('unsupported-syntax')],
    ['bad!char.example.test', skip('bad-character')],
    ['http://exa%20mple.test/x', skip('not-a-name')],
    ['http://under_score.example.test/x', page('under_score.example.test')],
    [`d ${hex}`, { kind: 'domain', digest: Buffer.from(hex, 'hex') }],
    [`p ${hex.toUpperCase()}`, { kind: 'page', digest: Buffer.from(hex, 'hex') }],
    [`d\t${hex}`, { kind: 'domain', digest: Buffer.from(hex, 'hex') }],
    [`d ${hex.slice(0, 63)}g`, skip('unsupported-syntax')],
    [`d ${hex.slice(0, 63)}`, skip('unsupported-syntax')],
    [`x ${hex}`, skip('unsupported-syntax')],
    ['#roje-hashed key=0123456789ABCDEF', { kind: 'key', id: '0123456789abcdef' }],
    ['# roje-hashed  key=0123456789abcdef  ', { kind: 'key', id: '0123456789abcdef' }],
    ['#roje-hashed key=0123', null],
  ];
  for (const [line, want] of cases) {
    const got = readAbuseLine(line, hmac);
    if (want === null || got === null) {
      t.equal(got, want, JSON.stringify(line));
      continue;
    }
    t.same(got, want, JSON.stringify(line));
  }
  // The whole-domain and page digests of one host are the same digest (the kind tells them apart).
  t.same(
    (readAbuseLine('a.example.test', hmac) as { digest: Buffer }).digest,
    (readAbuseLine('a.example.test/p', hmac) as { digest: Buffer }).digest,
  );
  // Another key, another digest.
  t.not(
    (readAbuseLine('a.example.test', OTHER.hmac) as { digest: Buffer }).digest.toString('hex'),
    (readAbuseLine('a.example.test', hmac) as { digest: Buffer }).digest.toString('hex'),
  );
});

function readAll(text: string, key = KEY) {
  const stats = createStats();
  const reader = createAbuseReader(stats, key, 'list "abuse" (test)');
  const rules: ListRule[] = [];
  for (const line of text.split('\n')) reader.line(line, rules);
  reader.end(rules);
  return { stats, rules };
}

t.test('the reader: rules carry a digest and no name; skipped samples never hold the line', async (t) => {
  const secret = 'secret-skip.example';
  const text = [
    `#roje-hashed key=${KEY.id}`,
    'whole.example.test',
    'http://pages.example.test/a.jpg',
    `${secret} with blanks`,
    '192.0.2.1',
    `http://[2001:db8::1]/${secret}`,
    'single',
  ].join('\n');
  const { stats, rules } = readAll(text);
  t.equal(stats.lines, 7);
  t.equal(stats.rules, 2);
  t.same(stats.skipped, { 'unsupported-syntax': 1, 'not-a-name': 3 });
  t.equal(stats.samples.length, 4);
  for (const s of stats.samples) {
    t.equal(s.text, CONFIDENTIAL_TEXT, `line ${s.line} is not quoted`);
  }
  t.notOk(JSON.stringify(stats).includes('secret'), 'nothing of a skipped line in the stats');
  t.match(rules, [
    { name: '', scope: 'subtree', action: 'block', line: 2 },
    { name: '', scope: 'exact', action: 'block', line: 3, page: true },
  ]);
  t.notOk('page' in rules[0], 'a whole domain is not a page');
  t.same(rules[0].digest, hmac.digest('whole.example.test'));
  t.same(rules[1].digest, hmac.digest('pages.example.test'));
});

t.test('a key directive for another key fails with ROJE_ERR_ABUSE_KEY, naming both ids', async (t) => {
  t.throws(() => readAll(`#roje-hashed key=${OTHER.id}\nwhole.example.test\n`), {
    name: 'RojeError',
    code: 'ROJE_ERR_ABUSE_KEY',
    message: new RegExp(`list "abuse" \\(test\\) was hashed with key ${OTHER.id}.*key is ${KEY.id}`),
  });
  t.doesNotThrow(() => readAll(`#roje-hashed key=${KEY.id.toUpperCase()}\n`), 'the id compares lowercased');
  const err = keyMismatch('feed "x"', 'aaaa', 'bbbb');
  t.equal(err.code, 'ROJE_ERR_ABUSE_KEY');
  t.match(err.message, /feed "x" was hashed with key aaaa.*bbbb \(abuse\.keyFile\)/);
});

/** Runs `input` through the hash stream in chunks of `size` bytes (0: one chunk). */
async function hashStream(input: Buffer, size: number, key = KEY): Promise<string> {
  const chunks: Buffer[] = [];
  if (size === 0) chunks.push(input);
  else for (let i = 0; i < input.length; i += size) chunks.push(input.subarray(i, i + size));
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(chunks, { objectMode: false }),
    createAbuseHashStream(key, 'feed "abuse"'),
    new Writable({
      write(chunk: Buffer, _enc, done) {
        out.push(chunk);
        done();
      },
    }),
  );
  return Buffer.concat(out).toString('utf8');
}

t.test('the hash stream: only a key directive and d/p lines, whatever the chunk sizes', async (t) => {
  const clear = `${ABUSE_CANARY_TEXT}bücher.abuse.roje.test\r\nhttp://[2001:db8::1]/canary-ip\n# a comment: canary-comment.test\n`;
  const input = Buffer.from(clear, 'utf8');
  const direct = readAll(clear).rules;
  t.equal(direct.length, 5, 'five entries in the clear feed');
  let first: string | undefined;
  for (const size of [1, 7, 0]) {
    const out = await hashStream(input, size);
    const lines = out.split('\n');
    t.equal(lines.pop(), '', 'ends with a newline');
    t.equal(lines[0], `#roje-hashed key=${KEY.id}`, `chunks of ${size}: the key directive first`);
    t.ok(
      lines.slice(1).every((l) => /^[dp] [0-9a-f]{64}$/.test(l)),
      'then only d/p lines',
    );
    t.equal(lines.length, 6);
    for (const s of [
      ...ABUSE_CANARY_SECRETS,
      'bücher',
      'xn--bcher',
      'canary-ip',
      'canary-comment',
      '2001:db8',
    ]) {
      t.notOk(out.includes(s), `chunks of ${size}: "${s}" absent`);
    }
    // Read back: the same rules as the clear feed gave.
    const again = readAll(out).rules;
    t.same(
      again.map((r) => [r.scope, r.page ?? false, Buffer.from(r.digest as Uint8Array).toString('hex')]),
      direct.map((r) => [r.scope, r.page ?? false, Buffer.from(r.digest as Uint8Array).toString('hex')]),
      `chunks of ${size}: the hashed copy reads as the clear feed`,
    );
    if (first === undefined) first = out;
    else t.equal(out, first, 'the same output for every chunk size');
  }
});

t.test('the hash stream: hashed input passes through; empty input; BOM; no newline at the end', async (t) => {
  const hashed = await hashStream(Buffer.from(ABUSE_CANARY_TEXT), 0);
  t.equal(await hashStream(Buffer.from(hashed), 3), hashed, 'hashing a hashed copy changes nothing');
  t.equal(await hashStream(Buffer.alloc(0), 0), `#roje-hashed key=${KEY.id}\n`, 'empty: the directive only');
  const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('a.example.test\nb.example.test')]);
  for (const size of [1, 2, 0]) {
    t.equal(
      await hashStream(bom, size),
      `#roje-hashed key=${KEY.id}\nd ${hmac.digest('a.example.test').toString('hex')}\nd ${hmac.digest('b.example.test').toString('hex')}\n`,
      `BOM and a last line without newline, chunks of ${size}`,
    );
  }
});

t.test('the hash stream fails on another key directive and on an overlong line', async (t) => {
  const otherHashed = await hashStream(Buffer.from(ABUSE_CANARY_TEXT), 0, OTHER);
  await t.rejects(hashStream(Buffer.from(otherHashed), 5), { code: 'ROJE_ERR_ABUSE_KEY' });
  await t.rejects(hashStream(Buffer.alloc(70 * 1024, 0x61), 0), {
    code: 'ROJE_ERR_FEED_INVALID',
    message: /feed "abuse": a line is longer than 65536 characters/,
  });
});
