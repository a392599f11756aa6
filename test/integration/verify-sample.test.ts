/**
 * `roje verify --sample adult=FILE --allow-sample FILE` over real sockets on 127.0.0.1, the certifier's
 * list being a real adult list (oisd nsfw small, RPZ) that the resolver under test did not load:
 *  - roje with two other real adult lists (hagezi nsfw, Sinfonietta): a high block rate (about 84 %:
 *    public lists disagree), low over-blocking;
 *  - roje with a three-name deny list: a block rate near 0;
 *  - an unfiltered resolver (a fake DNS server answering every name): 0.
 * Their intervals separate; no sampled name appears in the JSON or HTML report (nor on stdout or
 * stderr), only keyed hashes that the key's holder can match; the signature covers the sample.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { keygen } from '../../src/cli/keygen.js';
import { verify } from '../../src/cli/verify.js';
import { verifyReport } from '../../src/cli/verify-report.js';
import { extractEmbeddedReport } from '../../src/verify/html.js';
import type { SampleResult, VerifyReport } from '../../src/verify/report.js';
import { loadOrCreateSampleKey, nameHash } from '../../src/verify/sample-key.js';
import { drawSample, readSampleList } from '../../src/verify/sample-list.js';
import { ABUSE_CANARY_FILE } from '../helpers/canaries.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { capture } from '../helpers/io.js';
import { startRoje, udpUrl } from '../helpers/roje.js';

const DATA = fileURLToPath(new URL('../../../shared/data/', import.meta.url));
if (!existsSync(DATA)) {
  t.plan(0, `the shared data folder ${DATA} is absent: sampled verification tests skipped`);
  process.exit(0);
}

const SIZE = 300;
const SEED = 20261206;
const dir = t.testdir();

function unxz(file: string): string {
  const r = spawnSync('xz', ['-dc', join(DATA, file)], { maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`xz -dc ${file}: ${r.stderr}`);
  const out = join(dir, file.replace(/\//g, '-').replace(/\.xz$/, ''));
  writeFileSync(out, r.stdout);
  return out;
}

// The certifier's secret list, and popular names that must keep resolving (Tranco's top 1,000).
const certifierList = unxz('rpz/oisd-nsfw_small.rpz.xz');
const tranco = readFileSync(unxz('workload/tranco-top50k.2025-02.csv.xz'), 'utf8')
  .split('\n')
  .slice(0, 1000)
  .map((line) => line.slice(line.indexOf(',') + 1).trim());
const allowList = join(dir, 'popular.txt');
writeFileSync(allowList, `# popular names\n${tranco.join('\n')}\n`);
const deny3 = join(dir, 'three.txt');
writeFileSync(deny3, 'pornhub.com\nxvideos.com\nxhamster.com\n');
// The suite part of the run kept to the abuse canary (roje-specific) and one name that must resolve.
const suite = join(dir, 'suite.yaml');
writeFileSync(
  suite,
  `name: sample-run
cases:
  - { name: abuse canary, qname: canary-domain.abuse.roje.test, expect: blocked, category: abuse, requires: roje }
  - { name: control, qname: www.control.example.test, expect: allowed, category: control }
`,
);

// What the certifier's sample will be (the same draw roje verify makes), to look for in the outputs.
const list = await readSampleList(certifierList);
const sampled = drawSample(list.names, SIZE, SEED);
const allowSampled = drawSample((await readSampleList(allowList)).names, SIZE, SEED);
const secrets = [...new Set([...sampled, ...sampled.map((n) => `www.${n}`)])];

// The internet as an unfiltered resolver sees it: every sampled name and its www. form resolves.
const fake = await startFakeUpstream({ apexes: ['example.test'] });
t.teardown(() => fake.close());
fake.zone.set('www.control.example.test', 'A', [{ data: '198.51.100.8', ttl: 300 }]);
for (const name of [...secrets, ...allowSampled, ...allowSampled.map((n) => `www.${n}`)]) {
  fake.zone.set(name, 'A', [{ data: '198.51.100.7', ttl: 300 }]);
}

const signKey = join(dir, 'sign.key');
t.equal(await keygen(['--out', signKey], capture().io), 0, 'a signing key');
const sampleKeyFile = join(dir, 'certifier', 'sample.key');

async function runSample(t: Test, server: string, out: string, extra: string[] = []) {
  const cap = capture();
  const code = await verify(
    [
      '--server',
      server,
      '--suite',
      suite,
      '--out',
      out,
      '--sign-key',
      signKey,
      '--sample',
      `adult=${certifierList}`,
      '--allow-sample',
      allowList,
      '--sample-size',
      String(SIZE),
      '--seed',
      String(SEED),
      '--sample-key',
      sampleKeyFile,
      '--min-rate',
      '0.7',
      '--max-overblock',
      '0.1',
      '--timeout',
      '1s',
      ...extra,
    ],
    cap.io,
  );
  const text = readFileSync(out, 'utf8');
  const report = JSON.parse(out.endsWith('.html') ? extractEmbeddedReport(text) : text) as VerifyReport;
  const adult = report.sample?.results.find((r) => r.category === 'adult') as SampleResult;
  const allow = report.sample?.results.find((r) => r.kind === 'allow') as SampleResult;
  // The confidential names: in no output, in any form.
  const outputs = `${text}\n${cap.out()}\n${cap.err()}`;
  const leaked = secrets.filter((name) => outputs.includes(name));
  t.same(leaked, [], 'no sampled name in the report, on stdout or on stderr');
  t.equal(adult.asked, SIZE, `${SIZE} names drawn`);
  t.equal(report.sample?.seed, SEED);
  t.comment(
    `${server}: adult ${adult.blocked}/${adult.asked} [${adult.interval.low}, ${adult.interval.high}] errors ${adult.errors}; ` +
      `allow over-blocked ${allow.blocked}/${allow.asked} [${allow.interval.low}, ${allow.interval.high}]`,
  );
  return { code, report, adult, allow, text, stdout: cap.out(), stderr: cap.err() };
}

const rates: Record<string, SampleResult> = {};

t.test('roje with real adult lists: a high block rate, low over-blocking, signed', async (t) => {
  const roje = await startRoje(
    {
      upstreams: [udpUrl(fake)],
      lists: [
        { category: 'adult', path: unxz('adult/hagezi-nsfw.adblock.txt.xz') },
        { category: 'adult', name: 'sinfonietta', path: unxz('adult/sinfonietta.pornography-hosts.xz') },
        { category: 'abuse', name: 'canary', path: ABUSE_CANARY_FILE, format: 'abuse' },
      ],
    },
    { t },
  );
  const out = join(dir, 'real.html');
  const r = await runSample(t, `127.0.0.1:${roje.port}`, out, ['--abuse-min-entries', '1']);
  rates.real = r.adult;
  t.ok(r.adult.rate > 0.75, `block rate ${r.adult.rate} > 0.75`);
  t.equal(r.adult.verdict, 'pass');
  t.ok(
    r.adult.interval.low <= r.adult.rate && r.adult.rate <= r.adult.interval.high,
    'the rate is inside its interval',
  );
  t.ok(r.allow.rate < 0.1, `over-blocking ${r.allow.rate} < 0.1 (Tranco's top holds some adult sites)`);
  t.ok(r.allow.notBlocked > 0.85 * SIZE, 'popular names resolve');
  t.match(r.report.abuse, { evidence: 'roje-policy', verdict: 'pass' }, 'abuse judged by the policy string');
  t.match(r.stdout, /^PASS sample adult: \d+\/300 blocked/m);
  t.match(r.stderr, new RegExp(`seed ${SEED}`));
  t.equal(r.code, 0, r.stdout);
  t.equal(statSync(sampleKeyFile).mode & 0o777, 0o600, 'the sample key was created 0600');

  // The key's holder settles a dispute: each hash is HMAC(key, name) of a name of the list.
  const key = await loadOrCreateSampleKey(sampleKeyFile);
  t.equal(r.report.sample?.keyId, key.id);
  t.notOk(r.text.includes(readFileSync(sampleKeyFile, 'utf8').trim()), 'the key is not in the report');
  const byHash = new Map(sampled.map((name) => [nameHash(key.key, name), name]));
  t.ok(
    r.adult.names.every((n) => byHash.has(n.hash)),
    'every hash is one of the sampled names',
  );

  // The signature covers the sample: a count changed in the embedded report is caught.
  const pub = `${signKey}.pub`;
  t.equal(await verifyReport([out, '--key', pub], capture().io), 0, 'the HTML report verifies');
  const tampered = structuredClone(r.report);
  (tampered.sample as NonNullable<VerifyReport['sample']>).results[0].blocked += 1;
  const tamperedFile = join(dir, 'tampered.json');
  writeFileSync(tamperedFile, JSON.stringify(tampered));
  const cap = capture();
  t.equal(await verifyReport([tamperedFile, '--key', pub], cap.io), 1, 'a changed count fails');
  t.match(cap.err(), /INVALID: the signature does not match/);
});

t.test('roje with a three-name deny list: almost nothing blocked, fails', async (t) => {
  const roje = await startRoje(
    { upstreams: [udpUrl(fake)], lists: [{ category: 'adult', path: deny3 }] },
    { t },
  );
  const r = await runSample(t, `127.0.0.1:${roje.port}`, join(dir, 'three.json'));
  rates.three = r.adult;
  t.ok(r.adult.rate < 0.05, `block rate ${r.adult.rate} < 0.05`);
  t.equal(r.adult.verdict, 'fail');
  t.ok(r.allow.blocked <= 3, 'at most its three names of the popular ones blocked');
  t.match(r.report.abuse, { evidence: 'roje-policy', verdict: 'fail' }, 'no abuse source: fails');
  t.match(r.stdout, /^FAIL sample adult/m);
  t.equal(r.code, 1);
});

t.test(
  'an unfiltered resolver: nothing blocked; the canary is not applicable; abuse not judged',
  async (t) => {
    const r = await runSample(t, `127.0.0.1:${fake.port}`, join(dir, 'unfiltered.json'));
    rates.unfiltered = r.adult;
    t.equal(r.adult.blocked, 0);
    t.equal(r.adult.notBlocked, SIZE, 'every sampled name resolved');
    t.equal(r.adult.verdict, 'fail');
    const canary = r.report.results.filter((c) => c.category === 'abuse');
    t.ok(
      canary.length > 0 && canary.every((c) => c.verdict === 'not-applicable'),
      'canary checks: not applicable',
    );
    t.match(r.report.abuse, { evidence: 'none', verdict: 'fail' });
    t.equal(r.code, 1);
  },
);

t.test('the three separate: the intervals do not overlap', async (t) => {
  const { real, three, unfiltered } = rates;
  if (real === undefined || three === undefined || unfiltered === undefined) {
    t.fail('a run above failed');
    return;
  }
  t.ok(real.interval.low > three.interval.high, 'real list above the three-name list');
  t.ok(three.rate >= unfiltered.rate, 'three-name list at or above unfiltered');
  t.ok(real.interval.low > unfiltered.interval.high, 'real list above unfiltered');
});
