import t from 'tap';
import { EDE, RCODE } from '../../../src/dns/constants.js';
import { createReadyStage } from '../../../src/pipeline/stages/ready.js';
import type { Answer } from '../../../src/pipeline/types.js';
import { nextDouble, PASSED, ROJE_UDP_SIZE, readAnswer, stageQuery } from '../../helpers/stage.js';

t.test('not ready: SERVFAIL with EDE 14, the next stage is not asked', async (t) => {
  const next = nextDouble();
  const stage = createReadyStage({ isReady: () => false })(next.handler);
  const a = stage(stageQuery('www.Example.test', 'AAAA', { id: 77 })) as Answer;
  t.equal(a.source, 'not-ready');
  t.equal(a.rcode, RCODE.SERVFAIL);
  const r = readAnswer(a.wire);
  t.equal(r.rcode, RCODE.SERVFAIL);
  t.equal(r.packet.id, 77);
  t.same(r.packet.questions, [{ name: 'www.Example.test', type: 'AAAA', class: 'IN' }]);
  t.same(r.ede, [{ code: EDE.NOT_READY, text: 'filter lists not loaded yet' }]);
  t.equal(r.udpSize, ROJE_UDP_SIZE);
  t.same(next.calls, [], 'never an unfiltered answer');
});

t.test('not ready, client without EDNS: SERVFAIL without an OPT (no EDE can be sent)', async (t) => {
  const a = createReadyStage({ isReady: () => false })(nextDouble().handler)(
    stageQuery('example.test', 'A', { edns: false }),
  ) as Answer;
  const r = readAnswer(a.wire);
  t.equal(r.rcode, RCODE.SERVFAIL);
  t.equal(r.udpSize, null);
});

t.test('readiness is read per query: once ready, queries pass on', async (t) => {
  let ready = false;
  const next = nextDouble();
  const stage = createReadyStage({ isReady: () => ready })(next.handler);
  t.equal((stage(stageQuery('example.test')) as Answer).rcode, RCODE.SERVFAIL);
  ready = true;
  const q = stageQuery('example.test');
  t.equal(stage(q), PASSED);
  t.same(next.calls, [q]);
  ready = false;
  t.equal((stage(stageQuery('example.test')) as Answer).source, 'not-ready', 'and back, should the lists go');
});
