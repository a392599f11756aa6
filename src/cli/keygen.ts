import { parseArgs } from 'node:util';
import { isRojeError } from '../errors.js';
import { writeSigningKeyPair } from '../verify/sign.js';
import type { Io } from './index.js';

export const KEYGEN_USAGE = 'Usage: roje keygen --out FILE';

/**
 * `roje keygen --out FILE`: a new Ed25519 report-signing key pair, FILE (PKCS#8 PEM, mode 0600) and
 * FILE.pub (SPKI PEM, to hand to certifiers). Never replaces an existing key.
 */
export async function keygen(argv: readonly string[], io: Io): Promise<number> {
  let out: string;
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: { out: { type: 'string' } },
      strict: true,
      allowPositionals: true,
    });
    if (positionals.length > 0) throw new Error(`unexpected argument "${positionals[0]}"`);
    if (values.out === undefined) throw new Error('--out is required: where to write the private key');
    out = values.out;
  } catch (err) {
    io.stderr.write(`roje keygen: ${(err as Error).message}\n${KEYGEN_USAGE}\n`);
    return 2;
  }
  try {
    const { fingerprint } = await writeSigningKeyPair(out);
    io.stdout.write(
      `private key: ${out} (keep it secret)\npublic key:  ${out}.pub\nfingerprint: ${fingerprint}\n`,
    );
    return 0;
  } catch (err) {
    if (!isRojeError(err)) throw err;
    io.stderr.write(`roje keygen: ${err.message}\n`);
    return 1;
  }
}
