/**
 * One timed round of `fn` for the internal benchmarks: ns per call, calls made in batches of `batch`
 * between clock reads. Bounded in time (`ms`) and in count (at most 2e8 calls).
 */
export function timedRound(fn: () => void, ms: number, batch: number): number {
  let n = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(ms * 1e6));
  let now = start;
  while (now < deadline && n < 200_000_000) {
    for (let k = 0; k < batch; k++) fn();
    n += batch;
    now = process.hrtime.bigint();
  }
  return Number(now - start) / n;
}
