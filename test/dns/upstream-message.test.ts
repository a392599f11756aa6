import * as dnsPacket from 'dns-packet';
import t from 'tap';
import { encodeName } from '../../src/dns/name.js';
import {
  buildUpstreamQuery,
  checkUpstreamResponse,
  isTruncated,
  responseRcode,
  setId,
} from '../../src/dns/upstream-message.js';

function respond(query: Buffer, patch: Partial<dnsPacket.Packet> = {}, flags = 0): Buffer {
  const q = dnsPacket.decode(query);
  return dnsPacket.encode({
    type: 'response',
    id: q.id,
    flags: dnsPacket.RECURSION_AVAILABLE | flags,
    questions: q.questions,
    answers: [{ name: q.questions![0].name, type: 'A', ttl: 60, data: '192.0.2.1' }],
    ...patch,
  });
}

const question = { nameWire: encodeName('www.example.test'), qtype: 1, qclass: 1, do: true, cd: false };

t.test(
  'buildUpstreamQuery: RD, RFC 6840 §5.7 AD always, CD as given, one question, OPT with size and DO',
  async (t) => {
    const q = buildUpstreamQuery(question, 0x1234, 1232);
    const d = dnsPacket.decode(q);
    t.equal(d.id, 0x1234);
    t.equal(d.flag_rd, true);
    t.equal(d.flag_ad, true, 'AD asks the upstream for its AD bit, for every client (render masks it)');
    t.equal(q.readUInt16BE(2), 0x0120, 'RD and AD, nothing else');
    t.equal(d.flag_cd, false);
    t.equal(d.flag_qr, false);
    t.same(d.questions, [{ name: 'www.example.test', type: 'A', class: 'IN' }]);
    t.equal(d.additionals?.length, 1);
    const opt = d.additionals![0] as dnsPacket.OptAnswer;
    t.equal(opt.type, 'OPT');
    t.equal(opt.udpPayloadSize, 1232);
    t.equal(opt.flag_do, true);
    t.same(opt.options, []);

    const q2 = dnsPacket.decode(buildUpstreamQuery({ ...question, do: false, cd: true, qtype: 28 }, 7, 512));
    t.equal(q2.flag_cd, true);
    t.equal((q2.additionals![0] as dnsPacket.OptAnswer).flag_do, false);
    t.equal((q2.additionals![0] as dnsPacket.OptAnswer).udpPayloadSize, 512);
    t.equal(q2.questions![0].type, 'AAAA');
  },
);

t.test('buildUpstreamQuery: root name', async (t) => {
  const d = dnsPacket.decode(
    buildUpstreamQuery({ ...question, nameWire: Buffer.from([0]), qtype: 2 }, 1, 1232),
  );
  t.equal(d.questions![0].name, '.');
  t.equal(d.questions![0].type, 'NS');
});

t.test('checkUpstreamResponse: ok, and the name compared case-insensitively', async (t) => {
  const q = buildUpstreamQuery(question, 4242, 1232);
  t.equal(checkUpstreamResponse(q, respond(q)), 'ok');
  const upper = respond(q, { questions: [{ name: 'WWW.Example.TEST', type: 'A', class: 'IN' }] });
  t.equal(checkUpstreamResponse(q, upper), 'ok');
});

t.test('checkUpstreamResponse: mismatches', async (t) => {
  const q = buildUpstreamQuery(question, 4242, 1232);
  const wrongId = respond(q);
  setId(wrongId, 4243);
  t.equal(checkUpstreamResponse(q, wrongId), 'mismatch', 'other ID');
  t.equal(
    checkUpstreamResponse(
      q,
      respond(q, { questions: [{ name: 'www.example.tesu', type: 'A', class: 'IN' }] }),
    ),
    'mismatch',
    'other name, same length',
  );
  t.equal(
    checkUpstreamResponse(
      q,
      respond(q, { questions: [{ name: 'ww.example.test', type: 'A', class: 'IN' }] }),
    ),
    'mismatch',
    'other name, other length',
  );
  t.equal(
    checkUpstreamResponse(
      q,
      respond(q, { questions: [{ name: 'www.example.test', type: 'AAAA', class: 'IN' }] }),
    ),
    'mismatch',
    'other type',
  );
  t.equal(
    checkUpstreamResponse(
      q,
      respond(q, { questions: [{ name: 'www.example.test', type: 'A', class: 'CH' }] }),
    ),
    'mismatch',
    'other class',
  );
  t.equal(checkUpstreamResponse(q, respond(q, { questions: [] })), 'mismatch', 'no question');
  const two = respond(q, {
    questions: [
      { name: 'www.example.test', type: 'A', class: 'IN' },
      { name: 'www.example.test', type: 'A', class: 'IN' },
    ],
  });
  t.equal(checkUpstreamResponse(q, two), 'mismatch', 'two questions');
});

t.test('checkUpstreamResponse: malformed, never throws', async (t) => {
  const q = buildUpstreamQuery(question, 4242, 1232);
  const r = respond(q);
  t.equal(checkUpstreamResponse(q, Buffer.from(q)), 'malformed', 'QR not set');
  t.equal(checkUpstreamResponse(q, Buffer.alloc(0)), 'malformed');
  t.equal(checkUpstreamResponse(q, r.subarray(0, 11)), 'malformed');
  // Every prefix of a valid answer: cut inside the question -> malformed, after it -> ok.
  const questionEnd = 12 + question.nameWire.length + 4;
  for (let len = 12; len < r.length; len++) {
    const got = checkUpstreamResponse(q, r.subarray(0, len));
    t.equal(got, len < questionEnd ? 'malformed' : 'ok', `prefix ${len}`);
  }
  const pointer = Buffer.from(r);
  pointer[12] = 0xc0;
  t.equal(checkUpstreamResponse(q, pointer), 'malformed', 'compression pointer in question');
  // Random junk with our ID and a plausible header: bounded loop, must only return values.
  for (let i = 0; i < 2000; i++) {
    const junk = Buffer.from(Array.from({ length: 12 + (i % 40) }, () => Math.floor(Math.random() * 256)));
    junk.writeUInt16BE(4242, 0);
    junk.writeUInt16BE(0x8180, 2);
    junk.writeUInt16BE(1, 4);
    const got = checkUpstreamResponse(q, junk);
    if (got === 'ok') t.fail('random junk accepted');
  }
});

t.test('isTruncated, responseRcode, setId', async (t) => {
  const q = buildUpstreamQuery(question, 1, 1232);
  t.equal(isTruncated(respond(q)), false);
  t.equal(isTruncated(respond(q, {}, dnsPacket.TRUNCATED_RESPONSE)), true);
  t.equal(isTruncated(Buffer.alloc(2)), false);
  t.equal(responseRcode(respond(q)), 0);
  t.equal(responseRcode(respond(q, {}, 2)), 2);
  t.equal(responseRcode(respond(q, {}, 5)), 5);
  t.equal(responseRcode(Buffer.alloc(3)), -1);
  const b = Buffer.from(q);
  setId(b, 0xbeef);
  t.equal(b.readUInt16BE(0), 0xbeef);
  setId(b, 0x1beef);
  t.equal(b.readUInt16BE(0), 0xbeef, 'masked to 16 bits');
});
