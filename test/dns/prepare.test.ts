import dnsPacket from 'dns-packet';
import t, { type Test } from 'tap';
import { prepareResponse } from '../../src/dns/prepare.js';
import type { TtlBounds } from '../../src/dns/types.js';
import { isRojeError } from '../../src/errors.js';
import { rng } from '../helpers/rng.js';

const BOUNDS: TtlBounds = { minTtl: 0, maxTtl: 86400, negativeMaxTtl: 3600 };

type Rec = dnsPacket.Answer;

function opt(extra: Record<string, unknown> = {}): Rec {
  return { type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, ...extra } as unknown as Rec;
}

function soa(name: string, ttl: number, minimum: number): Rec {
  return {
    type: 'SOA',
    name,
    ttl,
    data: {
      mname: 'ns1.example.com',
      rname: 'hostmaster.example.com',
      serial: 1,
      refresh: 7200,
      retry: 900,
      expire: 1209600,
      minimum,
    },
  } as Rec;
}

function response(
  sections: { answers?: Rec[]; authorities?: Rec[]; additionals?: Rec[] },
  rcode = 0,
  name = 'example.com',
  extraFlags = 0,
): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id: 7,
    flags: 0x0100 | 0x0080 | extraFlags | rcode,
    questions: [{ type: 'A', class: 'IN', name }],
    ...sections,
  });
}

const A = (name: string, ttl: number, ip = '127.0.0.1'): Rec => ({ type: 'A', name, ttl, data: ip });

function throwsMalformed(t: Test, fn: () => unknown, msg: string) {
  try {
    fn();
    t.fail(`${msg}: did not throw`);
  } catch (err) {
    t.ok(isRojeError(err, 'ROJE_ERR_DNS_MALFORMED'), msg);
  }
}

t.test('A answer: TTL offsets, clamping, cacheable TTL', async (t) => {
  const wire = response({ answers: [A('example.com', 300), A('example.com', 30, '127.0.0.2')] });
  const p = prepareResponse(wire, { minTtl: 60, maxTtl: 200, negativeMaxTtl: 3600 });
  t.same(p.wire, wire, 'no OPT: bytes unchanged');
  t.not(p.wire, wire, 'a copy, not the caller buffer');
  t.equal(p.rcode, 0);
  t.same([...p.ttls], [200, 60]);
  t.equal(p.ttlOffsets.length, 2);
  for (const [i, off] of [...p.ttlOffsets].entries()) t.equal(wire.readUInt32BE(off), [300, 30][i]);
  t.equal(p.ttl, 60);
  t.same(p.ede, []);
});

t.test('TTLs with the top bit set count as zero (RFC 2181 §8)', async (t) => {
  const wire = response({ answers: [A('example.com', 0x80000000)] });
  const p = prepareResponse(wire, BOUNDS);
  t.same([...p.ttls], [0]);
  t.equal(p.ttl, 0);
});

t.test('CNAME chain: min over every RR, additional included', async (t) => {
  const wire = response({
    answers: [
      { type: 'CNAME', name: 'example.com', ttl: 3600, data: 'www.example.net' },
      { type: 'CNAME', name: 'www.example.net', ttl: 600, data: 'edge.example.org' },
      A('edge.example.org', 120),
    ],
    authorities: [{ type: 'NS', name: 'example.org', ttl: 86400, data: 'ns.example.org' }],
    additionals: [A('ns.example.org', 90)],
  });
  const p = prepareResponse(wire, BOUNDS);
  t.equal(p.ttls.length, 5);
  t.equal(p.ttl, 90);
});

t.test('NXDOMAIN and NODATA: RFC 2308 negative TTL', async (t) => {
  const nx = prepareResponse(response({ authorities: [soa('example.com', 900, 300)] }, 3), BOUNDS);
  t.equal(nx.rcode, 3);
  t.equal(nx.ttl, 300, 'min(SOA TTL, MINIMUM)');
  const nx2 = prepareResponse(response({ authorities: [soa('example.com', 100, 300)] }, 3), BOUNDS);
  t.equal(nx2.ttl, 100);
  const capped = prepareResponse(response({ authorities: [soa('example.com', 86400, 86400)] }, 3), BOUNDS);
  t.equal(capped.ttl, 3600, 'capped at negativeMaxTtl');
  const raised = prepareResponse(response({ authorities: [soa('example.com', 5, 5)] }, 3), {
    ...BOUNDS,
    minTtl: 30,
  });
  t.equal(raised.ttl, 30, 'raised to minTtl');
  const nodata = prepareResponse(response({ authorities: [soa('example.com', 900, 60)] }), BOUNDS);
  t.equal(nodata.ttl, 60);
  t.equal(prepareResponse(response({}, 3), BOUNDS).ttl, 0, 'NXDOMAIN without SOA: not cached');
  t.equal(prepareResponse(response({}), BOUNDS).ttl, 0, 'NODATA without SOA: not cached');
  const cnameNodata = prepareResponse(
    response({
      answers: [{ type: 'CNAME', name: 'example.com', ttl: 3600, data: 'x.example.net' }],
      authorities: [soa('example.net', 3600, 120)],
    }),
    BOUNDS,
  );
  t.equal(cnameNodata.ttl, 120, 'CNAME to NODATA uses the SOA too');
  const nxCname = prepareResponse(
    response(
      {
        answers: [{ type: 'CNAME', name: 'example.com', ttl: 50, data: 'x.example.net' }],
        authorities: [soa('example.net', 3600, 120)],
      },
      3,
    ),
    BOUNDS,
  );
  t.equal(nxCname.ttl, 50, 'never longer than an RR it serves');
});

