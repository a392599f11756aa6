/**
 * The Wilson score interval for a binomial proportion: unlike the plain "p ± 1.96·√(p(1-p)/n)" it stays
 * inside [0, 1] and is honest at 0 %, 100 % and small n, which is where a filter's block rate lives.
 */

/** z for a two-sided 95 % interval. */
export const Z_95 = 1.959963984540054;

export interface Interval {
  low: number;
  high: number;
}

/** The interval for `successes` out of `trials` (0..1); [0, 1] when there are no trials. */
export function wilsonInterval(successes: number, trials: number, z = Z_95): Interval {
  if (trials <= 0) return { low: 0, high: 1 };
  const p = successes / trials;
  const z2 = z * z;
  const denominator = 1 + z2 / trials;
  const centre = (p + z2 / (2 * trials)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))) / denominator;
  // Rounded so the signed report reads the same in every runtime; clamped against rounding past 0 or 1.
  return {
    low: round(Math.max(0, centre - half)),
    high: round(Math.min(1, centre + half)),
  };
}

/** Six decimals: enough for a rate, stable in JSON. */
export function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
