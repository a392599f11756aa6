/**
 * The deployment's abuse feed key: 32 random bytes, stored as 64 hex digits in a file only roje reads
 * (mode 0600). Created on first use when it does not exist; never logged, never shown (only its id).
 * Every instance that shares hashed copies or artifacts (a fleet) needs the same key file.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { RojeError } from '../../errors.js';
import type { AbuseKey } from './format.js';
import { keyId, NameHmac } from './hmac.js';

export const KEY_BYTES = 32;
const HEX_KEY = /^[0-9a-fA-F]{64}$/;

/** The raw bytes behind each key, for the compile worker only: kept off the object, so no log shows them. */
const SECRETS = new WeakMap<AbuseKey, Uint8Array>();

export function abuseKey(bytes: Uint8Array): AbuseKey {
  const key: AbuseKey = { hmac: new NameHmac(bytes), id: keyId(bytes) };
  SECRETS.set(key, Uint8Array.from(bytes));
  return key;
}

/** The key's bytes (to hand the key to a worker thread). */
export function keyBytes(key: AbuseKey): Uint8Array {
  const bytes = SECRETS.get(key);
  if (bytes === undefined) throw new RojeError('ROJE_ERR_ABUSE_KEY', 'not a key made by abuseKey()');
  return bytes;
}

/** A key for this process only (no file): hashes made with it are never stored. */
export function ephemeralAbuseKey(): AbuseKey {
  return abuseKey(randomBytes(KEY_BYTES));
}

/**
 * Reads the key at `path`, or creates it when `create` and the file does not exist. ROJE_ERR_ABUSE_KEY
 * when it cannot be read, written, or does not hold 64 hex digits.
 */
export async function loadAbuseKey(path: string, options: { create: boolean }): Promise<AbuseKey> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !options.create) throw keyError(path, err);
    return abuseKey(await createKeyFile(path));
  }
  const hex = text.trim();
  if (!HEX_KEY.test(hex)) {
    throw new RojeError(
      'ROJE_ERR_ABUSE_KEY',
      `abuse key file ${path}: expected 64 hex digits (32 bytes), as \`roje\` creates it; found ${hex.length} characters`,
    );
  }
  return abuseKey(Buffer.from(hex, 'hex'));
}

/**
 * For commands that check or compile without serving (`roje check-config`): the key file when it
 * exists, else a key for this process (the server creates the file on its first start).
 */
export async function readAbuseKeyIfAny(path: string | null): Promise<AbuseKey> {
  if (path === null) return ephemeralAbuseKey();
  try {
    return await loadAbuseKey(path, { create: false });
  } catch (err) {
    if ((err as { cause?: NodeJS.ErrnoException }).cause?.code === 'ENOENT') return ephemeralAbuseKey();
    throw err;
  }
}

async function createKeyFile(path: string): Promise<Buffer> {
  const key = randomBytes(KEY_BYTES);
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o750 });
    // 'wx': never overwrite a key another process has just written (its hashes would stop matching).
    const fh = await open(path, 'wx', 0o600);
    try {
      await fh.writeFile(`${key.toString('hex')}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadExisting(path);
    throw keyError(path, err);
  }
  return key;
}

async function loadExisting(path: string): Promise<Buffer> {
  const text = (await readFile(path, 'utf8')).trim();
  if (!HEX_KEY.test(text)) {
    throw new RojeError('ROJE_ERR_ABUSE_KEY', `abuse key file ${path}: expected 64 hex digits (32 bytes)`);
  }
  return Buffer.from(text, 'hex');
}

function keyError(path: string, err: unknown): RojeError {
  const e = err as NodeJS.ErrnoException;
  return new RojeError(
    'ROJE_ERR_ABUSE_KEY',
    `abuse key file ${path} cannot be ${e.code === 'ENOENT' ? 'found' : 'read or written'}: ${e.code ?? e.message}`,
    { cause: err },
  );
}
