import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { compile } from '../../src/cli/compile.js';
import { parseSignature, trustedKeys, verifyArtifact } from '../../src/fleet/signature.js';
import { readPublicKey, writeSigningKeyPair } from '../../src/verify/sign.js';
import { capture } from '../helpers/io.js';

// `roje compile --sign-key`: the artifact and its detached signature, which any static server can
// publish for fleet edges.

t.test('--sign-key writes FILE.sig that verifies; compiling unsigned removes a stale one', async (t) => {
  const dir = t.testdir({ 'adult.txt': 'one.example\ntwo.example\n' });
  const key = join(dir, 'fleet.key');
  const { fingerprint } = await writeSigningKeyPair(key);
  const out = join(dir, 'lists.rojebl');
  const argv = ['--list', `adult=${join(dir, 'adult.txt')}`, '--out', out];
  const c = capture();
  t.equal(await compile([...argv, '--sign-key', key], c.io), 0, c.err());
  t.match(
    c.out(),
    new RegExp(
      `^signed ${out}\\.sig: key ${fingerprint.replace(/[+/]/g, '\\$&')}, sha256 [0-9a-f]{64}$`,
      'm',
    ),
  );
  const sig = parseSignature(readFileSync(`${out}.sig`), `${out}.sig`);
  t.equal(sig.keyId, fingerprint);
  const sha = await verifyArtifact(
    readFileSync(out),
    sig,
    trustedKeys([await readPublicKey(`${key}.pub`)]),
    out,
  );
  t.equal(sha, sig.sha256);

  const unsigned = capture();
  t.equal(await compile(argv, unsigned.io), 0);
  t.notOk(existsSync(`${out}.sig`), 'a signature of the previous artifact is not left beside the new one');
});

t.test('an unreadable or non-Ed25519 key fails before compiling (exit 1)', async (t) => {
  const dir = t.testdir({ 'adult.txt': 'one.example\n', 'not-a-key.pem': 'hello\n' });
  for (const bad of [join(dir, 'missing.key'), join(dir, 'not-a-key.pem')]) {
    const c = capture();
    const out = join(dir, 'lists.rojebl');
    t.equal(
      await compile(['--list', `adult=${join(dir, 'adult.txt')}`, '--out', out, '--sign-key', bad], c.io),
      1,
    );
    t.match(c.err(), /^roje compile: .*(cannot read the signing key|does not hold a PEM private key)/);
    t.notOk(existsSync(out), 'nothing written');
  }
});
