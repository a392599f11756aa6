/**
 * The abuse feed's hashed lookup (src/policy/compiled/hashed.ts) per query, against the same names
 * looked up in the clear trie, and the HMAC itself (our SHA-256 against node:crypto's createHmac).
 *
 * Rows (ns per query, median of rounds):
 *   - hmac: one HMAC-SHA-256 of a 20-byte name, ours and node:crypto's;
 *   - hashed, distinct names: names not seen before (a cache-busting flood; the memo holds 65,536 and
 *     starts over when full): the full cost, one HMAC per suffix of two labels or more (www.x.com: 2);
 *   - hashed, repeated names: 20,000 names drawn again and again (a venue's real traffic): the memo;
 *   - trie lookupWire of the same names, for scale.
 * The table holds 100,000 synthetic entries (the IWF list is in the tens of thousands).
 *
 *   node --import @tapjs/typescript/import bench/internal/abuse.bench.ts
 *
 * Bounded: fixed counts, ~1 s per row. Sends nothing anywhere.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { abuseKey } from '../../src/policy/abuse/key.js';
import { loadArtifact } from '../../src/policy/compiled/artifact.js';
import { createListBuilder } from '../../src/policy/compiled/builder.js';
import { emptyResult } from '../../src/policy/types.js';
import { rng } from '../lists/names.js';

const ENTRIES = 100_000;
const QUERIES = 200_000;
const REPEATED = 20_000;
const ROUNDS = 7;
const ROW_BUDGET_MS = 1500;

const key = abuseKey(randomBytes(32));
const raw = rng(7);
/** In [0, 1). */
const next = () => raw() / 4294967296;
const label = (n: number) => {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(97 + Math.floor(next() * 26));
  return s;
};

const builder = createListBuilder();
const bit = builder.category('abuse');
const trieBit = builder.category('adult');
for (let i = 0; i < ENTRIES; i++) {
  const name = `${label(10)}.${['com', 'net', 'org', 'ru'][i % 4]}`;
  builder.add(
    { name: '', scope: 'subtree', action: 'block', line: i + 1, digest: key.hmac.digest(name) },
    bit,
  );
  builder.add({ name, scope: 'subtree', action: 'block', line: i + 1 }, trieBit);
}
const lists = loadArtifact(builder.finish({ hashedKeyId: key.id }), '(bench)', { abuseKey: key });

function wire(name: string): Buffer {
  const parts = name.split('.');
  const buf = Buffer.alloc(name.length + 2);
  let p = 0;
  for (const part of parts) {
    buf[p++] = part.length;
    p += buf.write(part, p, 'latin1');
  }
  buf[p] = 0;
  return buf;
}

const deep = Array.from({ length: QUERIES }, () => wire(`${label(8)}.${label(6)}.${label(5)}.com`));
const www = Array.from({ length: QUERIES }, () => wire(`www.${label(9)}.com`));
const pool = Array.from({ length: REPEATED }, () => wire(`www.${label(9)}.com`));
const repeated = Array.from({ length: QUERIES }, () => pool[Math.floor(next() * REPEATED)]);

function measure(run: (i: number) => number, n: number): number {
  const times: number[] = [];
  const started = performance.now();
  let sink = 0;
  for (let r = 0; r < ROUNDS && performance.now() - started < ROW_BUDGET_MS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) sink ^= run(i);
    times.push(((performance.now() - t0) * 1e6) / n);
  }
  if (sink === 0.5) console.log(sink);
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const text = Array.from({ length: 1000 }, () => Buffer.from(`www.${label(12)}.com`));
const words = new Int32Array(8);
const hmacKey = randomBytes(32);
const rows: Array<[string, number]> = [
  [
    'hmac, ours (20 bytes)',
    measure((i) => {
      key.hmac.digestInto(text[i % 1000], 0, 20, words);
      return words[0];
    }, 100_000),
  ],
  [
    'hmac, node:crypto createHmac (20 bytes)',
    measure(
      (i) =>
        createHmac('sha256', hmacKey)
          .update(text[i % 1000])
          .digest()[0],
      50_000,
    ),
  ],
  // A fresh name every query: built per round so that the memo never helps.
  [
    'hashed lookup, distinct a.b.c.com names (3 HMACs)',
    measure((i) => lists.lookupHashedWire(deep[i], 0), QUERIES),
  ],
  [
    'hashed lookup, distinct www.x.com names (2 HMACs)',
    measure((i) => lists.lookupHashedWire(www[i], 0), QUERIES),
  ],
  ['hashed lookup, 20,000 repeated names', measure((i) => lists.lookupHashedWire(repeated[i], 0), QUERIES)],
];
const out = emptyResult();
rows.push([
  'trie lookupWire, same www.x.com names',
  measure((i) => lists.lookupWire(www[i], 0, out).blocked, QUERIES),
]);

console.log(`abuse lookup, ${ENTRIES} hashed entries, Node ${process.version}`);
console.log('| row | ns per query |\n|---|---|');
for (const [name, ns] of rows) console.log(`| ${name} | ${Math.round(ns)} |`);
