import dnsPacket from 'dns-packet';
import t, { type Test } from 'tap';
import { EDE, RCODE } from '../../src/dns/constants.js';
import {
  answerError,
  errorResponse,
  isRejection,
  readQuery,
  readQueryInto,
  WireQuery,
} from '../../src/dns/query.js';
import type { ParsedQuery } from '../../src/dns/types.js';
import { rng } from '../helpers/rng.js';

type Packet = dnsPacket.Packet;

function opt(extra: Record<string, unknown> = {}): dnsPacket.Answer {
  return { type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, ...extra } as unknown as dnsPacket.Answer;
}

function query(name: string, type: dnsPacket.RecordType = 'A', more: Partial<Packet> = {}): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: 0xbeef,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, class: 'IN', name }],
    ...more,
  });
}

function accept(t: Test, msg: Buffer): ParsedQuery {
  const r = readQuery(msg);
  if (isRejection(r)) throw new Error(`rejected: ${r.reason}`);
  t.equal(r.msg, msg);
  return r;
}

t.test('reads a plain A query', async (t) => {
  const msg = query('WWW.Example.COM');
  const q = accept(t, msg);
  t.equal(q.id, 0xbeef);
  t.equal(q.flags, 0x0100);
  t.equal(q.name, 'www.example.com');
  t.equal(q.nameEnd, 12 + 17);
  t.equal(q.questionEnd, 12 + 17 + 4);
  t.equal(q.qtype, 1);
  t.equal(q.qclass, 1);
  t.equal(q.edns, null);
  t.equal(msg.subarray(12, q.nameEnd).toString('latin1'), '\x03WWW\x07Example\x03COM\x00', 'msg untouched');
});

t.test('reads AAAA, HTTPS, root and escaped names', async (t) => {
  t.equal(accept(t, query('example.org', 'AAAA')).qtype, 28);
  t.equal(accept(t, query('.', 'NS')).name, '');
  // A label with a dot and a byte >= 0x80, built by hand.
  const name = Buffer.from([3, 0x61, 0x2e, 0x42, 2, 0xc3, 0x41, 0]);
  const header = Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
  const msg = Buffer.concat([header, name, Buffer.from([0, 65, 0, 1])]);
  const q = accept(t, msg);
  t.equal(q.name, 'a\\.b.\\195a');
  t.equal(q.qtype, 65);
});

t.test('reads EDNS: size, DO, version', async (t) => {
  const q = accept(
    t,
    query('example.com', 'A', { additionals: [opt({ udpPayloadSize: 4096, flags: dnsPacket.DNSSEC_OK })] }),
  );
  t.same(q.edns, { udpSize: 4096, do: true, version: 0 });
  const q2 = accept(t, query('example.com', 'A', { additionals: [opt({ udpPayloadSize: 100 })] }));
  t.same(q2.edns, { udpSize: 100, do: false, version: 0 }, 'size as sent; callers clamp');
  // OPT not last, with a record after it: still found.
  const q3 = accept(
    t,
    query('example.com', 'A', {
      additionals: [opt(), { type: 'A', name: 'x.example', data: '127.0.0.1', ttl: 1 } as dnsPacket.Answer],
    }),
  );
  t.equal(q3.edns?.udpSize, 1232);
  // Answer records in a query are walked over, not refused.
  const q4 = accept(
    t,
    query('example.com', 'A', { answers: [{ type: 'A', name: 'a', data: '127.0.0.2', ttl: 5 }] }),
  );
  t.equal(q4.edns, null);
});

t.test('drops what cannot be answered', async (t) => {
  for (const len of [0, 1, 11]) t.same(readQuery(Buffer.alloc(len)), { rcode: null, reason: 'short' });
  const resp = dnsPacket.encode({ type: 'response', id: 1, questions: [{ type: 'A', name: 'a' }] });
  t.same(readQuery(resp), { rcode: null, reason: 'response' });
  t.equal(errorResponse(Buffer.alloc(11), RCODE.FORMERR, { udpSize: 1232 }), null);
});

/** Expected bytes of an error response: header, optional question, optional OPT. */
function expected(id: number, flags: number, question: Buffer | null, optBytes: Buffer | null): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(flags, 2);
  h.writeUInt16BE(question ? 1 : 0, 4);
  h.writeUInt16BE(optBytes ? 1 : 0, 10);
  return Buffer.concat([h, question ?? Buffer.alloc(0), optBytes ?? Buffer.alloc(0)]);
}

