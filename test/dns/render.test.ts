import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { promisify } from 'node:util';
import dnsPacket from 'dns-packet';
import t from 'tap';
import { EDE } from '../../src/dns/constants.js';
import { prepareResponse } from '../../src/dns/prepare.js';
import { isRejection, readQuery } from '../../src/dns/query.js';
import { fitResponse, renderResponse, udpLimit } from '../../src/dns/render.js';
import type { ParsedQuery, PreparedResponse, TtlBounds } from '../../src/dns/types.js';
import { isRojeError } from '../../src/errors.js';
import { rng } from '../helpers/rng.js';

const BOUNDS: TtlBounds = { minTtl: 0, maxTtl: 86400, negativeMaxTtl: 3600 };
type Rec = dnsPacket.Answer;

interface OptRec {
  type: 'OPT';
  udpPayloadSize: number;
  extendedRcode: number;
  ednsVersion: number;
  flags: number;
  flag_do: boolean;
  options: { code: number; data: Buffer }[];
}

function opt(extra: Record<string, unknown> = {}): Rec {
  return { type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, ...extra } as unknown as Rec;
}

function parse(msg: Buffer): ParsedQuery {
  const q = readQuery(msg);
  if (isRejection(q)) throw new Error(`rejected: ${q.reason}`);
  return q;
}

function query(name: string, flags = 0x0100, additionals: Rec[] = [], id = 0x1234): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id,
    flags,
    questions: [{ type: 'A', class: 'IN', name }],
    additionals,
  });
}

function response(
  name: string,
  sections: { answers?: Rec[]; authorities?: Rec[]; additionals?: Rec[] },
  flags = 0x8180,
) {
  return dnsPacket.encode({
    type: 'response',
    id: 99,
    flags,
    questions: [{ type: 'A', class: 'IN', name }],
    ...sections,
  });
}

const A = (name: string, ttl: number, ip = '127.0.0.1'): Rec => ({ type: 'A', name, ttl, data: ip });

function optOf(d: dnsPacket.Packet): OptRec | undefined {
  return d.additionals?.find((r) => r.type === 'OPT') as unknown as OptRec | undefined;
}

t.test('renders a cache hit: ID, client case, aged TTLs, no OPT for a plain client', async (t) => {
  const p = prepareResponse(
    response('example.com', { answers: [A('example.com', 300), A('example.com', 20)] }),
    BOUNDS,
  );
  const q = parse(query('ExAmPle.CoM'));
  const out = renderResponse(p, q, { age: 30, udpSize: 1232 });
  t.equal(out.length, p.wire.length);
  const d = dnsPacket.decode(out);
  t.equal(d.id, 0x1234);
  t.equal(d.questions![0].name, 'ExAmPle.CoM', "client's case echoed");
  t.same(
    d.answers!.map((a) => (a as { ttl: number }).ttl),
    [270, 0],
    'aged, floored at 0',
  );
  t.equal(d.additionals!.length, 0);
  t.equal(p.wire.readUInt16BE(0), 99, 'prepared wire is never mutated');
  const stale = dnsPacket.decode(renderResponse(p, q, { age: 9999, ttlOverride: 30, udpSize: 1232 }));
  t.same(
    stale.answers!.map((a) => (a as { ttl: number }).ttl),
    [30, 30],
  );
});

t.test(
  'flags: RFC 1035 §4.1.1 AA clear and RA set (roje answers, not the upstream), RD/CD from the client, TC cleared, RFC 6840 §5.8 AD only with DO or AD',
  async (t) => {
    // Response with AA, TC, RA, AD, and RD clear; client sets RD and CD.
    const p = prepareResponse(
      response('a.example', { answers: [A('a.example', 60)] }, 0x8000 | 0x0400 | 0x0200 | 0x0080 | 0x0020),
      BOUNDS,
    );
    const plain = renderResponse(p, parse(query('a.example', 0x0100 | 0x0010)), { age: 0, udpSize: 1232 });
    t.equal(plain.readUInt16BE(2), 0x8000 | 0x0100 | 0x0080 | 0x0010, 'AA and AD dropped, TC cleared');
    const ad = renderResponse(p, parse(query('a.example', 0x0020)), { age: 0, udpSize: 1232 });
    t.equal(ad.readUInt16BE(2), 0x8000 | 0x0080 | 0x0020, 'client AD keeps AD; RD 0 echoed');
    const dnssec = renderResponse(p, parse(query('a.example', 0x0100, [opt({ flags: 0x8000 })])), {
      age: 0,
      udpSize: 1232,
    });
    t.equal(dnssec.readUInt16BE(2) & 0x0020, 0x0020, 'DO keeps AD');
  },
);

