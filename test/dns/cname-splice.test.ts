import dnsPacket from 'dns-packet';
import t from 'tap';
import { spliceCname } from '../../src/dns/cname-splice.js';
import { EDE } from '../../src/dns/constants.js';
import { encodeName } from '../../src/dns/name.js';
import { prepareResponse } from '../../src/dns/prepare.js';
import { isRejection, readQuery } from '../../src/dns/query.js';
import { renderResponse } from '../../src/dns/render.js';
import type { ParsedQuery } from '../../src/dns/types.js';
import { isRojeError } from '../../src/errors.js';

const BOUNDS = { minTtl: 0, maxTtl: 86400, negativeMaxTtl: 3600 };
const OPTS = { udpSize: 1232, ede: [{ code: EDE.FORGED_ANSWER, text: 'safesearch' }], emptyTtl: 300 };

function opt(flags = 0): dnsPacket.Answer {
  return { type: 'OPT', name: '.', udpPayloadSize: 4096, flags } as unknown as dnsPacket.Answer;
}

function parse(msg: Buffer): ParsedQuery {
  const q = readQuery(msg);
  if (isRejection(q)) throw new Error(`rejected: ${q.reason}`);
  return q;
}

function clientQuery(
  name: string,
  type: dnsPacket.RecordType,
  edns: dnsPacket.Answer[] = [],
  flags = 0x0100,
) {
  return parse(
    dnsPacket.encode({
      type: 'query',
      id: 0xbeef,
      flags,
      questions: [{ name, type, class: 'IN' }],
      additionals: edns,
    }),
  );
}

/** The chain's answer for `target` as the cache stage renders it for an inner query. */
function innerAnswer(
  target: string,
  type: dnsPacket.RecordType,
  packet: Partial<dnsPacket.Packet>,
  innerEdns = false,
): Buffer {
  const upstream = dnsPacket.encode({
    type: 'response',
    id: 1,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | dnsPacket.AUTHORITATIVE_ANSWER,
    questions: [{ name: target, type, class: 'IN' }],
    ...packet,
  });
  const innerQ = parse(
    dnsPacket.encode({
      type: 'query',
      id: 0,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ name: target, type, class: 'IN' }],
      additionals: innerEdns ? [opt()] : [],
    }),
  );
  return renderResponse(prepareResponse(upstream, BOUNDS), innerQ, { age: 0, udpSize: 1232 });
}

/** One record as dns-packet decodes it, without its per-type union. */
interface Rr {
  name: string;
  type: string;
  ttl?: number;
  data?: unknown;
}
type Decoded = Omit<dnsPacket.DecodedPacket, 'answers' | 'authorities' | 'additionals'> & {
  rcode?: string;
  answers?: Rr[];
  authorities?: Rr[];
  additionals?: Rr[];
};

function decode(buf: Buffer): Decoded {
  // A spliced answer must walk like any response (the responder's fitResponse and the cache do).
  prepareResponse(buf, BOUNDS);
  return dnsPacket.decode(buf) as unknown as Decoded;
}

t.test('CNAME to the safe host, then its records; the client keeps its ID, case and RD', async (t) => {
  const q = clientQuery('WWW.Google.AL', 'A');
  const inner = innerAnswer('forcesafesearch.google.com', 'A', {
    answers: [{ type: 'A', name: 'forcesafesearch.google.com', ttl: 120, data: '216.239.38.120' }],
  });
  const out = spliceCname(q, encodeName('forcesafesearch.google.com'), inner, OPTS);
  const p = decode(out);
  t.equal(p.id, 0xbeef);
  t.equal(p.rcode, 'NOERROR');
  t.ok(p.flag_qr && p.flag_rd && p.flag_ra, 'QR, RD, RA');
  t.notOk(p.flag_aa, 'not authoritative: roje made the alias');
  t.equal(p.questions?.[0].name, 'WWW.Google.AL', "the client's case");
  t.same(
    p.answers?.map((a) => [a.name, a.type, a.ttl, a.data]),
    [
      ['WWW.Google.AL', 'CNAME', 120, 'forcesafesearch.google.com'],
      ['forcesafesearch.google.com', 'A', 120, '216.239.38.120'],
    ],
  );
  t.equal(p.additionals?.length, 0, 'no OPT for a client without EDNS');
});

