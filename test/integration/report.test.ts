/**
 * The transparency report from real traffic: dig asks a real roje for blocked and allowed names from two
 * venue addresses; the report (admin API while running, `roje report` on the same file after stop)
 * shows the queries and blocks per venue and category, the distinct-name estimates and the uptime since
 * the first start, in the config's time zone (Europe/Tirane), and never a name.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { hashToken } from '../../src/admin/auth.js';
import { report } from '../../src/cli/report.js';
import { localIso } from '../../src/report/time-zone.js';
import { hllKey, hllPoint } from '../../src/stats/hll.js';
import { Database } from '../../src/stats/sqlite.js';
import { adminClient } from '../helpers/admin-client.js';
import { LOCAL_ABUSE_CANARY } from '../helpers/canaries.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { capture } from '../helpers/io.js';
import { startRoje, udpUrl } from '../helpers/roje.js';

const dir = t.testdir({});
writeFileSync(join(dir, 'adult.txt'), 'porn.example\nxxx.example\n');
writeFileSync(join(dir, 'gambling.txt'), 'casino.example\n');
writeFileSync(join(dir, 'abuse.txt'), `${LOCAL_ABUSE_CANARY}\n`);
const TOKEN = 'roje_report-test-token';
const ZONE = 'Europe/Tirane';
// The current month where the municipality is (the report's months are in the config's zone).
const month = localIso(Date.now(), ZONE).slice(0, 7);
const NAMES = /porn|xxx\.example|casino|canary-abuse|example\.test/;

const fake = await startFakeUpstream({ apexes: ['example.test'] });
t.teardown(() => fake.close());
fake.zone.set('www.example.test', 'A', [{ data: '198.51.100.1', ttl: 300 }]);
fake.zone.set('news.example.test', 'A', [{ data: '198.51.100.2', ttl: 300 }]);

const raw = {
  upstreams: [udpUrl(fake)],
  lists: [
    { category: 'adult', path: join(dir, 'adult.txt') },
    { category: 'gambling', path: join(dir, 'gambling.txt') },
    { category: 'abuse', path: join(dir, 'abuse.txt') },
  ],
  blockPage: { operatorName: { sq: 'Bashkia e Tiranës', en: 'Tirana Municipality' } },
  policies: { default: { block: 'all' } },
  venues: [
    { name: 'biblioteka', networks: ['127.0.0.3/32'], policy: 'default' },
    { name: 'sheshi', networks: ['127.0.0.4/32'], policy: 'default' },
  ],
  stateDir: join(dir, 'state'),
  timeZone: ZONE,
  admin: { listen: '127.0.0.1:0', tokens: [{ name: 'auditor', role: 'auditor', sha256: hashToken(TOKEN) }] },
};

// [client, name, blocked?]
const TRAFFIC: Array<[string, string, boolean]> = [
  ['127.0.0.3', 'a.porn.example', true],
  ['127.0.0.3', 'b.porn.example', true],
  ['127.0.0.3', 'a.porn.example', true],
  ['127.0.0.3', 'casino.example', true],
  ['127.0.0.3', LOCAL_ABUSE_CANARY, true],
  ['127.0.0.3', 'www.example.test', false],
  ['127.0.0.4', 'c.xxx.example', true],
  ['127.0.0.4', 'a.porn.example', true],
  ['127.0.0.4', 'casino.example', true],
  ['127.0.0.4', 'casino.example', true],
  ['127.0.0.4', 'www.example.test', false],
  ['127.0.0.4', 'news.example.test', false],
];

interface Json {
  period: { month: string; timeZone: string; from: string; to: string };
  queries: { total: number; blocked: number; blockedPercent: number | null };
  site: string | null;
  operator: unknown;
  blocked: {
    venues: Array<{
      venue: string;
      queries: number;
      blocked: number;
      blockedPercent: number | null;
      byCategory: Record<string, number>;
    }>;
  };
  distinctBlockedNames: { estimate: boolean; byCategory: Array<{ category: string; estimate: number }> };
  listUpdates: Array<{ version: string; entries: number; reason: string }>;
  uptime: { firstStart: string | null; from: string | null; servedSeconds: number; percent: number | null };
}

/**
 * The distinct-name estimate expected for these names: at these counts the sketch counts occupied
 * registers, so two names that share one under the store's random salt (about 0.3 % of salts for three
 * names) are one. Read from the store's own salt, the assertion holds for every salt.
 */
