/**
 * Secrets in a config never show in any output of it (issue #18). A property loop puts random secrets
 * in every secret-bearing place (feed URL query values, fleet pull and signature URL query values, a DoH
 * upstream's query, admin token hashes) and checks the config view, `check-config`'s description and
 * the URL redactions; then two real roje instances with such configs are asked every GET route of the
 * admin API (listed by its own OpenAPI document) while their logs are captured at debug level.
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { hashToken } from '../../src/admin/auth.js';
import { describeConfig } from '../../src/config/describe.js';
import { validateConfig } from '../../src/config/load.js';
import { redactConfig, redactUrl, redactUrlIn, redactUrlText } from '../../src/config/redact.js';
import { redactUpstreamUrl } from '../../src/upstream/url.js';
import { adminClient } from '../helpers/admin-client.js';
import { query, startFakeUpstream } from '../helpers/fake-upstream.js';
import { spawnRoje } from '../helpers/process.js';
import { rng } from '../helpers/rng.js';
import { type Roje, startRoje, udpUrl } from '../helpers/roje.js';

const fleetKey = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' });
const dir = t.testdir({ 'fleet.pub': String(fleetKey) });

/** A random secret: long enough that a chance match in other output is impossible. */
function secretMaker(seed: number) {
  const next = rng(seed);
  const made: string[] = [];
  return {
    made,
    secret(): string {
      const s = `S${Array.from({ length: 4 }, () => next().toString(36)).join('')}`;
      made.push(s);
      return s;
    },
  };
}

function leaks(text: string, secrets: readonly string[]): string[] {
  return secrets.filter((s) => text.includes(s));
}

t.test('the URL redactions keep no user info, query value or http fragment', async (t) => {
  t.equal(
    redactUrl('https://u:p@lists.example/a.txt?key=abc&x=1#f'),
    'https://lists.example/a.txt?key=REDACTED&x=REDACTED',
  );
  t.equal(
    redactUrlIn('tls://192.0.2.1:853#dns.example'),
    'tls://192.0.2.1:853#dns.example',
    'servername kept',
  );
  t.equal(redactUrlIn('udp://127.0.0.1:53'), 'udp://127.0.0.1:53');
  t.equal(redactUrlIn('plain text ?key=1'), 'plain text ?key=1', 'not a URL: as is');
  t.equal(
    redactUpstreamUrl('https://dns.example/dns-query?token=abc'),
    'https://dns.example/dns-query?token=REDACTED',
  );
  t.equal(
    redactUrlText('https://u:pw@ex ample/l?key=abc'),
    'https://ex ample/l?…',
    'an unparsable URL as written, less secrets',
  );
});

t.test('property: no configured secret in the config view or the check-config description', async (t) => {
  for (let seed = 1; seed <= 40; seed++) {
    const { made, secret } = secretMaker(seed);
    const token = secret();
    const fleet = seed % 2 === 0;
    const queryOf = () =>
      Array.from({ length: 1 + (seed % 3) }, (_, i) => `${i === 0 ? 'key' : `p${i}`}=${secret()}`).join('&');
    const raw: Record<string, unknown> = {
      upstreams: [
        'udp://127.0.0.1:5300',
        { url: `https://127.0.0.1:8443/dns-query?${queryOf()}`, timeout: '2s' },
        'tls://127.0.0.1:853#dns.example',
      ],
      admin: { listen: null, tokens: [{ name: 'ops', role: 'admin', sha256: hashToken(token) }] },
      selfTest: { enabled: false },
      stateDir: dir,
    };
    if (fleet) {
      raw.fleet = {
        pull: {
          url: `https://central.example/api/v1/lists/artifact?${queryOf()}`,
          signatureUrl: `https://central.example/sig?${queryOf()}`,
          publicKeyFile: join(dir, 'fleet.pub'),
        },
      };
    } else {
      raw.lists = Array.from({ length: 1 + (seed % 4) }, (_, i) => ({
        name: `feed${i}`,
        category: i === 0 ? 'abuse' : 'adult',
        url: `https://lists.example/${i}.txt?${queryOf()}`,
      }));
    }
    const config = await validateConfig(raw, null);
    const secrets = [...made, hashToken(token)];
    const shown = [JSON.stringify(redactConfig(config)), describeConfig(config).join('\n')].join('\n');
    const found = leaks(shown, secrets);
    if (found.length > 0) {
      t.fail(`seed ${seed}: ${found.join(', ')} shown`);
      return;
    }
  }
  t.pass('40 configs, no secret shown');
});