t.test(
  'RFC 1034 §4.3.2: a cache hit of an authoritative answer without RA is served AA=0, RA=1',
  async (t) => {
    // An authoritative upstream: AA set, RA clear (it does not recurse), no AD.
    const p = prepareResponse(
      response('a.example', { answers: [A('a.example', 60)] }, 0x8000 | 0x0400),
      BOUNDS,
    );
    for (const age of [0, 30]) {
      const out = renderResponse(p, parse(query('a.example', 0x0100)), { age, udpSize: 1232 });
      t.equal(out.readUInt16BE(2), 0x8000 | 0x0100 | 0x0080, `age ${age}: QR RD RA`);
    }
    const stale = renderResponse(p, parse(query('a.example', 0x0100)), {
      age: 99,
      ttlOverride: 30,
      udpSize: 1232,
    });
    t.equal(stale.readUInt16BE(2) & (0x0400 | 0x0080), 0x0080, 'stale too');
    t.equal(
      p.wire.readUInt16BE(2) & 0x0400,
      0x0400,
      'the prepared wire is left as it is: only the copy is patched',
    );
  },
);

t.test('RFC 6840 §5.8: AD is passed on only when the upstream set it', async (t) => {
  const p = prepareResponse(
    response('a.example', { answers: [A('a.example', 60)] }, 0x8000 | 0x0080),
    BOUNDS,
  );
  const ad = renderResponse(p, parse(query('a.example', 0x0120)), { age: 0, udpSize: 1232 });
  t.equal(ad.readUInt16BE(2) & 0x0020, 0, 'client AD, upstream no AD: no AD');
});

t.test('EDNS client: roje OPT with DO echoed, extended RCODE, EDEs from both sides', async (t) => {
  const ede = Buffer.concat([Buffer.from([0, EDE.STALE_ANSWER])]);
  const wire = response(
    'example.com',
    {
      answers: [A('example.com', 300)],
      additionals: [opt({ extendedRcode: 1, options: [{ code: 15, data: ede }] })],
    },
    0x8180,
  );
  const p = prepareResponse(wire, BOUNDS);
  const q = parse(query('example.com', 0x0100, [opt({ flags: 0x8000, udpPayloadSize: 4096 })]));
  const out = renderResponse(p, q, { age: 0, udpSize: 1400, ede: [{ code: EDE.FILTERED, text: 'family' }] });
  const d = dnsPacket.decode(out);
  t.equal(d.additionals!.length, 1);
  const o = optOf(d)!;
  t.equal(o.udpPayloadSize, 1400);
  t.equal(o.flag_do, true);
  t.equal(o.extendedRcode, 1);
  t.equal(o.ednsVersion, 0);
  t.same(
    o.options.map((x) => [x.code, x.data.readUInt16BE(0), x.data.subarray(2).toString()]),
    [
      [15, EDE.STALE_ANSWER, ''],
      [15, EDE.FILTERED, 'family'],
    ],
  );
  // The same response for a client without EDNS: no OPT, and RCODE 16 cannot be said: SERVFAIL.
  const plain = renderResponse(p, parse(query('example.com')), { age: 0, udpSize: 1400 });
  const dp = dnsPacket.decode(plain);
  t.equal(dp.additionals!.length, 0);
  t.equal(plain[3] & 0xf, 2, 'SERVFAIL');
});

t.test('throws when the response does not answer the question', async (t) => {
  const p = prepareResponse(response('example.com', { answers: [A('example.com', 300)] }), BOUNDS);
  for (const name of ['example.org', 'example.co', 'www.example.com']) {
    try {
      renderResponse(p, parse(query(name)), { age: 0, udpSize: 1232 });
      t.fail(`${name}: no throw`);
    } catch (err) {
      t.ok(isRojeError(err, 'ROJE_ERR_DNS_MALFORMED'), name);
    }
  }
});