function optWire(udpSize: number, ext: number, doBit: boolean, rdata: Buffer = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(11);
  b.writeUInt16BE(41, 1);
  b.writeUInt16BE(udpSize, 3);
  b[5] = ext;
  b.writeUInt16BE(doBit ? 0x8000 : 0, 7);
  b.writeUInt16BE(rdata.length, 9);
  return Buffer.concat([b, rdata]);
}

t.test('NOTIMP for other opcodes, byte-precise', async (t) => {
  const msg = query('example.com');
  msg.writeUInt16BE(0x2100 | 0x0010, 2); // opcode STATUS, RD, CD
  t.same(readQuery(msg), { rcode: RCODE.NOTIMP, reason: 'opcode' });
  const question = msg.subarray(12);
  const out = errorResponse(msg, RCODE.NOTIMP, { udpSize: 1232 });
  t.same(out, expected(0xbeef, 0x8000 | 0x2000 | 0x0100 | 0x0080 | 0x0010 | 4, question, null));
});

t.test('FORMERR cases, byte-precise', async (t) => {
  const base = query('example.com');
  const question = base.subarray(12);
  const flags = 0x8000 | 0x0100 | 0x0080 | 1;

  const qd0 = Buffer.from(base);
  qd0.writeUInt16BE(0, 4);
  t.same(readQuery(qd0), { rcode: 1, reason: 'qdcount' });
  t.same(
    errorResponse(qd0, 1, { udpSize: 1232 }),
    expected(0xbeef, flags, null, null),
    'QDCOUNT 0: no question',
  );

  const qd2 = query('example.com', 'A', {
    questions: [
      { type: 'A', name: 'a' },
      { type: 'A', name: 'b' },
    ],
  });
  t.same(readQuery(qd2), { rcode: 1, reason: 'qdcount' });
  t.same(
    errorResponse(qd2, 1, { udpSize: 1232 }),
    expected(0xbeef, flags, null, null),
    'QDCOUNT 2: no question',
  );

  const cut = base.subarray(0, base.length - 2);
  t.same(readQuery(cut), { rcode: 1, reason: 'truncated' });
  t.same(errorResponse(cut, 1, { udpSize: 1232 }), expected(0xbeef, flags, null, null));

  const badName = Buffer.from(base);
  badName[12] = 0x41; // label type 01
  t.same(readQuery(badName), { rcode: 1, reason: 'qname' });
  t.same(errorResponse(badName, 1, { udpSize: 1232 }), expected(0xbeef, flags, null, null));

  // A compressed question: "www" + pointer to offset 12 is a pointer into itself anyway.
  const compressed = Buffer.concat([
    base.subarray(0, 12),
    Buffer.from([3, 0x77, 0x77, 0x77, 0xc0, 0x0c, 0, 1, 0, 1]),
  ]);
  t.same(readQuery(compressed), { rcode: 1, reason: 'qname' });
  t.same(errorResponse(compressed, 1, { udpSize: 1232 }), expected(0xbeef, flags, null, null));

  const trailing = Buffer.concat([base, Buffer.from([0])]);
  t.same(readQuery(trailing), { rcode: 1, reason: 'trailing' });
  t.same(
    errorResponse(trailing, 1, { udpSize: 1232 }),
    expected(0xbeef, flags, question, null),
    'question echoed',
  );

  const ar1 = Buffer.from(base);
  ar1.writeUInt16BE(1, 10);
  t.same(readQuery(ar1), { rcode: 1, reason: 'records' }, 'ARCOUNT 1 with nothing there');

  const withOpt = query('example.com', 'A', { additionals: [opt()] });
  const trailingOpt = Buffer.concat([withOpt, Buffer.from([1, 2, 3])]);
  t.same(readQuery(trailingOpt), { rcode: 1, reason: 'trailing' });
  t.same(
    errorResponse(trailingOpt, 1, { udpSize: 1400 }),
    expected(0xbeef, flags, question, optWire(1400, 0, false)),
    'the OPT itself was usable: answered with roje OPT',
  );
});

