/**
 * The lists version: a hash of what decides answers, never of when or where the lists were compiled.
 * The same sources (name, category, requested format, content), the same artifact format and, when an
 * abuse source is among them, the same abuse key and page-entry setting give the same version on any
 * machine: in `roje compile` output, status, the policy.roje CH TXT string and signed artifacts. A
 * certifier can tie evidence to it, and a recompile that changes nothing is recognised as such.
 */
import { createHash } from 'node:crypto';
import { type BigIntStats, createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { FORMAT_VERSION } from './compiled/layout.js';
import { CONFIDENTIAL_CATEGORIES, type ListSource } from './types.js';

/** One source as the version sees it: `sha256` is the hex hash of its bytes as stored (compressed if .gz). */
export interface VersionedSource {
  name: string;
  category: string;
  format?: ListSource['format'] | undefined;
  sha256: string;
}

export interface VersionAbuse {
  keyId: string;
  pageEntries: string;
}

export function listsVersion(sources: readonly VersionedSource[], abuse: VersionAbuse | null): string {
  const confidential = sources.some((s) => CONFIDENTIAL_CATEGORIES.has(s.category));
  const canonical = JSON.stringify({
    artifactFormat: FORMAT_VERSION,
    sources: sources.map((s) => [s.name, s.category, s.format ?? 'auto', s.sha256]),
    // The key changes the hashes in the artifact only when an abuse source is there to be hashed.
    abuse: confidential && abuse !== null ? [abuse.keyId, abuse.pageEntries] : null,
  });
  return createHash('sha256').update(canonical).digest('hex');
}

/**
 * The version `sources` would compile to, read from their bytes without parsing them (about 60 ms for
 * a 1M-name file); null when a source cannot be read as one file: the compile then says why.
 */
export async function versionOfSources(
  sources: readonly ListSource[],
  abuse: VersionAbuse | null,
): Promise<string | null> {
  const versioned: VersionedSource[] = [];
  for (const s of sources) {
    const sha256 = await fileSha256(s.path).catch(() => null);
    if (sha256 === null) return null;
    versioned.push({ name: s.name, category: s.category, format: s.format, sha256 });
  }
  return listsVersion(versioned, abuse);
}

/**
 * Digests by path, kept while the file is the same one (device, inode, size, modification time in ns).
 * A config-only reload asks for the version of the lists in force, whose copies roje itself wrote (a
 * temp file renamed into place: a new inode), so a repeat costs a stat instead of reading the list.
 */
const digests = new Map<string, { key: string; sha256: string }>();
/** Paths remembered at most (a deployment has a handful of lists). */
const MAX_DIGESTS = 256;
const RACY_MS = 2_000;

/** Hex SHA-256 of a file's bytes as stored (remembered while the file is the same one). */
export async function fileSha256(path: string): Promise<string> {
  const st = await stat(path, { bigint: true });
  const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  const known = digests.get(path);
  if (known !== undefined && known.key === key) return known.sha256;
  const sha256 = await readSha256(path);
  // Only a file that did not change while it was read is remembered, and only once its times are older
  // than the clock's granularity could hide (git's "racy" rule): a same-size rewrite within the same
  // tick would otherwise keep its old digest.
  const after = await stat(path, { bigint: true });
  const settled = BigInt(Date.now() - RACY_MS) * 1_000_000n > after.ctimeNs;
  if (settled && `${after.dev}:${after.ino}:${after.size}:${after.mtimeNs}:${after.ctimeNs}` === key) {
    if (digests.size >= MAX_DIGESTS && !digests.has(path)) digests.clear();
    digests.set(path, { key, sha256 });
  }
  return sha256;
}

/**
 * Remembers the digest of a file that roje itself has just written (a temp file renamed into place: a
 * list file's good copy, src/feeds/files.ts) and hashed as it wrote it, so that the version of a first
 * start does not read 20 MB again. The racy rule above guards against another writer within the clock's
 * tick; no one else writes roje's copies, and any later change to the file changes its key.
 */
export async function rememberDigest(path: string, sha256: string): Promise<void> {
  const st = await stat(path, { bigint: true });
  if (digests.size >= MAX_DIGESTS && !digests.has(path)) digests.clear();
  digests.set(path, { key: `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`, sha256 });
}

/**
 * The remembered digest of `path` when `st` (of the file as opened) is the very file it was taken of:
 * a compile of roje's fresh copy then need not hash 20 MB the guard has just hashed.
 */
export function rememberedDigest(path: string, st: BigIntStats): string | null {
  const known = digests.get(path);
  return known !== undefined && known.key === `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`
    ? known.sha256
    : null;
}

function readSha256(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path, { highWaterMark: 1 << 20 })
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}