t.test('fitResponse truncates to a valid TC response', async (t) => {
  const answers = Array.from({ length: 60 }, (_, i) => A('big.example', 300, `127.0.${i >> 8}.${i & 255}`));
  const p = prepareResponse(response('big.example', { answers }), BOUNDS);
  t.ok(p.wire.length > 512);

  const q = parse(query('BIG.example'));
  const full = renderResponse(p, q, { age: 0, udpSize: 1232 });
  t.equal(fitResponse(full, q, 65535), full, 'fits: same buffer');
  const cut = fitResponse(full, q, udpLimit(q, 1232));
  t.ok(cut.length <= 512);
  const d = dnsPacket.decode(cut);
  t.equal(d.flag_tc, true);
  t.equal(d.id, 0x1234);
  t.equal(d.answers!.length, 0);
  t.equal(d.questions![0].name, 'BIG.example');
  t.equal(d.additionals!.length, 0, 'no OPT for a plain client');

  const qe = parse(query('big.example', 0x0100, [opt({ flags: 0x8000, udpPayloadSize: 600 })]));
  const fullE = renderResponse(p, qe, { age: 0, udpSize: 1232, ede: [{ code: EDE.BLOCKED, text: 'x' }] });
  const limit = udpLimit(qe, 1232);
  t.equal(limit, 600);
  const cutE = fitResponse(fullE, qe, limit);
  const de = dnsPacket.decode(cutE);
  t.equal(de.flag_tc, true);
  const o = optOf(de)!;
  t.equal(o.flag_do, true);
  t.equal(o.options.length, 1, 'OPT bytes reused, EDE kept');
  t.same(cutE.subarray(cutE.length - 11 - 7), fullE.subarray(fullE.length - 11 - 7));
});

t.test('fitResponse drops EDE options that would not fit', async (t) => {
  const answers = Array.from({ length: 40 }, (_, i) => A('big.example', 300, `127.0.0.${i}`));
  const p = prepareResponse(response('big.example', { answers }), BOUNDS);
  const q = parse(query('big.example', 0x0100, [opt()]));
  const ede = [{ code: EDE.OTHER, text: 'y'.repeat(600) }];
  const full = renderResponse(p, q, { age: 0, udpSize: 1232, ede });
  const cut = fitResponse(full, q, 512);
  t.ok(cut.length <= 512);
  const d = dnsPacket.decode(cut);
  t.equal(d.flag_tc, true);
  t.same(optOf(d)!.options, []);
});

t.test('udpLimit clamps the client size', async (t) => {
  t.equal(udpLimit(parse(query('a')), 1232), 512);
  t.equal(udpLimit(parse(query('a', 0, [opt({ udpPayloadSize: 100 })])), 1232), 512);
  t.equal(udpLimit(parse(query('a', 0, [opt({ udpPayloadSize: 4096 })])), 1232), 1232);
  t.equal(udpLimit(parse(query('a', 0, [opt({ udpPayloadSize: 1000 })])), 1232), 1000);
});

