import t from 'tap';
import { RCODE } from '../../../src/dns/constants.js';
import { createCidrMatcher } from '../../../src/net/cidr.js';
import { createAclStage } from '../../../src/pipeline/stages/acl.js';
import type { Answer } from '../../../src/pipeline/types.js';
import { nextDouble, PASSED, ROJE_UDP_SIZE, readAnswer, stageQuery } from '../../helpers/stage.js';

const isAllowed = createCidrMatcher(['10.0.0.0/8', '2001:db8::/32']);

t.test('a client inside the served networks is passed on untouched', async (t) => {
  const next = nextDouble();
  const stage = createAclStage({ isAllowed })(next.handler);
  const v4 = stageQuery('www.example.test', 'A', { address: '10.20.30.40' });
  t.equal(stage(v4), PASSED);
  const v6 = stageQuery('www.example.test', 'AAAA', { address: '2001:db8:1::9', transport: 'tcp' });
  t.equal(stage(v6), PASSED);
  t.same(next.calls, [v4, v6], 'the same query objects reach the next stage');
});

t.test('a client outside gets REFUSED without the next stage being asked', async (t) => {
  const next = nextDouble();
  const stage = createAclStage({ isAllowed })(next.handler);
  for (const address of ['192.0.2.1', '11.0.0.1', '2001:db9::1', '::ffff:192.0.2.1']) {
    const q = stageQuery('WWW.Example.test', 'A', { address, id: 0xbeef, do: true });
    const a = stage(q) as Answer;
    t.equal(a.source, 'refused', address);
    t.equal(a.rcode, RCODE.REFUSED);
    const r = readAnswer(a.wire);
    t.equal(r.rcode, RCODE.REFUSED);
    t.equal(r.packet.id, 0xbeef, 'the client ID');
    t.same(
      r.packet.questions,
      [{ name: 'WWW.Example.test', type: 'A', class: 'IN' }],
      'its question, its case',
    );
    t.same(r.packet.answers, []);
    t.equal(r.udpSize, ROJE_UDP_SIZE, "roje's UDP size from the query, not the client's");
    t.equal(r.do, true, 'DO echoed');
  }
  t.same(next.calls, []);
});

t.test('a REFUSED client without EDNS gets no OPT record', async (t) => {
  const a = createAclStage({ isAllowed })(nextDouble().handler)(
    stageQuery('example.test', 'A', { address: '192.0.2.1', edns: false }),
  ) as Answer;
  const r = readAnswer(a.wire);
  t.equal(r.rcode, RCODE.REFUSED);
  t.equal(r.udpSize, null);
  t.same(r.packet.additionals, []);
});

t.test('the UDP size comes from the query', async (t) => {
  const a = createAclStage({ isAllowed: () => false })(nextDouble().handler)(
    stageQuery('example.test', 'A', { udpSize: 1400 }),
  ) as Answer;
  t.equal(readAnswer(a.wire).udpSize, 1400);
});
