import t from 'tap';
import { isRojeError } from '../../src/errors.js';
import {
  formatSignature,
  parseSignature,
  SIGNATURE_FORMAT,
  sha256Hex,
  signArtifact,
  trustedKeys,
  verifyArtifact,
} from '../../src/fleet/signature.js';
import { keyFingerprint } from '../../src/verify/sign.js';
import { artifactOf, keyPair } from '../helpers/fleet.js';

const dir = t.testdir({});
const artifact = await artifactOf(dir, ['one.example', 'two.example']);
const central = keyPair();
const other = keyPair();
const trusted = trustedKeys([central.publicKey]);

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    if (isRojeError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected a refusal');
}

t.test('round trip: sign, format, parse, verify', async (t) => {
  const sig = await signArtifact(artifact, central.privateKey, '2026-01-01T00:00:00.000Z');
  t.match(sig, {
    format: SIGNATURE_FORMAT,
    alg: 'ed25519',
    keyId: keyFingerprint(central.publicKey),
    sha256: await sha256Hex(artifact),
    size: artifact.length,
    compiledAt: '2026-01-01T00:00:00.000Z',
  });
  const text = formatSignature(sig);
  t.ok(text.length < 1024, 'a small document');
  const parsed = parseSignature(text, 'lists.rojebl.sig');
  t.same(parsed, sig);
  t.equal(await verifyArtifact(artifact, parsed, trusted, 'lists.rojebl'), sig.sha256);
});

t.test('refusals: untrusted key, changed byte, truncated, signature of other bytes', async (t) => {
  const sig = await signArtifact(artifact, central.privateKey, '');
  const byOther = await signArtifact(artifact, other.privateKey, '');
  t.match(await refusal(verifyArtifact(artifact, byOther, trusted, 'a')), {
    code: 'ROJE_ERR_FLEET_UNTRUSTED_KEY',
    message: /is signed with key SHA256:.* which is not trusted here/,
  });
  const changed = Buffer.from(artifact);
  changed[100] ^= 1;
  t.match(await refusal(verifyArtifact(changed, sig, trusted, 'a')), {
    code: 'ROJE_ERR_FLEET_SIGNATURE',
    message: /was changed/,
  });
  t.match(await refusal(verifyArtifact(artifact.subarray(0, 200), sig, trusted, 'a')), {
    code: 'ROJE_ERR_FLEET_SIGNATURE',
    message: /truncated/,
  });
  // sha256 and size rewritten to match the changed bytes: the signature itself still fails.
  const forged = { ...sig, sha256: await sha256Hex(changed) };
  t.match(await refusal(verifyArtifact(changed, forged, trusted, 'a')), {
    code: 'ROJE_ERR_FLEET_SIGNATURE',
    message: /does not match the artifact bytes/,
  });
});

t.test('parseSignature refuses what is not a signature document', async (t) => {
  const good = JSON.parse(formatSignature(await signArtifact(artifact, central.privateKey, '')));
  const cases: Array<[string, RegExp]> = [
    ['<html>Not found</html>', /not JSON/],
    ['[]', /not a JSON object/],
    [JSON.stringify({ ...good, format: 'other/1' }), /format "other\/1"/],
    [JSON.stringify({ ...good, alg: 'rsa' }), /alg "rsa"/],
    [JSON.stringify({ ...good, sha256: 'abc' }), /sha256/],
    [JSON.stringify({ ...good, size: -1 }), /size/],
    [JSON.stringify({ ...good, signature: 'AAAA' }), /signature is not/],
    ['x'.repeat(20_000), /too large/],
  ];
  for (const [text, why] of cases) {
    t.throws(
      () => parseSignature(text, 'sig'),
      { code: 'ROJE_ERR_FLEET_UNSIGNED', message: why },
      why.source,
    );
  }
});
