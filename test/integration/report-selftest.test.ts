/**
 * Self-tests per venue in the transparency report, through a real roje: a run asks the friendly-wifi
 * suite as a client of no venue and of each venue (one of which lets adult sites through); the month's
 * report lists the runs per venue, the permissive venue with its failures, each with the SHA-256 of the
 * signed report the admin API serves (never the run's id, a timestamp).
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import t from 'tap';
import { hashToken } from '../../src/admin/auth.js';
import { localIso } from '../../src/report/time-zone.js';
import { adminClient } from '../helpers/admin-client.js';
import { ABUSE_CANARY_FILE } from '../helpers/canaries.js';
import { startRoje, udpUrl } from '../helpers/roje.js';
import { startSelfTestUpstream } from '../helpers/selftest-upstream.js';

const TOKEN = 'roje_report-selftest-token';
const fake = await startSelfTestUpstream();
t.teardown(() => fake.close());

interface ReportVenue {
  venue: string | null;
  runs: number;
  passes: number;
  failures: number;
  results: Array<{ at: string; passed: number; failed: number; sha256: string | null }>;
}

t.test('the report shows the self-tests per venue with the digests of the signed reports', async (t) => {
  const dir = t.testdir({
    'adult.txt': 'pornhub.com\nxvideos.com\nxnxx.com\nxhamster.com\n',
    'doh.txt': 'dns.google\ncloudflare-dns.com\n',
  });
  const roje = await startRoje(
    {
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
      timeZone: 'Europe/Tirane',
      admin: { listen: '127.0.0.1:0', tokens: [{ name: 'ops', role: 'operator', sha256: hashToken(TOKEN) }] },
    },
    { t },
  );
  const ops = adminClient(roje, TOKEN);
  const run = await ops.post('/api/v1/selftest/run');
  t.equal(run.status, 200, run.text);
  const summary = run.json as { id: string; venues: Array<{ venue: string | null; sha256: string }> };

  const month = localIso(Date.now(), 'Europe/Tirane').slice(0, 7);
  const res = await ops.get(`/api/v1/reports/transparency?month=${month}`);
  t.equal(res.status, 200, 'the report');
  const venues = (res.json as { selfTests: { venues: ReportVenue[] } }).selfTests.venues;
  t.same(
    venues.map((v) => v.venue),
    ['lounge', 'school', null],
    'per venue, clients of no venue last',
  );
  const lounge = venues.find((v) => v.venue === 'lounge');
  const school = venues.find((v) => v.venue === 'school');
  t.ok(lounge !== undefined && lounge.failures >= 1 && lounge.passes === 0, 'the permissive venue fails');
  t.ok(school !== undefined && school.failures === 0 && school.passes >= 1, 'the other passes');
  for (const v of summary.venues) {
    const row = venues.find((r) => r.venue === v.venue);
    t.ok(
      row?.results.some((r) => r.sha256 === v.sha256),
      `${v.venue ?? 'no venue'}: the run's digest is in the report`,
    );
    // The digest is the one of the signed report an auditor downloads.
    const path = `/api/v1/selftest/${summary.id}${v.venue === null ? '' : `?venue=${v.venue}`}`;
    const body = (await ops.get(path)).text;
    t.equal(createHash('sha256').update(body).digest('hex'), v.sha256, `${path}: the same bytes`);
  }
  t.ok(
    venues.every((v) => v.results.every((r) => r.sha256 !== null && /^[0-9a-f]{64}$/.test(r.sha256))),
    'every digest is a SHA-256',
  );
  t.match(venues[0]?.results[0]?.at, /\+0[12]:00$/, 'times in the zone');
  const html = (await ops.get(`/api/v1/reports/transparency?month=${month}&format=html`)).text;
  t.notMatch(html, new RegExp(summary.id), 'no run id in the SHA-256 column');
  t.match(html, new RegExp(`<code>${summary.venues[2]?.sha256}</code>`));
});