function distinct(names: string[]): number {
  const db = new Database(join(dir, 'state', 'stats.db'), { readonly: true });
  try {
    const row = db.prepare("SELECT value FROM roje_meta WHERE key = 'hll_salt'").get() as { value: Buffer };
    const key = hllKey(row.value);
    return new Set(names.map((name) => hllPoint(name, key) >>> 6)).size;
  } finally {
    db.close();
  }
}

function checkAll(t: Test, r: Json, zone = ZONE) {
  t.same(r.queries, { total: 12, blocked: 9, blockedPercent: 75 });
  t.same(r.blocked.venues, [
    {
      venue: 'biblioteka',
      queries: 6,
      blocked: 5,
      blockedPercent: 83.33,
      byCategory: { abuse: 1, adult: 3, gambling: 1 },
    },
    { venue: 'sheshi', queries: 6, blocked: 4, blockedPercent: 66.67, byCategory: { adult: 2, gambling: 2 } },
  ]);
  t.equal(r.period.timeZone, zone, 'the zone is stated');
  t.match(r.period.from, zone === ZONE ? /T00:00:00\+0[12]:00$/ : /T00:00:00Z$/, 'local midnight');
  t.match(r.listUpdates, [{ reason: 'lists loaded', entries: 4 }], 'one content change: the first load');
  t.ok(r.uptime.firstStart !== null && r.uptime.from === r.uptime.firstStart, 'uptime from the first start');
  t.ok((r.uptime.percent ?? 0) > 50, `uptime over the time it existed: ${r.uptime.percent} %`);
  t.same(r.distinctBlockedNames.byCategory, [
    { category: 'abuse', estimate: 1 },
    { category: 'adult', estimate: distinct(['a.porn.example', 'b.porn.example', 'c.xxx.example']) },
    { category: 'gambling', estimate: 1 },
  ]);
  t.equal(r.distinctBlockedNames.estimate, true);
  t.ok(r.uptime.servedSeconds > 0, `uptime counted (${r.uptime.servedSeconds} s)`);
}

