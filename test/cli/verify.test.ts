/**
 * The verify, verify-report and keygen commands in-process: usage errors exit 2, a signed HTML and
 * JSON report checked with verify-report (0 valid, 1 changed or another key, 2 usage), a silent
 * server fails every check with exit 1. The resolver is a real roje on 127.0.0.1.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { keygen } from '../../src/cli/keygen.js';
import { parseServer, verify } from '../../src/cli/verify.js';
import { verifyReport } from '../../src/cli/verify-report.js';
import { extractEmbeddedReport } from '../../src/verify/html.js';
import type { VerifyReport } from '../../src/verify/report.js';
import { ABUSE_CANARY_FILE, ABUSE_CANARY_SECRETS } from '../helpers/canaries.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { capture } from '../helpers/io.js';
import { startRoje, udpUrl } from '../helpers/roje.js';

const fake = await startFakeUpstream({ apexes: ['example.test'] });
t.teardown(() => fake.close());
fake.zone.set('www.example.test', 'A', [{ data: '198.51.100.1', ttl: 300 }]);
const roje = await startRoje({ upstreams: [udpUrl(fake)], lists: [] });
t.teardown(() => roje.stop());
const server = `127.0.0.1:${roje.port}`;

const SUITE = `name: small
cases:
  - { name: resolves, qname: www.example.test, expect: allowed }
  - { name: firefox canary, qname: use-application-dns.net, expect: nxdomain, transports: [udp] }
`;

async function cli(fn: typeof verify, argv: string[]) {
  const c = capture();
  const code = await fn(argv, c.io);
  return { code, out: c.out(), err: c.err() };
}

t.test('--server forms', async (t) => {
  t.same(parseServer('127.0.0.1:5353'), { host: '127.0.0.1', port: 5353 });
  t.same(parseServer('192.0.2.1'), { host: '192.0.2.1', port: 53 });
  t.same(parseServer('[::1]:53'), { host: '::1', port: 53 });
  t.same(parseServer('::1'), { host: '::1', port: 53 });
  t.equal(parseServer('dns.example:53'), null, 'an address, not a name');
  t.equal(parseServer('127.0.0.1:70000'), null);
});

t.test('usage errors exit 2 with the usage', async (t) => {
  const dir = t.testdir();
  for (const argv of [
    [],
    ['--server', 'nowhere'],
    ['--server', server, '--tcp', '--transports', 'udp'],
    ['--server', server, '--transports', 'quic'],
    ['--server', server, '--block-address', 'x'],
    ['--server', server, '--timeout', 'forever'],
    ['--server', server, '--bogus'],
  ]) {
    const r = await cli(verify, argv);
    t.equal(r.code, 2, argv.join(' '));
    t.match(r.err, /^roje verify: .*\nUsage: roje verify --server/s);
  }
  const badSuite = join(dir, 'bad.yaml');
  writeFileSync(badSuite, 'name: x\ncases:\n  - { name: a, qname: x.test, expect: maybe }\n');
  const r = await cli(verify, ['--server', server, '--suite', badSuite]);
  t.equal(r.code, 2);
  t.match(r.err, /suite error in .*bad\.yaml: cases\[0\]\.expect: expected one of/);
  const noKey = await cli(verify, ['--server', server, '--sign-key', join(dir, 'missing.key')]);
  t.equal(noKey.code, 2);
  t.match(noKey.err, /cannot read the signing key/);
});

t.test('keygen, a signed run, verify-report', async (t) => {
  const dir = t.testdir();
  const suite = join(dir, 'small.yaml');
  writeFileSync(suite, SUITE);
  const key = join(dir, 'report.key');
  const kg = await cli(keygen, ['--out', key]);
  t.equal(kg.code, 0);
  t.match(kg.out, /fingerprint: (SHA256:\S+)/);
  const fingerprint = /fingerprint: (SHA256:\S+)/.exec(kg.out)?.[1];
  t.equal((await cli(keygen, ['--out', key])).code, 1, 'never replaces a key');
  t.equal((await cli(keygen, [])).code, 2);

  for (const out of ['report.json', 'report.html']) {
    const file = join(dir, out);
    const run = await cli(verify, ['--server', server, '--suite', suite, '--out', file, '--sign-key', key]);
    t.equal(run.code, 0, run.out + run.err);
    t.match(run.out, /^PASS small against 127\.0\.0\.1:\d+: 3\/3 checks passed$/m);
    t.match(run.out, /\(signed\)/);
    const ok = await cli(verifyReport, [file, '--key', `${key}.pub`]);
    t.equal(ok.code, 0, ok.err);
    t.equal(ok.out.split('\n')[0], `${file}: valid signature by ${fingerprint}`);

    const text = readFileSync(file, 'utf8');
    const changed = out.endsWith('.json')
      ? text.replace('"verdict": "pass"', '"verdict": "fail"')
      : text.replace('"verdict":"pass"', '"verdict":"fail"');
    t.not(changed, text);
    const tampered = join(dir, `tampered-${out}`);
    writeFileSync(tampered, changed);
    const bad = await cli(verifyReport, [tampered, '--key', `${key}.pub`]);
    t.equal(bad.code, 1);
    t.match(bad.err, /INVALID: the signature does not match/);

    const otherKey = join(dir, `other-${out}.key`);
    await cli(keygen, ['--out', otherKey]);
    t.equal((await cli(verifyReport, [file, '--key', `${otherKey}.pub`])).code, 1, 'another key');
  }
  const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as VerifyReport;
  t.equal(report.summary.cases, 3, 'the udp-only case once, the other twice');
  t.equal((await cli(verifyReport, [join(dir, 'report.json')])).code, 2, '--key is required');
  t.equal((await cli(verifyReport, ['--key', `${key}.pub`])).code, 2, 'FILE is required');
  t.equal((await cli(verifyReport, [join(dir, 'nope.json'), '--key', `${key}.pub`])).code, 2);
  t.equal((await cli(verifyReport, [join(dir, 'report.json'), '--key', suite])).code, 2, 'not a key');
});

t.test('--tcp asks over TCP only; a silent server fails every check, exit 1', async (t) => {
  const dir = t.testdir();
  const suite = join(dir, 'small.yaml');
  writeFileSync(suite, SUITE);
  const tcpOnly = join(dir, 'tcp.json');
  t.equal((await cli(verify, ['--server', server, '--suite', suite, '--tcp', '--out', tcpOnly])).code, 0);
  const r = JSON.parse(readFileSync(tcpOnly, 'utf8')) as VerifyReport;
  t.same(
    r.results.map((x) => x.transport),
    ['tcp'],
    'the udp-only case is left out',
  );

  const silent = await startFakeUpstream();
  t.teardown(() => silent.close());
  silent.behave('*', { silent: true });
  const out = join(dir, 'silent.json');
  const run = await cli(verify, [
    '--server',
    `127.0.0.1:${silent.port}`,
    '--suite',
    suite,
    '--timeout',
    '200ms',
    '--out',
    out,
  ]);
  t.equal(run.code, 1);
  const report = JSON.parse(readFileSync(out, 'utf8')) as VerifyReport;
  t.equal(report.summary.failed, 3);
  t.ok(report.results.every((x) => x.answer.error === 'timeout after 200 ms'));
});

t.test('sample options: a bad option or file exits 2 naming it, before any question', async (t) => {
  const dir = t.testdir();
  const list = join(dir, 'list.txt');
  writeFileSync(list, 'a.example.test\nb.example.test\n');
  const key = join(dir, 'sample.key');
  const cases: Array<[string[], RegExp]> = [
    [['--sample', 'adult'], /--sample "adult": expected CATEGORY=FILE/],
    [['--sample', `adult=${list}`, '--sample', `adult=${list}`], /category "adult" is given twice/],
    [
      ['--sample', `adult=${join(dir, 'missing.txt')}`],
      /--sample adult=\/.*missing\.txt cannot be read \(ENOENT\)/,
    ],
    [['--allow-sample', join(dir, 'gone.txt')], /--allow-sample .*gone\.txt cannot be read/],
    [['--sample', `adult=${list}`, '--min-rate', '1.5'], /--min-rate "1\.5": expected a rate from 0 to 1/],
    [['--sample', `adult=${list}`, '--max-overblock', 'low'], /--max-overblock "low"/],
    [
      ['--sample', `adult=${list}`, '--sample-size', '0'],
      /--sample-size "0": expected a whole number from 1/,
    ],
    [['--sample', `adult=${list}`, '--seed', '-1'], /--seed/],
    [['--abuse-min-entries', 'many'], /--abuse-min-entries "many"/],
  ];
  for (const [argv, message] of cases) {
    const r = await cli(verify, ['--server', server, '--sample-key', key, ...argv]);
    t.equal(r.code, 2, argv.join(' '));
    t.match(r.err, message);
  }
  const badKey = join(dir, 'bad.key');
  writeFileSync(badKey, 'not hex\n');
  const r = await cli(verify, ['--server', server, '--sample', `adult=${list}`, '--sample-key', badKey]);
  t.equal(r.code, 2);
  t.match(r.err, /bad\.key is not a key/);
});

t.test('a sample against a silent server: no answers are errors, never blocked', async (t) => {
  const dir = t.testdir();
  const suite = join(dir, 'small.yaml');
  writeFileSync(suite, SUITE);
  const list = join(dir, 'list.txt');
  writeFileSync(list, '0.0.0.0 a.example.test\n0.0.0.0 b.example.test\n0.0.0.0 c.example.test\n');
  const silent = await startFakeUpstream();
  t.teardown(() => silent.close());
  silent.behave('*', { silent: true });
  const out = join(dir, 'silent.json');
  const run = await cli(verify, [
    '--server',
    `127.0.0.1:${silent.port}`,
    '--suite',
    suite,
    '--timeout',
    '200ms',
    '--out',
    out,
    '--sample',
    `adult=${list}`,
    '--sample-key',
    join(dir, 'sample.key'),
    '--seed',
    '1',
  ]);
  t.equal(run.code, 1);
  const report = JSON.parse(readFileSync(out, 'utf8')) as VerifyReport;
  t.match(report.sample?.results[0], { asked: 3, blocked: 0, errors: 3, rate: 0, verdict: 'fail' });
  t.ok(report.sample?.results[0].names.every((n) => n.answers === 'TTTT'));
  t.match(run.out, /FAIL sample adult: 0\/3 blocked .*3 name\(s\) without a usable answer/);
  t.match(run.err, /sample: seed 1 .*sample\.key \(id [0-9a-f]{16}, created now\)/);
  t.notOk(/[abc]\.example\.test/.test(readFileSync(out, 'utf8') + run.out + run.err), 'no name in clear');
});

t.test('--sample abuse=FILE: the abuse category judged by the sample, no entry in any output', async (t) => {
  const dir = t.testdir();
  const suite = join(dir, 'plain.yaml');
  writeFileSync(
    suite,
    'name: plain\ncases:\n  - { name: resolves, qname: www.example.test, expect: allowed }\n',
  );
  const withAbuse = await startRoje({
    upstreams: [udpUrl(fake)],
    lists: [{ category: 'abuse', name: 'iwf', path: ABUSE_CANARY_FILE, format: 'abuse' }],
  });
  t.teardown(() => withAbuse.stop());
  const out = join(dir, 'abuse.html');
  // The certifier's abuse list, as such lists are written (URLs), given as it is.
  const run = await cli(verify, [
    '--server',
    `127.0.0.1:${withAbuse.port}`,
    '--suite',
    suite,
    '--out',
    out,
    '--sample',
    `abuse=${ABUSE_CANARY_FILE}`,
    '--sample-key',
    join(dir, 'sample.key'),
    '--min-rate',
    '0.1',
  ]);
  const report = JSON.parse(extractEmbeddedReport(readFileSync(out, 'utf8'))) as VerifyReport;
  const abuse = report.sample?.results.find((r) => r.category === 'abuse');
  t.equal(abuse?.asked, 3, 'the three hosts of the feed');
  t.ok((abuse?.blocked ?? 0) >= 2, 'the whole-domain and site entries are blocked');
  t.match(report.abuse, { evidence: 'sample', verdict: 'pass', reason: /certifier's sample/ });
  t.match(run.out, /PASS abuse category \(evidence: certifier sample\)/);
  const outputs = readFileSync(out, 'utf8') + run.out + run.err;
  t.same(
    ABUSE_CANARY_SECRETS.filter((s) => outputs.includes(s)),
    [],
    'no abuse entry, label or part of one in the report or the output',
  );
});
