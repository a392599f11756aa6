/**
 * The class rule and RFC 8482 stages on their own: class IN passes, every other class is NOTIMP with
 * EDE 21 and never reaches `next`; ANY of class IN gets one HINFO "RFC8482" "" record, other types pass.
 */
import t from 'tap';
import { QTYPE, RCODE } from '../../../src/dns/constants.js';
import { createAnyQueryStage, RFC8482_TTL } from '../../../src/pipeline/stages/any-query.js';
import { createQueryClassStage } from '../../../src/pipeline/stages/query-class.js';
import type { Answer } from '../../../src/pipeline/types.js';
import { nextDouble, PASSED, readAnswer, stageQuery } from '../../helpers/stage.js';

t.test('class IN passes; every other class is NOTIMP, EDE 21, not passed on', async (t) => {
  const next = nextDouble();
  const stage = createQueryClassStage()(next.handler);
  t.equal(stage(stageQuery('www.example.test')), PASSED);
  for (const qclass of [0, 2, 3, 4, 42, 254, 255, 65535]) {
    const q = stageQuery('www.example.test');
    q.msg.writeUInt16BE(qclass, q.nameEnd + 2);
    q.qclass = qclass;
    const a = stage(q) as Answer;
    t.equal(a.rcode, RCODE.NOTIMP, `class ${qclass}`);
    t.equal(a.source, 'local');
    const r = readAnswer(a.wire);
    t.equal(r.rcode, RCODE.NOTIMP);
    t.match(r.ede, [{ code: 21 }]);
    t.equal(r.packet.id, 0x1234, 'the client ID');
  }
  t.equal(next.calls.length, 1, 'only the IN query went on');
});

t.test('ANY of class IN: one HINFO, the question echoed, EDNS and DO kept', async (t) => {
  const next = nextDouble();
  const stage = createAnyQueryStage()(next.handler);
  const a = stage(stageQuery('WWW.Example.test', 'ANY', { do: true })) as Answer;
  t.equal(a.rcode, RCODE.NOERROR);
  const r = readAnswer(a.wire);
  t.equal(r.packet.questions?.[0]?.name, 'WWW.Example.test');
  t.equal(r.packet.answers?.length, 1);
  const rr = r.packet.answers?.[0] as unknown as {
    type: string;
    class: string;
    ttl: number;
    data: { cpu: string; os: string };
  };
  t.match(rr, { type: 'HINFO', class: 'IN', ttl: RFC8482_TTL, data: { cpu: 'RFC8482', os: '' } });
  t.equal(r.do, true, 'DO echoed');
  t.equal(r.udpSize, 1232);
  const plain = readAnswer((stage(stageQuery('x.test', 'ANY', { edns: false })) as Answer).wire);
  t.equal(plain.udpSize, null, 'no OPT for a client without EDNS');
  t.equal(stage(stageQuery('x.test', 'A')), PASSED);
  t.equal(stage(stageQuery('x.test', 'TXT')), PASSED);
  t.equal(next.calls.length, 2);
  t.equal(next.calls[0].qtype, QTYPE.A);
});
