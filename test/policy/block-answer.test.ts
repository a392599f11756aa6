/**
 * Block answers from templates, decoded with dns-packet: RCODE, records, TTLs, the synthetic SOA, the
 * EDE code and text, the OPT echo, header flags and the client's question case.
 */
import dnsPacket from 'dns-packet';
import t from 'tap';
import { EDE, RCODE } from '../../src/dns/constants.js';
import { isRejection, readQuery } from '../../src/dns/query.js';
import type { ParsedQuery } from '../../src/dns/types.js';
import {
  actionTemplate,
  type BlockAnswerOptions,
  type BlockMode,
  buildActionTemplates,
  buildModeTemplates,
  categoryOpt,
  localTemplate,
  pickTemplate,
  renderBlock,
  venueDenyOpt,
} from '../../src/policy/block-answer.js';
import { ACTION } from '../../src/policy/types.js';

type RR = { name: string; type: string; ttl: number; data: unknown };
/** dns-packet's Answer union includes OPT, which has no ttl: tests read plain records. */
const rrs = (list?: dnsPacket.Answer[]): RR[] => (list ?? []) as unknown as RR[];

const OPTIONS: BlockAnswerOptions = {
  blockTtl: 60,
  blockPage: { ipv4: '192.0.2.80', ipv6: '2001:db8::80' },
};
/** roje's advertised UDP size, written into each answer's OPT. */
const UDP_SIZE = 1232;

function opt(flags = 0): dnsPacket.Answer {
  return { type: 'OPT', name: '.', udpPayloadSize: 4096, flags } as unknown as dnsPacket.Answer;
}

function query(
  name: string,
  type: string,
  edns: 'none' | 'plain' | 'do' = 'plain',
  flags = 0x0100,
): ParsedQuery {
  const msg = dnsPacket.encode({
    type: 'query',
    id: 0x4242,
    flags,
    questions: [{ type: type as dnsPacket.RecordType, class: 'IN', name }],
    additionals: edns === 'none' ? [] : [opt(edns === 'do' ? dnsPacket.DNSSEC_OK : 0)],
  });
  const q = readQuery(msg);
  if (isRejection(q)) throw new Error(`rejected: ${q.reason}`);
  return q;
}

interface Decoded {
  packet: dnsPacket.DecodedPacket;
  rcode: number;
  flags: number;
  ede: { code: number; text: string }[];
  opt: (dnsPacket.Answer & { udpPayloadSize: number; flags: number }) | undefined;
}

function decode(wire: Buffer): Decoded {
  const packet = dnsPacket.decode(wire);
  const flags = wire.readUInt16BE(2);
  const optRr = (packet.additionals ?? []).find((a) => a.type === 'OPT') as Decoded['opt'];
  const ede: Decoded['ede'] = [];
  for (const o of (optRr as unknown as { options?: { code: number; data: Buffer }[] })?.options ?? []) {
    if (o.code === 15) ede.push({ code: o.data.readUInt16BE(0), text: o.data.subarray(2).toString('utf8') });
  }
  return { packet, rcode: flags & 0x0f, flags, ede, opt: optRr };
}

function render(
  mode: BlockMode,
  q: ParsedQuery,
  category = 'adult',
  options: BlockAnswerOptions = OPTIONS,
): Decoded {
  const tpl = pickTemplate(buildModeTemplates(mode, options), q.qtype);
  return decode(renderBlock(q, tpl, categoryOpt(category), UDP_SIZE));
}

t.test('blockpage: A and AAAA point at the block page, other types NODATA with the SOA', async (t) => {
  const a = render('blockpage', query('WWW.Porn.Example', 'A'));
  t.equal(a.rcode, RCODE.NOERROR);
  t.same(
    rrs(a.packet.answers).map((r) => [r.name, r.type, r.ttl, r.data]),
    [['WWW.Porn.Example', 'A', 60, '192.0.2.80']],
    'owner is the question name in the client case',
  );
  t.same(a.packet.questions, [{ name: 'WWW.Porn.Example', type: 'A', class: 'IN' }]);
  t.same(a.packet.authorities, []);
  const aaaa = render('blockpage', query('www.porn.example', 'AAAA'));
  t.same(
    (aaaa.packet.answers ?? []).map((r) => (r as { data: unknown }).data),
    ['2001:db8::80'],
  );
  const mx = render('blockpage', query('www.porn.example', 'MX'));
  t.equal(mx.rcode, RCODE.NOERROR);
  t.same(mx.packet.answers, []);
  const soa = rrs(mx.packet.authorities)[0] as RR & { data: dnsPacket.SoaData };
  t.equal(soa.type, 'SOA');
  t.equal(soa.name, '.', 'SOA owned by the root: an ancestor of every blocked name');
  t.equal(soa.ttl, 60);
  t.equal(soa.data.minimum, 60, 'negative caching downstream lasts blockTtl');
  t.equal(soa.data.mname, 'roje.invalid');
});

