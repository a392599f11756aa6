/**
 * The special-use stage on its own, and the zone table behind it (src/dns/special-use.ts), checked
 * against the answers unbound 1.17 gives from its default local zones: AA and RA set, the records of
 * the question's type, else NODATA or NXDOMAIN with the zone's SOA in the authority section. Ordinary
 * names, look-alikes included, go on to `next`.
 */
import t from 'tap';
import { RCODE } from '../../../src/dns/constants.js';
import { LOCAL_ZONE_TTL, localZoneApexes } from '../../../src/dns/special-use.js';
import { createSpecialUseStage } from '../../../src/pipeline/stages/special-use.js';
import type { Answer } from '../../../src/pipeline/types.js';
import { nextDouble, PASSED, type QueryType, readAnswer, stageQuery } from '../../helpers/stage.js';

const next = nextDouble();
const stage = createSpecialUseStage()(next.handler);
const AA = 0x0400;
const RA = 0x0080;
const SOA = {
  mname: 'localhost',
  rname: 'nobody.invalid',
  serial: 1,
  refresh: 3600,
  retry: 1200,
  expire: 604800,
  minimum: 10800,
};

function ask(name: string, type: QueryType = 'A', opts: Parameters<typeof stageQuery>[2] = {}) {
  const a = stage(stageQuery(name, type, opts));
  if (a === PASSED) return null;
  const answer = a as Answer;
  t.equal(answer.source, 'local');
  const r = readAnswer(answer.wire);
  t.equal(answer.rcode, r.rcode, 'the answer says its own RCODE');
  return r;
}

t.test('RFC 6761 §6.3: localhost and every name under it are the loopback address, AA and RA', async (t) => {
  for (const name of ['localhost', 'LocalHost', 'foo.localhost', 'a.b.LOCALHOST']) {
    const a = ask(name, 'A');
    t.ok(a, name);
    t.equal(a!.rcode, RCODE.NOERROR);
    t.equal(a!.flags & (AA | RA), AA | RA, 'AA RA');
    t.equal(a!.flags & 0x0100, 0x0100, 'RD echoed');
    t.match(
      a!.packet.answers,
      [{ name, type: 'A', ttl: LOCAL_ZONE_TTL, data: '127.0.0.1' }],
      'owner in the client case',
    );
    const aaaa = ask(name, 'AAAA');
    t.match(aaaa!.packet.answers, [{ name, type: 'AAAA', data: '::1' }]);
  }
  const mx = ask('foo.localhost', 'MX');
  t.equal(mx!.rcode, RCODE.NOERROR, 'another type: NODATA');
  t.same(mx!.packet.answers, []);
  t.match(mx!.packet.authorities, [{ name: 'localhost', type: 'SOA', ttl: LOCAL_ZONE_TTL, data: SOA }]);
  t.match(ask('localhost', 'NS')!.packet.answers, [{ type: 'NS', data: 'localhost' }]);
  t.same(ask('localhost', 'ANY')!.packet.answers, [], 'ANY: NODATA, as unbound');
});

t.test(
  'RFC 7686 §2, RFC 6761 §6.4, RFC 8375 §4, RFC 6762 §22.1: onion, invalid, home.arpa, local',
  async (t) => {
    for (const zone of ['onion', 'invalid', 'home.arpa', 'local']) {
      const below = ask(`hidden.${zone.toUpperCase()}`, 'A', { do: true });
      t.equal(below!.rcode, RCODE.NXDOMAIN, `${zone}: a name below the apex does not exist`);
      t.equal(below!.flags & (AA | RA | 0x0020), AA | RA, 'AA RA, never AD');
      t.match(
        below!.packet.authorities,
        [{ name: zone, type: 'SOA', data: SOA }],
        'the SOA, owner lowercase',
      );
      t.equal(below!.do, true, 'DO echoed in roje OPT');
      t.equal(below!.udpSize, 1232);
      const apex = ask(zone, 'A', { edns: false });
      t.equal(apex!.rcode, RCODE.NOERROR, `${zone}: the apex exists (NODATA)`);
      t.equal(apex!.udpSize, null, 'no OPT without EDNS');
      t.match(ask(zone, 'SOA')!.packet.answers, [{ name: zone, type: 'SOA', data: SOA }]);
    }
  },
);

