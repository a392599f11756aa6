import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCert {
  /** PEM private key. */
  key: string;
  /** PEM self-signed certificate; pass it as `ca` to trust it. */
  cert: string;
  /** The DNS name in the certificate (it also covers IP 127.0.0.1 and ::1). */
  servername: string;
}

export const TEST_SERVERNAME = 'dns.roje.test';

let cached: TestCert | undefined;

/**
 * A throwaway self-signed certificate for loopback TLS tests, made with the openssl CLI once per
 * process (about 50 ms) and kept in memory only.
 */
export function testCert(): TestCert {
  if (cached !== undefined) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'roje-cert-'));
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '2',
        '-subj',
        `/CN=${TEST_SERVERNAME}`,
        '-addext',
        `subjectAltName=DNS:${TEST_SERVERNAME},IP:127.0.0.1,IP:::1`,
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'pipe', timeout: 10_000 },
    );
    cached = {
      key: readFileSync(key, 'utf8'),
      cert: readFileSync(cert, 'utf8'),
      servername: TEST_SERVERNAME,
    };
    return cached;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
