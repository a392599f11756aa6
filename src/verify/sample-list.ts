/**
 * A certifier's own list for sampled verification: read it (one name a line; hosts lines, adblock
 * `||name^` rules, URLs (their host) and `#`/`!` comments are accepted, so a published list can be
 * given as it is), then
 * draw a seeded random sample of it. The list may be confidential: nothing here logs or returns a name
 * except to the caller that asks the resolver.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { RojeError } from '../errors.js';

const MAX_LIST_BYTES = 256 * 1024 * 1024;
const HOSTNAME = /^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;
/** Names hosts files carry for the machine itself, never a site. */
const NOT_SITES = new Set(['localhost', 'localhost.localdomain', 'local', 'broadcasthost', 'ip6-localhost']);

export interface SampleList {
  file: string;
  /** sha256 (hex) of the file's bytes: names the list's version without naming an entry. */
  sha256: string;
  /** Distinct names, lowercase, in file order. */
  names: string[];
  /** Lines that held no usable name (not comments or blank lines). */
  skipped: number;
}

/** The name a line gives, or null (comment, blank) or undefined (not understood). */
export function nameOfLine(raw: string): string | null | undefined {
  let line = raw.trim();
  if (line === '' || line.startsWith('#') || line.startsWith('!') || line.startsWith('[')) return null;
  line = line.replace(/\s+#.*$/, '');
  const adblock = /^\|\|([^/^$]+)\^?(\$.*)?$/.exec(line);
  if (adblock !== null) line = adblock[1];
  const fields = line.split(/\s+/);
  // hosts: "0.0.0.0 name" (only the first name: aliases are rare in blocklists and would bias the draw).
  const candidate = (isIP(fields[0]) !== 0 ? (fields[1] ?? '') : fields[0])
    .toLowerCase()
    // A URL (abuse lists are written so) stands for its host: DNS can only filter the host.
    .replace(/^[a-z][a-z0-9+.-]*:\/\//, '')
    .replace(/[/?#].*$/, '')
    .replace(/:\d+$/, '')
    .replace(/\.$/, '');
  if (candidate.startsWith('*.')) return undefined;
  if (NOT_SITES.has(candidate) || !HOSTNAME.test(candidate)) return undefined;
  return candidate;
}

/**
 * Reads a list file; throws ROJE_ERR_VERIFY_SAMPLE naming the file (after `option`, e.g.
 * "--sample adult=") when it cannot or holds no name.
 */
export async function readSampleList(file: string, option = ''): Promise<SampleList> {
  const what = `${option}${file}`;
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new RojeError(
      'ROJE_ERR_VERIFY_SAMPLE',
      `${what} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      { cause: err },
    );
  }
  if (bytes.length > MAX_LIST_BYTES) {
    throw new RojeError('ROJE_ERR_VERIFY_SAMPLE', `${what} is larger than 256 MiB`);
  }
  const seen = new Set<string>();
  let skipped = 0;
  for (const line of bytes.toString('utf8').split('\n')) {
    const name = nameOfLine(line);
    if (name === undefined) skipped++;
    else if (name !== null) seen.add(name);
  }
  if (seen.size === 0) {
    throw new RojeError(
      'ROJE_ERR_VERIFY_SAMPLE',
      `${what} holds no domain name (one a line; hosts and adblock lines are accepted)`,
    );
  }
  return {
    file,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    names: [...seen],
    skipped,
  };
}

/** sfc32 seeded through splitmix32: fast, well mixed, and the same sequence in every runtime. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  return () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t / 4294967296;
  };
}

/**
 * `size` distinct names drawn uniformly (a partial Fisher-Yates shuffle of the indexes), or every
 * name, shuffled, when the list is smaller. The same list and seed give the same sample.
 */
export function drawSample(names: readonly string[], size: number, seed: number): string[] {
  const random = seededRandom(seed);
  const n = Math.min(size, names.length);
  const index = Uint32Array.from({ length: names.length }, (_, i) => i);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random() * (names.length - i));
    const swap = index[i];
    index[i] = index[j];
    index[j] = swap;
  }
  return Array.from(index.subarray(0, n), (i) => names[i]);
}
