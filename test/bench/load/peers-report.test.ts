import t from 'tap';
import { parsePeersArgs } from '../../../bench/load/peers.js';
import {
  issue21Verdicts,
  type LatencyRun,
  medianRun,
  type PeerRow,
  renderGcTable,
  renderIssue21Targets,
  renderLatencyTable,
  renderPeersTable,
} from '../../../bench/load/peers-report.js';

const run = (
  offeredQps: number,
  p99Ms: number,
  p999Ms: number,
  extra: Partial<LatencyRun> = {},
): LatencyRun => ({
  offeredQps,
  answeredQps: offeredQps,
  answers: offeredQps * 8,
  lost: 0,
  p50Ms: p99Ms / 10,
  p99Ms,
  p999Ms,
  maxMs: p999Ms * 3,
  ...extra,
});

const row = (server: PeerRow['server'], fields: Partial<PeerRow>): PeerRow => ({
  layout: 'single',
  server,
  status: 'ok',
  setup: '',
  ...fields,
});

const dnsmasq = row('dnsmasq', {
  qps: 93_000,
  rssEmptyMB: 1.5,
  rssAfterMB: 100,
  latency: [run(10_000, 0.06, 0.37), run(40_000, 1.14, 6.38)],
});
const trivial = row('trivial', { qps: 72_000, rssEmptyMB: 60 });

t.test('issue #21 verdicts: each ratio against its limit, from the same run', async (t) => {
  const roje = row('roje', {
    qps: 0.95 * 72_000,
    rssEmptyMB: 79.9,
    rssAfterMB: 150,
    latency: [run(10_000, 0.058, 0.74), run(40_000, 1.72, 8.86)],
  });
  const verdicts = issue21Verdicts([roje, dnsmasq, trivial]);
  const by = new Map(verdicts.map((v) => [v.target, v]));
  const p999 = by.get('p99.9 at 10,000 q/s <= 2x dnsmasq')!;
  t.equal(p999.ratio, 0.74 / 0.37);
  t.equal(p999.met, true, 'exactly 2x is met');
  const p99 = by.get('p99 at 40,000 q/s <= 1.5x dnsmasq')!;
  t.equal(p99.ratio, 1.72 / 1.14);
  t.equal(p99.met, false, 'just over 1.5x is not');
  t.equal(by.get('RSS after the run <= 1.5x dnsmasq')!.met, true);
  t.equal(by.get('empty process < 80 MB')!.met, true);
  t.equal(by.get('mix q/s >= 0.95x the trivial Node server')!.met, true);

  const worse = issue21Verdicts([
    { ...roje, rssEmptyMB: 80, rssAfterMB: 151, qps: 0.94 * 72_000 },
    dnsmasq,
    trivial,
  ]);
  t.same(
    worse.map((v) => v.met),
    [true, false, false, false, false],
  );
});

t.test('issue #21 verdicts say n/a, and why, for what the run did not measure', async (t) => {
  const roje = row('roje', { qps: 60_000, rssAfterMB: 150, latency: [run(20_000, 1, 2)] });
  const verdicts = issue21Verdicts([roje, row('dnsmasq', { ...dnsmasq, latency: [run(20_000, 1, 2)] })]);
  t.same(
    verdicts.map((v) => [v.met, v.missing]),
    [
      [undefined, 'no latency run at 10,000 q/s'],
      [undefined, 'no latency run at 40,000 q/s'],
      [true, undefined],
      [undefined, 'no figure'],
      [undefined, 'trivial server not run'],
    ],
  );
  t.same(issue21Verdicts([roje]).map((v) => v.missing)[0], 'dnsmasq not run');
  t.same(issue21Verdicts([dnsmasq, trivial]), [], 'no roje row: no verdicts');
  t.same(issue21Verdicts([{ ...roje, status: 'failed: x' }, dnsmasq]), [], 'a failed roje has no figures');
  const text = renderIssue21Targets([roje, dnsmasq]);
  t.match(
    text,
    /\| p99\.9 at 10,000 q\/s <= 2x dnsmasq \| one core \| .* \| n\/a \(no latency run at 10,000 q\/s\) \|/,
  );
});

t.test('the targets block shows values, ratio and verdict per line', async (t) => {
  const roje = row('roje', {
    qps: 60_000,
    rssEmptyMB: 117.2,
    rssAfterMB: 245,
    latency: [run(10_000, 0.058, 3.54), run(40_000, 4.06, 8.86)],
  });
  const lines = renderIssue21Targets([roje, dnsmasq, trivial]).split('\n');
  t.equal(lines.length, 2 + 5);
  t.equal(
    lines[2],
    `| p99.9 at 10,000 q/s <= 2x dnsmasq | one core | 3.540 ms | 0.370 ms | ${(3.54 / 0.37).toFixed(2)}x | **NOT met** |  |`,
  );
  t.equal(lines[5], '| empty process < 80 MB | one core | 117.2 MB | 1.5 MB |  | **NOT met** |  |');
  t.equal(
    lines[6],
    `| mix q/s >= 0.95x the trivial Node server | one core | 60,000 q/s | 72,000 q/s | ${(60 / 72).toFixed(2)}x | **NOT met** | no quiet round for roje; no quiet round for trivial |`,
  );
});

