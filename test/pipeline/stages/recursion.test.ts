/**
 * RD=0 on its own: a query with RD goes on; one without is REFUSED with EDE 20 "Not Authoritative"
 * and never reaches the cache or the upstream (RFC 1034 §4.3.1-4.3.2, RFC 8914 §4.21).
 */
import t from 'tap';
import { EDE, RCODE } from '../../../src/dns/constants.js';
import { createRecursionStage } from '../../../src/pipeline/stages/recursion.js';
import type { Answer, Query } from '../../../src/pipeline/types.js';
import { nextDouble, PASSED, readAnswer, stageQuery } from '../../helpers/stage.js';

/** The stage helper's queries ask for recursion; clear RD in the bytes and the parsed flags. */
function withoutRd(q: Query): Query {
  q.msg[2] &= ~0x01;
  q.flags &= ~0x0100;
  return q;
}

t.test('RFC 1034 §4.3.1: RD=1 goes on, RD=0 is REFUSED with EDE 20 and goes nowhere', async (t) => {
  const next = nextDouble();
  const stage = createRecursionStage()(next.handler);
  t.equal(stage(stageQuery('www.example.test')), PASSED);
  const a = stage(withoutRd(stageQuery('www.example.test', 'A', { cd: true }))) as Answer;
  t.equal(a.rcode, RCODE.REFUSED);
  t.equal(a.source, 'refused');
  const r = readAnswer(a.wire);
  t.equal(r.rcode, RCODE.REFUSED);
  t.equal(r.flags & 0x0100, 0, 'RD 0 echoed');
  t.equal(r.flags & 0x0080, 0x0080, 'RA: roje offers recursion, to those who ask');
  t.equal(r.flags & 0x0010, 0x0010, 'CD echoed');
  t.match(r.ede, [{ code: EDE.NOT_AUTHORITATIVE }]);
  const plain = readAnswer(
    (stage(withoutRd(stageQuery('x.example.test', 'A', { edns: false }))) as Answer).wire,
  );
  t.equal(plain.udpSize, null, 'no OPT, so no EDE, without EDNS');
  t.equal(next.calls.length, 1, 'only the RD=1 query went on');
});
