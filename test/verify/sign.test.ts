import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { renderReportHtml } from '../../src/verify/html.js';
import { REPORT_FORMAT, type VerifyReport } from '../../src/verify/report.js';
import {
  canonicalJson,
  keyFingerprint,
  loadOrCreateSigningKey,
  readSigningKey,
  signReport,
  verifySignedReport,
  writeSigningKeyPair,
} from '../../src/verify/sign.js';

const chaos = { rcode: 'REFUSED', strings: [] };

function sampleReport(): VerifyReport {
  return {
    format: REPORT_FORMAT,
    roje: { version: '0.1.0' },
    suite: { name: 'friendly-wifi', source: '/x/friendly-wifi.yaml', sha256: 'ab'.repeat(32) },
    server: { host: '127.0.0.1', port: 5353, transports: ['udp', 'tcp'] },
    blockAddresses: [],
    identity: {
      'version.bind': chaos,
      'id.server': chaos,
      'version.roje': { rcode: 'NOERROR', strings: ['roje 0.1.0'] },
      'policy.roje': chaos,
    },
    startedAt: '2026-11-23T10:00:00.000Z',
    finishedAt: '2026-11-23T10:00:01.000Z',
    summary: { cases: 2, passed: 1, failed: 1 },
    results: [
      {
        name: 'adult site',
        qname: 'pornhub.com',
        qtype: 'A',
        transport: 'udp',
        expected: 'blocked',
        category: 'adult',
        verdict: 'pass',
        reason: 'blocked: NXDOMAIN with EDE',
        answer: { rcode: 'NXDOMAIN', records: [], ede: [{ code: 15, text: 'blocked: adult' }], ms: 0.4 },
      },
      {
        name: 'news <b>',
        qname: 'www.bbc.co.uk',
        qtype: 'A',
        transport: 'tcp',
        expected: 'allowed',
        verdict: 'fail',
        reason: 'SERVFAIL: does not resolve',
        answer: { rcode: 'SERVFAIL', records: [], ede: [], ms: 12.5 },
      },
    ],
  };
}

const pair = () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    priv: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    pub: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
};

t.test('canonical JSON: keys sorted at every depth, arrays in order, no spaces', async (t) => {
  t.equal(
    canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' } }),
    '{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}',
  );
  t.equal(canonicalJson({ a: undefined, b: null }), '{"b":null}');
});

t.test('JSON: sign, verify; one changed byte of a verdict fails; another key fails', async (t) => {
  const k = pair();
  const signed = signReport(sampleReport(), k.priv);
  t.match(signed.signature, { alg: 'ed25519', publicKey: k.pub, keyFingerprint: keyFingerprint(k.pub) });
  const text = JSON.stringify(signed, null, 2);
  t.match(verifySignedReport(text, k.pub), { valid: true, fingerprint: keyFingerprint(k.pub) });
  t.ok(verifySignedReport(JSON.stringify(signed), k.pub).valid, 'whitespace does not matter');

  const tampered = text.replace('"verdict": "fail"', '"verdict": "pass"');
  t.not(tampered, text);
  t.match(verifySignedReport(tampered, k.pub), { valid: false, reason: /does not match/ });
  // One byte: a digit of a time.
  const timeByte = text.replace('"ms": 12.5', '"ms": 12.4');
  t.notOk(verifySignedReport(timeByte, k.pub).valid);

  const other = pair();
  t.match(verifySignedReport(text, other.pub), { valid: false, reason: /not signed by SHA256:/ });
  // Re-signed with another key and the embedded key swapped: the trusted key still says no.
  const forged = signReport(JSON.parse(tampered), other.priv);
  t.notOk(verifySignedReport(JSON.stringify(forged), k.pub).valid, 'the embedded key is not trusted');

  t.match(verifySignedReport(JSON.stringify(sampleReport()), k.pub), {
    valid: false,
    reason: 'the report is not signed',
  });
  t.throws(() => verifySignedReport('{ nope', k.pub), { code: 'ROJE_ERR_VERIFY_REPORT' });
  t.throws(() => verifySignedReport(text, 'not a key'), { code: 'ROJE_ERR_VERIFY_KEY' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({
    type: 'spki',
    format: 'pem',
  });
  t.throws(() => verifySignedReport(text, rsa.toString()), {
    code: 'ROJE_ERR_VERIFY_KEY',
    message: /not an Ed25519/,
  });
});

t.test('HTML: the embedded signed report verifies; editing the page or the JSON fails', async (t) => {
  const k = pair();
  const html = renderReportHtml(signReport(sampleReport(), k.priv));
  t.match(html, /<script type="application\/json" id="roje-verify-report">/);
  t.notMatch(html, /<(link|img)\b|src=|https?:\/\//i, 'self-contained: no external assets');
  t.match(html, /news &lt;b&gt;/, 'text is escaped');
  t.match(verifySignedReport(html, k.pub), { valid: true });
  const visible = html.replace('<td class="verdict">FAIL', '<td class="verdict">PASS');
  t.not(visible, html);
  t.match(verifySignedReport(visible, k.pub), { valid: false, reason: /HTML around it was changed/ });
  const embedded = html.replace('"verdict":"fail"', '"verdict":"pass"');
  t.not(embedded, html);
  t.match(verifySignedReport(embedded, k.pub), { valid: false, reason: /does not match/ });
  t.throws(() => verifySignedReport('<html>nothing</html>', k.pub), { code: 'ROJE_ERR_VERIFY_REPORT' });
});

t.test('keys: keygen files and modes, no overwrite; loadOrCreateSigningKey creates once', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'keys', 'signing.key');
  const { fingerprint } = await writeSigningKeyPair(path);
  t.equal(statSync(path).mode & 0o777, 0o600, 'private key 0600');
  t.match(readFileSync(path, 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
  t.match(readFileSync(`${path}.pub`, 'utf8'), /^-----BEGIN PUBLIC KEY-----/);
  t.equal(keyFingerprint(readFileSync(`${path}.pub`, 'utf8')), fingerprint);
  await t.rejects(writeSigningKeyPair(path), { code: 'ROJE_ERR_VERIFY_KEY', message: /exists already/ });

  const auto = join(dir, 'state', 'signing.key');
  const first = await loadOrCreateSigningKey(auto);
  const second = await loadOrCreateSigningKey(auto);
  t.equal(keyFingerprint(first), keyFingerprint(second), 'the same key the second time');
  t.equal(statSync(auto).mode & 0o777, 0o600);
  const signed = signReport(sampleReport(), first);
  t.ok(verifySignedReport(JSON.stringify(signed), readFileSync(`${auto}.pub`, 'utf8')).valid);

  const junk = join(dir, 'junk.key');
  writeFileSync(junk, 'hello');
  await t.rejects(readSigningKey(junk), { code: 'ROJE_ERR_VERIFY_KEY' });
  await t.rejects(loadOrCreateSigningKey(junk), { code: 'ROJE_ERR_VERIFY_KEY' }, 'a bad key is not replaced');
});
