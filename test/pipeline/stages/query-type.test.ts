/**
 * Meta-types and zone transfers on their own (RFC 6895 §3.1): OPT, TKEY, TSIG, MAILA, MAILB and the
 * unassigned 128-248 get FORMERR, AXFR and IXFR REFUSED, as unbound answers them; data types, ANY
 * and the types above 255 go on.
 */
import t from 'tap';
import { RCODE } from '../../../src/dns/constants.js';
import { createQueryTypeStage, queryTypeRcode } from '../../../src/pipeline/stages/query-type.js';
import type { Answer } from '../../../src/pipeline/types.js';
import { nextDouble, PASSED, readAnswer, stageQuery } from '../../helpers/stage.js';

t.test('RFC 6895 §3.1: the RCODE of every QTYPE 0-65535', async (t) => {
  const formerr = [41, 249, 250, 253, 254];
  for (let qtype = 0; qtype <= 65535; qtype++) {
    const want =
      qtype === 251 || qtype === 252
        ? RCODE.REFUSED
        : formerr.includes(qtype) || (qtype >= 128 && qtype <= 248)
          ? RCODE.FORMERR
          : 0;
    if (queryTypeRcode(qtype) !== want) t.fail(`qtype ${qtype}: ${queryTypeRcode(qtype)}, want ${want}`);
  }
  t.equal(queryTypeRcode(1), 0, 'A goes on');
  t.equal(queryTypeRcode(255), 0, 'ANY goes on (RFC 8482 stage)');
  t.equal(queryTypeRcode(65), 0, 'HTTPS goes on');
});

t.test('RFC 6895 §3.1: MAILA is FORMERR with roje OPT, AXFR REFUSED; neither goes on', async (t) => {
  const next = nextDouble();
  const stage = createQueryTypeStage()(next.handler);
  t.equal(stage(stageQuery('www.example.test', 'A')), PASSED);
  const maila = stageQuery('www.example.test', 'A', { do: true });
  maila.msg.writeUInt16BE(254, maila.nameEnd);
  maila.qtype = 254;
  const a = stage(maila) as Answer;
  t.equal(a.rcode, RCODE.FORMERR);
  const r = readAnswer(a.wire);
  t.equal(r.rcode, RCODE.FORMERR);
  t.equal(r.do, true);
  t.equal(r.packet.questions?.length, 1, 'the question echoed');
  const axfr = stage(stageQuery('example.test', 'AXFR', { transport: 'tcp' })) as Answer;
  t.equal(axfr.rcode, RCODE.REFUSED, 'AXFR over TCP too');
  t.equal(next.calls.length, 1);
});