t.test('property: random responses render and fit into messages dns-packet decodes', async (t) => {
  const next = rng(0xab1e);
  const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-';
  const label = () =>
    Array.from({ length: 1 + (next() % 12) }, () => letters[next() % letters.length]).join('');
  const name = () => Array.from({ length: 1 + (next() % 4) }, label).join('.');
  const flip = (s: string) => [...s].map((c) => (next() & 1 ? c.toUpperCase() : c.toLowerCase())).join('');
  let truncated = 0;
  for (let i = 0; i < 3000; i++) {
    const qname = name();
    const answers: Rec[] = [];
    for (let k = next() % 40; k > 0; k--) {
      const r = next() % 4;
      const ttl = next() % 100000;
      if (r === 0) answers.push(A(qname, ttl, `127.0.0.${next() & 255}`));
      else if (r === 1) answers.push({ type: 'AAAA', name: qname, ttl, data: '::1' });
      else if (r === 2) answers.push({ type: 'CNAME', name: qname, ttl, data: name() });
      else answers.push({ type: 'TXT', name: qname, ttl, data: label() });
    }
    const additionals: Rec[] = [];
    if (next() & 1) additionals.push(opt({ extendedRcode: next() % 3 === 0 ? 1 : 0 }));
    const wire = response(qname, { answers, additionals }, 0x8180 | (next() & 0x0020) | (next() % 4));
    const p = prepareResponse(wire, BOUNDS);
    const client: Rec[] =
      next() & 1 ? [opt({ flags: next() & 1 ? 0x8000 : 0, udpPayloadSize: 512 + (next() % 4000) })] : [];
    const asked = flip(qname);
    const q = parse(query(asked, next() & 0x0130, client, next() & 0xffff));
    const age = next() % 200;
    const out = renderResponse(p, q, {
      age,
      udpSize: 1232,
      ede: next() & 1 ? [{ code: 17, text: 'z' }] : undefined,
    });
    const d = dnsPacket.decode(out);
    if (d.id !== q.id || d.questions![0].name !== asked) t.fail(`header/question wrong for ${asked}`);
    if (d.answers!.length !== answers.length) t.fail('answer count');
    for (const [j, a] of d.answers!.entries()) {
      const want = Math.max(0, Math.min((answers[j] as { ttl: number }).ttl, 86400) - age);
      if ((a as { ttl: number }).ttl !== want) t.fail(`ttl ${(a as { ttl: number }).ttl} != ${want}`);
    }
    if (!!optOf(d) !== (q.edns !== null)) t.fail('OPT presence must follow the client');
    const limit = udpLimit(q, 1232);
    const fit = fitResponse(out, q, limit);
    if (fit !== out) {
      truncated++;
      const f = dnsPacket.decode(fit);
      if (fit.length > limit || !f.flag_tc || f.answers!.length !== 0) t.fail('bad truncation');
    }
  }
  t.ok(truncated > 0, `${truncated} responses truncated`);
});

const run = promisify(execFile);

t.test('dig accepts what a loopback server built from these functions sends', async (t) => {
  const p = prepareResponse(
    response('www.example.com', {
      answers: [A('www.example.com', 300)],
      additionals: [opt({ options: [{ code: 15, data: Buffer.from([0, 3]) }] })],
    }),
    BOUNDS,
  );
  const big = prepareResponse(
    response('big.example.com', {
      answers: Array.from({ length: 60 }, (_, i) => A('big.example.com', 300, `127.0.1.${i}`)),
    }),
    BOUNDS,
  );
  const server = dgram.createSocket('udp4');
  t.teardown(() => server.close());
  server.on('message', (msg, rinfo) => {
    const q = readQuery(msg);
    if (isRejection(q)) return;
    const src: PreparedResponse = q.name === 'big.example.com' ? big : p;
    const out = fitResponse(renderResponse(src, q, { age: 0, udpSize: 1232 }), q, udpLimit(q, 1232));
    server.send(out, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => server.bind(0, '127.0.0.1', resolve));
  const port = String(server.address().port);
  const dig = (...args: string[]) =>
    run('dig', ['@127.0.0.1', '-p', port, '+tries=1', '+time=2', ...args], { timeout: 10000 });

  const { stdout } = await dig('WWW.Example.com', 'A', '+dnssec', '+bufsize=4096');
  t.match(stdout, /status: NOERROR/);
  t.match(stdout, /flags: qr rd ra;/);
  t.match(stdout, /EDNS: version: 0, flags: do; udp: 1232/);
  t.match(stdout, /EDE: 3 \(Stale Answer\)/);
  t.match(stdout, /;WWW\.Example\.com\.\s+IN\s+A/, "question in the client's case");
  t.match(stdout, /www\.example\.com\.\s+300\s+IN\s+A\s+127\.0\.0\.1/);
  t.notMatch(stdout, /WARNING|malformed/i);

  const cut = await dig('big.example.com', 'A', '+noedns', '+ignore');
  t.match(cut.stdout, /flags: qr tc rd ra;/);
  t.match(cut.stdout, /ANSWER: 0/);
});
