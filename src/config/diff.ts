/**
 * Which keys of the config changed between two normalized configs, as dotted paths
 * ("cache.maxTtl", "policies.cafe.block", "upstreams[0].url"), for the audit log of a reload. Only
 * the paths, never a value: a token hash, a key file's contents or a URL with credentials stays out
 * of the log by construction.
 */
import { isDeepStrictEqual } from 'node:util';

/** How deep the paths go: deeper changes are named by their ancestor at this depth. */
const MAX_DEPTH = 3;

export function changedConfigKeys(before: unknown, after: unknown): string[] {
  const out: string[] = [];
  walk(before, after, '', 0, out);
  return out;
}

function walk(a: unknown, b: unknown, path: string, depth: number, out: string[]): void {
  if (isDeepStrictEqual(a, b)) return;
  if (depth >= MAX_DEPTH || !isBranch(a) || !isBranch(b) || Array.isArray(a) !== Array.isArray(b)) {
    out.push(path === '' ? '(the whole config)' : path);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    // A list that grew or shrank changed as a whole: its indices no longer line up.
    if (a.length !== b.length) out.push(path);
    else for (let i = 0; i < a.length; i++) walk(a[i], b[i], `${path}[${i}]`, depth + 1, out);
    return;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  for (const key of new Set([...Object.keys(x), ...Object.keys(y)])) {
    walk(x[key], y[key], path === '' ? key : `${path}.${key}`, depth + 1, out);
  }
}

function isBranch(v: unknown): v is object {
  return typeof v === 'object' && v !== null && !Buffer.isBuffer(v) && !(v instanceof Uint8Array);
}
