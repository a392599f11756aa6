/**
 * Fleet test fixtures: a small compiled artifact, key pairs, and a plain HTTP server on loopback that
 * serves whatever artifact and signature a test sets (with an ETag and 304 like the central).
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Test } from 'tap';
import type { AbuseKey } from '../../src/policy/abuse/format.js';
import { compileSources } from '../../src/policy/compile.js';
import { generateSigningKeyPair } from '../../src/verify/sign.js';
import { ABUSE_CANARY } from './canaries.js';

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  privatePem: string;
  publicPem: string;
}

export function keyPair(): KeyPair {
  const p = generateSigningKeyPair();
  return {
    privateKey: createPrivateKey(p.privateKeyPem),
    publicKey: createPublicKey(p.publicKeyPem),
    privatePem: p.privateKeyPem,
    publicPem: p.publicKeyPem,
  };
}

/** An artifact blocking `names` in category adult (and, with a key, the canary abuse domain). */
export async function artifactOf(dir: string, names: string[], abuse?: AbuseKey): Promise<Buffer> {
  const path = join(dir, `list-${names.length}-${Math.random().toString(16).slice(2)}.txt`);
  writeFileSync(path, `${names.join('\n')}\n`);
  const sources = [{ name: 'adult', category: 'adult', path }];
  if (abuse !== undefined) {
    const abusePath = `${path}.abuse`;
    writeFileSync(abusePath, `${ABUSE_CANARY.domain}\n`);
    sources.push({ name: 'iwf', category: 'abuse', path: abusePath });
  }
  const { artifact } = await compileSources(
    sources,
    abuse === undefined ? {} : { abuse: { key: abuse, pageEntries: 'count' } },
  );
  return artifact;
}

export interface ServedFile {
  status?: number;
  body: Buffer | string;
  etag?: string;
}

/** A plain HTTP server: GET /lists.rojebl and /lists.rojebl.sig from `files` (404 for the rest). */
export async function startFileServer(t: Test) {
  const files = new Map<string, ServedFile>();
  const seen: Array<{ path: string; headers: IncomingHttpHeaders; status: number }> = [];
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const f = files.get(path);
    let status = 200;
    if (f === undefined) status = 404;
    else if (f.status !== undefined) status = f.status;
    else if (f.etag !== undefined && req.headers['if-none-match'] === f.etag) status = 304;
    seen.push({ path, headers: req.headers, status });
    if (status !== 200 || f === undefined) {
      res
        .writeHead(status, f?.etag !== undefined ? { etag: f.etag } : {})
        .end(status === 304 ? undefined : 'no');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', ...(f.etag ? { etag: f.etag } : {}) });
    res.end(f.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    files,
    seen,
    url: `${base}/lists.rojebl`,
    sigUrl: `${base}/lists.rojebl.sig`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
