/**
 * Fleet mode through real roje instances on loopback: a central roje publishes its compiled lists
 * signed on its admin API; an edge pulls them with an auditor token, verifies them and blocks what the
 * central blocks (the abuse canary too, with the shared abuse key); the next pull is a 304. An
 * unsigned or tampered artifact on a plain HTTP server is refused and the edge keeps blocking; an edge
 * restarted with the central down serves from its stored copy; an edge without any artifact yet
 * answers SERVFAIL with EDE 14, never unfiltered.
 */
import { join } from 'node:path';
import t from 'tap';
import { request } from 'undici';
import { hashToken } from '../../src/admin/auth.js';
import { writeSigningKeyPair } from '../../src/verify/sign.js';
import { adminClient } from '../helpers/admin-client.js';
import { ABUSE_CANARY, ABUSE_CANARY_FILE } from '../helpers/canaries.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { startFileServer } from '../helpers/fleet.js';
import { type Roje, startRoje, udpUrl } from '../helpers/roje.js';

const EDGE_TOKEN = 'roje_fleet-edge-token'; // auditor on the central
const OPS_TOKEN = 'roje_fleet-ops-token'; // operator on the edges
const dir = t.testdir({
  'adult.txt': 'porn.example\nadult.example\n',
  'edge.token': `${EDGE_TOKEN}\n`,
});
const keyFile = join(dir, 'fleet.key');
await writeSigningKeyPair(keyFile);
// The central's abuse key, distributed to the edges with the public key.
const abuseKey = join(dir, 'abuse.key');

const fake = await startFakeUpstream({ apexes: ['example.test'] });
t.teardown(() => fake.close());
fake.zone.set('www.example.test', 'A', [{ data: '198.51.100.1', ttl: 300 }]);

const central = await startRoje(
  {
    upstreams: [udpUrl(fake)],
    lists: [
      { category: 'adult', path: join(dir, 'adult.txt') },
      { category: 'abuse', path: ABUSE_CANARY_FILE, name: 'iwf' },
    ],
    abuse: { keyFile: abuseKey },
    fleet: { publish: { signingKeyFile: keyFile } },
    admin: {
      listen: '127.0.0.1:0',
      tokens: [{ name: 'edge', role: 'auditor', sha256: hashToken(EDGE_TOKEN) }],
    },
  },
  { t },
);
const centralAdmin = `http://${central.app.opsAddresses().admin}`;
const artifactUrl = `${centralAdmin}/api/v1/lists/artifact`;

function edgeConfig(state: string, url = artifactUrl) {
  return {
    upstreams: [udpUrl(fake)],
    stateDir: state,
    abuse: { keyFile: abuseKey },
    fleet: {
      pull: { url, publicKeyFile: `${keyFile}.pub`, bearerTokenFile: join(dir, 'edge.token'), timeout: '2s' },
    },
    admin: {
      listen: '127.0.0.1:0',
      tokens: [{ name: 'ops', role: 'operator', sha256: hashToken(OPS_TOKEN) }],
    },
  };
}

async function blocked(roje: Roje, name: string): Promise<boolean> {
  const r = await roje.dig([name, 'A']);
  return r.status === 'NXDOMAIN' && r.ede.some((e) => e.code === 15);
}

/** The operator's client of an edge's admin API. */
const ops = (roje: Roje) => adminClient(roje, OPS_TOKEN);

t.test('the central publishes its lists, signed, with an ETag; edges need a token', async (t) => {
  const noToken = await request(artifactUrl);
  t.equal(noToken.statusCode, 401);
  await noToken.body.dump();
  const auth = { authorization: `Bearer ${EDGE_TOKEN}` };
  const res = await request(artifactUrl, { headers: auth });
  t.equal(res.statusCode, 200);
  const etag = res.headers.etag as string;
  t.equal(etag, `"${central.app.lists()?.version}"`, 'ETag = the lists version');
  t.equal((await res.body.arrayBuffer()).byteLength > 0, true);
  const again = await request(artifactUrl, { headers: { ...auth, 'if-none-match': etag } });
  t.equal(again.statusCode, 304);
  await again.body.dump();
  const sig = await request(`${artifactUrl}.sig`, { headers: auth });
  t.equal(sig.statusCode, 200);
  t.match(await sig.body.json(), { format: 'roje-artifact-signature/1', alg: 'ed25519', keyId: /^SHA256:/ });
});

