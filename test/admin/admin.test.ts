/**
 * The admin API over real HTTP on a loopback port, in front of a real roje with lists and a fake
 * upstream: authentication and roles, schema validation (4xx, never 500), the audit log, metrics
 * fed by real DNS queries, the OpenAPI document, and that nothing shows an abuse-feed entry.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { request } from 'undici';
import { hashToken } from '../../src/admin/auth.js';
import { adminClient } from '../helpers/admin-client.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { startRoje, udpUrl } from '../helpers/roje.js';

const dir = t.testdir({});
writeFileSync(join(dir, 'adult.txt'), 'porn.example\n');
writeFileSync(join(dir, 'abuse.txt'), 'secret-abuse-entry.example\n');
const TOKENS = {
  admin: 'roje_admin-token-for-tests',
  operator: 'roje_operator-token',
  auditor: 'roje_auditor-token',
};

const fake = await startFakeUpstream({ apexes: ['example.test'] });
t.teardown(() => fake.close());
fake.zone.set('www.example.test', 'A', [{ data: '198.51.100.1', ttl: 300 }]);

const roje = await startRoje({
  upstreams: [udpUrl(fake)],
  lists: [
    { category: 'adult', path: join(dir, 'adult.txt') },
    { category: 'abuse', path: join(dir, 'abuse.txt') },
  ],
  venues: [{ name: 'library', networks: ['127.0.0.2/32'], policy: 'default' }],
  stateDir: join(dir, 'state'),
  admin: {
    listen: '127.0.0.1:0',
    tokens: Object.entries(TOKENS).map(([role, token]) => ({
      name: `${role}-user`,
      role,
      sha256: hashToken(token),
    })),
  },
  metrics: { listen: '127.0.0.1:0' },
});
t.teardown(() => roje.stop());
const client = adminClient(roje, null);

/** A call as the user of `token`'s role (none: no token). */
function call(
  method: 'GET' | 'POST',
  path: string,
  options: { token?: keyof typeof TOKENS; body?: string; type?: string } = {},
) {
  const token = options.token === undefined ? null : TOKENS[options.token];
  return client.request(method, path, { token, body: options.body, type: options.type });
}

t.test('health and readiness need no token', async (t) => {
  t.same((await call('GET', '/health')).json, { status: 'ok' });
  const ready = await call('GET', '/ready');
  t.equal(ready.status, 200);
  t.same(ready.json, { ready: true, reason: null });
});

t.test('a token is required, and its role decides', async (t) => {
  const none = await call('GET', '/api/v1/status');
  t.equal(none.status, 401);
  t.equal(none.headers['www-authenticate'], 'Bearer realm="roje"');
  t.equal((await call('GET', '/metrics')).status, 401);
  t.equal((await client.get('/api/v1/status', { token: 'roje_nope' })).status, 401);
  t.equal((await call('GET', '/api/v1/status', { token: 'auditor' })).status, 200);
  t.equal((await call('GET', '/api/v1/config', { token: 'auditor' })).status, 403, 'config view: operator');
  t.equal((await call('POST', '/api/v1/cache/flush', { token: 'auditor' })).status, 403);
  t.equal((await call('GET', '/api/v1/audit', { token: 'operator' })).status, 403, 'audit log: admin');
});

t.test('status: version, listeners, upstreams, lists as counts, cache', async (t) => {
  const { json } = await call('GET', '/api/v1/status', { token: 'auditor' });
  t.match(json, {
    version: String,
    uptimeSeconds: Number,
    serving: { ready: true },
    listeners: { dns: [`udp+tcp 127.0.0.1:${roje.port}`], admin: String, metrics: String },
    upstreams: [{ url: udpUrl(fake), state: 'up' }],
    lists: {
      entries: 2,
      categories: ['adult', 'abuse'],
      sources: [
        { name: 'adult', entries: 1 },
        { name: 'abuse', entries: 1 },
      ],
    },
    cache: { entries: Number },
  });
});

t.test('changes are audited; the cache flush empties the cache', async (t) => {
  t.equal((await roje.dig(['www.example.test', 'A'])).status, 'NOERROR');
  t.ok(roje.app.cacheStats().entries >= 1);
  const flushed = await call('POST', '/api/v1/cache/flush', { token: 'operator' });
  t.equal(flushed.status, 200);
  t.ok((flushed.json.removed as number) >= 1);
  t.equal(roje.app.cacheStats().entries, 0);
  const refresh = await call('POST', '/api/v1/lists/refresh', { token: 'operator', body: '{}' });
  t.equal(refresh.status, 200, refresh.text);
  const audit = await call('GET', '/api/v1/audit?limit=10', { token: 'admin' });
  const entries = audit.json.entries as Array<Record<string, unknown>>;
  t.match(entries[0], {
    who: 'operator-user',
    role: 'operator',
    action: 'POST /api/v1/lists/refresh',
    result: 'ok',
  });
  t.match(entries[1], { who: 'operator-user', action: 'POST /api/v1/cache/flush', result: 'ok' });
  t.ok(
    entries.some((e) => e.who === 'auditor-user' && e.result === 'denied'),
    'the auditor tried a change: recorded as denied',
  );
  const file = readFileSync(join(dir, 'state', 'audit.log'), 'utf8')
    .trim()
    .split('\n');
  t.match(JSON.parse(file.at(-1) as string), { who: 'operator-user', action: 'POST /api/v1/lists/refresh' });
});

