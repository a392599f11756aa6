import dnsPacket from 'dns-packet';
import t from 'tap';
import { MAX_EDE_OPTIONS, MAX_EDE_TEXT, NO_EDE, optLength, readEde, writeOpt } from '../../src/dns/edns.js';

interface DecodedOpt {
  type: string;
  name: string;
  udpPayloadSize: number;
  extendedRcode: number;
  ednsVersion: number;
  flags: number;
  options: { code: number; data: Buffer }[];
}

/** Puts an OPT after a minimal header (ARCOUNT 1) so dns-packet can decode it. */
function decodeOpt(opt: Buffer): DecodedOpt {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(0x8000, 2);
  h.writeUInt16BE(1, 10);
  return dnsPacket.decode(Buffer.concat([h, opt])).additionals![0] as unknown as DecodedOpt;
}

t.test('writes a bare OPT', async (t) => {
  t.equal(optLength(), 11);
  const b = Buffer.alloc(11, 0xaa);
  t.equal(writeOpt(b, 0, 1232, 0, false), 11);
  t.equal(b.toString('hex'), '00' + '0029' + '04d0' + '00000000' + '0000');
  const d = decodeOpt(b);
  t.equal(d.type, 'OPT');
  t.equal(d.name, '.');
  t.equal(d.udpPayloadSize, 1232);
  t.equal(d.flags, 0);
});

t.test('writes DO, extended RCODE and EDE options at an offset', async (t) => {
  const a = [{ code: 15, text: 'blocked: adult' }];
  const b = [{ code: 3 }, { code: 0, text: 'ünïcode' }];
  const len = optLength(a, b);
  t.equal(len, 11 + 6 + 14 + 6 + 6 + Buffer.byteLength('ünïcode'));
  const buf = Buffer.alloc(5 + len);
  t.equal(writeOpt(buf, 5, 4096, 16 + 7, true, a, b), 5 + len);
  const d = decodeOpt(buf.subarray(5));
  t.equal(d.udpPayloadSize, 4096);
  t.equal(d.extendedRcode, 1, 'upper bits of RCODE 23');
  t.equal(d.ednsVersion, 0);
  t.equal(d.flags, 0x8000);
  t.same(
    d.options.map((o) => [o.code, o.data.readUInt16BE(0), o.data.subarray(2).toString('utf8')]),
    [
      [15, 15, 'blocked: adult'],
      [15, 3, ''],
      [15, 0, 'ünïcode'],
    ],
  );
  t.same(readEde(buf, 5 + 11, 5 + len), [...a, ...b], 'readEde reads back what writeOpt wrote');
});

t.test('readEde skips other options and survives malformed lists', async (t) => {
  const opts = Buffer.from([
    0,
    10,
    0,
    8,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8, // COOKIE
    0,
    15,
    0,
    2,
    0,
    22, // EDE 22, no text
    0,
    15,
    0,
    1,
    9, // EDE too short for an INFO-CODE: ignored
    0,
    15,
    0,
    9,
    0, // runs past the end: scan stops
  ]);
  t.same(readEde(opts, 0, opts.length), [{ code: 22 }]);
  t.equal(readEde(opts, 0, 0), NO_EDE);
  t.equal(readEde(Buffer.from([0, 15]), 0, 2), NO_EDE, 'a cut option header');
});

t.test('readEde bounds text length and option count', async (t) => {
  const long = Buffer.alloc(4 + 2 + 1000, 0x61);
  long.writeUInt16BE(15, 0);
  long.writeUInt16BE(1002, 2);
  long.writeUInt16BE(18, 4);
  const [e] = readEde(long, 0, long.length);
  t.equal(e.code, 18);
  t.equal(e.text?.length, MAX_EDE_TEXT);
  const many = Buffer.concat(Array.from({ length: 20 }, () => Buffer.from([0, 15, 0, 2, 0, 3])));
  t.equal(readEde(many, 0, many.length).length, MAX_EDE_OPTIONS);
});