t.test('EDNS: OPT with the client DO, EDE 4 and the inner EDEs', async (t) => {
  const q = clientQuery('bing.com', 'AAAA', [opt(dnsPacket.DNSSEC_OK)]);
  const upstream = dnsPacket.encode({
    type: 'response',
    id: 1,
    flags: dnsPacket.RECURSION_AVAILABLE,
    questions: [{ name: 'strict.bing.com', type: 'AAAA', class: 'IN' }],
    answers: [{ type: 'AAAA', name: 'strict.bing.com', ttl: 60, data: '2620:1ec:c11::200' }],
    additionals: [
      {
        type: 'OPT',
        name: '.',
        udpPayloadSize: 1232,
        flags: 0,
        options: [{ code: 15, data: Buffer.from([0, 3, 0x68, 0x69]) }],
      } as unknown as dnsPacket.Answer,
    ],
  });
  const innerQ = parse(
    dnsPacket.encode({
      type: 'query',
      id: 0,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ name: 'strict.bing.com', type: 'AAAA', class: 'IN' }],
      additionals: [opt(dnsPacket.DNSSEC_OK)],
    }),
  );
  const inner = renderResponse(prepareResponse(upstream, BOUNDS), innerQ, { age: 0, udpSize: 1232 });
  const out = spliceCname(q, encodeName('strict.bing.com'), inner, OPTS);
  const p = decode(out);
  t.equal(p.answers?.length, 2);
  t.equal(p.answers?.[0].type, 'CNAME');
  t.equal(p.answers?.[1].type, 'AAAA');
  const o = p.additionals?.find((a) => a.type === 'OPT') as unknown as {
    flags: number;
    options: { code: number; data: Buffer }[];
  };
  t.ok(o, 'one OPT');
  t.equal(p.additionals?.length, 1, 'only roje’s OPT');
  t.ok((o.flags & dnsPacket.DNSSEC_OK) !== 0, 'DO echoed');
  const edes = o.options
    .filter((x) => x.code === 15)
    .map((x) => [x.data.readUInt16BE(0), x.data.subarray(2).toString()]);
  t.same(edes, [
    [EDE.FORGED_ANSWER, 'safesearch'],
    [3, 'hi'],
  ]);
});

/**
 * A compressed inner answer as an upstream's own compressor would write it: strict.bing.com CNAME
 * x.bing.com (the "bing.com" a pointer into the question), x.bing.com A (owner a pointer into the
 * CNAME's RDATA), and an NS in authority pointing at both.
 */
function compressedInner(withOpt: boolean): Buffer {
  const header = Buffer.from([0, 0, 0x81, 0x80, 0, 1, 0, 2, 0, 1, 0, withOpt ? 1 : 0]);
  const qname = encodeName('strict.bing.com'); // at 12; "bing.com" at 12 + 7 = 19
  const question = Buffer.concat([qname, Buffer.from([0, 1, 0, 1])]);
  const recStart = 12 + question.length;
  const cname = Buffer.concat([
    Buffer.from([0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 90, 0, 4]),
    Buffer.from([1, 0x78, 0xc0, 19]), // x + pointer to bing.com
  ]);
  const cnameRdata = recStart + 12;
  const a = Buffer.concat([
    Buffer.from([0xc0, cnameRdata, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4]),
    Buffer.from([204, 79, 197, 220]),
  ]);
  const ns = Buffer.concat([
    Buffer.from([0xc0, 19, 0, 2, 0, 1, 0, 0, 1, 0, 0, 5]),
    Buffer.from([2, 0x6e, 0x73, 0xc0, cnameRdata]), // ns.x.bing.com
  ]);
  const optRr = withOpt ? Buffer.from([0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0]) : Buffer.alloc(0);
  return Buffer.concat([header, question, cname, a, ns, optRr]);
}

t.test('compression pointers of the inner answer are moved with its records', async (t) => {
  for (const withOpt of [false, true]) {
    const q = clientQuery('www.BING.com', 'A', withOpt ? [opt()] : []);
    const inner = compressedInner(withOpt);
    t.equal(dnsPacket.decode(inner).answers?.[1].name, 'x.bing.com', 'the fixture decodes');
    const p = decode(spliceCname(q, encodeName('strict.bing.com'), inner, OPTS));
    t.same(
      p.answers?.map((r) => [r.name, r.type, r.ttl, r.data]),
      [
        ['www.BING.com', 'CNAME', 30, 'strict.bing.com'],
        ['strict.bing.com', 'CNAME', 90, 'x.bing.com'],
        ['x.bing.com', 'A', 30, '204.79.197.220'],
      ],
      `answers (inner OPT: ${withOpt})`,
    );
    t.same(
      p.authorities?.map((r) => [r.name, r.type, r.data]),
      [['bing.com', 'NS', 'ns.x.bing.com']],
    );
    t.equal(p.additionals?.length, withOpt ? 1 : 0);
  }
});

