import t from 'tap';
import type { Exchange, SeenRecord } from '../../src/verify/client.js';
import { blockAddressSet, judge } from '../../src/verify/judge.js';
import type { Expectation, SuiteCase } from '../../src/verify/suite.js';

const c = (expect: Expectation, qtype = 'A', safeHosts?: string[]): SuiteCase => ({
  name: 'x',
  qname: 'x.example',
  qtype,
  expect,
  transports: ['udp'],
  ...(safeHosts !== undefined ? { safeHosts } : {}),
});
const rec = (type: string, data: string): SeenRecord => ({ name: 'x.example', type, ttl: 60, data });
const ans = (rcode: string | null, answers: SeenRecord[] = [], ede: number[] = []): Exchange => ({
  rcode,
  answers,
  ede: ede.map((code) => ({ code, text: '' })),
  retriedTcp: false,
  ms: 1,
  ...(rcode === null ? { error: 'timeout after 2000 ms' } : {}),
});
const blocks = blockAddressSet(['192.0.2.80', '2001:db8::80']);

t.test('blocked', async (t) => {
  const pass = (a: Exchange, qtype = 'A') => judge(c('blocked', qtype), a, blocks).pass;
  t.ok(pass(ans('REFUSED')), 'REFUSED');
  t.ok(pass(ans('NXDOMAIN', [], [15])), 'NXDOMAIN + EDE 15');
  t.ok(pass(ans('NXDOMAIN', [], [16])), 'NXDOMAIN + EDE 16');
  t.ok(pass(ans('NOERROR', [], [17])), 'NODATA + EDE 17');
  t.ok(pass(ans('NOERROR', [rec('A', '0.0.0.0')])), '0.0.0.0');
  t.ok(pass(ans('NOERROR', [rec('AAAA', '0:0:0:0:0:0:0:0')]), 'AAAA'), ':: in any spelling');
  t.ok(pass(ans('NOERROR', [rec('A', '192.0.2.80')])), 'a --block-address');
  t.ok(pass(ans('NOERROR', [rec('AAAA', '2001:0db8:0:0::80')]), 'AAAA'), 'an IPv6 --block-address');
  t.notOk(pass(ans('NXDOMAIN')), 'plain NXDOMAIN is not proof');
  t.notOk(pass(ans('NXDOMAIN', [], [22])), 'an EDE that is not 15-17');
  t.notOk(pass(ans('NOERROR', [rec('A', '0.0.0.0'), rec('A', '198.51.100.1')])), 'one real address');
  t.notOk(pass(ans('NOERROR', [rec('A', '198.51.100.1')])), 'resolved');
  t.notOk(pass(ans('SERVFAIL')), 'SERVFAIL');
  t.match(judge(c('blocked'), ans(null), blocks), { pass: false, reason: /no answer \(timeout/ });
});

t.test('nxdomain and nodata', async (t) => {
  t.ok(judge(c('nxdomain'), ans('NXDOMAIN'), blocks).pass);
  t.ok(judge(c('nxdomain'), ans('NXDOMAIN', [], [17]), blocks).pass);
  t.notOk(judge(c('nxdomain'), ans('NOERROR', [rec('A', '198.51.100.1')]), blocks).pass);
  t.notOk(judge(c('nxdomain'), ans('REFUSED'), blocks).pass);
  t.ok(judge(c('nodata', 'SVCB'), ans('NOERROR', [], [17]), blocks).pass);
  t.ok(judge(c('nodata', 'SVCB'), ans('NOERROR'), blocks).pass);
  t.notOk(judge(c('nodata', 'SVCB'), ans('NOERROR', [rec('SVCB', '0001')]), blocks).pass);
  t.notOk(judge(c('nodata', 'SVCB'), ans('NXDOMAIN'), blocks).pass);
});

t.test('allowed', async (t) => {
  t.ok(judge(c('allowed'), ans('NOERROR', [rec('A', '198.51.100.1')]), blocks).pass);
  t.ok(
    judge(c('allowed'), ans('NOERROR', [rec('CNAME', 'y.example'), rec('A', '198.51.100.1')]), blocks).pass,
    'through a CNAME',
  );
  t.ok(judge(c('allowed', 'TXT'), ans('NOERROR', [rec('TXT', 'hello')]), blocks).pass, 'the asked type');
  t.notOk(judge(c('allowed'), ans('NOERROR', [rec('A', '0.0.0.0')]), blocks).pass, 'sinkholed');
  t.notOk(judge(c('allowed'), ans('NOERROR', [rec('A', '192.0.2.80')]), blocks).pass, 'the block page');
  t.notOk(
    judge(c('allowed'), ans('NOERROR', [rec('A', '198.51.100.1')], [15]), blocks).pass,
    'marked blocked',
  );
  t.notOk(judge(c('allowed'), ans('NXDOMAIN'), blocks).pass);
  t.notOk(judge(c('allowed'), ans('NOERROR'), blocks).pass, 'no address');
});

t.test('safesearch', async (t) => {
  const safe = c('safesearch', 'A', ['forcesafesearch.google.com']);
  t.match(
    judge(
      safe,
      ans('NOERROR', [rec('CNAME', 'ForceSafeSearch.google.com.'), rec('A', '216.239.38.120')], [4]),
      blocks,
    ),
    { pass: true, reason: 'CNAME to forcesafesearch.google.com' },
  );
  t.notOk(judge(safe, ans('NOERROR', [rec('A', '142.250.1.1')]), blocks).pass, 'the unfiltered engine');
  t.notOk(judge(safe, ans('NOERROR', [rec('CNAME', 'www3.l.google.com')]), blocks).pass, 'another CNAME');
  t.match(judge(safe, ans('NXDOMAIN', [], [15]), blocks), {
    pass: false,
    reason: 'blocked instead of SafeSearch',
  });
});