t.test('a verdict carries the caveats of its figures: a busy machine, a rate not reached', async (t) => {
  const roje = row('roje', {
    qps: 70_000,
    quietRounds: 1,
    rssAfterMB: 120,
    latency: [run(10_000, 0.05, 0.5, { busyBefore: 0.4 }), run(40_000, 3, 9, { answeredQps: 20_000 })],
  });
  const quietTrivial = { ...trivial, quietRounds: 2 };
  const [tail10k, tail40k, , , mix] = issue21Verdicts([roje, dnsmasq, quietTrivial]);
  t.same(tail10k!.caveats, ["roje's run began on a busy machine"]);
  t.same(tail40k!.caveats, ['roje answered 20,000 q/s']);
  t.same(mix!.caveats, [], 'both had quiet rounds');
  t.match(renderIssue21Targets([roje, dnsmasq, quietTrivial]), /\| roje answered 20,000 q\/s \|/);
});

t.test('the latency table has p50, p99, p99.9 and max for every server and rate', async (t) => {
  const roje = row('roje', {
    latency: [
      run(10_000, 0.058, 3.54, { busyBefore: 0.3 }),
      run(40_000, 4.06, 8.86, { answeredQps: 31_000 }),
    ],
  });
  const lines = renderLatencyTable([roje, dnsmasq, trivial]).split('\n');
  t.equal(lines.length, 2 + 4, 'a line per server and rate; none for a row without latency runs');
  t.equal(
    lines[2],
    '| one core | roje | 10,000 | 10,000 | 80,000 | 0 | 0.006 | 0.058 | 3.540 | 10.620 | 30 % busy before the run |',
  );
  t.match(lines[3]!, /\| 40,000 \| 31,000 \| .*below the offered rate \|$/);
  t.match(lines[5]!, /^\| one core \| dnsmasq \| 40,000 \| .* \| 1\.140 \| 6\.380 \| 19\.140 \| {2}\|$/);
});

t.test('the GC table appears only with --trace-gc figures', async (t) => {
  t.equal(renderGcTable([dnsmasq]), '');
  const gc = {
    scavenges: { count: 41, totalMs: 20.5, maxMs: 1.25 },
    markCompacts: { count: 2, totalMs: 9.5, maxMs: 6.75, incrementalMs: 12.3 },
  };
  const lines = renderGcTable([row('roje', { latency: [run(10_000, 1, 2, { gc })] }), dnsmasq]).split('\n');
  t.same(lines.slice(2), ['| one core | roje | 10,000 | 41 | 20.50 | 1.25 | 2 | 9.50 | 6.75 | 12.3 |']);
});

t.test('the main table carries the empty RSS next to the loaded ones', async (t) => {
  const [header, , line] = renderPeersTable([
    row('roje', { rssEmptyMB: 77.25, rssLoadMB: 128, rssAfterMB: 150 }),
  ]).split('\n');
  const columns = header!.split('|').map((c) => c.trim());
  const cells = line!.split('|').map((c) => c.trim());
  t.equal(cells[columns.indexOf('RSS empty MB')], '77.3');
  t.equal(cells[columns.indexOf('RSS after load MB')], '128.0');
  t.equal(cells[columns.indexOf('RSS after run MB')], '150.0');
});

t.test('--latency-qps takes a list of rates, --trace-gc a switch; bad values are usage errors', async (t) => {
  const defaults = parsePeersArgs([]);
  t.same(defaults.latencyQps, [10_000, 40_000], "the issue's two rates by default");
  t.equal(defaults.latencySeconds, 8, "the issue's 8 s by default");
  t.equal(defaults.traceGc, false);
  const custom = parsePeersArgs([
    '--latency-qps',
    '5000, 20000,5000',
    '--trace-gc',
    '--latency-seconds',
    '2',
  ]);
  t.same(custom.latencyQps, [5000, 20_000], 'duplicates dropped, order kept');
  t.equal(custom.traceGc, true);
  for (const bad of ['', ',', '10000,abc', '50', '10000,2000000', '1000,2000,3000,4000,5000,6000,7000']) {
    t.throws(
      () => parsePeersArgs(['--latency-qps', bad]),
      { code: 'ROJE_ERR_CLI_USAGE' },
      JSON.stringify(bad),
    );
  }
});

t.test(
  'repeated latency runs: each figure the median, answers and losses summed, the p99.9 range kept',
  async (t) => {
    const runs = [
      run(10_000, 1, 9, { lost: 2, busyBefore: 0.3 }),
      run(10_000, 3, 2),
      run(10_000, 2, 4, {
        gc: {
          scavenges: { count: 4, totalMs: 9, maxMs: 3 },
          markCompacts: { count: 0, totalMs: 0, maxMs: 0, incrementalMs: 0 },
        },
      }),
    ];
    const m = medianRun(runs);
    t.equal(m.p99Ms, 2);
    t.equal(m.p999Ms, 4);
    t.equal(m.maxMs, 12, 'the median of 27, 6 and 12');
    t.equal(m.answers, 240_000);
    t.equal(m.lost, 2);
    t.equal(m.busyBefore, 0.3, 'busy if any run began busy');
    t.same(m.gc, runs[2].gc, 'the collections of the run with the median p99.9');
    t.same(m.repeats, { count: 3, p999MinMs: 2, p999MaxMs: 9 });
    t.equal(medianRun([runs[1]]), runs[1], 'one run is itself');
    t.equal(medianRun([runs[0], runs[1]]).p999Ms, 5.5, 'an even count: the mean of the middle two');
    t.match(
      renderLatencyTable([{ ...row('roje', {}), latency: [m] }] as PeerRow[]),
      /median of 3 runs \(p99\.9 2\.000–9\.000\)/,
    );
  },
);

t.test('--latency-repeats: 1 by default, at most 5', async (t) => {
  t.equal(parsePeersArgs([]).latencyRepeats, 1);
  t.equal(parsePeersArgs(['--latency-repeats', '3']).latencyRepeats, 3);
  t.throws(() => parsePeersArgs(['--latency-repeats', '9']));
});
