import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { LatencyHistogram, parseDnsperfOutput } from '../../../bench/load/dnsperf.js';
import { rng } from '../../helpers/rng.js';

/** Nearest rank on the sorted latencies, in ms: what the histogram must give at 1 µs resolution. */
const nearestRank = (sortedUs: readonly number[], fraction: number): number =>
  sortedUs[Math.max(1, Math.ceil(fraction * sortedUs.length)) - 1]! / 1e3;

/** A long-tailed sample in whole µs, as dnsperf prints them: mostly 20-80 µs, 1 in 200 up to 5 ms. */
function latenciesUs(seed: number, n: number): number[] {
  const next = rng(seed);
  return Array.from({ length: n }, () => {
    const r = next();
    return r % 200 === 0 ? 1000 + (next() % 4000) : 20 + (r % 60);
  });
}

// dnsperf 2.10's summary block, as printed after a -v run (the -v lines come before it).
const summary = (sent: number, completed: number): string => `[Status] Testing complete (time limit)

Statistics:

  Queries sent:         ${sent}
  Queries completed:    ${completed} (100.00%)
  Queries lost:         ${sent - completed} (0.00%)

  Response codes:       NOERROR ${completed - 7} (99.99%), NXDOMAIN 7 (0.01%)
  Average packet size:  request 31, response 47
  Run time (s):         2.000262
  Queries per second:   ${(completed / 2.000262).toFixed(6)}

  Average Latency (s):  0.000724 (min 0.000153, max 0.011329)
  Latency StdDev (s):   0.001272
`;

t.test('p50, p99, p99.9 and max of a -v run are the nearest-rank figures of its latencies', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'roje-dnsperf-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const seed of [1, 7, 2026]) {
    const us = latenciesUs(seed, 20_000 + seed);
    const file = path.join(dir, `run-${seed}.out`);
    const lines = us.map((u, i) => `> NOERROR n${i}.example A ${(u / 1e6).toFixed(6)}`);
    await writeFile(
      file,
      `DNS Performance Testing Tool\n\n${lines.join('\n')}\n${summary(us.length, us.length)}`,
    );
    const result = await parseDnsperfOutput(file);
    const sorted = [...us].sort((a, b) => a - b);
    t.equal(result.completed, us.length, `seed ${seed}: completed from the summary`);
    t.equal(result.rcodes.NXDOMAIN, 7);
    t.equal(result.p50Ms, nearestRank(sorted, 0.5), `seed ${seed}: p50`);
    t.equal(result.p99Ms, nearestRank(sorted, 0.99), `seed ${seed}: p99`);
    t.equal(result.p999Ms, nearestRank(sorted, 0.999), `seed ${seed}: p99.9`);
    t.ok(Math.abs(result.maxMs - sorted.at(-1)! / 1e3) < 1e-9, `seed ${seed}: max`);
    t.ok(result.p99Ms < result.p999Ms, `seed ${seed}: the tail is resolved apart from p99`);
  }
});

t.test('answers slower than the histogram (1 s) still give the exact max and a p99.9 at it', async (t) => {
  const h = new LatencyHistogram();
  for (let i = 0; i < 998; i++) h.add(0.00005);
  h.add(1.5);
  h.add(2.25);
  t.equal(h.quantileMs(0.5), 0.05);
  t.equal(h.quantileMs(0.999), 2250, 'the last bucket reports the max');
  t.equal(h.maxSeconds * 1e3, 2250);
  t.ok(Number.isNaN(new LatencyHistogram().quantileMs(0.999)), 'no answers: no figure');
});
