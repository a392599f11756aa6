/**
 * The self-test per venue, through a real roje: with two venues, one whose policy lets adult sites
 * through, a run asks the friendly-wifi suite as a client of no venue (over the socket, from loopback)
 * and as a client of each venue (198.51.100.1, 203.0.113.1: documentation ranges, used only as client
 * addresses inside roje's chain, never as destinations). The permissive venue fails, the others pass;
 * each venue's report is signed, kept under its own name and named by its SHA-256; the metric and the
 * log say which venue; and the venues' questions count in no client metric. With workers, a query
 * loop answers the venues' questions over its message port (the real binary, threads and processes).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { hashToken } from '../../src/admin/auth.js';
import { supportsReusePort } from '../../src/transport/reuse-port.js';
import { verifySignedReport } from '../../src/verify/sign.js';
import { adminClient } from '../helpers/admin-client.js';
import { ABUSE_CANARY_FILE } from '../helpers/canaries.js';
import { spawnRoje } from '../helpers/process.js';
import { startRoje, udpUrl } from '../helpers/roje.js';
import { startSelfTestUpstream } from '../helpers/selftest-upstream.js';

const TOKEN = 'roje_selftest-venues-token';
const AUDITOR = 'roje_selftest-venues-auditor';

const fake = await startSelfTestUpstream();
t.teardown(() => fake.close());

/** The config: "school" blocks every category, "lounge" (profile-wise a non-venue) lets adult through. */
function venuesConfig(dir: string): Record<string, unknown> & { upstreams: string[] } {
  return {
    upstreams: [udpUrl(fake)],
    stateDir: join(dir, 'state'),
    lists: [
      { category: 'adult', path: join(dir, 'adult.txt') },
      { category: 'doh-bypass', path: join(dir, 'doh.txt') },
      { category: 'abuse', path: ABUSE_CANARY_FILE, name: 'iwf-sample' },
    ],
    acl: { allow: ['127.0.0.0/8', '::1/128', '198.51.100.0/24', '203.0.113.0/24'] },
    policies: {
      default: { block: 'all' },
      kids: { block: 'all' },
      open: { block: ['abuse', 'doh-bypass'] },
    },
    venues: [
      { name: 'school', networks: ['198.51.100.0/24'], policy: 'kids' },
      { name: 'lounge', networks: ['203.0.113.0/24'], policy: 'open' },
    ],
    selfTest: { enabled: true },
    admin: {
      listen: '127.0.0.1:0',
      tokens: [
        { name: 'ops', role: 'operator', sha256: hashToken(TOKEN) },
        { name: 'certifier', role: 'auditor', sha256: hashToken(AUDITOR) },
      ],
    },
  };
}

const LIST_FILES = {
  'adult.txt': 'pornhub.com\nxvideos.com\nxnxx.com\nxhamster.com\n',
  'doh.txt': 'dns.google\ncloudflare-dns.com\n',
};

interface VenueResult {
  venue: string | null;
  clientAddress: string | null;
  passed: number;
  failed: number;
  ok: boolean;
  sha256: string;
  file: string;
}