t.test("RFC 6891 §7 and §6.1.1: FORMERR for a bad OPT record carries roje's OPT", async (t) => {
  const flags = 0x8000 | 0x0100 | 0x0080 | 1;
  const question = query('example.com').subarray(12);
  // RCODE FORMERR (1) fits in the header: the OPT's extended RCODE byte stays 0.
  const roje = (doBit: boolean) => optWire(1232, 0, doBit);

  // §6.1.1: two OPT records; the first one's DO is echoed.
  const two = query('example.com', 'A', { additionals: [opt({ flags: dnsPacket.DNSSEC_OK }), opt()] });
  t.same(readQuery(two), { rcode: 1, reason: 'opt-multiple' });
  t.same(errorResponse(two, 1, { udpSize: 1232 }), expected(0xbeef, flags, question, roje(true)));

  // dns-packet refuses to write this, so: a bare query, ARCOUNT 1, then an OPT owned by "x".
  const owned = Buffer.concat([
    query('example.com'),
    Buffer.from([1, 0x78, 0]),
    optWire(1232, 0, false).subarray(1),
  ]);
  owned.writeUInt16BE(1, 10);
  t.same(readQuery(owned), { rcode: 1, reason: 'opt-owner' });
  t.same(errorResponse(owned, 1, { udpSize: 1232 }), expected(0xbeef, flags, question, roje(false)));

  const inAnswer = query('example.com', 'A', { answers: [opt()] });
  t.same(readQuery(inAnswer), { rcode: 1, reason: 'opt-section' });
  t.same(errorResponse(inAnswer, 1, { udpSize: 1232 }), expected(0xbeef, flags, question, roje(false)));

  // A record that runs past the end before any OPT: nothing to echo, no OPT.
  const cut = Buffer.concat([query('example.com'), Buffer.from([0, 0, 1, 0, 1])]);
  cut.writeUInt16BE(1, 10);
  t.same(readQuery(cut), { rcode: 1, reason: 'records' });
  t.same(errorResponse(cut, 1, { udpSize: 1232 }), expected(0xbeef, flags, question, null));
});

t.test("RFC 6891 §7: FORMERR for QDCOUNT 0 or 2 carries roje's OPT when the query had one", async (t) => {
  const none = Buffer.concat([
    Buffer.from([0xbe, 0xef, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 1]),
    optWire(4096, 0, true),
  ]);
  t.same(readQuery(none), { rcode: 1, reason: 'qdcount' });
  const out0 = errorResponse(none, 1, { udpSize: 1232 });
  t.same(
    out0,
    Buffer.concat([Buffer.from([0xbe, 0xef, 0x81, 0x81, 0, 0, 0, 0, 0, 0, 0, 1]), optWire(1232, 0, true)]),
  );

  const two = query('example.com', 'A', {
    questions: [
      { name: 'example.com', type: 'A', class: 'IN' },
      { name: 'example.org', type: 'A', class: 'IN' },
    ],
    additionals: [opt()],
  });
  t.same(readQuery(two), { rcode: 1, reason: 'qdcount' });
  const wire2 = errorResponse(two, 1, { udpSize: 1232 })!;
  t.equal(wire2.readUInt16BE(2) & 0x0f, 1, 'FORMERR');
  const out2 = dnsPacket.decode(wire2);
  t.equal(out2.questions!.length, 0, 'no question echoed: there is no one question to echo');
  t.equal(out2.additionals!.length, 1);
  t.equal(out2.additionals![0].type, 'OPT');
});

t.test('BADVERS for EDNS version 1, byte-precise', async (t) => {
  const msg = query('example.com', 'A', {
    additionals: [opt({ ednsVersion: 1, flags: dnsPacket.DNSSEC_OK })],
  });
  t.same(readQuery(msg), { rcode: RCODE.BADVERS, reason: 'badvers' });
  const out = errorResponse(msg, RCODE.BADVERS, { udpSize: 1232 });
  const question = query('example.com').subarray(12);
  // RCODE 16: 0 in the header, 1 in the OPT's extended RCODE byte; DO echoed; version 0.
  t.same(out, expected(0xbeef, 0x8000 | 0x0100 | 0x0080, question, optWire(1232, 1, true)));
  const decoded = dnsPacket.decode(out!);
  const o = decoded.additionals![0] as unknown as { extendedRcode: number; ednsVersion: number };
  t.equal(o.extendedRcode, 1);
  t.equal(o.ednsVersion, 0);
});

t.test('errorResponse with EDE options', async (t) => {
  const msg = query('blocked.example', 'A', { additionals: [opt()] });
  const out = errorResponse(msg, RCODE.REFUSED, {
    udpSize: 1232,
    ede: [{ code: EDE.BLOCKED, text: 'kids' }],
  })!;
  const d = dnsPacket.decode(out);
  t.equal(out[3] & 0xf, 5, 'REFUSED');
  const o = d.additionals![0] as unknown as { options: { code: number; data: Buffer }[] };
  t.equal(o.options[0].code, 15);
  t.equal(o.options[0].data.toString('hex'), `000f${Buffer.from('kids').toString('hex')}`);
});

