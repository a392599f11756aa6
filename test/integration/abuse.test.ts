/**
 * The confidential abuse feed through a real roje: an IWF-style feed served over HTTP on loopback with
 * a bearer token, polled with conditional requests, stored and matched only as keyed hashes. The canary
 * names (blocklists/samples/abuse-test.txt) are blocked for every venue, whatever its policy allows;
 * page-level entries are counted (default) or block their host (operator choice); a stale feed warns
 * and keeps blocking; a policy that leaves the category out is refused. Then every output of the run
 * (state folder, logs, admin API, metrics, block page, statistics and reports) is scanned for the canary
 * names: none may hold one.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { hashToken } from '../../src/admin/auth.js';
import { adminClient } from '../helpers/admin-client.js';
import {
  ABUSE_CANARY,
  ABUSE_CANARY_LABELS,
  ABUSE_CANARY_NAMES,
  ABUSE_CANARY_PAGE_PATH,
  ABUSE_CANARY_TEXT,
} from '../helpers/canaries.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { type Roje, startRoje, udpUrl } from '../helpers/roje.js';

const TOKEN = 'roje_abuse-test-token';
const FEED_TOKEN = 'feed-secret-4b1d';
/** Every canary name and the distinctive label of each: none may appear in any output. */
const CANARIES = [...ABUSE_CANARY_NAMES, ...ABUSE_CANARY_LABELS, ABUSE_CANARY_PAGE_PATH];
const VENUE_CLIENT = '127.0.0.3';

const dir = t.testdir({ 'feed-token': `${FEED_TOKEN}\n`, 'adult.txt': 'porn.example\n' });
const state = join(dir, 'state');