t.test('a venue whose policy lets adult sites through fails its self-test; the others pass', async (t) => {
  const dir = t.testdir(LIST_FILES);
  const roje = await startRoje(venuesConfig(dir), { t });
  const ops = adminClient(roje, TOKEN);
  const auditor = adminClient(roje, AUDITOR);
  const metric = (text: string, name: string) =>
    text
      .split('\n')
      .filter((l) => l.startsWith(name))
      .join('\n');
  const queriesBefore = metric((await ops.get('/metrics')).text, 'roje_queries_total');

  const run = await ops.post('/api/v1/selftest/run');
  t.equal(run.status, 200, run.text);
  const summary = run.json as { id: string; ok: boolean; failed: number; venues: VenueResult[] };
  t.equal(summary.ok, false, 'one venue failed, so the run failed');
  t.match(summary.venues, [
    { venue: null, clientAddress: null, ok: true, failed: 0 },
    { venue: 'school', clientAddress: '198.51.100.1', ok: true, failed: 0 },
    { venue: 'lounge', clientAddress: '203.0.113.1', ok: false, failed: 12 },
  ]);
  t.ok(
    summary.venues.every((v) => v.passed >= 30),
    'every venue ran the whole suite',
  );
  t.equal(summary.failed, 12, 'the six adult cases over UDP and TCP, for the lounge only');

  // Each venue's report: signed, kept under its own name, and the bytes its SHA-256 names.
  const publicKey = readFileSync(join(dir, 'state', 'signing.key.pub'), 'utf8');
  for (const v of summary.venues) {
    const path = `/api/v1/selftest/${summary.id}${v.venue === null ? '' : `?venue=${v.venue}`}`;
    const res = await auditor.get(path);
    t.equal(res.status, 200, path);
    t.equal(createHash('sha256').update(res.text).digest('hex'), v.sha256, `${path}: the digest`);
    t.match(verifySignedReport(res.text, publicKey), { valid: true }, `${path}: signed`);
    const file = join(dir, 'state', 'selftest', v.file);
    t.equal(readFileSync(file, 'utf8'), res.text, `${v.file}: the same bytes on disk`);
    const report = JSON.parse(res.text) as {
      server: { sourceAddress?: string; venue?: string };
      results: Array<{ category?: string; verdict: string }>;
    };
    t.equal(report.server.sourceAddress, v.clientAddress ?? undefined, 'the report says who asked');
    t.equal(report.server.venue, v.venue ?? undefined, 'the signed report names the venue');
    const adultFailed = report.results.filter((r) => r.category === 'adult' && r.verdict === 'fail');
    t.equal(adultFailed.length, v.venue === 'lounge' ? 12 : 0, `${v.venue}: adult cases failed`);
  }
  t.same(
    summary.venues.map((v) => v.file),
    [`${summary.id}.no-venue.json`, `${summary.id}.venue-school.json`, `${summary.id}.venue-lounge.json`],
  );
  t.ok(existsSync(join(dir, 'state', 'selftest', `${summary.id}.json`)), 'the run index is kept');
  t.equal((await auditor.get(`/api/v1/selftest/${summary.id}?venue=nowhere`)).status, 404);
  t.equal((await auditor.get(`/api/v1/selftest/${summary.id}?venue=..%2Fx`)).status, 400, 'venue validated');
  const html = await auditor.get(`/api/v1/selftest/${summary.id}?venue=lounge&format=html`);
  t.match(html.type, /text\/html/);
  t.match(verifySignedReport(html.text, publicKey), { valid: true }, 'the HTML verifies too');
  t.match(html.text, /as a client of venue lounge/, 'the HTML names the venue');

  // The metric and the log name the failing venue.
  const scraped = (await ops.get('/metrics')).text;
  t.match(scraped, /^roje_selftest_failed_cases\{venue="lounge"\} 12$/m);
  t.match(scraped, /^roje_selftest_failed_cases\{venue="school"\} 0$/m);
  t.match(scraped, /^roje_selftest_failed_cases\{venue="-"\} 0$/m);
  t.match(scraped, /^roje_selftest_success 0$/m);
  const warned = roje.logs.filter((l) => l.msg === 'self-test FAILED');
  t.match(warned, [{ venue: 'lounge', failedCases: [/^adult site/] }]);
  t.equal(warned.length, 1, 'only the lounge failed');

  // Only the run over the socket (clients of no venue) counts as client traffic; the venues' do not.
  t.notMatch(metric(scraped, 'roje_policy_blocked_total'), /venue="(school|lounge)"/);
  const counted = (text: string) => [...text.matchAll(/ (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
  const socketQuestions = 4 + (summary.venues[0] as VenueResult).passed;
  t.equal(
    counted(metric(scraped, 'roje_queries_total')) - counted(queriesBefore),
    socketQuestions,
    'the counted queries are the no-venue run (4 identity questions and its cases)',
  );
  const now = Date.now();
  const period = `from=${new Date(now - 3_600_000).toISOString()}&to=${new Date(now + 3_600_000).toISOString()}`;
  const byVenue = (await auditor.get(`/api/v1/stats/series?${period}&by=venue`)).json as {
    series: Array<{ key: string }>;
    totals: { queries: number[] };
  };
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  t.equal(sum(byVenue.totals.queries), socketQuestions, 'the statistics hold the no-venue run only');
  t.same(
    byVenue.series.map((s) => s.key),
    ['(none)'],
    'no block counted for the venues in the statistics',
  );
});

const modes: Array<'processes' | 'threads'> = supportsReusePort() ? ['processes', 'threads'] : ['processes'];
for (const mode of modes) {
  t.test(`workers: 2 in ${mode}: a query loop answers as a client of each venue`, async (t) => {
    const dir = t.testdir(LIST_FILES);
    const configFile = join(dir, 'roje.yaml');
    writeFileSync(
      configFile,
      JSON.stringify({ ...venuesConfig(dir), listen: ['127.0.0.1:0'], workers: 2, workerMode: mode }),
    );
    const roje = spawnRoje(['serve', '--config', configFile], { t });
    const { line } = await roje.ready(30_000);
    const ops = adminClient(line.admin as string, TOKEN);
    const run = await ops.post('/api/v1/selftest/run');
    t.equal(run.status, 200, run.text);
    t.match((run.json as { venues: VenueResult[] }).venues, [
      { venue: null, ok: true, failed: 0 },
      { venue: 'school', ok: true, failed: 0 },
      { venue: 'lounge', ok: false, failed: 12 },
    ]);
    const scraped = (await ops.get('/metrics')).text;
    t.match(scraped, /^roje_selftest_failed_cases\{venue="lounge"\} 12$/m);
    t.match(scraped, /^roje_selftest_failed_cases\{venue="school"\} 0$/m);
  });
}
