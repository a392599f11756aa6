import t from 'tap';
import { QCLASS, RCODE } from '../../../src/dns/constants.js';
import { type ChaosName, createChaosStage } from '../../../src/pipeline/stages/chaos.js';
import type { Answer } from '../../../src/pipeline/types.js';
import { nextDouble, PASSED, ROJE_UDP_SIZE, readAnswer, stageQuery } from '../../helpers/stage.js';

const STRINGS: Record<ChaosName, string[]> = {
  'version.roje': ['roje 0.1.0'],
  'policy.roje': ['lists: adult 93469 names, 2 h old', 'venues: 2'],
};

function chaos(enabled = true) {
  const asked: ChaosName[] = [];
  const next = nextDouble();
  const stage = createChaosStage({
    enabled,
    strings: (name) => {
      asked.push(name);
      return STRINGS[name];
    },
  })(next.handler);
  return { stage, next, asked };
}

/** The TXT strings of an answer, one array per record. */
function txt(a: Answer): string[][] {
  return (readAnswer(a.wire).packet.answers ?? []).map((r) =>
    (r as unknown as { data: Buffer[] }).data.map(String),
  );
}

t.test('version.roje. CH TXT is answered by roje itself, authoritatively', async (t) => {
  const { stage, next, asked } = chaos();
  const a = stage(stageQuery('version.roje', 'TXT', { class: 'CH', id: 9 })) as Answer;
  t.equal(a.source, 'local');
  t.equal(a.rcode, RCODE.NOERROR);
  t.same(txt(a), [['roje 0.1.0']]);
  const r = readAnswer(a.wire);
  t.equal(r.packet.id, 9);
  t.equal(r.flags & 0x0400, 0x0400, 'AA: the name is roje’s own');
  const rr = r.packet.answers?.[0] as unknown as { class: string; ttl: number; name: string };
  t.same([rr.name, rr.class, rr.ttl], ['version.roje', 'CH', 0], 'class CH, TTL 0: never cached');
  t.equal(r.udpSize, ROJE_UDP_SIZE);
  t.same(asked, ['version.roje'], 'the strings are read when asked, so they follow list swaps');
  t.same(next.calls, []);
});

t.test('policy.roje. in any case, TXT or ANY: one record per string', async (t) => {
  const { stage } = chaos();
  t.same(txt(stage(stageQuery('POLICY.Roje.', 'TXT', { class: 'CH' })) as Answer), [
    ['lists: adult 93469 names, 2 h old'],
    ['venues: 2'],
  ]);
  t.equal(txt(stage(stageQuery('policy.roje', 'ANY', { class: 'CH' })) as Answer).length, 2);
});

t.test('a known name asked for another type: NODATA', async (t) => {
  const { stage, asked } = chaos();
  const a = stage(stageQuery('version.roje', 'A', { class: 'CH' })) as Answer;
  t.equal(a.rcode, RCODE.NOERROR);
  t.same(readAnswer(a.wire).packet.answers, []);
  t.same(asked, []);
});

t.test('every other CHAOS name is REFUSED, not forwarded', async (t) => {
  const { stage, next } = chaos();
  for (const name of ['version.bind', 'hostname.bind', 'id.server', 'roje', 'x.version.roje']) {
    const a = stage(stageQuery(name, 'TXT', { class: 'CH' })) as Answer;
    t.equal(a.rcode, RCODE.REFUSED, name);
    t.equal(a.source, 'local');
    t.equal(readAnswer(a.wire).rcode, RCODE.REFUSED);
  }
  t.same(next.calls, []);
});

t.test('chaos.enabled false: roje’s own names are REFUSED too', async (t) => {
  const { stage, next, asked } = chaos(false);
  t.equal((stage(stageQuery('version.roje', 'TXT', { class: 'CH' })) as Answer).rcode, RCODE.REFUSED);
  t.same(asked, []);
  t.same(next.calls, []);
});

t.test('class IN passes on, whatever the name', async (t) => {
  const { stage, next } = chaos();
  const q = stageQuery('version.roje', 'TXT');
  t.equal(q.qclass, QCLASS.IN);
  t.equal(stage(q), PASSED);
  t.same(next.calls, [q]);
});