t.test('RFC 6761 §6.3, RFC 6303 §4.2-4.3: loopback reverse names are localhost', async (t) => {
  t.match(ask('1.0.0.127.in-addr.arpa', 'PTR')!.packet.answers, [{ type: 'PTR', data: 'localhost' }]);
  const ip6 = `1${'.0'.repeat(31)}.ip6.arpa`;
  t.match(ask(ip6, 'PTR')!.packet.answers, [{ name: ip6, type: 'PTR', data: 'localhost' }]);
  t.equal(ask('2.0.0.127.in-addr.arpa', 'PTR')!.rcode, RCODE.NXDOMAIN);
  const ent = ask('0.0.127.in-addr.arpa', 'PTR');
  t.equal(ent!.rcode, RCODE.NOERROR, 'an empty non-terminal exists: NODATA');
  t.match(ent!.packet.authorities, [{ name: '127.in-addr.arpa', type: 'SOA' }]);
  t.equal(ask('1.0.0.127.in-addr.arpa', 'A')!.rcode, RCODE.NOERROR, 'PTR owner asked for A: NODATA');
});

t.test('RFC 6303 §4: private, link-local, shared and documentation reverse zones', async (t) => {
  const cases: Array<[string, string]> = [
    ['4.3.2.10.in-addr.arpa', '10.in-addr.arpa'],
    ['1.1.168.192.in-addr.arpa', '168.192.in-addr.arpa'],
    ['1.0.16.172.in-addr.arpa', '16.172.in-addr.arpa'],
    ['1.0.31.172.in-addr.arpa', '31.172.in-addr.arpa'],
    ['1.0.254.169.in-addr.arpa', '254.169.in-addr.arpa'],
    ['5.64.100.in-addr.arpa', '64.100.in-addr.arpa'],
    ['5.127.100.in-addr.arpa', '127.100.in-addr.arpa'],
    ['1.2.0.192.in-addr.arpa', '2.0.192.in-addr.arpa'],
    ['1.0.0.0.in-addr.arpa', '0.in-addr.arpa'],
    ['1.d.f.ip6.arpa', 'd.f.ip6.arpa'],
    ['1.b.e.f.ip6.arpa', 'b.e.f.ip6.arpa'],
    ['1.8.b.d.0.1.0.0.2.ip6.arpa', '8.b.d.0.1.0.0.2.ip6.arpa'],
  ];
  for (const [name, zone] of cases) {
    const a = ask(name, 'PTR');
    t.equal(a?.rcode, RCODE.NXDOMAIN, name);
    t.match(a?.packet.authorities, [{ name: zone, type: 'SOA' }]);
  }
  t.equal(ask('255.255.255.255.in-addr.arpa', 'PTR')!.rcode, RCODE.NOERROR, 'apex: NODATA');
  t.equal(localZoneApexes().length, 16 + 64 + 15 + 7, 'every zone of the table, no more');
});

t.test('ordinary names and look-alikes go on, untouched', async (t) => {
  const before = next.calls.length;
  const names = [
    'www.example.com',
    'localhost.example.com',
    'onion.example',
    'notonion',
    'xonion',
    'local.example.net',
    'example.arpa',
    'in-addr.arpa',
    'arpa',
    '1.16.172.example',
    '1.15.172.in-addr.arpa',
    '1.32.172.in-addr.arpa',
    '1.128.100.in-addr.arpa',
    '8.8.8.8.in-addr.arpa',
    '1.c.e.f.ip6.arpa',
    'home.arpa.example',
    'test',
    'www.example.test',
    '',
  ];
  for (const name of names) t.equal(stage(stageQuery(name, 'A')), PASSED, name || '(root)');
  t.equal(next.calls.length, before + names.length);
});
