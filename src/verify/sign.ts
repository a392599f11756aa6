/**
 * Signed evidence: Ed25519 (node:crypto) over the report's canonical JSON, so a certifier can check
 * a report offline with the deployment's public key. Canonical JSON = JSON.stringify of the report
 * without its `signature`, object keys sorted (UTF-16 code unit order) at every depth, no spaces;
 * arrays keep their order. An HTML report embeds the signed JSON and must be exactly what roje
 * renders from it, so the page a person reads is covered too.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { RojeError } from '../errors.js';
import { extractEmbeddedReport, renderReportHtml } from './html.js';
import type { ReportSignature, VerifyReport } from './report.js';

/** Sorted-key, no-space JSON of any plain data value. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** The bytes a signature covers. */
export function signedBytes(report: VerifyReport): Buffer {
  const { signature: _unsigned, ...rest } = report;
  return Buffer.from(canonicalJson(rest), 'utf8');
}

function asPrivateKey(key: KeyObject | string): KeyObject {
  const k = typeof key === 'string' ? createPrivateKey(key) : key;
  if (k.type !== 'private' || k.asymmetricKeyType !== 'ed25519') {
    throw new RojeError('ROJE_ERR_VERIFY_KEY', 'the signing key is not an Ed25519 private key');
  }
  return k;
}

function asPublicKey(key: KeyObject | string): KeyObject {
  let k: KeyObject;
  try {
    k = typeof key === 'string' ? createPublicKey(key) : key.type === 'private' ? createPublicKey(key) : key;
  } catch (err) {
    throw new RojeError('ROJE_ERR_VERIFY_KEY', `the public key cannot be parsed: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (k.asymmetricKeyType !== 'ed25519') {
    throw new RojeError('ROJE_ERR_VERIFY_KEY', 'the public key is not an Ed25519 key');
  }
  return k;
}

/** "SHA256:<base64>" of the SPKI DER, like `ssh-keygen -l`. */
export function keyFingerprint(key: KeyObject | string): string {
  const der = asPublicKey(key).export({ type: 'spki', format: 'der' });
  return `SHA256:${createHash('sha256').update(der).digest('base64').replace(/=+$/, '')}`;
}

/** A copy of the report with `signature` set (any old one replaced). */
export function signReport(report: VerifyReport, privateKey: KeyObject | string): VerifyReport {
  const key = asPrivateKey(privateKey);
  const { signature: _old, ...unsigned } = report;
  const publicKey = createPublicKey(key);
  const signature: ReportSignature = {
    alg: 'ed25519',
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    keyFingerprint: keyFingerprint(publicKey),
    value: sign(null, signedBytes(unsigned), key).toString('base64'),
  };
  return { ...unsigned, signature };
}

export type VerifyOutcome =
  | { valid: true; fingerprint: string; report: VerifyReport }
  | { valid: false; reason: string; report?: VerifyReport };

/**
 * Checks a report file's text (JSON, or HTML with the embedded report) against a trusted public key.
 * The key embedded in the report is not trusted: it only helps a reader find the right one. Throws
 * ROJE_ERR_VERIFY_REPORT when the text holds no report at all; every other problem is `valid: false`.
 */
export function verifySignedReport(text: string, publicKeyPem: KeyObject | string): VerifyOutcome {
  const key = asPublicKey(publicKeyPem);
  const isJson = text.trimStart().startsWith('{');
  let report: VerifyReport;
  try {
    report = JSON.parse(isJson ? text : extractEmbeddedReport(text)) as VerifyReport;
  } catch (err) {
    throw new RojeError(
      'ROJE_ERR_VERIFY_REPORT',
      isJson
        ? `the report is not valid JSON: ${(err as Error).message}`
        : 'the file holds no embedded roje report (neither JSON nor a roje HTML report)',
      { cause: err },
    );
  }
  if (report === null || typeof report !== 'object' || Array.isArray(report)) {
    throw new RojeError('ROJE_ERR_VERIFY_REPORT', 'the report is not a JSON object');
  }
  const s = report.signature;
  if (s === undefined || s === null) return { valid: false, reason: 'the report is not signed', report };
  if (s.alg !== 'ed25519' || typeof s.value !== 'string') {
    return { valid: false, reason: `unsupported signature (alg ${String(s.alg)})`, report };
  }
  const ok = verify(null, signedBytes(report), key, Buffer.from(s.value, 'base64'));
  if (!ok) {
    return {
      valid: false,
      reason: `the signature does not match (the report was changed, or it was not signed by ${keyFingerprint(key)})`,
      report,
    };
  }
  if (!isJson && renderReportHtml(report) !== text) {
    return {
      valid: false,
      reason: 'the embedded report is signed, but the HTML around it was changed',
      report,
    };
  }
  return { valid: true, fingerprint: keyFingerprint(key), report };
}

/** A new key pair as PEM: PKCS#8 private, SPKI public. */
export function generateSigningKeyPair(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/**
 * Writes a new key pair: `path` (PKCS#8 PEM, mode 0600) and `path.pub` (SPKI PEM). Refuses to
 * replace an existing private key (flag 'wx'): losing it orphans every report it signed.
 */
export async function writeSigningKeyPair(
  path: string,
): Promise<{ publicKeyPem: string; fingerprint: string }> {
  const pair = generateSigningKeyPair();
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, pair.privateKeyPem, { mode: 0o600, flag: 'wx' });
    // The umask may have narrowed it; it must not have widened it.
    await chmod(path, 0o600);
    await writeFile(`${path}.pub`, pair.publicKeyPem, { mode: 0o644 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new RojeError(
      'ROJE_ERR_VERIFY_KEY',
      code === 'EEXIST'
        ? `${path} exists already: not replacing a signing key (remove it first if you mean to)`
        : `cannot write the signing key ${path}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return { publicKeyPem: pair.publicKeyPem, fingerprint: keyFingerprint(pair.publicKeyPem) };
}

async function readPem(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new RojeError('ROJE_ERR_VERIFY_KEY', `cannot read the ${what} ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** Reads an Ed25519 private key (PEM). */
export async function readSigningKey(path: string): Promise<KeyObject> {
  const pem = await readPem(path, 'signing key');
  try {
    return asPrivateKey(createPrivateKey(pem));
  } catch (err) {
    if (err instanceof RojeError) throw new RojeError(err.code, `${path}: ${err.message}`);
    throw new RojeError('ROJE_ERR_VERIFY_KEY', `${path} does not hold a PEM private key`, { cause: err });
  }
}

/** Reads a public key (PEM, SPKI; a private key PEM gives its public half). */
export async function readPublicKey(path: string): Promise<KeyObject> {
  const pem = await readPem(path, 'public key');
  try {
    return asPublicKey(pem);
  } catch (err) {
    throw new RojeError('ROJE_ERR_VERIFY_KEY', `${path}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The server's signing key: read from `path`, or created there (with `path.pub`) on first use, so
 * a deployment's self-test reports are signed without an operator step.
 */
export async function loadOrCreateSigningKey(path: string): Promise<KeyObject> {
  try {
    return await readSigningKey(path);
  } catch (err) {
    const cause = (err as RojeError).cause as NodeJS.ErrnoException | undefined;
    if (cause?.code !== 'ENOENT') throw err;
  }
  try {
    await writeSigningKeyPair(path);
  } catch (err) {
    // Another process made it between our read and write: use theirs.
    if (((err as RojeError).cause as NodeJS.ErrnoException | undefined)?.code !== 'EEXIST') throw err;
  }
  return readSigningKey(path);
}
