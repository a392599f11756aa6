/**
 * Every admin route tried with every role (and none) over real HTTP: 401 without a token, 403 below the
 * route's role, through to the handler at or above it. The table must cover every route the OpenAPI
 * document lists, so that a new route cannot skip this test.
 */
import t from 'tap';
import { request } from 'undici';
import { hashToken, ROLES, type Role } from '../../src/admin/auth.js';
import { adminClient } from '../helpers/admin-client.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { startRoje, udpUrl } from '../helpers/roje.js';

const token = (role: Role) => `roje_${role}-roles-test`;
const fake = await startFakeUpstream();
t.teardown(() => fake.close());
const roje = await startRoje({
  upstreams: [udpUrl(fake)],
  admin: {
    listen: '127.0.0.1:0',
    tokens: ROLES.map((role) => ({ name: `${role}-user`, role, sha256: hashToken(token(role)) })),
  },
});
t.teardown(() => roje.stop());
const client = adminClient(roje, null);
const period = 'from=2026-11-01&to=2026-11-02';

// [method, path, least role (null: open), body]
const ROUTES: Array<['GET' | 'POST' | 'DELETE', string, Role | null, string?]> = [
  ['GET', '/health', null],
  ['GET', '/ready', null],
  ['GET', '/dashboard', null],
  ['GET', '/console/', null],
  ['GET', '/console/assets/app.js', null],
  ['GET', '/api/v1/whoami', 'auditor'],
  ['GET', '/api/v1/openapi.json', null],
  ['GET', '/metrics', 'auditor'],
  ['GET', '/api/v1/status', 'auditor'],
  ['GET', `/api/v1/stats/summary?${period}`, 'auditor'],
  ['GET', `/api/v1/stats/series?${period}&bucket=day`, 'auditor'],
  ['GET', '/api/v1/stats/instances', 'auditor'],
  ['GET', '/api/v1/reports', 'auditor'],
  ['GET', '/api/v1/reports/transparency?month=2026-10', 'auditor'],
  ['GET', '/api/v1/config', 'operator'],
  ['POST', '/api/v1/lists/refresh', 'operator', '{}'],
  // Publishing is off here: 404 from the handler (fleet: test/integration/fleet.test.ts).
  ['GET', '/api/v1/lists/artifact', 'auditor'],
  ['GET', '/api/v1/lists/artifact.sig', 'auditor'],
  ['POST', '/api/v1/lists/sample-adult/accept', 'operator'],
  ['POST', '/api/v1/lists/sample-adult/reject', 'operator'],
  ['POST', '/api/v1/cache/flush', 'operator'],
  ['GET', '/api/v1/lookup?name=www.example.test', 'auditor'],
  ['GET', '/api/v1/selftest', 'auditor'],
  ['GET', '/api/v1/selftest/2026-01-01T00-00-00-000Z', 'auditor'],
  ['POST', '/api/v1/selftest/run', 'operator'],
  ['POST', '/api/v1/reports/1', 'operator', '{"status":"accepted"}'],
  ['GET', '/api/v1/overrides', 'auditor'],
  ['POST', '/api/v1/overrides', 'operator', '{"name":"roles.example.test","action":"deny"}'],
  ['DELETE', '/api/v1/overrides/o-000000000000', 'operator'],
  ['GET', '/api/v1/audit', 'admin'],
];

async function call(method: 'GET' | 'POST' | 'DELETE', path: string, role: Role | null, body?: string) {
  return (await client.request(method, path, { token: role === null ? null : token(role), body })).status;
}

t.test('each role on each route', async (t) => {
  for (const [method, path, least, body] of ROUTES) {
    for (const role of [null, ...ROLES] as const) {
      const status = await call(method, path, role, body);
      const what = `${method} ${path} as ${role ?? 'nobody'}: ${status}`;
      if (least === null) t.ok(status < 400, what);
      else if (role === null) t.equal(status, 401, what);
      else if (ROLES.indexOf(role) < ROLES.indexOf(least)) t.equal(status, 403, what);
      // Allowed: the handler ran (a 404 for a report or held copy that does not exist, or 409 for a
      // self-test this instance has switched off, is its answer).
      else t.ok(status < 400 || status === 404 || status === 409, what);
    }
  }
});

t.test('the table covers every route of the OpenAPI document', async (t) => {
  const doc = (await client.get('/api/v1/openapi.json')).json as {
    paths: Record<string, Record<string, unknown>>;
  };
  const tested = new Set(
    ROUTES.map(
      ([m, p]) =>
        `${m} ${p
          .split('?')[0]
          .replace(/\/sample-adult\//, '/{name}/')
          .replace(/\/reports\/1$/, '/reports/{id}')
          .replace(/\/overrides\/o-[0-9a-f]+$/, '/overrides/{id}')
          .replace(/\/selftest\/[0-9TZ-]+$/, '/selftest/{id}')}`,
    ),
  );
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const method of Object.keys(ops))
      t.ok(tested.has(`${method.toUpperCase()} ${path}`), `${method} ${path}`);
  }
});

t.test('whoami names the token and its role, which is all the console needs to offer actions', async (t) => {
  for (const role of ROLES) {
    const r = await client.request('GET', '/api/v1/whoami', { token: token(role) });
    t.equal(r.status, 200, role);
    t.same(r.json, { name: `${role}-user`, role }, `${role}: its holder and role`);
  }
  const none = await client.request('GET', '/api/v1/whoami', { token: 'roje_unknown' });
  t.equal(none.status, 401, 'an unknown token is refused');
});

t.test('the console: shell and assets open, under the CSP, nothing else under /console', async (t) => {
  const shell = await client.request('GET', '/console/', { token: null });
  t.equal(shell.status, 200);
  t.match(shell.headers['content-security-policy'], /script-src 'self'/);
  t.equal(shell.headers['cache-control'], 'no-store');
  const asset = await client.request('GET', '/console/assets/core.js', { token: null });
  t.equal(asset.status, 200);
  t.match(asset.headers['content-type'], /^text\/javascript/);
  const etag = asset.headers.etag as string;
  t.match(etag, /^"[A-Za-z0-9_-]{22}"$/, 'a content hash as its ETag');
  const again = await request(`http://${roje.app.opsAddresses().admin}/console/assets/core.js`, {
    headers: { 'if-none-match': etag },
  });
  await again.body.dump();
  t.equal(again.statusCode, 304, 'unchanged: 304');
  for (const path of [
    '/console/assets/../page.ts',
    '/console/assets/%2e%2e/page.ts',
    '/console/assets/x.js',
  ]) {
    t.equal((await client.request('GET', path, { token: null })).status, 404, `${path}: 404`);
  }
  for (const from of ['/dashboard', '/console', '/']) {
    const r = await client.request('GET', from, { token: null });
    t.equal(r.status, 302, `${from} leads on`);
    t.equal(r.headers.location, '/console/');
  }
});
