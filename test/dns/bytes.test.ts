import t from 'tap';
import { copyBytes, setU16, setU32 } from '../../src/dns/bytes.js';

t.test('big-endian stores match Buffer writers', async (t) => {
  for (const v of [0, 1, 0x1234, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff]) {
    const a = Buffer.alloc(8, 0xee);
    const b = Buffer.alloc(8, 0xee);
    setU32(a, 2, v);
    b.writeUInt32BE(v, 2);
    t.same(a, b, `u32 ${v}`);
    if (v <= 0xffff) {
      setU16(a, 5, v);
      b.writeUInt16BE(v, 5);
      t.same(a, b, `u16 ${v}`);
    }
  }
});

t.test('copyBytes copies exactly the range', async (t) => {
  const src = Buffer.from('0123456789');
  const dst = Buffer.alloc(6, 0x2e);
  copyBytes(src, 3, dst, 1, 4);
  t.equal(dst.toString(), '.3456.');
  copyBytes(src, 0, dst, 0, 0);
  t.equal(dst.toString(), '.3456.');
});
