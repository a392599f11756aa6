/**
 * The HTML verify report in Debian's headless chromium: a real run of the friendly-wifi suite against
 * a real roje (small adult list that misses one site, so the page shows both verdicts), signed, loaded
 * as the file a certifier opens. Self-contained (nothing requested), the banner and table say what
 * passed and failed, print styles apply. ROJE_UPDATE_SCREENSHOTS=1 writes docs/verify-report.png.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { judgeAbuse } from '../../src/verify/abuse-evidence.js';
import { renderReportHtml } from '../../src/verify/html.js';
import { blockAddressSet } from '../../src/verify/judge.js';
import type { VerifyReport } from '../../src/verify/report.js';
import { runSuite } from '../../src/verify/runner.js';
import { runSample } from '../../src/verify/sample-run.js';
import { generateSigningKeyPair, signReport, verifySignedReport } from '../../src/verify/sign.js';
import { loadSuite } from '../../src/verify/suite.js';
import { BROWSER_TEST, openContext } from '../helpers/browser.js';
import { ABUSE_CANARY_FILE } from '../helpers/canaries.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { pngInfo } from '../helpers/png.js';
import { startRoje, udpUrl } from '../helpers/roje.js';

const SHOTS = join(import.meta.dirname, '..', '..', 'docs');
const UPDATE = process.env.ROJE_UPDATE_SCREENSHOTS === '1';

const suite = await loadSuite('friendly-wifi');
const fake = await startFakeUpstream({ apexes: ['com', 'org', 'uk', 'al', 'net', 'google', 'arpa'] });
t.teardown(() => fake.close());
let n = 0;
for (const c of suite.cases) fake.zone.set(c.qname, 'A', [{ data: `198.51.100.${++n}`, ttl: 300 }]);
for (const safe of [
  'forcesafesearch.google.com',
  'restrictmoderate.youtube.com',
  'strict.bing.com',
  'safe.duckduckgo.com',
]) {
  fake.zone.set(safe, 'A', [{ data: `203.0.113.${++n}`, ttl: 300 }]);
}

t.test('the report in chromium: verdicts, self-contained, printable', BROWSER_TEST, async (t) => {
  const dir = t.testdir();
  // A small adult list without xhamster.com: that one site fails, over UDP and TCP.
  const adult = join(dir, 'adult.txt');
  writeFileSync(adult, 'pornhub.com\nxvideos.com\nxnxx.com\n');
  const doh = join(dir, 'doh.txt');
  writeFileSync(doh, 'dns.google\ncloudflare-dns.com\n');
  const roje = await startRoje(
    {
      upstreams: [udpUrl(fake)],
      lists: [
        { category: 'adult', path: adult },
        { category: 'doh-bypass', path: doh },
        { category: 'abuse', name: 'canary', path: ABUSE_CANARY_FILE, format: 'abuse' },
      ],
    },
    { t },
  );
  const keys = generateSigningKeyPair();
  const report = signReport(
    await runSuite({ server: { host: roje.host, port: roje.port }, suite }),
    keys.privateKeyPem,
  );
  t.equal(report.summary.failed, 2, 'xhamster.com over UDP and TCP');
  const html = renderReportHtml(report);
  t.ok(verifySignedReport(html, keys.publicKeyPem).valid);

  const { page, blocked, errors } = await openContext(t, { viewport: { width: 1280, height: 1000 } });
  await page.setContent(html, { waitUntil: 'load' });
  t.match(await page.title(), /^roje verify: friendly-wifi against 127\.0\.0\.1:\d+ — FAIL$/);
  t.equal(
    await page.locator('#verdict').innerText(),
    `FAIL: ${report.summary.passed} of ${report.summary.cases} checks passed, 2 failed`,
  );
  t.equal(await page.locator('#results tbody tr').count(), report.results.length, 'a row per check');
  const failRows = page.locator('#results tbody tr.fail');
  t.equal(await failRows.count(), 2);
  t.match(await failRows.first().innerText(), /xhamster\.com[\s\S]*FAIL[\s\S]*resolved: not blocked/);
  t.equal(
    await page.evaluate<string>(
      `getComputedStyle(document.querySelector('#results tbody tr.fail')).backgroundColor`,
    ),
    'rgb(252, 232, 232)',
    'failures stand out',
  );
  t.equal(
    await page.evaluate<string>(`getComputedStyle(document.getElementById('verdict')).backgroundColor`),
    'rgb(252, 232, 232)',
  );
  t.match(await page.locator('body').innerText(), /Ed25519, key SHA256:/, 'names the signing key');
  t.match(
    await page.locator('#categories').innerText(),
    /adult\s+12\s+10\s+2 FAILED/,
    'the failing area at a glance',
  );

  mkdirSync(SHOTS, { recursive: true });
  const png = await page.screenshot({
    path: UPDATE ? join(SHOTS, 'verify-report.png') : join(dir, 'verify-report.png'),
    animations: 'disabled',
  });
  const info = pngInfo(png);
  t.equal(info.width, 1280);
  t.equal(info.height, 1000);
  t.same(info.topLeft, [255, 255, 255], 'the page colour, rendered');
  t.ok(png.length > 20_000, `a non-trivial picture (${png.length} bytes)`);

  await page.emulateMedia({ media: 'print' });
  t.equal(
    await page.evaluate<string>('getComputedStyle(document.body).paddingTop'),
    '0px',
    'print styles apply',
  );
  t.same(errors, [], 'no console or page error');
  t.same(blocked, [], 'nothing was requested: the page is self-contained');
});

t.test(
  'a sampled run in chromium: the sample and abuse sections, no name in the page',
  BROWSER_TEST,
  async (t) => {
    const dir = t.testdir();
    // The resolver blocks 3 of the certifier's 10 names: the sample fails, visibly.
    const adult = join(dir, 'adult.txt');
    writeFileSync(adult, 'pornhub.com\nxvideos.com\nxnxx.com\n');
    const roje = await startRoje(
      {
        upstreams: [udpUrl(fake)],
        lists: [
          { category: 'adult', path: adult },
          { category: 'abuse', name: 'canary', path: ABUSE_CANARY_FILE, format: 'abuse' },
        ],
      },
      { t },
    );
    const secret = [
      'pornhub.com',
      'xvideos.com',
      'xnxx.com',
      ...Array.from({ length: 7 }, (_, i) => `s${i}.secret.com`),
    ];
    const popular = Array.from({ length: 10 }, (_, i) => `p${i}.popular.org`);
    for (const name of [...secret, ...popular]) {
      fake.zone.set(name, 'A', [{ data: '198.51.100.200', ttl: 300 }]);
      fake.zone.set(`www.${name}`, 'A', [{ data: '198.51.100.200', ttl: 300 }]);
    }
    const server = { host: roje.host, port: roje.port };
    const list = (names: string[]) => ({ file: 'x', sha256: 'a'.repeat(64), names, skipped: 0 });
    const base = await runSuite({ server, suite });
    const sample = await runSample({
      specs: [
        { kind: 'block', category: 'adult', list: list(secret), threshold: 0.9 },
        { kind: 'allow', category: 'allow', list: list(popular), threshold: 0.3 },
      ],
      seed: 7,
      sampleSize: 100,
      key: { key: Buffer.alloc(32, 1), id: '0123456789abcdef' },
      server,
      transports: ['udp', 'tcp'],
      timeoutMs: 2000,
      blockAddresses: blockAddressSet(),
      qps: 0,
    });
    const report: VerifyReport = {
      ...base,
      sample,
      abuse: judgeAbuse({ identity: base.identity, minEntries: 1000 }),
    };
    const html = renderReportHtml(report);
    // pornhub.com and friends are in the page (the suite asks them); the secret names are not.
    t.notOk(/s\d\.secret\.com|p\d\.popular\.org/.test(html), 'no sampled name in the page');

    const { page, errors, blocked } = await openContext(t, { viewport: { width: 1280, height: 1000 } });
    await page.setContent(html, { waitUntil: 'load' });
    t.match(
      await page.locator('#verdict').innerText(),
      /^FAIL: .*samples 1 of 2 passed; abuse category FAILED$/,
    );
    t.match(
      await page.locator('#sample tbody tr.fail').innerText(),
      /adult[\s\S]*10\s+3\s+7\s+0\s+30\.0 %[\s\S]*FAIL/,
    );
    t.match(
      await page.locator('#sample tbody tr.pass').innerText(),
      /allow \(over-blocking\)[\s\S]*10\s+0\s+10/,
    );
    t.match(await page.locator('#abuse').innerText(), /roje policy string[\s\S]*FAIL[\s\S]*fewer than 1000/);
    t.equal(await page.locator('#sample-names tbody tr').count(), 7, 'the 7 names not blocked, as hashes');
    await page.locator('details > summary').first().click();
    await page.locator('#sample').scrollIntoViewIfNeeded();
    await page.screenshot({
      path: UPDATE ? join(SHOTS, 'verify-report-sample.png') : join(dir, 'verify-report-sample.png'),
      animations: 'disabled',
    });
    t.same(errors, [], 'no console or page error');
    t.same(blocked, [], 'self-contained');
  },
);
