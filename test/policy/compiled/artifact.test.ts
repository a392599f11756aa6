import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { loadArtifact, readArtifact, writeArtifact } from '../../../src/policy/compiled/artifact.js';
import { createListBuilder } from '../../../src/policy/compiled/builder.js';
import { CHECKSUM_SIZE, FORMAT_VERSION, HEADER_SIZE } from '../../../src/policy/compiled/layout.js';
import type { SourceMeta } from '../../../src/policy/types.js';

const SOURCE: SourceMeta = {
  name: 'test-hosts',
  category: 'adult',
  format: 'hosts',
  entries: 3,
  skipped: 1,
  sha256: 'ab'.repeat(32),
  readAt: '2026-11-23T10:00:00.000Z',
};

function artifact(): Buffer {
  const b = createListBuilder();
  const adult = b.category('adult');
  b.addSource(SOURCE);
  for (const [i, name] of ['one.example', 'two.example', 'three.example'].entries()) {
    b.add({ name, scope: 'subtree', action: 'block', line: i + 1 }, adult);
  }
  b.add(
    {
      name: 'loc.example',
      scope: 'exact',
      action: 'local',
      line: 4,
      local: [{ type: 'A', data: '192.0.2.9' }],
    },
    adult,
  );
  return b.finish({ compiledAt: '2026-11-23T10:00:01.000Z' });
}

t.test('round trip: metadata, version, lookups', async (t) => {
  const buf = artifact();
  t.equal(buf.toString('latin1', 0, 6), 'ROJEBL');
  t.equal(buf.readUInt16LE(6), FORMAT_VERSION);
  const lists = loadArtifact(buf);
  t.same(lists.categories, ['adult']);
  t.same(lists.sources, [SOURCE]);
  t.equal(lists.entries, 4);
  t.equal(lists.compiledAt, '2026-11-23T10:00:01.000Z');
  t.equal(lists.version, buf.subarray(buf.length - CHECKSUM_SIZE).toString('hex'));
  t.match(lists.version, /^[0-9a-f]{64}$/);
  t.equal(lists.lookup('www.two.example').blocked, 1);
  t.equal(lists.lookup('four.example').blocked, 0);
  t.same(lists.localData(lists.lookup('loc.example').localIndex), [{ type: 'A', data: '192.0.2.9' }]);
  t.ok(Object.isFrozen(lists.categories) && Object.isFrozen(lists.sources[0]), 'metadata is immutable');
  t.equal(artifact().equals(buf), true, 'same input and time: same bytes');
});

t.test('views over an unaligned buffer are made on an aligned copy', async (t) => {
  const buf = artifact();
  const backing = Buffer.alloc(buf.length + 3);
  buf.copy(backing, 3);
  const unaligned = backing.subarray(3);
  t.equal(unaligned.byteOffset % 4, 3);
  const lists = loadArtifact(unaligned);
  t.equal(lists.lookup('one.example').blocked, 1);
});

t.test('a damaged artifact is refused: any flipped byte', async (t) => {
  const buf = artifact();
  // The header, the metadata, the sections and the checksum itself: every region is covered.
  const positions = [
    0,
    7,
    8,
    20,
    HEADER_SIZE + 2,
    buf.length >> 1,
    buf.length - CHECKSUM_SIZE - 1,
    buf.length - 1,
  ];
  for (const at of positions) {
    const bad = Buffer.from(buf);
    bad[at] ^= 0x01;
    t.throws(
      () => loadArtifact(bad, 'lists.bin'),
      { code: 'ROJE_ERR_LIST_ARTIFACT', message: /^compiled lists lists\.bin: / },
      `byte ${at}`,
    );
  }
  const body = Buffer.from(buf);
  body[buf.length >> 1] ^= 0x80;
  t.throws(() => loadArtifact(body), {
    code: 'ROJE_ERR_LIST_ARTIFACT',
    message: /checksum mismatch: the file is damaged or was changed/,
  });
});

t.test('truncated, extended, wrong magic, wrong version', async (t) => {
  const buf = artifact();
  t.throws(() => loadArtifact(buf.subarray(0, buf.length - 1)), {
    code: 'ROJE_ERR_LIST_ARTIFACT',
    message: /truncated/,
  });
  t.throws(() => loadArtifact(buf.subarray(0, 40)), { code: 'ROJE_ERR_LIST_ARTIFACT', message: /too short/ });
  t.throws(() => loadArtifact(Buffer.concat([buf, Buffer.alloc(1)])), { code: 'ROJE_ERR_LIST_ARTIFACT' });
  t.throws(() => loadArtifact(Buffer.alloc(0)), { code: 'ROJE_ERR_LIST_ARTIFACT' });
  const magic = Buffer.from(buf);
  magic.write('NOTROJ', 0, 'latin1');
  t.throws(() => loadArtifact(magic), { code: 'ROJE_ERR_LIST_ARTIFACT', message: /magic "ROJEBL"/ });
  const version = Buffer.from(buf);
  version.writeUInt16LE(FORMAT_VERSION + 1, 6);
  t.throws(() => loadArtifact(version), {
    code: 'ROJE_ERR_LIST_ARTIFACT',
    message: new RegExp(
      `format version ${FORMAT_VERSION + 1}, but this roje reads version ${FORMAT_VERSION}`,
    ),
  });
});

t.test('writeArtifact swaps the file whole; readArtifact loads it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'roje-artifact-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'lists.bin');
  await writeFile(path, 'old contents');
  const buf = artifact();
  await writeArtifact(path, buf);
  t.same(await readdir(dir), ['lists.bin'], 'no temporary file left behind');
  t.ok((await readFile(path)).equals(buf));
  const lists = await readArtifact(path);
  t.equal(lists.lookup('three.example').blocked, 1);
  await t.rejects(readArtifact(join(dir, 'missing.bin')), {
    code: 'ROJE_ERR_LIST_READ',
    message: /missing\.bin/,
  });
  await writeFile(path, buf.subarray(0, 100));
  await t.rejects(readArtifact(path), { code: 'ROJE_ERR_LIST_ARTIFACT', message: /lists\.bin.*truncated/ });
  await t.rejects(writeArtifact(join(dir, 'no', 'such', 'dir.bin'), buf), { code: 'ROJE_ERR_LIST_COMPILE' });
  t.same(await readdir(dir), ['lists.bin'], 'a failed write leaves no temporary file');
});