t.test('blockpage without an IPv6 address: AAAA is NODATA', async (t) => {
  const options = { ...OPTIONS, blockPage: { ipv4: '192.0.2.80' } };
  const aaaa = render('blockpage', query('x.example', 'AAAA'), 'adult', options);
  t.equal(aaaa.rcode, RCODE.NOERROR);
  t.same(aaaa.packet.answers, []);
  t.equal(aaaa.packet.authorities?.[0]?.type, 'SOA');
  const a = render('blockpage', query('x.example', 'A'), 'adult', options);
  t.same(
    (a.packet.answers ?? []).map((r) => (r as { data: unknown }).data),
    ['192.0.2.80'],
  );
});

t.test('nxdomain, null and refused modes', async (t) => {
  // dns-packet knows no HTTPS type (it would send type 0): UNKNOWN_65 is HTTPS.
  for (const type of ['A', 'AAAA', 'MX', 'UNKNOWN_65', 'TXT']) {
    const nx = render('nxdomain', query('x.example', type));
    t.equal(nx.rcode, RCODE.NXDOMAIN, `nxdomain ${type}`);
    t.same(nx.packet.answers, []);
    t.equal(nx.packet.authorities?.[0]?.type, 'SOA');
    const refused = render('refused', query('x.example', type));
    t.equal(refused.rcode, RCODE.REFUSED, `refused ${type}`);
    t.same(refused.packet.answers, []);
    t.same(refused.packet.authorities, [], 'REFUSED carries no SOA');
  }
  const a = render('null', query('x.example', 'A'));
  t.same(
    rrs(a.packet.answers).map((r) => [r.data, r.ttl]),
    [['0.0.0.0', 60]],
  );
  const aaaa = render('null', query('x.example', 'AAAA'));
  t.same(
    (aaaa.packet.answers ?? []).map((r) => (r as { data: unknown }).data),
    ['::'],
  );
  const mx = render('null', query('x.example', 'MX'));
  t.equal(mx.rcode, RCODE.NOERROR);
  t.same(mx.packet.answers, []);
});

t.test('HTTPS and SVCB are NODATA in blockpage and null modes', async (t) => {
  for (const mode of ['blockpage', 'null'] as const) {
    for (const qtype of [65, 64]) {
      const tpl = pickTemplate(buildModeTemplates(mode, OPTIONS), qtype);
      t.equal(tpl.rcode, RCODE.NOERROR, `${mode} type ${qtype}`);
      t.equal(tpl.ancount, 0);
      t.equal(tpl.nscount, 1);
    }
  }
  const https = render('blockpage', query('x.example', 'UNKNOWN_65'));
  t.equal(query('x.example', 'UNKNOWN_65').qtype, 65);
  t.same(https.packet.answers, []);
  t.equal(https.rcode, RCODE.NOERROR);
});

t.test('EDE 15 names the category and nothing more; OPT echoed only when the client sent one', async (t) => {
  const r = render('nxdomain', query('secret.abuse.example', 'A'), 'abuse');
  t.same(r.ede, [{ code: EDE.BLOCKED, text: 'blocked: abuse' }]);
  t.notOk(r.packet.answers?.length, 'no data');
  t.equal(r.opt?.udpPayloadSize, 1232, "roje's own UDP size, not the client's");
  t.equal((r.opt?.flags ?? 0) & dnsPacket.DNSSEC_OK, 0, 'DO clear when the client did not set it');
  const withDo = render('nxdomain', query('x.example', 'A', 'do'));
  t.equal((withDo.opt?.flags ?? 0) & dnsPacket.DNSSEC_OK, dnsPacket.DNSSEC_OK, 'DO echoed');
  t.same(withDo.ede, [{ code: EDE.BLOCKED, text: 'blocked: adult' }]);
  const none = render('nxdomain', query('x.example', 'A', 'none'));
  t.equal(none.opt, undefined, 'no OPT for a client without EDNS');
  t.same(none.packet.additionals, []);
  t.equal(none.rcode, RCODE.NXDOMAIN);
});

t.test('venue deny: EDE 17 Filtered', async (t) => {
  const q = query('x.example', 'A');
  const tpl = pickTemplate(buildModeTemplates('nxdomain', OPTIONS), q.qtype);
  const r = decode(renderBlock(q, tpl, venueDenyOpt(), UDP_SIZE));
  t.same(r.ede, [{ code: EDE.FILTERED, text: 'blocked: venue-deny' }]);
});

