import t from 'tap';
import { FrameReader } from '../../src/transport/frame-reader.js';

function frame(fill: number, length: number): Buffer {
  const out = Buffer.alloc(length + 2, fill);
  out.writeUInt16BE(length, 0);
  return out;
}

function drain(reader: FrameReader): Buffer[] {
  const out: Buffer[] = [];
  for (let f = reader.next(); f !== null; f = reader.next()) out.push(Buffer.from(f));
  return out;
}

t.test('a message split byte by byte, length prefix included', async (t) => {
  const reader = new FrameReader();
  const wire = frame(7, 300);
  const got: Buffer[] = [];
  for (let i = 0; i < wire.length; i++) {
    reader.push(wire.subarray(i, i + 1));
    got.push(...drain(reader));
    if (i < wire.length - 1) t.equal(got.length, 0);
  }
  t.equal(got.length, 1);
  t.same(got[0], Buffer.alloc(300, 7));
  t.notOk(reader.buffered);
});

t.test('many messages in one chunk, and a chunk boundary at every possible offset', async (t) => {
  const wire = Buffer.concat([frame(1, 12), frame(2, 40), frame(3, 65535), frame(4, 13)]);
  for (const cut of [0, 1, 2, 3, 13, 14, 15, 16, 56, 57, 100, 65590, wire.length - 1]) {
    const reader = new FrameReader();
    reader.push(wire.subarray(0, cut));
    const got = drain(reader);
    reader.push(wire.subarray(cut));
    got.push(...drain(reader));
    t.same(
      got.map((f) => [f[0], f.length]),
      [
        [1, 12],
        [2, 40],
        [3, 65535],
        [4, 13],
      ],
      `cut at ${cut}`,
    );
  }
});

t.test('a chunk pushed while bytes are still unparsed is appended, not lost', async (t) => {
  const reader = new FrameReader();
  reader.push(Buffer.concat([frame(1, 12), frame(2, 12).subarray(0, 5)]));
  t.equal(reader.next()?.length, 12);
  t.ok(reader.buffered, 'the tail of the chunk is still unparsed');
  reader.push(frame(2, 12).subarray(5));
  t.same(
    drain(reader).map((f) => f[0]),
    [2],
  );
});

t.test('a frame shorter than a DNS header marks the stream invalid', async (t) => {
  const reader = new FrameReader();
  reader.push(Buffer.concat([frame(1, 12), Buffer.from([0, 11]), Buffer.alloc(11), frame(2, 12)]));
  t.equal(reader.next()?.length, 12);
  t.equal(reader.next(), null);
  t.ok(reader.invalid);
  reader.push(frame(3, 12));
  t.equal(reader.next(), null, 'nothing is read after the stream went bad');
});

t.test('a zero length is invalid too', async (t) => {
  const reader = new FrameReader();
  reader.push(Buffer.from([0, 0]));
  t.equal(reader.next(), null);
  t.ok(reader.invalid);
});
