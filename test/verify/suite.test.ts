import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ConfigError } from '../../src/config/config-error.js';
import { isRojeError } from '../../src/errors.js';
import { SAFE_HOSTS } from '../../src/policy/safesearch.js';
import { loadSuite, SUITES_DIR } from '../../src/verify/suite.js';
import { ABUSE_CANARY } from '../helpers/canaries.js';

t.test('the built-in friendly-wifi suite: found by name, every area covered', async (t) => {
  const suite = await loadSuite('friendly-wifi');
  t.equal(suite.name, 'friendly-wifi');
  t.equal(suite.source, join(SUITES_DIR, 'friendly-wifi.yaml'));
  t.match(suite.sha256, /^[0-9a-f]{64}$/);
  const categories = new Set(suite.cases.map((c) => c.category));
  for (const c of ['adult', 'abuse', 'safesearch', 'bypass', 'doh-bypass', 'control'])
    t.ok(categories.has(c), c);
  t.ok(
    suite.cases.every((c) => c.transports.join() === 'udp,tcp'),
    'UDP and TCP by default',
  );
  t.ok(suite.cases.some((c) => c.qname === ABUSE_CANARY.domain && c.expect === 'blocked'));
  t.ok(
    suite.cases.some((c) => c.qname === '_dns.resolver.arpa' && c.qtype === 'SVCB' && c.expect === 'nodata'),
  );
  // The safe hosts the suite expects are those roje answers with.
  const known = new Set<string>(Object.values(SAFE_HOSTS));
  const safe = suite.cases.filter((c) => c.expect === 'safesearch');
  t.equal(safe.length, 5);
  t.ok(
    safe.every((c) => (c.safeHosts ?? []).length > 0 && (c.safeHosts ?? []).every((h) => known.has(h))),
    'every safeHost is one of src/policy/safesearch.ts SAFE_HOSTS',
  );
});

t.test('a suite file: defaults filled in', async (t) => {
  const file = join(t.testdir(), 's.yaml');
  writeFileSync(
    file,
    'name: mine\ncases:\n  - { name: a, qname: Example.COM., expect: allowed }\n  - { name: b, qname: x.test, qtype: aaaa, expect: nxdomain, transports: [tcp], category: c }\n',
  );
  const suite = await loadSuite(file);
  t.same(suite.cases, [
    { name: 'a', qname: 'Example.COM', qtype: 'A', expect: 'allowed', transports: ['udp', 'tcp'] },
    { name: 'b', qname: 'x.test', qtype: 'AAAA', expect: 'nxdomain', transports: ['tcp'], category: 'c' },
  ]);
});

t.test('errors name the file, the case index and the key', async (t) => {
  const dir = t.testdir();
  const cases: Array<[string, string, RegExp]> = [
    ['cases:\n  - { name: a, qname: x.test, expect: allowed }\n', 'name', /: name: is missing$/],
    [
      'name: s\ncases:\n  - { name: a, qname: x.test, expect: block }\n',
      'cases[0].expect',
      /cases\[0\]\.expect: expected one of blocked, allowed, safesearch, nxdomain, nodata, got "block"$/,
    ],
    [
      'name: s\ncases:\n  - { name: a, qname: x.test, expect: allowed }\n  - { name: b, qname: x.test, expect: allowed, qtpye: A }\n',
      'cases[1].qtpye',
      /cases\[1\]\.qtpye: unknown key$/,
    ],
    [
      'name: s\ncases:\n  - { name: a, expect: allowed }\n',
      'cases[0].qname',
      /cases\[0\]\.qname: is missing$/,
    ],
    [
      'name: s\ncases:\n  - { name: a, qname: x.test, qtype: BOGUS, expect: allowed }\n',
      'cases[0].qtype',
      /cases\[0\]\.qtype: expected a query type/,
    ],
    [
      'name: s\ncases:\n  - { name: a, qname: x.test, expect: allowed, transports: [quic] }\n',
      'cases[0].transports[0]',
      /expected udp or tcp, got "quic"$/,
    ],
    [
      'name: s\ncases:\n  - { name: a, qname: "bad name!", expect: allowed }\n',
      'cases[0].qname',
      /expected a domain name/,
    ],
    [
      'name: s\ncases:\n  - { name: a, qname: google.com, expect: safesearch }\n',
      'cases[0].safeHost',
      /is missing/,
    ],
    ['name: s\ncases: []\n', 'cases', /cases: expected a list of 1 to 10000 cases, got a list$/],
  ];
  for (const [i, [yaml, key, message]] of cases.entries()) {
    const file = join(dir, `bad-${i}.yaml`);
    writeFileSync(file, yaml);
    const err = await loadSuite(file).then(
      () => null,
      (e: unknown) => e,
    );
    t.ok(err instanceof ConfigError && isRojeError(err, 'ROJE_ERR_VERIFY_SUITE'), `${key}: a suite error`);
    const e = err as ConfigError;
    t.equal(e.file, file);
    t.equal(e.key, key);
    t.ok(e.message.startsWith(`suite error in ${file}: `), e.message);
    t.match(e.message, message);
  }
});

t.test('unreadable and non-YAML files', async (t) => {
  const missing = join(t.testdir(), 'nope.yaml');
  await t.rejects(loadSuite(missing), {
    code: 'ROJE_ERR_VERIFY_SUITE',
    message: /nope\.yaml: cannot be read \(ENOENT\); give a YAML file or one of: friendly-wifi/,
  });
  const bad = join(t.testdir(), 'bad.yaml');
  writeFileSync(bad, 'name: [unclosed\n');
  await t.rejects(loadSuite(bad), { code: 'ROJE_ERR_VERIFY_SUITE', message: /is not valid YAML/ });
});