t.test('one prebuilt OPT serves any UDP size: written into each answer, the OPT left as it is', async (t) => {
  const q = query('x.example', 'A', 'do');
  const tpl = pickTemplate(buildModeTemplates('nxdomain', OPTIONS), q.qtype);
  const shared = categoryOpt('adult');
  const before = Buffer.from(shared.bytes);
  t.equal(decode(renderBlock(q, tpl, shared, 4000)).opt?.udpPayloadSize, 4000);
  t.equal(decode(renderBlock(q, tpl, shared, 512)).opt?.udpPayloadSize, 512);
  t.same(shared.bytes, before, 'neither the size nor DO is written into the shared OPT');
});

t.test('header: ID, RD and CD kept, QR and RA set, AA clear', async (t) => {
  const q = query('x.example', 'A', 'plain', 0x0110);
  const r = render('null', q);
  t.equal(r.packet.id, 0x4242);
  t.equal(r.flags & 0x8000, 0x8000, 'QR');
  t.equal(r.flags & 0x0400, 0, 'AA clear: roje is not the authority');
  t.equal(r.flags & 0x0100, 0x0100, 'RD');
  t.equal(r.flags & 0x0080, 0x0080, 'RA');
  t.equal(r.flags & 0x0010, 0x0010, 'CD');
  const noRd = render('null', query('x.example', 'A', 'plain', 0));
  t.equal(noRd.flags & 0x0100, 0, 'RD clear when the client cleared it');
});

t.test('blockTtl is the TTL of every record', async (t) => {
  const options = { ...OPTIONS, blockTtl: 7 };
  t.equal(rrs(render('null', query('x.example', 'A'), 'adult', options).packet.answers)[0]?.ttl, 7);
  const soa = rrs(render('nxdomain', query('x.example', 'A'), 'adult', options).packet.authorities)[0] as
    | (RR & { data: dnsPacket.SoaData })
    | undefined;
  t.equal(soa?.ttl, 7);
  t.equal(soa?.data.minimum, 7);
});

t.test('RPZ actions: NXDOMAIN and NODATA templates; local data per type', async (t) => {
  const actions = buildActionTemplates(60);
  t.equal(actionTemplate(actions, ACTION.NXDOMAIN)?.rcode, RCODE.NXDOMAIN);
  t.equal(actionTemplate(actions, ACTION.NODATA)?.rcode, RCODE.NOERROR);
  t.equal(actionTemplate(actions, ACTION.NODATA)?.ancount, 0);
  t.equal(actionTemplate(actions, ACTION.POLICY), null);
  t.equal(actionTemplate(actions, ACTION.LOCAL), null);

  const records = [
    { type: 'A' as const, data: '192.0.2.7' },
    { type: 'A' as const, data: '192.0.2.8' },
    { type: 'TXT' as const, data: 'local policy' },
  ];
  const q = query('Loc.Example', 'A');
  const a = decode(renderBlock(q, localTemplate(records, 1, 60), categoryOpt('rpz'), UDP_SIZE));
  t.same(
    (a.packet.answers ?? []).map((r) => [r.name, (r as { data: unknown }).data]),
    [
      ['Loc.Example', '192.0.2.7'],
      ['Loc.Example', '192.0.2.8'],
    ],
  );
  const txt = decode(
    renderBlock(query('loc.example', 'TXT'), localTemplate(records, 16, 60), categoryOpt('rpz'), UDP_SIZE),
  );
  t.same(
    (txt.packet.answers ?? []).map((r) => String((r as { data: Buffer[] }).data[0])),
    ['local policy'],
  );
  const aaaa = decode(
    renderBlock(query('loc.example', 'AAAA'), localTemplate(records, 28, 60), categoryOpt('rpz'), UDP_SIZE),
  );
  t.same(aaaa.packet.answers, [], 'no AAAA local data: NODATA');
  t.equal(aaaa.packet.authorities?.[0]?.type, 'SOA');
  const cname = [{ type: 'CNAME' as const, data: 'safe.example' }];
  const c = decode(
    renderBlock(query('loc.example', 'A'), localTemplate(cname, 1, 60), categoryOpt('rpz'), UDP_SIZE),
  );
  t.same(
    (c.packet.answers ?? []).map((r) => [r.type, (r as { data: unknown }).data]),
    [['CNAME', 'safe.example']],
  );
});

t.test('a block page address of the wrong family is a config error', async (t) => {
  t.throws(() => buildModeTemplates('blockpage', { ...OPTIONS, blockPage: { ipv4: '2001:db8::1' } }), {
    code: 'ROJE_ERR_CONFIG_INVALID',
    message: /blockPage.ipv4 "2001:db8::1" is not an IPv4 address/,
  });
  t.throws(() => buildModeTemplates('blockpage', { ...OPTIONS, blockPage: { ipv6: '192.0.2.1' } }), {
    code: 'ROJE_ERR_CONFIG_INVALID',
  });
});
