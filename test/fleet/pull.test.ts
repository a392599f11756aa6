/**
 * The edge puller against a plain HTTP server on loopback: a verified artifact is stored and handed
 * over; every refusal (unsigned, bad signature document, untrusted key, changed, truncated, unusable,
 * another abuse key) and a failure keeps the last good one, on disk too; the stored pair is verified
 * again at open.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import type { FleetPullConfig } from '../../src/config/schema.js';
import { createFleetPuller, type PulledArtifact } from '../../src/fleet/pull.js';
import { formatSignature, signArtifact } from '../../src/fleet/signature.js';
import type { AbuseKey } from '../../src/policy/abuse/format.js';
import { ephemeralAbuseKey } from '../../src/policy/abuse/key.js';
import { artifactOf, keyPair, startFileServer } from '../helpers/fleet.js';

const dir = t.testdir({});
const central = keyPair();
const other = keyPair();
writeFileSync(join(dir, 'central.pub'), central.publicPem);
const v1 = await artifactOf(dir, ['one.example']);
const v2 = await artifactOf(dir, ['one.example', 'two.example']);
const sig = async (bytes: Buffer, key = central.privateKey) =>
  formatSignature(await signArtifact(bytes, key, ''));

function config(server: { url: string; sigUrl: string }): FleetPullConfig {
  return {
    url: server.url,
    signatureUrl: server.sigUrl,
    publicKeyFiles: [join(dir, 'central.pub')],
    bearerTokenFile: null,
    intervalMs: 60_000,
    timeoutMs: 2000,
    maxBytes: 1024 * 1024,
    tls: null,
  };
}

function puller(server: { url: string; sigUrl: string }, stateDir: string, abuseKey: AbuseKey | null = null) {
  const updates: PulledArtifact[] = [];
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (l: string) => lines.push(JSON.parse(l)) });
  const p = createFleetPuller(config(server), {
    stateDir,
    logger,
    abuseKey: () => abuseKey,
    onUpdate: async (a) => {
      updates.push(a);
    },
    downloadOptions: { retries: 0 },
  });
  t.teardown(() => p.stop());
  return { p, updates, lines };
}

t.test('updated, then 304 unchanged; refusals keep the last good artifact', async (t) => {
  const server = await startFileServer(t);
  const state = join(dir, 'state-1');
  const { p, updates, lines } = puller(server, state);
  await p.open();
  t.equal(p.current(), null, 'nothing stored yet');

  server.files.set('/lists.rojebl', { body: v1, etag: '"v1"' });
  server.files.set('/lists.rojebl.sig', { body: await sig(v1) });
  t.match(await p.pull(), { result: 'updated', code: null });
  t.equal(updates.length, 1);
  t.same(p.current()?.bytes, v1);
  const stored = readdirSync(join(state, 'fleet')).sort();
  t.match(stored, ['current.json', /^lists-[0-9a-f]{16}\.rojebl$/, /^lists-[0-9a-f]{16}\.rojebl\.sig$/]);
  t.match(JSON.parse(readFileSync(join(state, 'fleet', 'current.json'), 'utf8')), { etag: '"v1"' });

  t.match(await p.pull(), { result: 'unchanged' });
  t.match(server.seen.at(-1), { path: '/lists.rojebl', status: 304, headers: { 'if-none-match': '"v1"' } });

  const refusals: Array<[string, () => Promise<void>, string, RegExp]> = [
    [
      'no signature (404)',
      async () => {
        server.files.set('/lists.rojebl', { body: v2, etag: '"v2"' });
        server.files.delete('/lists.rojebl.sig');
      },
      'ROJE_ERR_FLEET_UNSIGNED',
      /has no signature: .* answered 404/,
    ],
    [
      'an HTML page for a signature',
      async () => {
        server.files.set('/lists.rojebl.sig', { body: '<html>hello</html>' });
      },
      'ROJE_ERR_FLEET_UNSIGNED',
      /not JSON/,
    ],
    [
      'signed with another key',
      async () => {
        server.files.set('/lists.rojebl.sig', { body: await sig(v2, other.privateKey) });
      },
      'ROJE_ERR_FLEET_UNTRUSTED_KEY',
      /not trusted here/,
    ],
    [
      'a changed byte',
      async () => {
        const tampered = Buffer.from(v2);
        tampered[tampered.length - 40] ^= 0xff;
        server.files.set('/lists.rojebl', { body: tampered, etag: '"v2x"' });
        server.files.set('/lists.rojebl.sig', { body: await sig(v2) });
      },
      'ROJE_ERR_FLEET_SIGNATURE',
      /was changed/,
    ],
    [
      'truncated',
      async () => {
        server.files.set('/lists.rojebl', { body: v2.subarray(0, v2.length - 100) });
      },
      'ROJE_ERR_FLEET_SIGNATURE',
      /truncated/,
    ],
    [
      'signed, but damaged before signing (checksum)',
      async () => {
        const damaged = Buffer.from(v2);
        damaged[damaged.length - 1] ^= 1;
        server.files.set('/lists.rojebl', { body: damaged });
        server.files.set('/lists.rojebl.sig', { body: await sig(damaged) });
      },
      'ROJE_ERR_FLEET_ARTIFACT',
      /checksum mismatch/,
    ],
    [
      'signed, but not an artifact',
      async () => {
        const junk = Buffer.from('not an artifact at all, but signed by the central key');
        server.files.set('/lists.rojebl', { body: junk });
        server.files.set('/lists.rojebl.sig', { body: await sig(junk) });
      },
      'ROJE_ERR_FLEET_ARTIFACT',
      /cannot be used/,
    ],
  ];
  for (const [what, setup, code, message] of refusals) {
    await setup();
    const outcome = await p.pull();
    t.match(outcome, { result: 'refused', code, reason: message }, what);
    t.same(p.current()?.bytes, v1, `${what}: the last good artifact stays`);
    t.match(p.status().lastRefusal, { code }, `${what}: status names it`);
    t.ok(
      lines.some((l) => l.msg === 'fleet artifact refused; keeping the last good lists' && l.code === code),
      `${what}: logged with its code`,
    );
  }
  t.equal(updates.length, 1, 'nothing refused was handed over');

  await server.close();
  t.match(await p.pull(), { result: 'failed', code: 'ROJE_ERR_FLEET_FETCH' }, 'server down');
  t.same(p.current()?.bytes, v1);
  t.same(p.counts(), { updated: 1, unchanged: 1, refused: refusals.length, failed: 1 });
  t.ok((p.ageSeconds() ?? -1) >= 0);

  // Restart: the stored pair is verified again and used.
  const again = puller(server, state);
  await again.p.open();
  t.same(again.p.current()?.bytes, v1, 'the stored copy survives a restart');
});

t.test('a central swap between the two downloads is fetched again, not refused', async (t) => {
  const server = await startFileServer(t);
  const { p } = puller(server, join(dir, 'state-2'));
  await p.open();
  server.files.set('/lists.rojebl', { body: v1 });
  server.files.set('/lists.rojebl.sig', { body: await sig(v2) });
  // The first artifact download gets v1 (stale); from then on the server serves v2.
  let served = 0;
  const original = server.files.get.bind(server.files);
  server.files.get = (path: string) => {
    if (path === '/lists.rojebl' && served++ > 0) return { body: v2 };
    return original(path);
  };
  t.match(await p.pull(), { result: 'updated' });
  t.same(p.current()?.bytes, v2);
});

t.test('a stored pair changed on disk is refused at open', async (t) => {
  const server = await startFileServer(t);
  const state = join(dir, 'state-3');
  const first = puller(server, state);
  await first.p.open();
  server.files.set('/lists.rojebl', { body: v1 });
  server.files.set('/lists.rojebl.sig', { body: await sig(v1) });
  t.match(await first.p.pull(), { result: 'updated' });
  const file = readdirSync(join(state, 'fleet')).find((f) => f.endsWith('.rojebl')) as string;
  const bytes = readFileSync(join(state, 'fleet', file));
  bytes[60] ^= 1;
  writeFileSync(join(state, 'fleet', file), bytes);
  const again = puller(server, state);
  await again.p.open();
  t.equal(again.p.current(), null, 'not used: the edge is not ready until a pull succeeds');
  t.match(again.p.status().lastRefusal, { code: 'ROJE_ERR_FLEET_SIGNATURE' });
  t.ok(again.lines.some((l) => l.msg === 'stored fleet artifact refused: not serving until a pull succeeds'));
});

t.test('abuse hashes need the key they were made with', async (t) => {
  const key = ephemeralAbuseKey();
  const hashed = await artifactOf(dir, ['one.example'], key);
  const server = await startFileServer(t);
  server.files.set('/lists.rojebl', { body: hashed });
  server.files.set('/lists.rojebl.sig', { body: await sig(hashed) });
  const wrong = puller(server, join(dir, 'state-4'), ephemeralAbuseKey());
  await wrong.p.open();
  t.match(await wrong.p.pull(), {
    result: 'refused',
    code: 'ROJE_ERR_FLEET_ARTIFACT',
    reason: /ROJE_ERR_ABUSE_KEY/,
  });
  const right = puller(server, join(dir, 'state-5'), key);
  await right.p.open();
  t.match(await right.p.pull(), { result: 'updated' });
  t.notOk(existsSync(join(dir, 'state-4', 'fleet', 'current.json')), 'nothing refused is stored');
});