t.test('NODATA and NXDOMAIN: the CNAME lasts as long as the negative answer, at most emptyTtl', async (t) => {
  const soa = (ttl: number): dnsPacket.Answer => ({
    type: 'SOA',
    name: 'google.com',
    ttl,
    data: {
      mname: 'ns1.google.com',
      rname: 'dns-admin.google.com',
      serial: 1,
      refresh: 900,
      retry: 900,
      expire: 1800,
      minimum: ttl,
    },
  });
  const q = clientQuery('google.com', 'MX');
  for (const [ttl, want] of [
    [60, 60],
    [3600, 300],
  ]) {
    const inner = innerAnswer('forcesafesearch.google.com', 'MX', { authorities: [soa(ttl)] });
    const p = decode(spliceCname(q, encodeName('forcesafesearch.google.com'), inner, OPTS));
    t.equal(p.rcode, 'NOERROR');
    t.same(
      p.answers?.map((a) => [a.type, a.ttl]),
      [['CNAME', want]],
    );
    t.equal(p.authorities?.[0]?.type, 'SOA', 'the SOA stays');
  }
  const nx = innerAnswer('forcesafesearch.google.com', 'A', { flags: 3, authorities: [soa(30)] });
  const p = decode(
    spliceCname(clientQuery('google.com', 'A'), encodeName('forcesafesearch.google.com'), nx, OPTS),
  );
  t.equal(p.rcode, 'NXDOMAIN');
  t.equal(p.answers?.[0]?.ttl, 30);
  const bare = innerAnswer('forcesafesearch.google.com', 'TXT', {});
  t.equal(
    decode(
      spliceCname(clientQuery('google.com', 'TXT'), encodeName('forcesafesearch.google.com'), bare, OPTS),
    ).answers?.[0]?.ttl,
    300,
    'no SOA: emptyTtl',
  );
});

t.test('a failed inner answer is passed on: its RCODE and EDEs, no records', async (t) => {
  const q = clientQuery('duckduckgo.com', 'A', [opt()]);
  const upstream = dnsPacket.encode({
    type: 'response',
    id: 1,
    flags: dnsPacket.RECURSION_AVAILABLE | 2,
    questions: [{ name: 'safe.duckduckgo.com', type: 'A', class: 'IN' }],
    additionals: [
      {
        type: 'OPT',
        name: '.',
        udpPayloadSize: 1232,
        flags: 0,
        options: [{ code: 15, data: Buffer.from([0, 22]) }],
      } as unknown as dnsPacket.Answer,
    ],
  });
  const innerQ = parse(
    dnsPacket.encode({
      type: 'query',
      id: 0,
      flags: 0x0100,
      questions: [{ name: 'safe.duckduckgo.com', type: 'A', class: 'IN' }],
      additionals: [opt()],
    }),
  );
  const inner = renderResponse(prepareResponse(upstream, BOUNDS), innerQ, { age: 0, udpSize: 1232 });
  const p = decode(spliceCname(q, encodeName('safe.duckduckgo.com'), inner, OPTS));
  t.equal(p.rcode, 'SERVFAIL');
  t.equal(p.answers?.length, 0);
  t.equal(p.questions?.[0].name, 'duckduckgo.com');
  const o = p.additionals?.[0] as unknown as { options: { code: number; data: Buffer }[] };
  t.same(
    o.options.map((x) => x.data.readUInt16BE(0)),
    [22],
    'the inner EDE, not the forged-answer one',
  );
});

t.test('null inner: the CNAME alone (a query of type CNAME)', async (t) => {
  const q = clientQuery('m.youtube.com', 'CNAME', [opt()]);
  const p = decode(spliceCname(q, encodeName('restrict.youtube.com'), null, OPTS));
  t.equal(p.rcode, 'NOERROR');
  t.same(
    p.answers?.map((a) => [a.name, a.type, a.ttl, a.data]),
    [['m.youtube.com', 'CNAME', 300, 'restrict.youtube.com']],
  );
  t.ok(p.flag_ra);
});

t.test('inner answers that cannot be spliced throw ROJE_ERR_DNS_MALFORMED', async (t) => {
  const q = clientQuery('google.com', 'A');
  const target = encodeName('forcesafesearch.google.com');
  const good = innerAnswer('forcesafesearch.google.com', 'A', {
    answers: [{ type: 'A', name: 'forcesafesearch.google.com', ttl: 120, data: '216.239.38.120' }],
  });
  const other = innerAnswer('example.com', 'A', {});
  const pointsAhead = compressedInner(false);
  pointsAhead[pointsAhead.length - 1] = 0xff; // ns.<pointer past the end>
  const pointsIntoHeader = compressedInner(false);
  pointsIntoHeader[pointsIntoHeader.length - 1] = 2;
  const cases: Array<[string, Buffer, Buffer]> = [
    ['another question', other, target],
    ['short', good.subarray(0, 20), target],
    ['a record cut short', good.subarray(0, good.length - 2), target],
    ['a pointer past the records', pointsAhead, encodeName('strict.bing.com')],
    ['a pointer into the header', pointsIntoHeader, encodeName('strict.bing.com')],
  ];
  for (const [what, inner, tgt] of cases) {
    let caught: unknown = null;
    try {
      spliceCname(q, tgt, inner, OPTS);
    } catch (err) {
      caught = err;
    }
    t.ok(isRojeError(caught, 'ROJE_ERR_DNS_MALFORMED'), what);
  }
});