t.test('report from real traffic: admin API while serving, CLI on the file after stop', async (t) => {
  const roje = await startRoje(raw);
  let stopped = false;
  t.teardown(() => (stopped ? undefined : roje.stop()));
  for (const [client, name, isBlocked] of TRAFFIC) {
    const r = await roje.dig(['-b', client, name, 'A']);
    t.equal(r.status, isBlocked ? 'NXDOMAIN' : 'NOERROR', `${client} ${name}`);
    if (!isBlocked)
      t.ok(
        r.answers.some((a) => a.data.startsWith('198.51.100.')),
        `${name} resolves`,
      );
    else
      t.notOk(
        r.answers.some((a) => a.data.startsWith('198.51.100.')),
        `${name} blocked`,
      );
  }
  const api = adminClient(roje, TOKEN);
  const get = (q: string, auth = true) =>
    api.get(`/api/v1/reports/transparency?${q}`, auth ? {} : { token: null });
  const json = await get(`month=${month}`);
  t.equal(json.status, 200);
  t.match(json.type, /application\/json/);
  t.notMatch(json.text, NAMES, 'no name in the JSON');
  checkAll(t, JSON.parse(json.text) as Json);
  t.match(JSON.parse(json.text), { operator: { sq: 'Bashkia e Tiranës' } });

  const site = JSON.parse((await get(`month=${month}&site=sheshi`)).text) as Json;
  t.same(site.queries, { total: 6, blocked: 4, blockedPercent: 66.67 }, "the site's own queries");
  t.same(
    site.blocked.venues.map((v) => v.venue),
    ['sheshi'],
  );
  t.same(site.distinctBlockedNames.byCategory, [
    { category: 'adult', estimate: distinct(['c.xxx.example', 'a.porn.example']) },
    { category: 'gambling', estimate: 1 },
  ]);

  const html = await get(`month=${month}&format=html`);
  t.equal(html.status, 200);
  t.match(html.type, /text\/html/);
  t.match(String(html.headers['content-security-policy']), /default-src 'none'/);
  t.match(html.text, /Kërkesa të bllokuara/);
  t.match(html.text, /Europe\/Tirane/);
  t.notMatch(html.text, NAMES, 'no name in the HTML');
  const csv = await get(`month=${month}&format=csv`);
  t.match(csv.type, /text\/csv/);
  t.match(csv.text, /blocked,,biblioteka,adult,requests,3\r\n/);
  t.notMatch(csv.text, NAMES, 'no name in the CSV');

  // Queries per venue in the statistics API, counted for every answer, blocked or not.
  const range = `from=${new Date(Date.now() - 86_400_000).toISOString()}&to=${new Date(Date.now() + 3_600_000).toISOString()}`;
  const summary = await api.get(`/api/v1/stats/summary?${range}&venue=sheshi`);
  t.equal(summary.status, 200);
  t.match(JSON.parse(summary.text), { venue: 'sheshi', queries: 6, blocked: 4, cacheHits: null });
  const all = JSON.parse((await api.get(`/api/v1/stats/summary?${range}`)).text);
  t.match(all, { queries: 12, blocked: 9 });
  t.same(all.byVenue.map((v: { venue: string; queries: number }) => [v.venue, v.queries]).sort(), [
    ['biblioteka', 6],
    ['sheshi', 6],
  ]);

  t.equal((await get('month=2026-13')).status, 400, 'a bad month is 400');
  t.equal((await get(`month=${month}&format=pdf`)).status, 400);
  t.equal((await get(`month=${month}`, false)).status, 401);

  await roje.stop();
  stopped = true;

  const statsPath = join(dir, 'state', 'stats.db');
  for (const format of ['json', 'csv', 'html'] as const) {
    const io = capture();
    t.equal(
      await report(['--month', month, '--stats', statsPath, '--format', format], io.io),
      0,
      `CLI ${format}`,
    );
    t.notMatch(io.out(), NAMES, `no name in the CLI's ${format}`);
    if (format === 'json') checkAll(t, JSON.parse(io.out()) as Json, 'UTC');
  }
  const zoned = capture();
  t.equal(
    await report(['--month', month, '--stats', statsPath, '--time-zone', ZONE], zoned.io),
    0,
    'CLI --time-zone',
  );
  checkAll(t, JSON.parse(zoned.out()) as Json);
  // --config: the file, the zone and the operator come from the config.
  const configFile = join(dir, 'roje.json');
  writeFileSync(configFile, JSON.stringify({ ...raw, admin: { listen: null } }));
  const configured = capture();
  t.equal(await report(['--month', month, '--config', configFile], configured.io), 0, 'CLI --config');
  const fromConfig = JSON.parse(configured.out()) as Json;
  checkAll(t, fromConfig);
  t.match(fromConfig, { operator: { en: 'Tirana Municipality' } });
  const out = join(dir, 'report.html');
  const io = capture();
  t.equal(await report(['--month', month, '--stats', statsPath, '--format', 'html', '--out', out], io.io), 0);
  t.equal(io.out(), '', 'nothing on stdout with --out');
});

t.test('CLI usage errors', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['--stats', 'x.db'], /--month/],
    [['--month', '2026-10'], /--config FILE or --stats PATH/],
    [['--month', '2026-10', '--stats', 'x', '--config', 'y'], /either/],
    [['--month', '2026-10', '--stats', 'x', '--format', 'pdf'], /html, csv or json/],
    [['--month', '2026-10', '--stats', join(dir, 'missing.db')], /no statistics database/],
    [['--month', '2026-13', '--stats', join(dir, 'state', 'stats.db')], /YYYY-MM/],
    [
      ['--month', '2026-10', '--stats', join(dir, 'state', 'stats.db'), '--time-zone', 'Mars/Olympus'],
      /not an IANA time zone/,
    ],
  ];
  for (const [argv, message] of cases) {
    const io = capture();
    t.equal(await report(argv, io.io), 2, argv.join(' '));
    t.match(io.err(), message);
  }
});