t.test('a config error about a URL does not echo its secret', async (t) => {
  const bad = [
    { upstreams: ['https://user:hunter2secret@127.0.0.1/dns-query'] },
    {
      upstreams: ['https://127.0.0.1/dns-query?key=hunter2secret#frag'],
      lists: [{ category: 'adult', url: 'ftp://x/?key=hunter2secret' }],
    },
    {
      upstreams: ['udp://127.0.0.1:53'],
      lists: [{ category: 'adult', url: 'https://u:hunter2secret@x/l.txt' }],
    },
    {
      upstreams: ['udp://127.0.0.1:53'],
      lists: [{ category: 'adult', url: 'https://bad host/?key=hunter2secret' }],
    },
  ];
  for (const raw of bad) {
    const err = await validateConfig({ selfTest: { enabled: false }, ...raw }, null).then(
      () => null,
      (e: Error) => e,
    );
    t.ok(err !== null, `rejected: ${JSON.stringify(raw).slice(0, 60)}`);
    t.notMatch(err?.message ?? '', /hunter2secret/, `no secret in: ${err?.message.slice(0, 120)}`);
  }
});

/** Every GET route without a path parameter, from the API's own OpenAPI document, with its body. */
async function everyGet(roje: Roje, token: string): Promise<Array<{ path: string; text: string }>> {
  const client = adminClient(roje, token);
  const openapi = await client.get('/api/v1/openapi.json');
  const paths = Object.entries((openapi.json.paths ?? {}) as Record<string, Record<string, unknown>>)
    .filter(([path, ops]) => ops.get !== undefined && !path.includes('{'))
    .map(([path]) => path);
  const out = [{ path: '/api/v1/openapi.json', text: openapi.text }];
  for (const path of [...paths, '/metrics']) {
    const res = await Promise.race([
      client.get(path),
      new Promise<null>((resolve) => setTimeout(() => resolve(null), 5_000)),
    ]);
    if (res !== null) out.push({ path, text: res.text });
  }
  return out;
}

t.test('a running roje: no secret in any admin API answer or log line', async (t) => {
  const { made, secret } = secretMaker(4242);
  const token = secret();
  const feedKey = secret();
  const dohKey = secret();
  // The feed publisher: a list for any path and query.
  const feeds: Server = createServer((_req, res) => res.end('porn.example\n'));
  await new Promise<void>((resolve) => feeds.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => feeds.close(() => resolve())));
  const feedPort = (feeds.address() as AddressInfo).port;
  const fake = await startFakeUpstream({ doh: true });
  t.teardown(() => fake.close());
  const dohUrl = `${fake.dohUrl}?token=${dohKey}`;
  const caFile = join(dir, 'doh-ca.pem');
  writeFileSync(caFile, fake.cert?.cert ?? '');
  const roje = await startRoje(
    {
      upstreams: [{ url: dohUrl, ca: caFile }, udpUrl(fake)],
      lists: [
        {
          name: 'adult',
          category: 'adult',
          url: `http://127.0.0.1:${feedPort}/adult.txt?key=${feedKey}&x=1`,
        },
      ],
      stateDir: t.testdir({}),
      admin: { listen: '127.0.0.1:0', tokens: [{ name: 'ops', role: 'admin', sha256: hashToken(token) }] },
      log: { level: 'debug' },
    },
    { t, logLevel: 'debug' },
  );
  await roje.query('www.example.test', 'A').catch(() => null);
  await roje.dig(['-t', 'A', 'porn.example.']);
  const answers = await everyGet(roje, token);
  t.ok(answers.some((a) => a.path === '/api/v1/config'));
  t.ok(answers.some((a) => a.path === '/api/v1/status'));
  const secrets = [...made, hashToken(token)];
  const config = answers.find((a) => a.path === '/api/v1/config')?.text ?? '';
  t.match(config, /key=REDACTED/, 'the feed URL is shown, redacted');
  t.match(config, /token=REDACTED/, 'the DoH URL is shown, redacted');
  for (const { path, text } of answers) {
    t.same(leaks(text, secrets), [], `${path}: no secret`);
  }
  // Stopped before the test's folders go: a roje still writing its state would race their removal.
  await roje.stop();
  t.same(leaks(JSON.stringify(roje.logs), secrets), [], `${roje.logs.length} log lines: no secret`);
});

