import t from 'tap';
import { PRESENTED_NAME, presentName } from '../../src/dns/name.js';
import {
  emptySketch,
  HLL_REGISTERS,
  hllAdd,
  hllEstimate,
  hllKey,
  hllMerge,
  hllPoint,
  hllPointBytes,
} from '../../src/stats/hll.js';

const SALT = Uint8Array.from({ length: 16 }, (_, i) => (i * 37 + 11) & 0xff);
const KEY = hllKey(SALT);

function sketchOf(names: Iterable<string>, key = KEY): Uint8Array {
  const s = emptySketch();
  for (const name of names) hllAdd(s, hllPoint(name, key));
  return s;
}
const names = (n: number, prefix = 'site') =>
  Array.from({ length: n }, (_, i) => `${prefix}${i}.example${i % 13}.com`);

t.test('an empty sketch is 0; small sets are counted exactly (linear counting)', async (t) => {
  t.equal(hllEstimate(emptySketch()), 0);
  for (const n of [1, 2, 3, 5, 10, 20]) t.equal(hllEstimate(sketchOf(names(n))), n, `${n} names`);
  t.equal(hllEstimate(sketchOf(['a.example', 'a.example', 'A.Example'])), 1, 'repeats and case count once');
});

t.test('10 000 and 100 000 distinct names are estimated within 5 %', async (t) => {
  for (const n of [10_000, 100_000]) {
    const estimate = hllEstimate(sketchOf(names(n)));
    t.ok(Math.abs(estimate - n) / n < 0.05, `${n} -> ${estimate}`);
  }
});

t.test('the error stays near the theory over many salts (about 3 %), not just one lucky salt', async (t) => {
  let squares = 0;
  const trials = 20;
  for (let trial = 0; trial < trials; trial++) {
    const key = hllKey(Uint8Array.from({ length: 16 }, (_, i) => (trial * 31 + i * 7 + 3) & 0xff));
    const e = (hllEstimate(sketchOf(names(5000, `t${trial}-`), key)) - 5000) / 5000;
    squares += e * e;
  }
  const rms = Math.sqrt(squares / trials);
  t.ok(rms < 0.05, `rms error ${rms.toFixed(4)}`);
});

t.test('merging is the union: overlapping sets count once', async (t) => {
  const all = names(3000);
  const a = sketchOf(all.slice(0, 2000));
  const b = sketchOf(all.slice(1000));
  hllMerge(a, b);
  t.same(a, sketchOf(all), 'merge equals the sketch of the union, register for register');
  t.throws(() => hllMerge(a, new Uint8Array(HLL_REGISTERS / 2)));
});

t.test('the salt keys the hash: another salt puts the same name elsewhere', async (t) => {
  const other = hllKey(Uint8Array.from({ length: 16 }, (_, i) => i));
  const points = names(50);
  const differ = points.filter((n) => hllPoint(n, KEY) !== hllPoint(n, other)).length;
  t.ok(differ >= 45, `${differ} of 50 points differ`);
  t.throws(() => hllKey(new Uint8Array(8)), /16 bytes/);
});

t.test(
  'points do not change: sketches stored before stay comparable (values of the string-only hash)',
  async (t) => {
    const pinned: Array<[string, number]> = [
      ['pornhub.com', 42689],
      ['www.blocked.example.test', 17154],
      ['a\\.b.example', 66],
      ['\\255x.test', 36225],
      ['Mixed.Case.COM', 6914],
      ['', 11842],
    ];
    for (const [name, point] of pinned) t.equal(hllPoint(name, KEY), point, JSON.stringify(name));
  },
);

t.test(
  'a name read from the wire gives the point of its text (the answer path makes no string)',
  async (t) => {
    const wire = (labels: number[][]) => Buffer.from([...labels.flatMap((l) => [l.length, ...l]), 0]);
    const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));
    const cases: Array<[number[][], string]> = [
      [[ascii('pornhub'), ascii('com')], 'pornhub.com'],
      [[ascii('WWW'), ascii('Blocked'), ascii('example'), ascii('test')], 'www.blocked.example.test'],
      [[[0x61, 0x2e, 0x62], ascii('example')], 'a\\.b.example'],
      [[[0xff, 0x78], ascii('test')], '\\255x.test'],
      [[], ''],
    ];
    for (const [labels, text] of cases) {
      const n = presentName(wire(labels), 0, null, false);
      t.equal(hllPointBytes(PRESENTED_NAME, n, KEY), hllPoint(text, KEY), JSON.stringify(text));
    }
    t.equal(presentName(Buffer.from([5, 0x61]), 0, null, false), -1, 'a truncated name is -1');
  },
);
