/**
 * Overrides through a real roje: the admin API over HTTP, dig from two venues' addresses (127.0.0.2 and
 * 127.0.0.3 are venue A and venue B; 127.0.0.1 is no venue), a restart on the same stateDir, the abuse
 * rule at creation and at query time, roles, validation, the audit log and the YAML export.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { hashToken } from '../../src/admin/auth.js';
import { adminClient } from '../helpers/admin-client.js';
import { LOCAL_ABUSE_CANARY } from '../helpers/canaries.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { type RawRojeConfig, type Roje, startRoje, udpUrl } from '../helpers/roje.js';

const OPS = 'roje_overrides-operator-token';
const AUDITOR = 'roje_overrides-auditor-token';
const ADMIN = 'roje_overrides-admin-token';
const fake = await startFakeUpstream({ apexes: ['example.test'] });
t.teardown(() => fake.close());
for (const [name, ip] of [
  ['blocked.example.test', '198.51.100.20'],
  ['sub.blocked.example.test', '198.51.100.21'],
  ['www.example.test', '198.51.100.22'],
  ['x.kid.example.test', '198.51.100.23'],
] as const) {
  fake.zone.set(name, 'A', [{ data: ip, ttl: 300 }]);
}

function config(dir: string): RawRojeConfig {
  return {
    upstreams: [udpUrl(fake)],
    lists: [
      { category: 'adult', path: join(dir, 'adult.txt') },
      { category: 'abuse', path: join(dir, 'abuse.txt') },
    ],
    policies: {
      kids: { block: 'all', blockMode: 'nxdomain' },
      default: { block: 'all', blockMode: 'nxdomain' },
    },
    venues: [
      { name: 'cafe', networks: ['127.0.0.2/32'], policy: 'kids' },
      { name: 'library', networks: ['127.0.0.3/32'], policy: 'kids' },
    ],
    stateDir: join(dir, 'state'),
    admin: {
      listen: '127.0.0.1:0',
      tokens: [
        { name: 'ops', role: 'operator', sha256: hashToken(OPS) },
        { name: 'aud', role: 'auditor', sha256: hashToken(AUDITOR) },
        { name: 'root', role: 'admin', sha256: hashToken(ADMIN) },
      ],
    },
  };
}

/** dig from `source` until `want` (rcode) or 5 s; answers the time it took, or -1. */
async function until(roje: Roje, source: string, name: string, want: string): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < 5000) {
    if ((await roje.dig(['-b', source, name, 'A'])).status === want) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 100));
  }
  return -1;
}