t.test('bad input gets a 4xx with a message, never a 500', async (t) => {
  const cases: Array<[string, 'GET' | 'POST', string, { body?: string; type?: string }, number]> = [
    ['unknown body key', 'POST', '/api/v1/lists/refresh', { body: '{"everything":true}' }, 400],
    ['sources not a list', 'POST', '/api/v1/lists/refresh', { body: '{"sources":"adult"}' }, 400],
    ['broken JSON', 'POST', '/api/v1/lists/refresh', { body: '{"sources":' }, 400],
    ['not JSON', 'POST', '/api/v1/lists/refresh', { body: 'sources=adult', type: 'text/plain' }, 400],
    ['unknown media type', 'POST', '/api/v1/lists/refresh', { body: '<x/>', type: 'application/xml' }, 415],
    [
      'too big',
      'POST',
      '/api/v1/lists/refresh',
      { body: JSON.stringify({ sources: ['a'.repeat(20000)] }) },
      413,
    ],
    ['bad name', 'POST', '/api/v1/lists/..%2Fetc/accept', {}, 400],
    ['bad date', 'GET', '/api/v1/stats/summary?from=yesterday&to=2026-11-02', {}, 400],
    [
      'unknown query key',
      'GET',
      '/api/v1/stats/series?from=2026-11-01&to=2026-11-02&client=1.2.3.4',
      {},
      400,
    ],
    ['bad bucket', 'GET', '/api/v1/stats/series?from=2026-11-01&to=2026-11-02&bucket=minute', {}, 400],
    ['limit too high', 'GET', '/api/v1/reports?limit=100000', {}, 400],
    ['bad report id', 'POST', '/api/v1/reports/abc', { body: '{"status":"accepted"}' }, 400],
    ['bad review', 'POST', '/api/v1/reports/1', { body: '{"status":"maybe"}' }, 400],
    ['no such route', 'GET', '/api/v1/nothing', {}, 404],
  ];
  for (const [what, method, path, opts, status] of cases) {
    const r = await call(method, path, { token: 'admin', ...opts });
    t.equal(r.status, status, `${what}: ${r.text}`);
    t.type(r.json.message, 'string', `${what}: says why`);
  }
});

t.test('held feed copies: accepting or rejecting one that is not held is a 404', async (t) => {
  const r = await call('POST', '/api/v1/lists/adult/accept', { token: 'operator' });
  t.equal(r.status, 404);
});

t.test('OpenAPI document', async (t) => {
  const { json } = await call('GET', '/api/v1/openapi.json');
  t.match(json, { openapi: /^3\./, info: { title: 'roje admin API' } });
  const paths = Object.keys(json.paths as object);
  for (const p of [
    '/api/v1/status',
    '/api/v1/lists/refresh',
    '/api/v1/cache/flush',
    '/api/v1/stats/series',
  ]) {
    t.ok(paths.includes(p), p);
  }
});

t.test('metrics: real queries counted, blocks by venue and category, no names', async (t) => {
  await roje.dig(['porn.example', 'A']);
  await roje.dig(['-b', '127.0.0.2', 'www.porn.example', 'A']);
  await roje.dig(['secret-abuse-entry.example', 'A']);
  await roje.dig(['www.example.test', 'AAAA']);
  const { status, text, headers } = await call('GET', '/metrics', { token: 'auditor' });
  t.equal(status, 200);
  t.match(headers['content-type'], /text\/plain/);
  t.match(text, /roje_blocked_total\{venue="none",category="adult"\} 1\n/);
  t.match(text, /roje_blocked_total\{venue="library",category="adult"\} 1\n/);
  t.match(text, /roje_blocked_total\{venue="none",category="abuse"\} 1\n/);
  t.match(text, /roje_queries_total\{transport="udp",qtype="A",rcode="NXDOMAIN",source="policy"\} 3\n/);
  t.match(text, /roje_queries_total\{transport="udp",qtype="AAAA",rcode="NOERROR",source="upstream"\} 1\n/);
  t.match(text, /roje_upstream_duration_seconds_count\{upstream="udp:\/\/127\.0\.0\.1:\d+"\} \d+/);
  t.match(text, /roje_list_entries\{source="abuse",category="abuse"\} 1\n/);
  t.match(text, /roje_serving 1\n/);
  t.match(text, /roje_process_cpu_seconds_total/);
  t.notMatch(text, /porn\.example|secret-abuse|127\.0\.0\.2/, 'no domain, no client address');

  // The listener of its own answers without a token.
  const own = await request(`http://${roje.app.opsAddresses().metrics}/metrics`);
  t.equal(own.statusCode, 200);
  t.match(await own.body.text(), /roje_blocked_total/);
});

t.test(
  'nothing the API shows names an abuse-feed entry; token hashes stay out of the config view',
  async (t) => {
    const shown = [
      (await call('GET', '/api/v1/status', { token: 'admin' })).text,
      (await call('GET', '/api/v1/config', { token: 'admin' })).text,
      (await call('GET', '/api/v1/audit', { token: 'admin' })).text,
      (await call('GET', '/metrics', { token: 'admin' })).text,
    ].join('\n');
    t.notMatch(shown, /secret-abuse-entry/);
    t.notMatch(shown, new RegExp(hashToken(TOKENS.admin)));
    t.notMatch(shown, /roje_admin-token-for-tests/);
    const config = (await call('GET', '/api/v1/config', { token: 'operator' })).json;
    t.match(config, { admin: { tokens: [{ name: 'admin-user', role: 'admin' }] } });
  },
);
