/**
 * The scheduled self-test through a real roje: the built-in friendly-wifi suite run against roje's own
 * listener (here on demand through the admin API; the schedule and the after-swap run share the same
 * code), signed with the deployment key it creates, kept for the auditor role as JSON and HTML, and
 * exported as metrics. With the adult list gone, the adult cases fail and the metric says so.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { hashToken } from '../../src/admin/auth.js';
import { extractEmbeddedReport } from '../../src/verify/html.js';
import { verifySignedReport } from '../../src/verify/sign.js';
import { adminClient } from '../helpers/admin-client.js';
import { ABUSE_CANARY_FILE } from '../helpers/canaries.js';
import { startRoje, udpUrl } from '../helpers/roje.js';
import { startSelfTestUpstream } from '../helpers/selftest-upstream.js';

const TOKEN = 'roje_selftest-token';
const AUDITOR = 'roje_selftest-auditor';
const dir = t.testdir({
  'adult.txt': 'pornhub.com\nxvideos.com\nxnxx.com\nxhamster.com\n',
  'doh.txt': 'dns.google\ncloudflare-dns.com\n',
});
const state = join(dir, 'state');

const fake = await startSelfTestUpstream();
t.teardown(() => fake.close());

const lists = [
  { category: 'adult', path: join(dir, 'adult.txt') },
  { category: 'doh-bypass', path: join(dir, 'doh.txt') },
  { category: 'abuse', path: ABUSE_CANARY_FILE, name: 'iwf-sample' },
];
const base = {
  upstreams: [udpUrl(fake)],
  stateDir: state,
  lists,
  selfTest: { enabled: true },
  admin: {
    listen: '127.0.0.1:0',
    tokens: [
      { name: 'ops', role: 'operator', sha256: hashToken(TOKEN) },
      { name: 'certifier', role: 'auditor', sha256: hashToken(AUDITOR) },
    ],
  },
};

t.test('the friendly-wifi suite passes against roje itself, signed and kept for auditors', async (t) => {
  const roje = await startRoje(base, { t });
  const ops = adminClient(roje, TOKEN);
  const auditor = adminClient(roje, AUDITOR);
  const run = await ops.post('/api/v1/selftest/run');
  t.equal(run.status, 200, run.text);
  const summary = JSON.parse(run.text) as {
    id: string;
    ok: boolean;
    passed: number;
    failed: number;
    signed: boolean;
  };
  t.match(summary, { ok: true, failed: 0, signed: true, reason: 'operator' });
  t.ok(summary.passed >= 40, `${summary.passed} cases (UDP and TCP) passed`);
  t.equal((await auditor.post('/api/v1/selftest/run')).status, 403, 'an auditor may not run it');

  const listed = JSON.parse((await auditor.get('/api/v1/selftest')).text) as {
    reports: Array<{ id: string }>;
  };
  t.equal(listed.reports[0].id, summary.id, 'the auditor sees the run');
  const json = await auditor.get(`/api/v1/selftest/${summary.id}`);
  t.equal(json.status, 200);
  const publicKey = readFileSync(join(state, 'signing.key.pub'), 'utf8');
  t.match(verifySignedReport(json.text, publicKey), { valid: true }, 'signed with the deployment key');
  const report = JSON.parse(json.text) as { identity: { 'policy.roje': { strings: string[] } } };
  t.match(report.identity['policy.roje'].strings, [/^lists version=/], 'the list versions, from CH TXT');
  const html = await auditor.get(`/api/v1/selftest/${summary.id}?format=html`);
  t.match(html.type, /text\/html/);
  t.match(verifySignedReport(html.text, publicKey), { valid: true }, 'the HTML verifies too');
  t.match(extractEmbeddedReport(html.text), /"signature"/, 'it embeds the signed report');
  t.equal((await auditor.get('/api/v1/selftest/2026-01-01T00-00-00-000Z')).status, 404);
  t.equal((await auditor.get('/api/v1/selftest/..%2F..%2Fetc')).status, 400, 'ids are validated');

  const metrics = (await ops.get('/metrics')).text;
  t.match(metrics, /^roje_selftest_success 1$/m);
  t.match(metrics, /^roje_selftest_cases\{result="fail"\} 0$/m);
  t.match(metrics, /^roje_selftest_last_run_timestamp_seconds \d+/m);
  t.ok(existsSync(join(state, 'selftest', `${summary.id}.json`)), 'kept on disk');
});

t.test('a category switched off: the self-test fails and says which cases', async (t) => {
  const roje = await startRoje({ ...base, lists: lists.filter((l) => l.category !== 'adult') }, { t });
  const ops = adminClient(roje, TOKEN);
  const auditor = adminClient(roje, AUDITOR);
  const summary = JSON.parse((await ops.post('/api/v1/selftest/run')).text) as {
    ok: boolean;
    failed: number;
  };
  t.match(summary, { ok: false });
  t.equal(summary.failed, 12, 'the six adult cases, over UDP and TCP');
  t.match((await ops.get('/metrics')).text, /^roje_selftest_success 0$/m);
  const warned = roje.logs.find((l) => l.msg === 'self-test FAILED');
  t.match(warned, { failedCases: [/^adult site/] });
  // The earlier run is kept across the restart (same stateDir), newest first.
  const listed = JSON.parse((await auditor.get('/api/v1/selftest')).text) as {
    reports: Array<{ ok: boolean }>;
  };
  t.match(listed.reports, [{ ok: false }, { ok: true }]);
});
