import dnsPacket from 'dns-packet';
import t from 'tap';
import {
  ASCII_LOWER,
  encodeName,
  equalIgnoreCase,
  MAX_NAME_WIRE,
  type NameEnd,
  readName,
  skipName,
  skipPlainName,
} from '../../src/dns/name.js';
import { rng } from '../helpers/rng.js';

/** dns-packet's name codec, which its type definitions leave out. */
const packetName = (dnsPacket as unknown as { name: { encode(n: string): Buffer } }).name;

/** Wire form of a list of raw labels, root-terminated. */
function wire(...labels: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [];
  for (const l of labels) {
    const b = typeof l === 'string' ? Buffer.from(l, 'latin1') : l;
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

t.test('reads plain names in lowercase presentation form', async (t) => {
  const out: NameEnd = { end: -1 };
  const buf = wire('WWW', 'Example', 'COM');
  t.equal(readName(buf, 0, out), 'www.example.com');
  t.equal(out.end, buf.length);
  t.equal(readName(wire('a-b_c', '0123456789'), 0), 'a-b_c.0123456789');
  t.equal(readName(Buffer.from([0]), 0, out), '', 'root is the empty string');
  t.equal(out.end, 1);
  // Offset in the middle of a buffer, trailing bytes ignored.
  const mid = Buffer.concat([Buffer.from([9, 9, 9]), wire('x'), Buffer.from([7, 7])]);
  t.equal(readName(mid, 3, out), 'x');
  t.equal(out.end, 6);
});

t.test('escapes per RFC 1035 §5.1 and folds ASCII only', async (t) => {
  t.equal(readName(wire('a.b', 'c'), 0), 'a\\.b.c', 'dot inside a label');
  t.equal(readName(wire('a\\b'), 0), 'a\\\\b', 'backslash');
  t.equal(readName(wire('a b'), 0), 'a\\032b', 'space');
  t.equal(readName(wire(Buffer.from([0x00, 0x7f, 0x21, 0x7e])), 0), '\\000\\127!~');
  t.equal(readName(wire(Buffer.from([0xc3, 0x89, 0x41])), 0), '\\195\\137a', 'bytes >= 0x80 not folded');
  t.equal(readName(wire(Buffer.from([0xc0, 0xde, 0xff])), 0), '\\192\\222\\255');
  t.equal(readName(wire('"();@$'), 0), '"();@$', 'other printable bytes are kept');
  t.equal(readName(wire('ABCDEFGHIJKLMNOPQRSTUVWXYZ[`{'), 0), 'abcdefghijklmnopqrstuvwxyz[`{');
});

t.test('agrees with dns-packet on ordinary names', async (t) => {
  const names = ['example.com', 'A.B.C.D.E.F', 'x', 'xn--bcher-kva.example', 'under_score.Test-1.org'];
  for (const n of names) {
    const b = packetName.encode(n);
    t.equal(readName(b, 0), n.toLowerCase(), n);
    t.equal(skipName(b, 0), b.length);
  }
});

t.test('follows compression pointers', async (t) => {
  // "example.com" at 0, then "www" + pointer to 0 at 13, then a bare pointer to 13 at 19.
  const base = wire('example', 'com');
  const buf = Buffer.concat([base, Buffer.from([3, 0x77, 0x57, 0x77, 0xc0, 0x00]), Buffer.from([0xc0, 13])]);
  const out: NameEnd = { end: -1 };
  t.equal(readName(buf, 13, out), 'www.example.com');
  t.equal(out.end, 19, 'end is just past the first pointer');
  t.equal(readName(buf, 19, out), 'www.example.com', 'pointer to a pointer');
  t.equal(out.end, 21);
  t.equal(readName(buf, 13, out, false), null, 'pointers refused when not allowed');
  t.equal(skipName(buf, 13), 19);
  t.equal(skipPlainName(buf, 13), -1);
  t.equal(skipPlainName(buf, 0), 13);
});

t.test('rejects pointer loops and bad pointers', async (t) => {
  t.equal(readName(Buffer.from([0xc0, 0x00]), 0), null, 'pointer to itself');
  t.equal(readName(Buffer.from([0xc0, 0x02, 0x00]), 0), null, 'forward pointer');
  t.equal(readName(Buffer.from([1, 0x61, 0xc0, 0x00]), 0), null, 'label then pointer back to its own start');
  // Two names pointing at each other: 0 -> 4, 4 -> 0.
  t.equal(readName(Buffer.from([1, 0x61, 0xc0, 0x04, 1, 0x62, 0xc0, 0x00]), 4), null, 'ping-pong');
  t.equal(readName(Buffer.from([0xc0]), 0), null, 'truncated pointer');
  t.equal(skipName(Buffer.from([0xc0]), 0), -1);
});

t.test('rejects malformed labels and overlong names', async (t) => {
  t.equal(readName(Buffer.from([0x40, 0]), 0), null, 'extended label type 0x40');
  t.equal(readName(Buffer.from([0x80, 0]), 0), null, 'reserved label type 0x80');
  t.equal(skipName(Buffer.from([0x40, 0]), 0), -1);
  t.equal(readName(Buffer.from([3, 0x61, 0x62]), 0), null, 'label runs past the end');
  t.equal(readName(Buffer.from([1, 0x61]), 0), null, 'no root octet');
  t.equal(readName(Buffer.alloc(0), 0), null, 'empty');
  t.equal(skipPlainName(Buffer.from([1, 0x61]), 0), -1);
  // 4 labels of 63 = 256 octets + root: too long. 3×63 + 61 + root = 255: the longest legal name.
  const l63 = 'a'.repeat(63);
  const tooLong = wire(l63, l63, l63, l63);
  t.equal(readName(tooLong, 0), null);
  t.equal(skipName(tooLong, 0), -1);
  t.equal(skipPlainName(tooLong, 0), -1);
  const longest = wire(l63, l63, l63, 'b'.repeat(61));
  t.equal(longest.length, MAX_NAME_WIRE);
  t.equal(readName(longest, 0), `${l63}.${l63}.${l63}.${'b'.repeat(61)}`);
  t.equal(skipName(longest, 0), MAX_NAME_WIRE);
  // Too long only once a pointer is followed.
  const prefix = wire(l63, l63);
  const buf = Buffer.concat([
    prefix,
    Buffer.from([63]),
    Buffer.from(l63),
    Buffer.from([63]),
    Buffer.from(l63),
  ]);
  const joined = Buffer.concat([buf, Buffer.from([0xc0, 0x00])]);
  t.equal(readName(joined, prefix.length), null, 'over 255 octets through a pointer');
  // Longest name made only of escaped bytes still fits the presentation scratch space.
  const esc = Buffer.alloc(63, 0xff);
  const s = readName(wire(esc, esc, esc, esc.subarray(0, 61)), 0);
  t.equal(s?.length, 4 * 250 + 3);
});

t.test('equalIgnoreCase folds ASCII letters only', async (t) => {
  const a = Buffer.from('\x03WwW\x07exAMPLE\x00', 'latin1');
  const b = Buffer.from('\x03www\x07example\x00', 'latin1');
  t.ok(equalIgnoreCase(a, 0, b, 0, a.length));
  t.notOk(equalIgnoreCase(Buffer.from([0xc9]), 0, Buffer.from([0xe9]), 0, 1), 'no Latin-1 folding');
  t.notOk(
    equalIgnoreCase(Buffer.from('['), 0, Buffer.from('{'), 0, 1),
    '[ and { differ by 0x20 yet are not letters',
  );
  t.equal(ASCII_LOWER[0x41], 0x61);
  t.equal(ASCII_LOWER[0x5b], 0x5b);
});

t.test('never throws on random or mutated input', async (t) => {
  const next = rng(0x5eed);
  const seeds = [
    wire('www', 'example', 'com'),
    Buffer.from([1, 0x61, 0xc0, 0x00, 3, 0x41, 0x42, 0x43, 0xc0, 0x02]),
  ];
  let nulls = 0;
  for (let i = 0; i < 20000; i++) {
    let buf: Buffer;
    if (i % 2 === 0) {
      buf = Buffer.alloc(next() % 64);
      for (let j = 0; j < buf.length; j++) buf[j] = next() & 0xff;
    } else {
      buf = Buffer.from(seeds[i % 4 === 1 ? 0 : 1]);
      for (let k = next() % 4; k >= 0; k--) buf[next() % buf.length] = next() & 0xff;
    }
    const off = buf.length === 0 ? 0 : next() % buf.length;
    const out: NameEnd = { end: -1 };
    const s = readName(buf, off, out);
    if (s === null) {
      nulls++;
      continue;
    }
    if (out.end <= off || out.end > buf.length)
      t.fail(`bad end ${out.end} for ${buf.toString('hex')}@${off}`);
    const e = skipName(buf, off);
    if (e !== out.end) t.fail(`skipName ${e} != readName end ${out.end} for ${buf.toString('hex')}@${off}`);
  }
  t.ok(nulls > 0, 'the loop did reach malformed names');
});

t.test('encodeName: length-prefixed labels and the root octet, case kept', async (t) => {
  t.same(encodeName('www.Example.COM'), wire('www', 'Example', 'COM'), 'case as given');
  t.same(encodeName('a-b_c.0123456789'), packetName.encode('a-b_c.0123456789'), 'agrees with dns-packet');
  t.same(encodeName('xxx'), wire('xxx'), 'a bare top-level label');
  t.same(encodeName('*.example'), wire('*', 'example'), 'a wildcard label is a byte like any other');
  t.equal(readName(encodeName('Mixed.Case.test'), 0), 'mixed.case.test', 'readName reads it back');
  const a = encodeName('example.com');
  t.not(a, encodeName('example.com'), 'a Buffer of its own per call: callers may keep or patch it');
});

t.test('encodeName: one trailing dot is optional; empty and "." are the root', async (t) => {
  t.same(encodeName('example.com.'), encodeName('example.com'));
  t.same(encodeName(''), Buffer.from([0]));
  t.same(encodeName('.'), Buffer.from([0]));
});

t.test('encodeName: the longest name and label encode; one octet more throws', async (t) => {
  const l63 = 'a'.repeat(63);
  const longest = `${l63}.${l63}.${l63}.${'b'.repeat(61)}`;
  t.equal(encodeName(longest).length, MAX_NAME_WIRE);
  t.same(encodeName(`${longest}.`), encodeName(longest), 'a trailing dot does not count');
  t.throws(() => encodeName(`${longest}b`), {
    name: 'RangeError',
    message: /256 octets on the wire, over 255/,
  });
  t.equal(encodeName(l63)[0], 63);
  t.throws(() => encodeName(`${l63}a.example`), { name: 'RangeError', message: /a label is 64 octets/ });
});

t.test('encodeName throws on what is not a name', async (t) => {
  for (const bad of ['a..b', '.a', '..', 'a.b..']) {
    t.throws(() => encodeName(bad), { name: 'RangeError', message: /empty label/ }, JSON.stringify(bad));
  }
  t.throws(
    () => encodeName('bücher.example'),
    { name: 'RangeError', message: /A-label/ },
    'an IDN as U-label',
  );
  t.throws(() => encodeName('a\\.b.example'), { name: 'RangeError', message: /escapes/ }, 'readName escapes');
});
