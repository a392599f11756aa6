/**
 * Policy status over DNS: `dig CH TXT version.roje.` and `policy.roje.` from a client roje serves show the
 * version and the lists in force (versions, counts, ages; never an entry, abuse feed included); other
 * CHAOS names are refused; `chaos.enabled: false` refuses them all; clients outside the ACL are refused.
 */
import { join } from 'node:path';
import t from 'tap';
import { VERSION } from '../../src/version.js';
import { ABUSE_CANARY_FILE } from '../helpers/canaries.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { startRoje, udpUrl } from '../helpers/roje.js';

const fake = await startFakeUpstream();
t.teardown(() => fake.close());
const dir = t.testdir({ 'adult.txt': 'porn.example\nxxx.example\n' });
const raw = {
  upstreams: [udpUrl(fake)],
  lists: [
    { category: 'adult', path: join(dir, 'adult.txt') },
    { category: 'abuse', path: ABUSE_CANARY_FILE, name: 'iwf-sample' },
  ],
};

const txt = (answers: Array<{ data: string }>) => answers.map((a) => JSON.parse(a.data) as string);

t.test('version.roje. and policy.roje. answer with counts and versions', async (t) => {
  const roje = await startRoje(raw, { t });
  const version = await roje.dig(['-c', 'CH', '-t', 'TXT', 'version.roje.']);
  t.equal(version.status, 'NOERROR');
  t.ok(version.flags.includes('aa'), 'authoritative: roje speaks for itself');
  t.same(txt(version.answers), [`roje ${VERSION}`]);
  t.equal(version.answers[0].class, 'CH');

  const policy = await roje.kdig(['-c', 'CH', '-t', 'TXT', 'policy.roje.']);
  t.equal(policy.status, 'NOERROR');
  const lines = txt(policy.answers);
  const lists = roje.app.lists();
  t.match(lines[0], new RegExp(`^lists version=${lists?.version.slice(0, 12)} entries=\\d+ compiled=`));
  t.match(lines, [
    /^lists /,
    /^source=adult category=adult entries=2 version=[0-9a-f]{12} age=\d+$/,
    /^source=iwf-sample category=abuse entries=2 /,
    /^abuse feeds=1 entries=2 stale=0$/,
  ]);
  t.notMatch(JSON.stringify(lines), /canary|porn\.example/, 'counts only, never an entry');

  const tcp = await roje.dig(['+tcp', '-c', 'CH', '-t', 'TXT', 'policy.roje.']);
  // The same, but for the ages: a second may pass between the two questions on a busy machine.
  const ageless = (l: string[]) => l.map((x) => x.replace(/ age=\d+/, ' age=N'));
  t.same(ageless(txt(tcp.answers)), ageless(lines), 'TCP too');
  const a = await roje.dig(['-c', 'CH', '-t', 'A', 'version.roje.']);
  t.equal(a.status, 'NOERROR');
  t.same(a.answers, [], 'another type: NODATA');
  for (const name of ['version.bind.', 'id.server.', 'hostname.bind.']) {
    t.equal((await roje.dig(['-c', 'CH', '-t', 'TXT', name])).status, 'REFUSED', `${name} refused`);
  }
  t.equal(fake.counts.total, 0, 'no CHAOS query is forwarded');
});

t.test('chaos.enabled: false refuses them; clients outside the ACL are refused', async (t) => {
  const off = await startRoje({ ...raw, chaos: { enabled: false } }, { t });
  t.equal((await off.dig(['-c', 'CH', '-t', 'TXT', 'policy.roje.'])).status, 'REFUSED');
  const acl = await startRoje({ ...raw, acl: { allow: ['10.0.0.0/8'] } }, { t });
  t.equal((await acl.dig(['-c', 'CH', '-t', 'TXT', 'version.roje.'])).status, 'REFUSED');
});