t.test('a fleet edge that cannot pull: no secret in status, config or logs', async (t) => {
  const { made, secret } = secretMaker(99);
  const token = secret();
  const fake = await startFakeUpstream();
  t.teardown(() => fake.close());
  const nothing: Server = createServer((_req, res) => {
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((resolve) => nothing.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => nothing.close(() => resolve())));
  const port = (nothing.address() as AddressInfo).port;
  const roje = await startRoje(
    {
      upstreams: [udpUrl(fake)],
      stateDir: t.testdir({}),
      fleet: {
        pull: {
          url: `http://127.0.0.1:${port}/artifact?key=${secret()}`,
          signatureUrl: `http://127.0.0.1:${port}/sig?key=${secret()}`,
          publicKeyFile: join(dir, 'fleet.pub'),
        },
      },
      admin: { listen: '127.0.0.1:0', tokens: [{ name: 'ops', role: 'admin', sha256: hashToken(token) }] },
    },
    { t, logLevel: 'debug' },
  );
  await new Promise((resolve) => setTimeout(resolve, 300));
  const answers = await everyGet(roje, token);
  const secrets = [...made, hashToken(token)];
  for (const { path, text } of answers) t.same(leaks(text, secrets), [], `${path}: no secret`);
  // Stopped before the test's folders go: a roje still writing its state would race their removal.
  await roje.stop();
  t.same(leaks(JSON.stringify(roje.logs), secrets), [], `${roje.logs.length} log lines: no secret`);
});

t.test('workers: each loop names an upstream as the supervisor does, redacted', async (t) => {
  // The loops' pools report an upstream by its redacted URL; the supervisor merges their health by URL.
  // Were it to merge by the configured one, a DoH upstream with a key would read as never asked.
  const dohKey = 'workers-doh-secret-4b1d';
  const fake = await startFakeUpstream({ doh: true, apexes: ['example.test'] });
  t.teardown(() => fake.close());
  const dir = t.testdir({ 'doh-ca.pem': fake.cert?.cert ?? '' });
  const token = 'roje_redaction-workers-token';
  const configFile = join(dir, 'roje.yaml');
  writeFileSync(
    configFile,
    JSON.stringify({
      listen: ['127.0.0.1:0'],
      upstreams: [{ url: `${fake.dohUrl}?token=${dohKey}`, ca: join(dir, 'doh-ca.pem') }],
      workers: 2,
      workerMode: 'processes',
      admin: { listen: '127.0.0.1:0', tokens: [{ name: 'ops', role: 'auditor', sha256: hashToken(token) }] },
    }),
  );
  const roje = spawnRoje(['serve', '--config', configFile], { t });
  const { line, addresses } = await roje.ready(30_000);
  const server = addresses[0] as { host: string; port: number };
  for (let i = 0; i < 20; i++)
    await query(server, `w${i}.example.test`, 'A', { timeoutMs: 2000 }).catch(() => null);
  const api = adminClient(line.admin as string, token);
  let upstreams: Array<{ url: string; queries: number }> = [];
  // The loops send their figures to the supervisor now and then: wait (bounded) until they arrive.
  for (let i = 0; i < 50; i++) {
    upstreams = (await api.get('/api/v1/status')).json.upstreams as typeof upstreams;
    if ((upstreams[0]?.queries ?? 0) > 0) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  t.equal(upstreams.length, 1);
  t.match(upstreams[0]?.url, /token=REDACTED$/, 'named by its redacted URL');
  t.ok((upstreams[0]?.queries ?? 0) > 0, `the loops' queries counted: ${upstreams[0]?.queries}`);
  const metrics = (await api.get('/metrics')).text;
  t.notOk(metrics.includes(dohKey), '/metrics: no secret');
  t.match(metrics, /roje_upstream_up\{upstream="[^"]*token=REDACTED"\} 1/, 'and the upstream is up there');
});
