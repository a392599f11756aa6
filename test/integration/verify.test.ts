/**
 * `roje verify` with the built-in friendly-wifi suite, over real sockets on 127.0.0.1, against:
 * roje with real adult and DoH lists (../shared/data) and the bundled abuse canary feed -> every check
 * passes, exit 0; the same roje without its adult list -> exactly the adult checks fail, exit 1;
 * Debian's unbound forwarding to the same fake upstream with no filtering -> fails, exit 1.
 * The fake upstream serves every name of the suite, so an unfiltered resolver resolves them all.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { verify } from '../../src/cli/verify.js';
import { exchange } from '../../src/verify/client.js';
import type { VerifyReport } from '../../src/verify/report.js';
import { loadSuite } from '../../src/verify/suite.js';
import { ABUSE_CANARY, ABUSE_CANARY_FILE } from '../helpers/canaries.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { capture } from '../helpers/io.js';
import { sleep, startRoje, udpUrl } from '../helpers/roje.js';

const DATA = fileURLToPath(new URL('../../../shared/data/', import.meta.url));
if (!existsSync(DATA)) {
  t.plan(0, `the shared data folder ${DATA} is absent: verify integration tests skipped`);
  process.exit(0);
}

const suite = await loadSuite('friendly-wifi');
const ADULT_CASES = suite.cases.filter((c) => c.category === 'adult').map((c) => c.name);

const fake = await startFakeUpstream({ apexes: ['com', 'org', 'uk', 'al', 'net', 'google', 'arpa'] });
t.teardown(() => fake.close());
let n = 0;
const address = () => `198.51.100.${++n}`;
// Every name the suite asks, as the internet would answer it without a filter.
for (const c of suite.cases) {
  if (c.qtype === 'A') fake.zone.set(c.qname, 'A', [{ data: address(), ttl: 300 }]);
  if (c.qtype === 'AAAA') fake.zone.set(c.qname, 'AAAA', [{ data: '2001:db8::1', ttl: 300 }]);
}
for (const safe of [
  'forcesafesearch.google.com',
  'restrict.youtube.com',
  'restrictmoderate.youtube.com',
  'strict.bing.com',
  'safe.duckduckgo.com',
]) {
  fake.zone.set(safe, 'A', [{ data: address(), ttl: 300 }]);
}

/** The xz-compressed shared list, decompressed into the test folder. */
function unxz(dir: string, file: string): string {
  const r = spawnSync('xz', ['-dc', join(DATA, file)], { maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`xz -dc ${file}: ${r.stderr}`);
  const out = join(dir, file.replace(/\//g, '-').replace(/\.xz$/, ''));
  writeFileSync(out, r.stdout);
  return out;
}

async function filteringRoje(t: Test, withAdult: boolean) {
  const dir = t.testdir();
  const lists = [
    ...(withAdult ? [{ category: 'adult', path: unxz(dir, 'adult/hagezi-nsfw.adblock.txt.xz') }] : []),
    { category: 'doh-bypass', path: unxz(dir, 'rpz/hagezi-doh.rpz.xz') },
    { category: 'abuse', name: 'canary', path: ABUSE_CANARY_FILE, format: 'abuse' },
  ];
  return startRoje({ upstreams: [udpUrl(fake)], lists }, { t });
}

async function runVerify(t: Test, server: string, extra: string[] = []) {
  const out = join(t.testdir(), 'report.json');
  const cap = capture();
  const code = await verify(['--server', server, '--out', out, '--timeout', '2s', ...extra], cap.io);
  const report = JSON.parse(readFileSync(out, 'utf8')) as VerifyReport;
  return { code, report, stdout: cap.out(), stderr: cap.err() };
}

const failedNames = (r: VerifyReport) => [
  ...new Set(r.results.filter((x) => x.verdict === 'fail').map((x) => x.name)),
];

t.test('against roje with every category on: every check passes, exit 0', async (t) => {
  const roje = await filteringRoje(t, true);
  // The bundled canary feed holds a handful of entries: the certifier's minimum is lowered to match.
  const { code, report, stdout } = await runVerify(t, `127.0.0.1:${roje.port}`, ['--abuse-min-entries', '1']);
  t.same(failedNames(report), [], 'no failures');
  t.match(report.abuse, { evidence: 'roje-policy', verdict: 'pass' }, 'abuse judged by the policy string');
  t.equal(code, 0);
  t.equal(report.summary.cases, suite.cases.length * 2, 'each case over UDP and TCP');
  t.equal(report.summary.failed, 0);
  t.same(new Set(report.results.map((r) => r.transport)), new Set(['udp', 'tcp']));
  t.match(stdout, /^PASS friendly-wifi against 127\.0\.0\.1:\d+: (\d+)\/\1 checks passed$/m);
  const canary = report.results.find((r) => r.qname === ABUSE_CANARY.domain);
  t.match(canary?.answer, { rcode: 'NXDOMAIN', ede: [{ code: 15 }] }, 'the canary: NXDOMAIN with EDE 15');
  const google = report.results.find((r) => r.qname === 'www.google.com');
  t.match(google?.answer.records[0], { type: 'CNAME', data: 'forcesafesearch.google.com' });
  t.equal(report.suite.sha256.length, 64);
  t.match(report.identity['version.bind'], { rcode: String }, 'the CH questions were asked');
});

t.test('against roje without its adult list: exactly the adult checks fail, exit 1', async (t) => {
  const roje = await filteringRoje(t, false);
  const { code, report, stdout } = await runVerify(t, `127.0.0.1:${roje.port}`, ['--abuse-min-entries', '1']);
  t.equal(code, 1);
  t.same(failedNames(report).sort(), [...ADULT_CASES].sort());
  t.equal(report.summary.failed, ADULT_CASES.length * 2, 'over both transports');
  t.ok(
    report.results.filter((r) => r.verdict === 'fail').every((r) => r.reason === 'resolved: not blocked'),
    'each resolved to the site',
  );
  t.match(stdout, /FAIL adult site: pornhub\.com A udp expected blocked: resolved: not blocked/);
  t.match(stdout, /^FAIL friendly-wifi/m);
});

/** A UDP port that was free a moment ago (unbound binds UDP and TCP on it), and may not be any more. */
async function freePort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((ok) => s.bind(0, '127.0.0.1', ok));
  const port = s.address().port;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

t.test('against unbound with no filtering: it fails, exit 1', async (t) => {
  if (!existsSync('/usr/sbin/unbound')) {
    t.fail('/usr/sbin/unbound is missing (apt-get install unbound)');
    return;
  }
  const dir = t.testdir();
  const conf = join(dir, 'unbound.conf');
  writeFileSync(
    join(dir, 'root.hints'),
    '. 3600000 IN NS a.root.verify.invalid.\na.root.verify.invalid. 3600000 IN A 127.0.0.1\n',
  );
  // Loopback only: it listens on 127.0.0.1, refuses everyone else, and forwards everything to the fake.
  const unboundConf = (port: number) =>
    `server:
  interface: 127.0.0.1
  port: ${port}
  do-ip6: no
  username: ""
  chroot: ""
  directory: "${dir}"
  pidfile: ""
  use-syslog: no
  logfile: ""
  verbosity: 0
  num-threads: 1
  so-reuseport: no
  access-control: 0.0.0.0/0 refuse
  access-control: 127.0.0.0/8 allow
  outgoing-interface: 127.0.0.1
  do-not-query-localhost: no
  root-hints: "${join(dir, 'root.hints')}"
  module-config: "iterator"
  qname-minimisation: no
remote-control:
  control-enable: no
forward-zone:
  name: "."
  forward-addr: 127.0.0.1@${fake.port}
`;
  // unbound cannot be told to take port 0 and say which it got: it is given one that was free a moment
  // ago. Another program may take it first (unbound then exits): a new port is tried, up to 3 times.
  let port = 0;
  let ready = false;
  let stderr = '';
  for (let attempt = 0; attempt < 3 && !ready; attempt++) {
    port = await freePort();
    writeFileSync(conf, unboundConf(port));
    const child = spawn('/usr/sbin/unbound', ['-d', '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    // Bounded lifetime: killed when the test ends, and after 90 s whatever happens.
    const guard = setTimeout(() => child.kill('SIGKILL'), 90_000);
    t.teardown(() => {
      clearTimeout(guard);
      child.kill('SIGKILL');
    });
    const server = { host: '127.0.0.1', port };
    for (let i = 0; i < 50 && !ready && child.exitCode === null; i++) {
      const e = await exchange(server, {
        qname: 'www.wikipedia.org',
        qtype: 'A',
        transport: 'udp',
        timeoutMs: 200,
      });
      ready = e.rcode === 'NOERROR';
      if (!ready) await sleep(100);
    }
    // An answer counts only from a running unbound, not from whatever else took the port.
    ready &&= child.exitCode === null;
    if (!ready) child.kill('SIGKILL');
  }
  t.ok(ready, `unbound answers on 127.0.0.1:${port} ${stderr}`);
  if (!ready) return;
  const { code, report } = await runVerify(t, `127.0.0.1:${port}`);
  t.equal(code, 1);
  const failed = failedNames(report);
  // The canary is roje's own: not applicable to unbound, and the abuse category is not judged at all.
  const canary = report.results.filter((r) => r.category === 'abuse');
  t.ok(canary.length > 0 && canary.every((r) => r.verdict === 'not-applicable'), 'canary: not applicable');
  t.match(report.abuse, { evidence: 'none', verdict: 'fail' }, 'abuse: no evidence, a fail');
  for (const name of [...ADULT_CASES, 'Google SafeSearch', 'Firefox DoH canary', 'DoH endpoint (Google)']) {
    t.ok(failed.includes(name), `${name} fails`);
  }
  const controls = report.results.filter((r) => r.category === 'control');
  t.ok(
    controls.length > 0 && controls.every((r) => r.verdict === 'pass'),
    'the allowed controls pass: it resolves',
  );
});
