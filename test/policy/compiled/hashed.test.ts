/**
 * The artifact's hashed (abuse feed) section: compiled from the canary feed, looked up by wire name,
 * holding no name in its bytes, refused without its key, the same from the compile worker, beside
 * ordinary categories; and the table on its own (duplicates, many entries, malformed names).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { createAbuseHashStream } from '../../../src/policy/abuse/format.js';
import { abuseKey } from '../../../src/policy/abuse/key.js';
import { compileSources, type PageEntries } from '../../../src/policy/compile.js';
import { compileInWorker } from '../../../src/policy/compile-worker.js';
import {
  buildHashedTable,
  HASHED_STRIDE,
  HashedLookup,
  hashedSlotCount,
  SCOPE_EXACT,
  SCOPE_SUBTREE,
} from '../../../src/policy/compiled/hashed.js';
import { loadArtifact, readArtifact, writeArtifact } from '../../../src/policy/compiled/index.js';
import type { CompiledLists, ListSource } from '../../../src/policy/types.js';
import { ABUSE_CANARY, ABUSE_CANARY_FILE, ABUSE_CANARY_SECRETS } from '../../helpers/canaries.js';
import { rng } from '../../helpers/rng.js';

const KEY = abuseKey(Buffer.alloc(32, 0x5a));
const OTHER = abuseKey(Buffer.alloc(32, 0x5b));
const ABUSE: ListSource = { name: 'abuse-feed', category: 'abuse', path: ABUSE_CANARY_FILE };

/** Uncompressed wire form of a presentation name (with its root label). */
function wire(name: string): Buffer {
  const parts: Buffer[] = [];
  for (const label of name.split('.')) {
    if (label === '') continue;
    const b = Buffer.from(label, 'latin1');
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

/** The hashed mask for a name, read at an offset into a larger buffer (as in a query). */
function hashedMask(lists: CompiledLists, name: string): number {
  const w = wire(name);
  const msg = Buffer.concat([Buffer.alloc(12, 0xff), w, Buffer.from([0, 1, 0, 1])]);
  return lists.lookupHashedWire(msg, 12);
}

async function compileCanary(pageEntries: PageEntries, sources: ListSource[] = [ABUSE]) {
  const result = await compileSources(sources, { abuse: { key: KEY, pageEntries } });
  return { ...result, lists: loadArtifact(result.artifact, '(test)', { abuseKey: KEY }) };
}

t.test(
  'count: whole domains and sites blocked with every name under them; page hosts counted only',
  async (t) => {
    const { lists, report, artifact } = await compileCanary('count');
    t.same(lists.categories, ['abuse']);
    t.equal(lists.hashedEntries, 2, 'canary-domain and canary-site');
    t.match(report.sources[0], {
      name: 'abuse-feed',
      format: 'abuse',
      rules: 2,
      pages: 2,
      pagesBlocked: false,
    });
    t.match(lists.sources[0], {
      name: 'abuse-feed',
      category: 'abuse',
      format: 'abuse',
      entries: 2,
      pages: 2,
      pagesBlocked: false,
    });
    for (const name of [
      ABUSE_CANARY.domain,
      `www.${ABUSE_CANARY.domain}`,
      `a.b.c.${ABUSE_CANARY.domain}`,
      ABUSE_CANARY.site,
      `www.${ABUSE_CANARY.site}`,
      'CANARY-DOMAIN.Abuse.ROJE.test',
      `WWW.${ABUSE_CANARY.site.toUpperCase()}`,
    ]) {
      t.equal(hashedMask(lists, name), 1, `${name}: blocked in category bit 0`);
    }
    for (const name of [
      ABUSE_CANARY.page,
      `www.${ABUSE_CANARY.page}`,
      'abuse.roje.test',
      'roje.test',
      'test',
      `x${ABUSE_CANARY.domain}`,
      `${ABUSE_CANARY.domain}.evil`,
      'canary-domain.abuse.roje',
      'example.com',
    ]) {
      t.equal(hashedMask(lists, name), 0, `${name}: not blocked`);
    }
    t.equal(lists.lookup(ABUSE_CANARY.domain).blocked, 0, 'the name trie holds no abuse entry');
    t.equal(lists.entries, 2);
    for (const s of ABUSE_CANARY_SECRETS) {
      t.notOk(artifact.includes(s, 0, 'latin1'), `"${s}" is not in the artifact`);
      t.notOk(artifact.includes(s.toUpperCase(), 0, 'latin1'), `"${s.toUpperCase()}" is not in the artifact`);
    }
  },
);

t.test('block-host: a page host is blocked, that exact host only', async (t) => {
  const { lists, report, artifact } = await compileCanary('block-host');
  t.equal(lists.hashedEntries, 3, 'both page entries share one host');
  t.match(report.sources[0], { rules: 4, pages: 2, pagesBlocked: true });
  t.equal(hashedMask(lists, ABUSE_CANARY.page), 1);
  t.equal(hashedMask(lists, ABUSE_CANARY.page.toUpperCase()), 1);
  t.equal(hashedMask(lists, `www.${ABUSE_CANARY.page}`), 0, 'a name under a page host is not blocked');
  t.equal(hashedMask(lists, `x.y.${ABUSE_CANARY.page}`), 0);
  t.equal(hashedMask(lists, ABUSE_CANARY.domain), 1);
  t.equal(hashedMask(lists, `www.${ABUSE_CANARY.domain}`), 1);
  for (const s of ABUSE_CANARY_SECRETS)
    t.notOk(artifact.includes(s, 0, 'latin1'), `"${s}" is not in the artifact`);
});

t.test(
  'the artifact needs its key: none or another is ROJE_ERR_ABUSE_KEY; the file round trip',
  async (t) => {
    const { artifact } = await compileCanary('count');
    t.throws(() => loadArtifact(artifact, 'lists.bin'), {
      code: 'ROJE_ERR_ABUSE_KEY',
      message: /compiled lists lists\.bin hold abuse feed hashes: roje needs the key/,
    });
    t.throws(() => loadArtifact(artifact, 'lists.bin', { abuseKey: null }), { code: 'ROJE_ERR_ABUSE_KEY' });
    t.throws(() => loadArtifact(artifact, 'lists.bin', { abuseKey: OTHER }), {
      code: 'ROJE_ERR_ABUSE_KEY',
      message: new RegExp(`hashed with key ${KEY.id}, but this deployment's key is ${OTHER.id}`),
    });
    const path = join(t.testdir({}), 'lists.bin');
    await writeArtifact(path, artifact);
    const fromFile = await readArtifact(path, { key: KEY });
    t.equal(hashedMask(fromFile, ABUSE_CANARY.domain), 1);
    await t.rejects(readArtifact(path), { code: 'ROJE_ERR_ABUSE_KEY' });
    // Compiled with another key, the same feed gives other hashes: nothing shared, nothing matches.
    const other = await compileSources([ABUSE], { abuse: { key: OTHER, pageEntries: 'count' } });
    const o = loadArtifact(other.artifact, '(other)', { abuseKey: OTHER });
    t.equal(hashedMask(o, ABUSE_CANARY.domain), 1);
    t.not(other.artifact.subarray(-32).toString('hex'), artifact.subarray(-32).toString('hex'));
  },
);

t.test('lists without abuse entries load without a key', async (t) => {
  const dir = t.testdir({ 'adult.txt': 'adult.example.test\n' });
  const { artifact } = await compileSources(
    [{ name: 'adult', category: 'adult', path: join(dir, 'adult.txt') }],
    {
      abuse: { key: KEY, pageEntries: 'count' },
    },
  );
  const lists = loadArtifact(artifact);
  t.equal(lists.hashedEntries, 0);
  t.equal(hashedMask(lists, ABUSE_CANARY.domain), 0);
});

t.test('the compile worker gives the same lists', async (t) => {
  const here = await compileCanary('block-host');
  const there = await compileInWorker([ABUSE], { key: KEY, pageEntries: 'block-host' });
  t.equal(there.artifact.length, here.artifact.length, 'same size (only the times differ)');
  const lists = loadArtifact(there.artifact, '(worker)', { abuseKey: KEY });
  t.equal(lists.hashedEntries, here.lists.hashedEntries);
  t.same(
    lists.sources.map((s) => [s.name, s.entries, s.pages, s.pagesBlocked, s.sha256]),
    here.lists.sources.map((s) => [s.name, s.entries, s.pages, s.pagesBlocked, s.sha256]),
  );
  for (const name of [
    ABUSE_CANARY.domain,
    `www.${ABUSE_CANARY.domain}`,
    ABUSE_CANARY.site,
    ABUSE_CANARY.page,
    `www.${ABUSE_CANARY.page}`,
    'example.com',
  ]) {
    t.equal(hashedMask(lists, name), hashedMask(here.lists, name), name);
  }
  for (const s of ABUSE_CANARY_SECRETS)
    t.notOk(there.artifact.includes(s, 0, 'latin1'), `"${s}" is not in the worker's artifact`);
});

t.test('beside an ordinary category: both block, each with its own bit, in either order', async (t) => {
  const dir = t.testdir({ 'adult.hosts': '0.0.0.0 adult.example.test\n127.0.0.1 porn.example.test\n' });
  const adult: ListSource = {
    name: 'adult',
    category: 'adult',
    path: join(dir, 'adult.hosts'),
    format: 'hosts',
  };
  const first = await compileCanary('count', [ABUSE, adult]);
  t.same(first.lists.categories, ['abuse', 'adult']);
  t.equal(hashedMask(first.lists, ABUSE_CANARY.domain), 0b01);
  t.equal(first.lists.lookup('www.adult.example.test').blocked, 0b10);
  t.equal(hashedMask(first.lists, 'adult.example.test'), 0, 'an adult name is not a hashed entry');
  t.equal(first.lists.entries, 4);
  const second = await compileCanary('count', [adult, ABUSE]);
  t.same(second.lists.categories, ['adult', 'abuse']);
  t.equal(hashedMask(second.lists, ABUSE_CANARY.domain), 0b10, 'the abuse bit follows the category order');
  t.equal(second.lists.lookup('porn.example.test').blocked, 0b01);
  t.equal(second.lists.lookup(ABUSE_CANARY.domain).blocked, 0);
});

t.test('formats: a confidential category reads only the abuse format, and only it does', async (t) => {
  const dir = t.testdir({
    'a.hosts': `0.0.0.0 ${ABUSE_CANARY.domain}\n`,
    'b.txt': 'x.example.test\n',
  });
  await t.rejects(
    compileSources([{ ...ABUSE, path: join(dir, 'a.hosts'), format: 'hosts' }], {
      abuse: { key: KEY, pageEntries: 'count' },
    }),
    {
      code: 'ROJE_ERR_LIST_FORMAT',
      message: /list "abuse-feed" is in the confidential category "abuse".*not hosts/,
    },
  );
  await t.rejects(
    compileSources([{ name: 'b', category: 'adult', path: join(dir, 'b.txt'), format: 'abuse' }], {
      abuse: { key: KEY, pageEntries: 'count' },
    }),
    {
      code: 'ROJE_ERR_LIST_FORMAT',
      message: /list "b": the abuse format is only for the confidential category "abuse", not "adult"/,
    },
  );
  // format auto in the abuse category: read as the abuse format (a hosts-looking line is not a name),
  // and a list that so yields no entry fails the compile rather than match nothing.
  await t.rejects(
    compileSources([{ ...ABUSE, path: join(dir, 'a.hosts'), format: 'auto' }], {
      abuse: { key: KEY, pageEntries: 'count' },
    }),
    { code: 'ROJE_ERR_LIST_FORMAT', message: /holds no entry \(1 lines, 1 skipped\)/ },
  );
  await t.rejects(
    compileSources([ABUSE]),
    { code: 'ROJE_ERR_ABUSE_KEY' },
    'no key: refused, not compiled in clear',
  );
});

t.test('a pre-hashed copy compiles like the clear feed; one for another key is refused', async (t) => {
  const dir = t.testdir({});
  const hashed = async (key: typeof KEY) => {
    const s = createAbuseHashStream(key, 'test');
    const out: Buffer[] = [];
    s.on('data', (c: Buffer) => out.push(c));
    s.end(await import('node:fs/promises').then((fs) => fs.readFile(ABUSE_CANARY_FILE)));
    await new Promise((r) => s.on('end', r));
    return Buffer.concat(out);
  };
  writeFileSync(join(dir, 'ours.txt'), await hashed(KEY));
  writeFileSync(join(dir, 'theirs.txt'), await hashed(OTHER));
  const ours = await compileCanary('block-host', [{ ...ABUSE, path: join(dir, 'ours.txt') }]);
  t.equal(ours.lists.hashedEntries, 3);
  t.equal(hashedMask(ours.lists, `www.${ABUSE_CANARY.domain}`), 1);
  t.equal(hashedMask(ours.lists, ABUSE_CANARY.page), 1);
  await t.rejects(compileCanary('count', [{ ...ABUSE, path: join(dir, 'theirs.txt') }]), {
    code: 'ROJE_ERR_ABUSE_KEY',
    message: /was hashed with key/,
  });
});

t.test('the table: slot counts, duplicates merge, many entries found, others not', async (t) => {
  t.equal(hashedSlotCount(0), 0);
  t.equal(hashedSlotCount(1), 8);
  t.equal(hashedSlotCount(4), 8);
  t.equal(hashedSlotCount(5), 16);
  t.equal(hashedSlotCount(1000), 2048);

  const h = KEY.hmac;
  const next = rng(0xab05e);
  const listed: string[] = [];
  const unlisted: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const name = `n${next().toString(36)}.h${i % 7}.example.test`;
    (i % 2 === 0 ? listed : unlisted).push(name);
  }
  const entries = listed.map((name, i) => ({
    digest: h.digest(name),
    scope: i % 3 === 0 ? SCOPE_EXACT : SCOPE_SUBTREE,
    bit: 0,
  })) as Parameters<typeof buildHashedTable>[0][number][];
  // The same digests again: merged, not counted twice.
  const { table, count } = buildHashedTable([...entries, ...entries.slice(0, 50)]);
  t.equal(count, listed.length);
  t.equal(table.length, hashedSlotCount(listed.length + 50) * HASHED_STRIDE);
  const lookup = new HashedLookup(table, h);
  t.equal(lookup.size, listed.length);
  let wrong = 0;
  for (let i = 0; i < listed.length; i++) {
    const exact = i % 3 === 0;
    if (lookup.lookupWire(wire(listed[i]), 0) !== 1) wrong++;
    if (lookup.lookupWire(wire(`sub.${listed[i]}`), 0) !== (exact ? 0 : 1)) wrong++;
    // Twice: the memo answers the same.
    if (lookup.lookupWire(wire(`sub.${listed[i]}`), 0) !== (exact ? 0 : 1)) wrong++;
  }
  for (const name of unlisted) if (lookup.lookupWire(wire(name), 0) !== 0) wrong++;
  t.equal(wrong, 0, 'every listed name found, every other not');

  t.throws(
    () => buildHashedTable([{ digest: new Uint8Array(31), scope: SCOPE_SUBTREE, bit: 0 }]),
    RangeError,
  );
  t.same(buildHashedTable([]), { table: new Int32Array(0), count: 0 });
});

t.test('remembered verdicts: the same on every ask, any case, the 32nd category, long names', async (t) => {
  const h = KEY.hmac;
  const listed = 'listed.example.test';
  const { table } = buildHashedTable([{ digest: h.digest(listed), scope: SCOPE_SUBTREE, bit: 31 }]);
  const lookup = new HashedLookup(table, h);
  const top = 1 << 31; // negative as an int32: a memo must not take it for "not found"
  for (let round = 0; round < 3; round++) {
    t.equal(lookup.lookupWire(wire(listed), 0), top, `round ${round}: listed`);
    t.equal(lookup.lookupWire(wire(`a.${listed}`), 0), top, `round ${round}: under it`);
    t.equal(lookup.lookupWire(wire('other.example.test'), 0), 0, `round ${round}: another name`);
  }
  t.equal(lookup.lookupWire(wire('LISTED.Example.TEST'), 0), top, 'case-insensitive');
  const long = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${listed}`;
  t.equal(lookup.lookupWire(wire(long), 0), top, 'a name of 210 bytes');
  t.equal(lookup.lookupWire(wire(long), 0), top, 'and again');
});

t.test('malformed or odd wire names match nothing and do not throw', async (t) => {
  const { lists } = await compileCanary('count');
  const good = wire(ABUSE_CANARY.domain);
  t.equal(lists.lookupHashedWire(good, 0), 1);
  t.equal(lists.lookupHashedWire(good.subarray(0, good.length - 1), 0), 0, 'no root label');
  t.equal(lists.lookupHashedWire(good.subarray(0, 5), 0), 0, 'cut inside a label');
  t.equal(lists.lookupHashedWire(Buffer.from([0xc0, 0x0c]), 0), 0, 'a compression pointer');
  t.equal(lists.lookupHashedWire(Buffer.from([0]), 0), 0, 'the root');
  t.equal(lists.lookupHashedWire(good, good.length), 0, 'past the end');
  const long = wire(
    `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}.${ABUSE_CANARY.domain}`,
  );
  t.equal(lists.lookupHashedWire(long, 0), 0, 'longer than a name can be');
  const near = wire(`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${ABUSE_CANARY.domain}`);
  t.equal(lists.lookupHashedWire(near, 0), 1, 'a long name under a listed domain');
});
