/**
 * Detached Ed25519 signatures of compiled artifacts: `lists.rojebl.sig` beside `lists.rojebl`, a small
 * JSON document whose `signature` covers the exact artifact bytes (pure Ed25519, no canonical form to
 * get wrong). sha256 and size repeat what the bytes must be, so that a truncated or swapped file is
 * named as such before the signature is checked; they are not trusted on their own.
 *
 * Signing and verifying 24 MB costs 25-60 ms of CPU: both run on libuv's thread pool (the callback
 * forms of crypto.sign/verify, WebCrypto's digest), so a swap never stalls the query loop.
 */
import { type KeyObject, sign, verify, webcrypto } from 'node:crypto';
import { RojeError } from '../errors.js';
import { keyFingerprint } from '../verify/sign.js';

export const SIGNATURE_FORMAT = 'roje-artifact-signature/1';
/** A signature document is a few hundred bytes; anything far larger is not one. */
export const MAX_SIGNATURE_BYTES = 16 * 1024;

export interface ArtifactSignature {
  format: typeof SIGNATURE_FORMAT;
  alg: 'ed25519';
  /** keyFingerprint of the signing key's public half ("SHA256:..."). */
  keyId: string;
  /** Hex SHA-256 of the whole artifact file (what `sha256sum` prints). */
  sha256: string;
  size: number;
  /** The artifact's compiledAt (informational). */
  compiledAt: string;
  /** Base64 Ed25519 signature over the exact artifact bytes. */
  signature: string;
}

/** Hex SHA-256 on the thread pool. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return Buffer.from(await webcrypto.subtle.digest('SHA-256', bytes)).toString('hex');
}

function signAsync(data: Uint8Array, key: KeyObject): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    sign(null, data, key, (err, sig) => (err ? reject(err) : resolve(sig)));
  });
}

function verifyAsync(data: Uint8Array, key: KeyObject, sig: Buffer): Promise<boolean> {
  return new Promise((resolve, reject) => {
    verify(null, data, key, sig, (err, ok) => (err ? reject(err) : resolve(ok)));
  });
}

/** Signs `artifact` with an Ed25519 private key (readSigningKey). */
export async function signArtifact(
  artifact: Buffer,
  privateKey: KeyObject,
  compiledAt: string,
): Promise<ArtifactSignature> {
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') {
    throw new RojeError('ROJE_ERR_VERIFY_KEY', 'the artifact signing key is not an Ed25519 private key');
  }
  const [signature, sha256] = await Promise.all([signAsync(artifact, privateKey), sha256Hex(artifact)]);
  return {
    format: SIGNATURE_FORMAT,
    alg: 'ed25519',
    keyId: keyFingerprint(privateKey),
    sha256,
    size: artifact.length,
    compiledAt,
    signature: signature.toString('base64'),
  };
}

export function formatSignature(sig: ArtifactSignature): string {
  return `${JSON.stringify(sig, null, 2)}\n`;
}

/**
 * Reads a signature document. ROJE_ERR_FLEET_UNSIGNED when it is not one (an HTML error page, an
 * empty file, another format): an artifact without a usable signature is an unsigned artifact.
 */
export function parseSignature(text: Buffer | string, source: string): ArtifactSignature {
  const unsigned = (why: string): never => {
    throw new RojeError('ROJE_ERR_FLEET_UNSIGNED', `${source} is not a roje artifact signature: ${why}`);
  };
  if (text.length > MAX_SIGNATURE_BYTES) unsigned(`${text.length} bytes is far too large for one`);
  let doc: unknown;
  try {
    doc = JSON.parse(typeof text === 'string' ? text : text.toString('utf8'));
  } catch {
    return unsigned('not JSON');
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return unsigned('not a JSON object');
  const d = doc as Record<string, unknown>;
  if (d.format !== SIGNATURE_FORMAT)
    unsigned(`format ${JSON.stringify(d.format)}, expected "${SIGNATURE_FORMAT}"`);
  if (d.alg !== 'ed25519') unsigned(`alg ${JSON.stringify(d.alg)}, expected "ed25519"`);
  if (typeof d.keyId !== 'string' || !d.keyId.startsWith('SHA256:')) unsigned('keyId missing');
  if (typeof d.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(d.sha256))
    unsigned('sha256 is not 64 hex digits');
  if (!Number.isSafeInteger(d.size) || (d.size as number) < 0) unsigned('size is not a byte count');
  if (typeof d.signature !== 'string' || !/^[A-Za-z0-9+/]{86}==$/.test(d.signature)) {
    unsigned('signature is not a base64 Ed25519 signature');
  }
  return {
    format: SIGNATURE_FORMAT,
    alg: 'ed25519',
    keyId: d.keyId as string,
    sha256: d.sha256 as string,
    size: d.size as number,
    compiledAt: typeof d.compiledAt === 'string' ? d.compiledAt : '',
    signature: d.signature as string,
  };
}

/** Trusted public keys by keyId (keyFingerprint). */
export function trustedKeys(keys: readonly KeyObject[]): Map<string, KeyObject> {
  return new Map(keys.map((k) => [keyFingerprint(k), k]));
}

/**
 * Checks `artifact` against `sig` and the trusted keys: the key is one of them
 * (ROJE_ERR_FLEET_UNTRUSTED_KEY), then size and SHA-256 are those signed for and the Ed25519 signature
 * holds over the exact bytes (ROJE_ERR_FLEET_SIGNATURE). Resolves the artifact's SHA-256 (hex).
 */
export async function verifyArtifact(
  artifact: Buffer,
  sig: ArtifactSignature,
  trusted: ReadonlyMap<string, KeyObject>,
  source: string,
  /** The artifact's SHA-256 when the caller has it already. */
  knownSha256?: string,
): Promise<string> {
  const key = trusted.get(sig.keyId);
  if (key === undefined) {
    throw new RojeError(
      'ROJE_ERR_FLEET_UNTRUSTED_KEY',
      `${source} is signed with key ${sig.keyId}, which is not trusted here (trusted: ${[...trusted.keys()].join(', ') || 'none'})`,
    );
  }
  const mismatch = (why: string): never => {
    throw new RojeError('ROJE_ERR_FLEET_SIGNATURE', `${source}: ${why}`);
  };
  if (artifact.length !== sig.size) {
    mismatch(
      `${artifact.length} bytes, but ${sig.size} were signed: the artifact is ${artifact.length < sig.size ? 'truncated' : 'not the one signed'}`,
    );
  }
  const [sha256, ok] = await Promise.all([
    knownSha256 ?? sha256Hex(artifact),
    verifyAsync(artifact, key, Buffer.from(sig.signature, 'base64')),
  ]);
  if (sha256 !== sig.sha256)
    mismatch(
      `SHA-256 ${sha256.slice(0, 16)}…, but ${sig.sha256.slice(0, 16)}… was signed: the artifact was changed`,
    );
  if (!ok) mismatch(`the Ed25519 signature of key ${sig.keyId} does not match the artifact bytes: refused`);
  return sha256;
}