t.test('the SOA of a negative answer is served with the negative TTL (RFC 2308 §3)', async (t) => {
  const nx = prepareResponse(response({ authorities: [soa('example.com', 86400, 300)] }, 3), BOUNDS);
  t.same([...nx.ttls], [300], 'SOA TTL cut to min(SOA TTL, MINIMUM)');
  t.equal(
    nx.wire.readUInt32BE(nx.ttlOffsets[0]),
    86400,
    'the stored wire keeps the raw TTL; render patches it',
  );
  const capped = prepareResponse(response({ authorities: [soa('example.com', 86400, 86400)] }, 3), BOUNDS);
  t.same([...capped.ttls], [3600], 'and capped at negativeMaxTtl');
  const raised = prepareResponse(response({ authorities: [soa('example.com', 5, 5)] }, 3), {
    ...BOUNDS,
    minTtl: 30,
  });
  t.same([...raised.ttls], [30], 'raised to minTtl like the answer TTL');
});

t.test('SERVFAIL, REFUSED and TC are not cached', async (t) => {
  t.equal(prepareResponse(response({}, 2), BOUNDS).ttl, 0);
  t.equal(prepareResponse(response({ authorities: [soa('example.com', 900, 300)] }, 5), BOUNDS).ttl, 0);
  t.equal(
    prepareResponse(response({ answers: [A('example.com', 300)] }, 0, 'example.com', 0x0200), BOUNDS).ttl,
    0,
  );
});

t.test('OPT last: sliced off, ARCOUNT decremented, extended RCODE and EDE kept', async (t) => {
  const plain = response({ answers: [A('example.com', 300)], additionals: [A('ns.example.com', 300)] });
  const ede = Buffer.concat([Buffer.from([0, 3]), Buffer.from('stale')]);
  const withOpt = response({
    answers: [A('example.com', 300)],
    additionals: [A('ns.example.com', 300), opt({ extendedRcode: 1, options: [{ code: 15, data: ede }] })],
  });
  const p = prepareResponse(withOpt, BOUNDS);
  t.same(p.wire, plain);
  t.equal(p.rcode, 16);
  t.same(p.ede, [{ code: 3, text: 'stale' }]);
  t.equal(p.ttls.length, 2, 'OPT TTL is not a TTL');
  t.equal(p.ttl, 0, 'extended RCODE is not NOERROR');
});

/**
 * Hand-built because dns-packet never compresses: OPT first in the additional section, then records
 * whose names point at names after it.
 */
function middleOpt(pointerIntoOpt = false): Buffer {
  const q = Buffer.concat([Buffer.from('\x07example\x03com\x00', 'latin1'), Buffer.from([0, 1, 0, 1])]);
  const header = Buffer.from([0, 7, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 4]);
  // Answer at 29: example.com (pointer to 12) A 127.0.0.1.
  const ans = Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 0, 0, 4, 127, 0, 0, 1]);
  // OPT at 45, with one EDE option: 11 + 6 = 17 bytes, to 62.
  const optRr = Buffer.from([0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 6, 0, 15, 0, 2, 0, 22]);
  // At 62: ns.example.com A 127.0.0.2 (owner "\x02ns" + pointer 12, 5 bytes), to 81.
  const ns = Buffer.from([2, 0x6e, 0x73, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 200, 0, 4, 127, 0, 0, 2]);
  // At 81: owner pointer to 62 (ns.example.com), AAAA ::1, to 109.
  const aaaa = Buffer.concat([
    Buffer.from([0xc0, 62, 0, 28, 0, 1, 0, 0, 0, 100, 0, 16]),
    Buffer.alloc(15),
    Buffer.from([1]),
  ]);
  // At 109: mx.example.com MX 10 <pointer to 81 or into the OPT>.
  const target = pointerIntoOpt ? 45 : 81;
  const mx = Buffer.from([2, 0x6d, 0x78, 0xc0, 12, 0, 15, 0, 1, 0, 0, 0, 50, 0, 4, 0, 10, 0xc0, target]);
  return Buffer.concat([header, q, ans, optRr, ns, aaaa, mx]);
}