t.test('overrides: per venue and for all, live, persisted, audited, exported', async (t) => {
  const dir = t.testdir({
    'adult.txt': 'blocked.example.test\nwww.example.test\n',
    'abuse.txt': `${LOCAL_ABUSE_CANARY}\nx.kid.example.test\n`,
  });
  let roje = await startRoje(config(dir));
  t.teardown(() => roje.stop());
  const ops = adminClient(roje, OPS);
  const aud = adminClient(roje, AUDITOR);

  for (const source of ['127.0.0.1', '127.0.0.2', '127.0.0.3']) {
    t.equal(
      (await roje.dig(['-b', source, 'blocked.example.test', 'A'])).status,
      'NXDOMAIN',
      `blocked from ${source}`,
    );
  }

  // Roles and validation.
  const body = { name: 'Blocked.Example.Test.', action: 'allow', venue: 'cafe', note: 'a craft blog' };
  t.equal((await aud.post('/api/v1/overrides', body)).status, 403, 'an auditor cannot add');
  const badName = await ops.post('/api/v1/overrides', { ...body, name: 'not a name' });
  t.equal(badName.status, 400);
  t.equal(badName.json.code, 'ROJE_ERR_OVERRIDE_INVALID');
  const tld = await ops.post('/api/v1/overrides', { ...body, name: 'test' });
  t.equal(tld.json.code, 'ROJE_ERR_OVERRIDE_INVALID', 'a top-level domain is refused');
  const unknown = await ops.post('/api/v1/overrides', { ...body, venue: 'nowhere' });
  t.equal(unknown.status, 400);
  t.equal(unknown.json.code, 'ROJE_ERR_OVERRIDE_VENUE_UNKNOWN');
  t.match(unknown.json.message, /nowhere.*cafe, library/);
  t.equal((await ops.post('/api/v1/overrides', { ...body, action: 'maybe' })).status, 400, 'schema');

  // The abuse category is not the operator's to override.
  const abuse = await ops.post('/api/v1/overrides', { name: LOCAL_ABUSE_CANARY, action: 'allow' });
  t.equal(abuse.status, 400);
  t.equal(abuse.json.code, 'ROJE_ERR_OVERRIDE_ABUSE');
  t.notMatch(abuse.text, /canary/, 'the refusal does not repeat the name');
  const abuseSub = await ops.post('/api/v1/overrides', {
    name: `www.${LOCAL_ABUSE_CANARY}`,
    action: 'allow',
  });
  t.equal(abuseSub.json.code, 'ROJE_ERR_OVERRIDE_ABUSE', 'nor a name under an abuse entry');

  // Allow for venue A: A resolves within 5 s, B still blocked.
  const created = await ops.post('/api/v1/overrides', body);
  t.equal(created.status, 201);
  t.match(created.json, {
    id: /^o-[0-9a-f]{12}$/,
    name: 'blocked.example.test',
    action: 'allow',
    venue: 'cafe',
    note: 'a craft blog',
    who: 'ops',
  });
  const ms = await until(roje, '127.0.0.2', 'blocked.example.test', 'NOERROR');
  t.ok(ms >= 0, `venue A resolves it (${ms} ms)`);
  const a = await roje.dig(['-b', '127.0.0.2', 'sub.blocked.example.test', 'A']);
  t.equal(a.answers[0]?.data, '198.51.100.21', 'and its subdomains');
  // "Why is it (not) blocked" names the override for that venue only.
  const why = await aud.get('/api/v1/lookup?name=sub.blocked.example.test');
  t.equal(why.status, 200);
  const decisions = why.json.decisions as Array<{ venue: string | null; decision: string; reason: string }>;
  t.match(
    decisions.find((d) => d.venue === 'cafe'),
    { decision: 'allowed', reason: 'override', override: { id: created.json.id, note: 'a craft blog' } },
    'lookup: allowed by the override for the cafe',
  );
  t.match(
    decisions.find((d) => d.venue === 'library'),
    { decision: 'blocked' },
    'lookup: blocked elsewhere',
  );
  t.equal(
    (await roje.dig(['-b', '127.0.0.3', 'blocked.example.test', 'A'])).status,
    'NXDOMAIN',
    'venue B: blocked',
  );
  t.equal(
    (await roje.dig(['-b', '127.0.0.1', 'blocked.example.test', 'A'])).status,
    'NXDOMAIN',
    'no venue: blocked',
  );

  const again = await ops.post('/api/v1/overrides', { ...body, note: 'twice' });
  t.equal(again.status, 200, 'the same entry again is the existing one');
  t.equal(again.json.id, created.json.id);
  const conflict = await ops.post('/api/v1/overrides', { ...body, action: 'deny' });
  t.equal(conflict.status, 409);
  t.equal(conflict.json.code, 'ROJE_ERR_OVERRIDE_CONFLICT');

  // An allow for a parent never passes what the abuse category lists under it (defence in depth).
  t.equal((await ops.post('/api/v1/overrides', { name: 'kid.example.test', action: 'allow' })).status, 201);
  t.equal((await roje.dig(['-b', '127.0.0.2', 'x.kid.example.test', 'A'])).status, 'NXDOMAIN', 'abuse stays');

  // A deny override for all: every venue and no venue, with the venue's block mode and EDE 17.
  fake.zone.set('open.example.test', 'A', [{ data: '198.51.100.24', ttl: 300 }]);
  t.equal((await roje.dig(['open.example.test', 'A'])).status, 'NOERROR', 'resolves before');
  const deny = await ops.post('/api/v1/overrides', {
    name: 'open.example.test',
    action: 'deny',
    note: 'spam',
  });
  t.equal(deny.status, 201);
  t.ok((await until(roje, '127.0.0.1', 'open.example.test', 'NXDOMAIN')) >= 0, 'denied for no venue at once');
  for (const source of ['127.0.0.2', '127.0.0.3']) {
    const r = await roje.dig(['-b', source, 'open.example.test', 'A']);
    t.equal(r.status, 'NXDOMAIN', `denied from ${source}`);
    t.match(r.ede, [{ code: 17 }]);
  }

  // Auditors read; the YAML export parses into a config's allow/deny shape.
  const listed = await aud.get('/api/v1/overrides');
  t.equal(listed.status, 200);
  t.equal((listed.json.overrides as unknown[]).length, 3);
  const yaml = await aud.get('/api/v1/overrides?format=yaml');
  t.match(yaml.type, /yaml/);
  const shape = parse(yaml.text) as {
    all: { allow: string[]; deny: string[] };
    venues: Record<string, { allow: string[]; deny: string[] }>;
  };
  t.same(shape, {
    all: { allow: ['kid.example.test'], deny: ['open.example.test'] },
    venues: { cafe: { allow: ['blocked.example.test'], deny: [] } },
  });
  const asConfig = await roje.configFor({
    ...config(dir),
    policies: {
      kids: { block: 'all', blockMode: 'nxdomain', ...shape.all },
      cafe: { block: 'all', blockMode: 'nxdomain', allow: [...shape.all.allow, ...shape.venues.cafe!.allow] },
      default: { block: 'all', blockMode: 'nxdomain' },
    },
  });
  t.same(asConfig.policies.cafe?.allow, ['kid.example.test', 'blocked.example.test'], 'a valid config');

  // The audit log holds every change, refused ones too, and never the abuse name.
  const audit = await adminClient(roje, ADMIN).get('/api/v1/audit?limit=100');
  const entries = audit.json.entries as Array<{
    action: string;
    result: string;
    target?: string;
    code?: string;
  }>;
  const overrides = entries.filter((e) => e.action.includes('/api/v1/overrides'));
  t.ok(
    overrides.some((e) => e.result === 'ok' && e.target === 'allow Blocked.Example.Test. for cafe'),
    'the allow is audited',
  );
  t.ok(overrides.some((e) => e.result === 'failed' && e.code === 'ROJE_ERR_OVERRIDE_VENUE_UNKNOWN'));
  t.ok(overrides.some((e) => e.result === 'failed' && e.code === 'ROJE_ERR_OVERRIDE_ABUSE'));
  t.notMatch(audit.text, /canary/, 'no abuse name in the audit log');
  t.notMatch(readFileSync(join(dir, 'state', 'audit.log'), 'utf8'), /canary/, 'nor in its file');

  // Restart on the same stateDir: still allowed.
  await roje.stop();
  roje = await startRoje(config(dir));
  const after = adminClient(roje, OPS);
  t.equal(
    (await roje.dig(['-b', '127.0.0.2', 'blocked.example.test', 'A'])).status,
    'NOERROR',
    'kept on restart',
  );
  t.equal((await roje.dig(['-b', '127.0.0.3', 'blocked.example.test', 'A'])).status, 'NXDOMAIN');
  t.equal(((await after.get('/api/v1/overrides')).json.overrides as unknown[]).length, 3);

  // DELETE: blocked again.
  const aud2 = adminClient(roje, AUDITOR);
  t.equal(
    (await aud2.delete(`/api/v1/overrides/${created.json.id}`)).status,
    403,
    'an auditor cannot delete',
  );
  const removed = await after.delete(`/api/v1/overrides/${created.json.id}`);
  t.equal(removed.status, 200);
  t.ok((await until(roje, '127.0.0.2', 'blocked.example.test', 'NXDOMAIN')) >= 0, 'blocked again');
  const gone = await after.delete(`/api/v1/overrides/${created.json.id}`);
  t.equal(gone.status, 404);
  t.equal(gone.json.code, 'ROJE_ERR_OVERRIDE_NOT_FOUND');
  const deleted = (await adminClient(roje, ADMIN).get('/api/v1/audit?limit=100')).json.entries as Array<{
    action: string;
    result: string;
    target?: string;
  }>;
  t.ok(
    deleted.some(
      (e) =>
        e.action === 'DELETE /api/v1/overrides/:id' &&
        e.result === 'ok' &&
        e.target === `${created.json.id}: allow blocked.example.test for cafe`,
    ),
    'the delete is audited with what it deleted',
  );
});
