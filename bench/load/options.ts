/** Command-line option checks shared by the load benchmarks (run, swap, peers, soak). */
import { RojeError } from '../../src/errors.js';

export function intOption(value: string, flag: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new RojeError(
      'ROJE_ERR_CLI_USAGE',
      `${flag} must be an integer from ${min} to ${max} (got "${value}")`,
    );
  }
  return n;
}

/** A comma-separated list of `allowed` values, at least one. */
export function listOption<T extends string>(value: string, allowed: readonly T[], flag: string): T[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  for (const item of items) {
    if (!allowed.includes(item as T)) {
      throw new RojeError('ROJE_ERR_CLI_USAGE', `${flag}: "${item}" is not one of ${allowed.join(', ')}`);
    }
  }
  if (items.length === 0) {
    throw new RojeError('ROJE_ERR_CLI_USAGE', `${flag} needs at least one of ${allowed.join(', ')}`);
  }
  return items as T[];
}

/** A comma-separated list of integers, each from `min` to `max`, at least one; duplicates are dropped. */
export function intListOption(value: string, flag: string, min: number, max: number): number[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (items.length === 0) {
    throw new RojeError('ROJE_ERR_CLI_USAGE', `${flag} needs at least one integer from ${min} to ${max}`);
  }
  return [...new Set(items.map((item) => intOption(item, flag, min, max)))];
}