t.test('OPT in the middle: removed and compression pointers fixed', async (t) => {
  const wire = middleOpt();
  t.equal(wire.length, 128);
  const p = prepareResponse(wire, BOUNDS);
  t.equal(p.wire.length, 128 - 17);
  t.same(p.ede, [{ code: 22 }]);
  t.same([...p.ttls], [256, 200, 100, 50]);
  for (const [i, off] of [...p.ttlOffsets].entries()) t.equal(p.wire.readUInt32BE(off), p.ttls[i]);
  const d = dnsPacket.decode(p.wire);
  t.equal(d.additionals!.length, 3);
  t.same(
    d.additionals!.map((r) => [r.type, r.name, (r as { data: unknown }).data]),
    [
      ['A', 'ns.example.com', '127.0.0.2'],
      ['AAAA', 'ns.example.com', '::1'],
      ['MX', 'mx.example.com', { preference: 10, exchange: 'ns.example.com' }],
    ],
  );
  t.equal(p.ttl, 50);
  throwsMalformed(t, () => prepareResponse(middleOpt(true), BOUNDS), 'a pointer into the OPT record');
});

t.test('refuses what cannot be walked', async (t) => {
  const good = response({ answers: [A('example.com', 300)] });
  throwsMalformed(t, () => prepareResponse(Buffer.alloc(5), BOUNDS), 'short');
  throwsMalformed(t, () => prepareResponse(good.subarray(0, good.length - 1), BOUNDS), 'truncated rdata');
  const counts = Buffer.from(good);
  counts.writeUInt16BE(0xffff, 6);
  throwsMalformed(t, () => prepareResponse(counts, BOUNDS), 'impossible counts');
  throwsMalformed(t, () => prepareResponse(response({ additionals: [opt(), opt()] }), BOUNDS), 'two OPTs');
  throwsMalformed(t, () => prepareResponse(response({ answers: [opt()] }), BOUNDS), 'OPT as an answer');
  const badSoa = response({ authorities: [soa('example.com', 10, 10)] }, 3);
  const shortSoa = Buffer.from(badSoa);
  // Shrink the SOA RDLENGTH so MINIMUM falls outside it; the trailing bytes then become garbage.
  // RDATA: ns1.example.com (17) + hostmaster.example.com (24) + 5 × u32 (20).
  const rdlenAt = shortSoa.length - (17 + 24 + 20) - 2;
  t.equal(shortSoa.readUInt16BE(rdlenAt), 61);
  shortSoa.writeUInt16BE(shortSoa.readUInt16BE(rdlenAt) - 4, rdlenAt);
  throwsMalformed(t, () => prepareResponse(shortSoa, BOUNDS), 'SOA too short for MINIMUM');
  // Trailing bytes after the last record are dropped, not an error.
  const p = prepareResponse(Buffer.concat([good, Buffer.from([1, 2, 3])]), BOUNDS);
  t.same(p.wire, good);
});

t.test('never throws anything but RojeError on mutated responses', async (t) => {
  const next = rng(0xfeed);
  const seeds = [
    response({ answers: [A('example.com', 300)], additionals: [opt()] }),
    response({ authorities: [soa('example.com', 900, 300)] }, 3),
    middleOpt(),
  ];
  let ok = 0;
  let refused = 0;
  for (let i = 0; i < 20000; i++) {
    const s = seeds[i % seeds.length];
    const msg = Buffer.from(s.subarray(0, next() % 10 === 0 ? next() % (s.length + 1) : s.length));
    if (msg.length > 0) for (let k = next() % 3; k >= 0; k--) msg[next() % msg.length] = next() & 0xff;
    try {
      const p = prepareResponse(msg, BOUNDS);
      ok++;
      for (const off of p.ttlOffsets)
        if (off + 4 > p.wire.length) t.fail(`TTL offset out of range: ${msg.toString('hex')}`);
      if (p.ttl < 0 || p.ttl > BOUNDS.maxTtl) t.fail(`ttl ${p.ttl} out of bounds`);
    } catch (err) {
      if (!isRojeError(err, 'ROJE_ERR_DNS_MALFORMED')) t.fail(`unexpected ${err} for ${msg.toString('hex')}`);
      refused++;
    }
  }
  t.ok(ok > 0 && refused > 0, `ok ${ok}, refused ${refused}`);
});