t.test('answerError matches errorResponse for accepted queries', async (t) => {
  const shapes = [
    query('Example.com'),
    query('example.com', 'AAAA', {
      additionals: [opt({ flags: dnsPacket.DNSSEC_OK, udpPayloadSize: 4096 })],
    }),
    query('x.y.z', 'TXT', {
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.CHECKING_DISABLED,
      additionals: [opt()],
    }),
  ];
  const ede = [{ code: EDE.FILTERED }, { code: EDE.OTHER, text: 'é' }];
  for (const msg of shapes) {
    const q = accept(t, msg);
    for (const rcode of [RCODE.SERVFAIL, RCODE.NXDOMAIN, RCODE.REFUSED]) {
      t.same(
        answerError(q, rcode, { udpSize: 1232, ede }),
        errorResponse(msg, rcode, { udpSize: 1232, ede }),
      );
    }
  }
  const q = accept(t, shapes[1]);
  const d = dnsPacket.decode(answerError(q, RCODE.NXDOMAIN, { udpSize: 1400 }));
  t.equal(d.id, 0xbeef);
  t.equal(d.flags! & 0xf, 3, 'NXDOMAIN');
  t.equal(d.flag_qr, true);
  t.equal(d.flag_ra, true);
  t.equal(d.questions![0].name, 'example.com');
  const o = d.additionals![0] as unknown as { udpPayloadSize: number; flag_do: boolean };
  t.equal(o.udpPayloadSize, 1400);
  t.equal(o.flag_do, true);
});

t.test('never throws on random and mutated queries; answers always decode', async (t) => {
  const next = rng(0xd15ea5e);
  const seeds = [
    query('www.example.com'),
    query('Example.ORG', 'AAAA', { additionals: [opt({ flags: dnsPacket.DNSSEC_OK })] }),
    query('a.b', 'A', { additionals: [opt(), opt()] }),
  ];
  const seen = new Set<string>();
  for (let i = 0; i < 20000; i++) {
    let msg: Buffer;
    if (i % 4 === 0) {
      msg = Buffer.alloc(next() % 48);
      for (let j = 0; j < msg.length; j++) msg[j] = next() & 0xff;
    } else {
      const s = seeds[i % seeds.length];
      msg = Buffer.from(s.subarray(0, next() % 8 === 0 ? next() % (s.length + 1) : s.length));
      if (msg.length > 0) for (let k = next() % 3; k >= 0; k--) msg[next() % msg.length] = next() & 0xff;
    }
    const r = readQuery(msg);
    if (isRejection(r)) {
      seen.add(r.reason);
      if (r.rcode === null) continue;
      const out = errorResponse(msg, r.rcode, { udpSize: 1232, ede: [{ code: EDE.OTHER }] });
      if (out === null) t.fail('header was readable');
      else
        try {
          dnsPacket.decode(out);
        } catch (err) {
          t.fail(`errorResponse output does not decode: ${msg.toString('hex')}: ${err}`);
        }
    } else {
      seen.add('ok');
      const out = answerError(r, RCODE.SERVFAIL, { udpSize: 1232 });
      const d = dnsPacket.decode(out);
      if (d.id !== r.id || d.questions?.length !== 1)
        t.fail(`answerError output wrong for ${msg.toString('hex')}`);
    }
  }
  t.ok(
    seen.has('ok') && seen.has('qname') && seen.has('response'),
    `reasons reached: ${[...seen].join(',')}`,
  );
});

t.test(
  'readQueryInto refills one query: name decoded on first use, nothing left of the message before',
  async (t) => {
    const q = new WireQuery();
    const first = readQueryInto(
      query('One.Example', 'A', { additionals: [opt({ flags: dnsPacket.DNSSEC_OK })] }),
      q,
    );
    t.equal(first, q);
    t.equal(q.name, 'one.example');
    t.equal(q.edns?.do, true);
    t.equal(readQueryInto(query('two.example', 'AAAA'), q), q);
    t.equal(q.name, 'two.example', 'the new name, not the one decoded before');
    t.equal(q.edns, null, 'no OPT record this time');
    t.equal(q.qtype, 28);
    const rejected = readQueryInto(query('x'.repeat(64)), q);
    t.ok(isRejection(rejected));
    t.match(rejected, { reason: 'qname' }, 'a label over 63 octets: FORMERR as before');
  },
);
