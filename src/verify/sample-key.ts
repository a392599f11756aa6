/**
 * The certifier's sample key: the report records each sampled name only as HMAC-SHA-256(key, name), so
 * that a report can be published or handed to the operator without revealing a confidential list,
 * while whoever holds the key and the list can later show which name a line is about. The report
 * carries the key's id (a hash of it), never the key.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { RojeError } from '../errors.js';

export const DEFAULT_SAMPLE_KEY_FILE = 'roje-sample.key';
const KEY_BYTES = 32;

export interface SampleKey {
  key: Buffer;
  /** First 16 hex digits of sha256(key): says which key, reveals nothing of it. */
  id: string;
  file: string;
  /** Made by this run (the CLI says where, so the certifier keeps it). */
  created: boolean;
}

export function sampleKeyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/** The name as the report holds it: lowercase, no trailing dot, keyed hash in hex. */
export function nameHash(key: Buffer, name: string): string {
  return createHmac('sha256', key).update(name.toLowerCase().replace(/\.$/, '')).digest('hex');
}

function parseKey(text: string, file: string): Buffer {
  const hex = text.trim();
  if (!/^([0-9a-fA-F]{2}){32,}$/.test(hex)) {
    throw new RojeError(
      'ROJE_ERR_VERIFY_SAMPLE',
      `the sample key ${file} is not a key: expected 64 or more hex digits (roje verify creates one when the file does not exist)`,
    );
  }
  return Buffer.from(hex, 'hex');
}

/**
 * Reads the key from `file`, or creates it there (32 random bytes as hex, mode 0600) when the file
 * does not exist. Throws ROJE_ERR_VERIFY_SAMPLE naming the file.
 */
export async function loadOrCreateSampleKey(file: string): Promise<SampleKey> {
  try {
    const key = parseKey(await readFile(file, 'utf8'), file);
    return { key, id: sampleKeyId(key), file, created: false };
  } catch (err) {
    if (err instanceof RojeError) throw err;
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new RojeError(
        'ROJE_ERR_VERIFY_SAMPLE',
        `cannot read the sample key ${file}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }
  const key = randomBytes(KEY_BYTES);
  try {
    await mkdir(dirname(file), { recursive: true });
    // 'wx': never replace a key another run just made (its reports would become unverifiable).
    await writeFile(file, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    await chmod(file, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateSampleKey(file);
    throw new RojeError(
      'ROJE_ERR_VERIFY_SAMPLE',
      `cannot create the sample key ${file}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  return { key, id: sampleKeyId(key), file, created: true };
}