// The feed: bearer token required, ETag for conditional requests, 503 while `up` is false.
let up = true;
const seen: Array<{ auth: string | undefined; ifNoneMatch: string | undefined; status: number }> = [];
const server = createServer((req, res) => {
  const ok = req.headers.authorization === `Bearer ${FEED_TOKEN}`;
  const etag = '"canary-v1"';
  let status = 200;
  if (!up) status = 503;
  else if (!ok) status = 401;
  else if (req.headers['if-none-match'] === etag) status = 304;
  seen.push({ auth: req.headers.authorization, ifNoneMatch: req.headers['if-none-match'], status });
  if (status !== 200) res.writeHead(status).end();
  else res.writeHead(200, { 'content-type': 'text/plain', etag }).end(ABUSE_CANARY_TEXT);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
const feedUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/iwf/list.txt`;

const fake = await startFakeUpstream({ apexes: ['example.test', 'roje.test'] });
t.teardown(() => fake.close());
fake.zone.set('www.example.test', 'A', [{ data: '198.51.100.1', ttl: 300 }]);
// The host of a listed page also serves other content: it resolves unless its host is blocked.
fake.zone.set(ABUSE_CANARY.page, 'A', [{ data: '198.51.100.7', ttl: 300 }]);

const base = {
  upstreams: [udpUrl(fake)],
  stateDir: state,
  log: { queries: true },
  lists: [
    { category: 'adult', path: join(dir, 'adult.txt') },
    {
      category: 'abuse',
      name: 'iwf-test',
      url: feedUrl,
      bearerTokenFile: join(dir, 'feed-token'),
      timeout: '2s',
    },
  ],
  blockPage: { ipv4: '127.0.0.1', listen: ['127.0.0.1:0'] },
  policies: {
    default: { block: 'all', blockMode: 'blockpage' },
    // A venue that tries to let a canary through: the abuse feed is checked first, for everyone.
    kids: {
      block: ['adult', 'abuse'],
      blockMode: 'blockpage',
      allow: [ABUSE_CANARY.domain],
    },
  },
  venues: [{ name: 'biblioteka', networks: [`${VENUE_CLIENT}/32`], policy: 'kids' }],
  admin: {
    listen: '127.0.0.1:0',
    tokens: [{ name: 'ops', role: 'admin', sha256: hashToken(TOKEN) }],
  },
};

/** Everything roje said over HTTP during the run, for the scan at the end. */
const outputs: string[] = [];

/** The admin API, every answer kept for the scan at the end. */
async function api(roje: Roje, path: string, method: 'GET' | 'POST' = 'GET') {
  const client = adminClient(roje, TOKEN);
  const res = method === 'POST' ? await client.post(path) : await client.get(path);
  outputs.push(path === '/api/v1/config' ? withoutOwnAllow(res.text) : res.text);
  return res;
}

/**
 * The config view echoes what the operator wrote, and this test's config names a canary itself (the
 * venue allow addition that must not pass it): that one key is left out of the scan, nothing else.
 */
function withoutOwnAllow(text: string): string {
  const config = JSON.parse(text) as { policies: { kids: { allow?: string[] } } };
  delete config.policies.kids.allow;
  return JSON.stringify(config);
}

/** The block page as a venue client's browser would fetch it (Host = the blocked name). */
function blockPage(roje: Roje, host: string): Promise<{ status: number; html: string }> {
  return api(roje, '/api/v1/status').then((s) => {
    const [listen] = (s.json.blockPage as { listen: Array<{ host: string; port: number }> }).listen;
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: listen.host,
          port: listen.port,
          path: '/gallery/0001.jpg',
          localAddress: VENUE_CLIENT,
          headers: { host, 'accept-language': 'en' },
        },
        (res) => {
          let html = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            html += c;
          });
          res.on('end', () => {
            outputs.push(html);
            resolve({ status: res.statusCode ?? 0, html });
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
  });
}

async function answer(roje: Roje, name: string, client = VENUE_CLIENT) {
  const r = await roje.dig(['-b', client, name, 'A']);
  return { status: r.status, addresses: r.answers.map((a) => a.data), ede: r.ede ?? [] };
}

const BLOCKED = { status: 'NOERROR', addresses: ['127.0.0.1'] };

let roje: Roje;

t.test('fetched with its token, stored hashed, blocked for every venue', async (t) => {
  roje = await startRoje(base);
  t.teardown(() => roje.stop());
  const refreshed = await api(roje, '/api/v1/lists/refresh', 'POST');
  t.equal(refreshed.status, 200);
  t.match(refreshed.json, { feeds: [{ name: 'iwf-test', result: 'updated', rules: 4 }] });
  // Any fetch, the refresh's or the schedule's own (a later one may be a 304): each with the token.
  t.ok(
    seen.some((r) => r.auth === `Bearer ${FEED_TOKEN}` && r.status === 200),
    'the bearer token was sent',
  );
  t.ok(
    seen.every((r) => r.auth === `Bearer ${FEED_TOKEN}`),
    'with every fetch',
  );

  t.match(await answer(roje, ABUSE_CANARY.domain), BLOCKED, 'a domain entry');
  t.match(await answer(roje, `www.${ABUSE_CANARY.domain}`), BLOCKED, 'and its subdomains');
  t.match(await answer(roje, ABUSE_CANARY.site.toUpperCase()), BLOCKED, 'a site URL, any case');
  t.match(await answer(roje, ABUSE_CANARY.domain, '127.0.0.1'), BLOCKED, 'clients of no venue');
  t.match(
    await answer(roje, ABUSE_CANARY.page),
    { status: 'NOERROR', addresses: ['198.51.100.7'] },
    'a page-level entry is counted, not enforced, by default',
  );
  t.match(await answer(roje, 'www.example.test'), { addresses: ['198.51.100.1'] }, 'the rest resolves');
  const tcp = await roje.dig(['+tcp', '-b', VENUE_CLIENT, ABUSE_CANARY.domain, 'AAAA']);
  t.equal(tcp.status, 'NOERROR');
  t.same(tcp.answers, [], 'AAAA: no block page IPv6 address configured, so NODATA');

  const page = await blockPage(roje, ABUSE_CANARY.domain);
  t.equal(page.status, 403);
  t.match(page.html, /Internet Watch Foundation|IWF/, 'the IWF wording');
  t.notMatch(page.html, /<form/, 'no report form for this category');

  const status = (await api(roje, '/api/v1/status')).json;
  t.match(status.abuse, {
    sources: 1,
    entries: 2,
    pages: 2,
    pageEntries: 'count',
    pagesNotEnforced: 2,
    feeds: [{ name: 'iwf-test', stale: false }],
    warnings: [],
  });
  // This config has no doh-bypass list: the compliance profile says so, and says nothing of the abuse feed.
  const compliance = status.compliance as { warnings: Array<{ kind: string; message: string }> };
  t.same(
    compliance.warnings.filter((w) => w.kind === 'abuse'),
    [],
    'no abuse gap',
  );
  t.same(
    status.warnings,
    compliance.warnings.map((w) => w.message),
    'no warning beyond the compliance profile',
  );
  const metrics = (await api(roje, '/metrics')).text;
  t.match(metrics, /^roje_abuse_entries 2$/m);
  t.match(metrics, /^roje_abuse_page_entries\{enforced="false"\} 2$/m);
  t.match(metrics, /^roje_abuse_feed_stale\{source="iwf-test"\} 0$/m);
  t.match(metrics, /^roje_abuse_feed_configured 1$/m);
  t.match(metrics, /^roje_blocked_total\{[^}]*category="abuse"[^}]*\} [1-9]/m, 'blocks counted by category');
  const today = new Date().toISOString().slice(0, 10);
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  const summary = (await api(roje, `/api/v1/stats/summary?from=${today}&to=${tomorrow}`)).json;
  t.match(summary, { abuse: { entries: 2, pages: 2, pagesNotEnforced: 2 } }, 'reported as numbers');
  for (const path of ['/api/v1/config', '/api/v1/audit', '/api/v1/reports', '/api/v1/openapi.json']) {
    t.equal((await api(roje, path)).status, 200, path);
  }

  // Polled with conditional requests: the next check is a 304 and changes nothing.
  const again = await api(roje, '/api/v1/lists/refresh', 'POST');
  t.match(again.json, { feeds: [{ name: 'iwf-test', result: 'not-modified' }] });
  t.match(seen.at(-1), { ifNoneMatch: '"canary-v1"', status: 304 });
});

t.test('page-level entries block their host when the operator chooses it', async (t) => {
  await roje.stop();
  roje = await startRoje({ ...base, abuse: { pageEntries: 'block-host' } });
  t.match(await answer(roje, ABUSE_CANARY.page), BLOCKED, 'the whole host');
  t.match(
    await answer(roje, `www.${ABUSE_CANARY.page}`),
    { status: 'NXDOMAIN' },
    'only that host: a name under it is not the host of the page (the fake upstream does not know it)',
  );
  const status = (await api(roje, '/api/v1/status')).json;
  t.match(status.abuse, { entries: 3, pages: 2, pageEntries: 'block-host', pagesNotEnforced: 0 });
  const audit = (await api(roje, '/api/v1/audit')).json;
  t.match(
    JSON.stringify(audit),
    /abuse\.pageEntries=block-host/,
    'recorded as an explicit operator choice in the audit log',
  );
  t.match(readFileSync(join(state, 'audit.log'), 'utf8'), /abuse\.pageEntries=block-host/);
});

t.test('a stale feed warns and keeps blocking with the last good copy', async (t) => {
  await roje.stop();
  // The copy on disk was last confirmed 13 hours ago, and the publisher is down now.
  const metaPath = join(state, 'feeds', 'iwf-test.json');
  const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as Record<string, unknown>;
  const old = new Date(Date.now() - 13 * 3_600_000).toISOString();
  writeFileSync(metaPath, JSON.stringify({ ...meta, fetchedAt: old, checkedAt: old }));
  up = false;
  roje = await startRoje(base);
  t.match(await answer(roje, ABUSE_CANARY.domain), BLOCKED, 'still blocked');
  const refreshed = await api(roje, '/api/v1/lists/refresh', 'POST');
  t.match(refreshed.json, { feeds: [{ name: 'iwf-test', result: 'failed' }] });
  t.match(await answer(roje, ABUSE_CANARY.domain), BLOCKED, 'a failing feed keeps the last one');
  const status = (await api(roje, '/api/v1/status')).json;
  t.match(status.abuse, { feeds: [{ name: 'iwf-test', stale: true }] });
  t.match(status.warnings, [/abuse feed "iwf-test" was last confirmed 13 h ago/]);
  const metrics = (await api(roje, '/metrics')).text;
  t.match(metrics, /^roje_abuse_feed_stale\{source="iwf-test"\} 1$/m);
  t.match(metrics, /^roje_abuse_feed_age_seconds\{source="iwf-test"\} 4[67]\d{3}$/m, 'about 13 h');
  up = true;
});

t.test('a config that leaves the abuse category out is refused', async (t) => {
  await t.rejects(
    startRoje({ ...base, policies: { ...base.policies, kids: { block: ['adult'], blockMode: 'nxdomain' } } }),
    { code: 'ROJE_ERR_CONFIG_INVALID', message: /policies\.kids\.block: leaves out "abuse"/ },
  );
  await t.rejects(startRoje({ ...base, abuse: { enabled: false } }), {
    code: 'ROJE_ERR_CONFIG_INVALID',
    message: /abuse\.enabled: the abuse category cannot be switched off/,
  });
});

t.test('no output of the run holds a canary name', async (t) => {
  await roje.stop();
  // Positive control: the scan finds the names where they are (the feed as served), so it can fail.
  t.ok(
    CANARIES.every((c) => ABUSE_CANARY_TEXT.includes(c)),
    'the scan would see the names in the feed itself',
  );
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else files.push(p);
    }
  };
  walk(state);
  t.ok(
    files.some((f) => f.endsWith('iwf-test')),
    'the stored feed copy is among them',
  );
  t.ok(
    files.some((f) => f.endsWith('stats.db')),
    'and the statistics database',
  );
  const sources: Array<[string, string]> = [
    ...files.map((f): [string, string] => [f, readFileSync(f).toString('latin1')]),
    ['logs', JSON.stringify(roje.logs)],
    ...outputs.map((o, i): [string, string] => [`http output ${i}`, o]),
  ];
  t.ok(
    roje.logs.some((l) => l.msg === 'query' && l.qname === '[confidential]'),
    'query logging is on, and abuse blocks are logged without their name',
  );
  for (const [where, text] of sources) {
    const found = CANARIES.filter((c) => text.toLowerCase().includes(c));
    t.same(found, [], `${where} holds no canary name`);
  }
});
