/**
 * Loading, reading and writing the artifact. Loading is read + SHA-256 + a few typed-array views over
 * the same bytes: nothing is decoded per name.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { RojeError } from '../../errors.js';
import type { AbuseKey } from '../abuse/format.js';
import type { CompiledLists } from '../types.js';
import type { ArtifactMeta } from './builder.js';
import { Compiled } from './compiled-lists.js';
import { HASHED_STRIDE, HashedLookup } from './hashed.js';
import {
  CHECKSUM_SIZE,
  FORMAT_VERSION,
  H,
  HEADER_SIZE,
  MAGIC,
  RECORD_STRIDE,
  SLOT_STRIDE,
} from './layout.js';

const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

export type LoadedLists = CompiledLists & Compiled;

function bad(source: string, what: string): never {
  throw new RojeError('ROJE_ERR_LIST_ARTIFACT', `compiled lists ${source}: ${what}`);
}

/**
 * Verifies and opens an artifact. `source` names it in error messages (a file path, say); `trusted`
 * skips the checksum for bytes the builder has just produced in this process or its worker; `abuseKey`
 * is the deployment's key, needed when the artifact holds hashed (abuse feed) entries.
 * ROJE_ERR_LIST_ARTIFACT when the magic, version, sizes or checksum are wrong; ROJE_ERR_ABUSE_KEY when
 * hashed entries come without the key they were made with (they would match nothing: fail closed).
 */
export function loadArtifact(
  input: Buffer,
  source = '(buffer)',
  options: { trusted?: boolean; abuseKey?: AbuseKey | null } = {},
): LoadedLists {
  if (input.length < HEADER_SIZE + CHECKSUM_SIZE) {
    bad(
      source,
      `${input.length} bytes is too short for an artifact (at least ${HEADER_SIZE + CHECKSUM_SIZE})`,
    );
  }
  if (input.toString('latin1', 0, MAGIC.length) !== MAGIC) {
    bad(
      source,
      `not a roje compiled list file (expected the magic "${MAGIC}"): compile it with roje compile`,
    );
  }
  const version = input.readUInt16LE(6);
  if (version !== FORMAT_VERSION) {
    bad(
      source,
      `format version ${version}, but this roje reads version ${FORMAT_VERSION}: recompile the lists`,
    );
  }
  if (!LITTLE_ENDIAN) bad(source, 'this host is big-endian; the artifact format is little-endian only');
  const h = (i: number) => input.readUInt32LE(8 + 4 * i);
  const total = h(H.TOTAL);
  if (total + CHECKSUM_SIZE !== input.length) {
    bad(
      source,
      `size ${input.length} bytes, but its header says ${total + CHECKSUM_SIZE}: the file is truncated or damaged`,
    );
  }
  // Bytes our own builder just made (the compile worker) are not re-hashed: 24 MB of SHA-256 would
  // stall the query loop ~20 ms at the swap. Files and fetched artifacts always are.
  const digest =
    options.trusted === true
      ? Buffer.from(input.subarray(total))
      : createHash('sha256').update(input.subarray(0, total)).digest();
  if (!digest.equals(input.subarray(total))) {
    bad(source, 'checksum mismatch: the file is damaged or was changed');
  }
  const section = (offIdx: number, lenIdx: number, align: number, name: string) => {
    const off = h(offIdx);
    const len = h(lenIdx);
    if (off < HEADER_SIZE || off % 8 !== 0 || len % align !== 0 || off + len > total) {
      bad(source, `the ${name} section (offset ${off}, ${len} bytes) does not fit the file`);
    }
    return [off, len] as const;
  };
  const [metaOff, metaLen] = section(H.META_OFF, H.META_LEN, 1, 'metadata');
  const [poolOff, poolLen] = section(H.POOL_OFF, H.POOL_LEN, 1, 'label');
  const [recsOff, recsLen] = section(H.RECS_OFF, H.RECS_LEN, 4 * RECORD_STRIDE, 'record');
  const [slotsOff, slotsLen] = section(H.SLOTS_OFF, H.SLOTS_LEN, 4 * SLOT_STRIDE, 'node');
  const [hashedOff, hashedLen] = section(H.HASHED_OFF, H.HASHED_LEN, 4 * HASHED_STRIDE, 'hashed');
  const hashedSlots = hashedLen / (4 * HASHED_STRIDE);
  if (hashedSlots !== 0 && (hashedSlots < 8 || (hashedSlots & (hashedSlots - 1)) !== 0)) {
    bad(source, `inconsistent header: ${hashedSlots} hashed slots is not a power of two`);
  }
  const slotCount = h(H.SLOT_COUNT);
  const nodeCount = h(H.NODE_COUNT);
  if (slotCount * SLOT_STRIDE * 4 !== slotsLen || nodeCount >= slotCount || recsLen === 0) {
    bad(source, `inconsistent header: ${slotCount} slots in ${slotsLen} bytes for ${nodeCount} nodes`);
  }

  let meta: ArtifactMeta;
  try {
    meta = JSON.parse(input.toString('utf8', metaOff, metaOff + metaLen)) as ArtifactMeta;
  } catch (err) {
    bad(source, `the metadata section is not valid JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(meta.categories) || !Array.isArray(meta.sources) || !Array.isArray(meta.local)) {
    bad(source, 'the metadata section lacks categories, sources or local data');
  }

  let hashed: HashedLookup | null = null;
  // Typed arrays need their byte offset aligned: a Buffer from the pool (small files) may not be.
  const buf = input.byteOffset % 8 === 0 ? input : Buffer.from(input);
  const base = buf.byteOffset;
  if (hashedSlots !== 0) {
    const key = options.abuseKey ?? null;
    if (key === null) {
      throw new RojeError(
        'ROJE_ERR_ABUSE_KEY',
        `compiled lists ${source} hold abuse feed hashes: roje needs the key they were made with (abuse.keyFile, roje compile --abuse-key)`,
      );
    }
    if (meta.hashedKeyId !== key.id) {
      throw new RojeError(
        'ROJE_ERR_ABUSE_KEY',
        `compiled lists ${source} were hashed with key ${meta.hashedKeyId}, but this deployment's key is ${key.id} (abuse.keyFile): their abuse entries would match nothing`,
      );
    }
    hashed = new HashedLookup(new Int32Array(buf.buffer, base + hashedOff, hashedLen / 4), key.hmac);
  }
  return new Compiled({
    pool: new Uint8Array(buf.buffer, base + poolOff, poolLen),
    records: new Uint32Array(buf.buffer, base + recsOff, recsLen / 4),
    slots: new Int32Array(buf.buffer, base + slotsOff, slotsLen / 4),
    slotCount,
    nodeCount,
    categories: meta.categories,
    sources: meta.sources,
    compiledAt: meta.compiledAt,
    entries: meta.entries,
    local: meta.local,
    version: meta.version ?? digest.toString('hex'),
    artifact: buf,
    hashed,
  });
}

/** Reads and loads an artifact file. ROJE_ERR_LIST_READ when it cannot be read. */
export async function readArtifact(path: string, abuse?: { key: AbuseKey }): Promise<LoadedLists> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    throw new RojeError('ROJE_ERR_LIST_READ', `compiled lists ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return loadArtifact(buf, path, { abuseKey: abuse?.key ?? null });
}

/**
 * Writes an artifact atomically: to a temporary file beside it, then renamed over it, so that a reader
 * (or a reload) sees the old file or the new one, never half of one.
 */
export async function writeArtifact(path: string, buf: Buffer): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, buf, { flush: true });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new RojeError(
      'ROJE_ERR_LIST_COMPILE',
      `cannot write compiled lists ${path}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}