t.test('edge: pulls, blocks like the central, 304 next; refuses unsigned and tampered', async (t) => {
  const state = join(dir, 'edge-1');
  let edge = await startRoje(edgeConfig(state));
  t.teardown(() => edge.stop());

  const first = await ops(edge).post('/api/v1/lists/refresh');
  t.equal(first.status, 200);
  t.match(first.json.fleet, { result: /updated|unchanged/ }, 'the first pull (at start, or this one)');
  t.ok(await blocked(edge, 'porn.example'), 'the edge blocks what the central lists');
  t.ok(await blocked(edge, ABUSE_CANARY.domain), 'the abuse canary too, with the shared key');
  t.equal((await edge.dig(['www.example.test', 'A'])).status, 'NOERROR', 'the rest resolves');
  t.equal(edge.app.lists()?.version, central.app.lists()?.version, 'the same lists');
  t.equal(edge.app.listsStatus()?.from, 'fleet');

  const second = await ops(edge).post('/api/v1/lists/refresh');
  t.match(second.json.fleet, { result: 'unchanged' }, 'ETag: 304 on the next pull');
  const status = await ops(edge).get('/api/v1/status');
  t.match(status.json.fleet, {
    publish: null,
    pull: {
      url: artifactUrl,
      artifact: { version: central.app.lists()?.version, keyId: /^SHA256:/ },
      lastPull: { result: 'unchanged' },
      lastRefusal: null,
    },
  });
  const { text } = await ops(edge).get('/metrics');
  t.match(text, /roje_fleet_pulls_total\{result="unchanged"\} [1-9]/);
  t.match(text, /roje_fleet_artifact_age_seconds \d/);

  // Now the edge is pointed at a plain HTTP server (a reload): first without a signature.
  const server = await startFileServer(t);
  const bytes = Buffer.from(central.app.lists()?.artifact as Uint8Array);
  server.files.set('/lists.rojebl', { body: bytes });
  await edge.app.reload(await edge.configFor(edgeConfig(state, server.url)));
  const unsigned = await ops(edge).post('/api/v1/lists/refresh');
  t.match(unsigned.json.fleet, { result: 'refused', code: 'ROJE_ERR_FLEET_UNSIGNED' });
  t.ok(await blocked(edge, 'porn.example'), 'still the last good artifact');

  // Tampered: one byte changed, served with the central's genuine signature of the original.
  const sig = await request(`${artifactUrl}.sig`, { headers: { authorization: `Bearer ${EDGE_TOKEN}` } });
  server.files.set('/lists.rojebl.sig', { body: Buffer.from(await sig.body.arrayBuffer()) });
  const tampered = Buffer.from(bytes);
  tampered[tampered.length - 64] ^= 0x20;
  server.files.set('/lists.rojebl', { body: tampered });
  const refused = await ops(edge).post('/api/v1/lists/refresh');
  t.match(refused.json.fleet, { result: 'refused', code: 'ROJE_ERR_FLEET_SIGNATURE' });
  t.ok(await blocked(edge, 'porn.example'), 'still blocking with the last good artifact');
  t.ok(
    edge.logs.some(
      (l) =>
        l.msg === 'fleet artifact refused; keeping the last good lists' &&
        l.code === 'ROJE_ERR_FLEET_SIGNATURE',
    ),
    'logged with its code',
  );
  const after = await ops(edge).get('/api/v1/status');
  t.match(after.json, { fleet: { pull: { lastRefusal: { code: 'ROJE_ERR_FLEET_SIGNATURE' } } } });

  // The genuine pair from the plain server is accepted (any static server can publish).
  server.files.set('/lists.rojebl', { body: bytes });
  const genuine = await ops(edge).post('/api/v1/lists/refresh');
  t.match(genuine.json.fleet, { result: /updated|unchanged/ });

  // Restart with the central down: the stored copy is verified and served at once.
  await edge.stop();
  await server.close();
  await central.stop();
  edge = await startRoje(edgeConfig(state));
  t.ok(await blocked(edge, 'porn.example'), 'filtered from the stored copy');
  t.equal((await edge.dig(['www.example.test', 'A'])).status, 'NOERROR');
  t.equal((await ops(edge).get('/ready', { token: null })).status, 200);
  const restarted = await ops(edge).get('/api/v1/status');
  t.match(restarted.json, { fleet: { pull: { artifact: { version: /^[0-9a-f]{64}$/ } } } });
});

t.test('an edge without any artifact yet answers SERVFAIL with EDE 14', async (t) => {
  const server = await startFileServer(t); // serves nothing: 404
  const edge = await startRoje(edgeConfig(join(dir, 'edge-2'), server.url), { t });
  const r = await edge.dig(['www.example.test', 'A']);
  t.equal(r.status, 'SERVFAIL', 'never unfiltered');
  t.match(r.ede, [{ code: 14 }]);
  const ready = await ops(edge).get('/ready', { token: null });
  t.equal(ready.status, 503);
  t.match(ready.json, { ready: false, reason: /fleet artifact/ });
  const pulled = await ops(edge).post('/api/v1/lists/refresh');
  t.match(pulled.json.fleet, { result: 'failed', code: 'ROJE_ERR_FLEET_FETCH' });
  t.equal((await edge.dig(['www.example.test', 'A'])).status, 'SERVFAIL', 'still not ready');
});
