/**
 * The compliance profile end to end: a venue whose policy leaves out `adult` is named in
 * GET /api/v1/status, in `dig CH TXT policy.roje.` and in roje_compliance_warnings; `profile: none`
 * says nothing; the Friendly WiFi reference config (deploy/friendly-wifi.yaml, with the bundled sample
 * lists in place of its feeds) is compliant. Warnings name policies and venues, never a list entry.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parse } from 'yaml';
import { hashToken } from '../../src/admin/auth.js';
import { SAMPLE_LISTS } from '../../src/config/filtering.js';
import { adminClient } from '../helpers/admin-client.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { type Roje, startRoje, udpUrl } from '../helpers/roje.js';

const TOKEN = 'roje_compliance-test-token';
const fake = await startFakeUpstream();
t.teardown(() => fake.close());

/** deploy/friendly-wifi.yaml on loopback: its policies, venues and bypass; the samples for its feeds. */
function friendlyWifi(): Record<string, unknown> & { upstreams: unknown[] } {
  const file = fileURLToPath(new URL('../../deploy/friendly-wifi.yaml', import.meta.url));
  const reference = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  return {
    upstreams: [udpUrl(fake)],
    lists: SAMPLE_LISTS.map((l) => ({ ...l })),
    policies: reference.policies,
    venues: reference.venues,
    blockPage: { ipv4: '127.0.0.1' },
    admin: { listen: '127.0.0.1:0', tokens: [{ name: 'audit', role: 'auditor', sha256: hashToken(TOKEN) }] },
  };
}

/** A library venue whose policy blocks abuse and doh-bypass, but not adult. */
function withoutAdult(): ReturnType<typeof friendlyWifi> {
  const raw = friendlyWifi();
  return {
    ...raw,
    policies: {
      ...(raw.policies as object),
      cafe: { block: ['abuse', 'doh-bypass', 'gambling'], blockMode: 'nxdomain' },
    },
    venues: [...(raw.venues as object[]), { name: 'cafe-north', networks: ['10.9.0.0/16'], policy: 'cafe' }],
  };
}

async function observe(roje: Roje) {
  const api = adminClient(roje, TOKEN);
  const status = (await api.get('/api/v1/status')).json as {
    compliance: { profile: string; warnings: Array<{ code: string; kind: string; message: string }> };
    warnings: string[];
  };
  const metrics = (await api.get('/metrics')).text;
  const chaos = await roje.dig(['-c', 'CH', '-t', 'TXT', 'policy.roje.']);
  const strings = chaos.answers.map((a) => JSON.parse(a.data) as string);
  return { status, metrics, strings };
}

t.test('a venue policy without adult: one warning, in status, CH TXT and the metric', async (t) => {
  const roje = await startRoje(withoutAdult(), { t });
  const { status, metrics, strings } = await observe(roje);
  const message =
    'policy "cafe" (used by "cafe-north") does not block the category "adult" (Friendly WiFi requires it: add it to its block list)';
  t.same(status.compliance, {
    profile: 'friendly-wifi',
    warnings: [{ code: 'policy-not-blocking-adult', kind: 'policy', message }],
  });
  t.same(status.warnings, [message], 'among the conditions to act on');
  t.match(metrics, /^roje_compliance_warnings\{kind="policy"\} 1$/m);
  for (const kind of ['safesearch', 'bypass', 'lists', 'abuse']) {
    t.match(metrics, new RegExp(`^roje_compliance_warnings\\{kind="${kind}"\\} 0$`, 'm'), kind);
  }
  t.same(strings.slice(-2), [
    'compliance profile=friendly-wifi warnings=1',
    `warning code=policy-not-blocking-adult ${message}`,
  ]);
  t.notMatch(JSON.stringify(strings), /canary|\.roje\.test/, 'counts and names, never an entry');
});

t.test('profile none: no compliance warning anywhere', async (t) => {
  const roje = await startRoje({ ...withoutAdult(), profile: 'none' }, { t });
  const { status, metrics, strings } = await observe(roje);
  t.same(status.compliance, { profile: 'none', warnings: [] });
  t.same(status.warnings, []);
  t.notMatch(metrics, /^roje_compliance_warnings\{[^}]*\} [1-9]/m);
  t.equal(strings.at(-1), 'compliance profile=none warnings=0');
});

t.test('the Friendly WiFi reference config is compliant', async (t) => {
  const roje = await startRoje(friendlyWifi(), { t });
  const { status, metrics, strings } = await observe(roje);
  t.same(status.compliance, { profile: 'friendly-wifi', warnings: [] });
  t.same(status.warnings, []);
  t.notMatch(metrics, /^roje_compliance_warnings\{[^}]*\} [1-9]/m);
  t.match(metrics, /^roje_compliance_warnings\{kind="policy"\} 0$/m);
  t.equal(strings.at(-1), 'compliance profile=friendly-wifi warnings=0');
});

t.test('a reload that opens a gap shows it at once; one that closes it clears it', async (t) => {
  const roje = await startRoje(friendlyWifi(), { t });
  await roje.app.reload(await roje.configFor(withoutAdult()));
  let seen = await observe(roje);
  t.match(seen.status.compliance.warnings, [{ code: 'policy-not-blocking-adult' }]);
  t.equal(seen.strings.at(-1)?.startsWith('warning code=policy-not-blocking-adult '), true, 'CH TXT too');
  await roje.app.reload(await roje.configFor(friendlyWifi()));
  seen = await observe(roje);
  t.same(seen.status.compliance.warnings, []);
  t.equal(seen.strings.at(-1), 'compliance profile=friendly-wifi warnings=0');
});

t.test('query loops in workers answer the same CH TXT strings', async (t) => {
  const roje = await startRoje({ ...withoutAdult(), workers: 2 }, { t });
  const { status, strings } = await observe(roje);
  t.match(status.compliance.warnings, [{ code: 'policy-not-blocking-adult' }]);
  t.same(strings.slice(-2), [
    'compliance profile=friendly-wifi warnings=1',
    `warning code=policy-not-blocking-adult ${status.compliance.warnings[0].message}`,
  ]);
});
