/**
 * The responder reuses what a synchronous answer is done with (issue #21: no allocation per query): the
 * query object, and the reply buffers block and bypass answers are written into. These tests hold it
 * to the other half of that contract: what an async answer, or a caller that keeps its answers, still
 * needs is never written again.
 */
import dnsPacket from 'dns-packet';
import { pino } from 'pino';
import t from 'tap';
import { replyBuffer } from '../../src/dns/bytes.js';
import { createResponder } from '../../src/pipeline/responder.js';
import type { Answer, ClientInfo, Handler, Query } from '../../src/pipeline/types.js';

const logger = pino({ level: 'silent' });

function wire(name: string, id: number, edns = true): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'A', class: 'IN', name }],
    additionals: edns
      ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0 } as unknown as dnsPacket.Answer]
      : [],
  });
}

/** An answer as the block and bypass stages build theirs: into the reply buffer of its size. */
function lentAnswer(q: Query): Answer {
  const out = replyBuffer(q.questionEnd);
  q.msg.copy(out, 0, 0, q.questionEnd);
  out[2] |= 0x80;
  out.writeUInt16BE(0, 10); // the question only: no OPT record
  return { wire: out, source: 'policy', rcode: 0 };
}

const UDP: ClientInfo = { address: '192.0.2.1', port: 1000, transport: 'udp', sendsAtOnce: true };

t.test('a synchronous answer leaves its query to the next message; an async one keeps its own', async (t) => {
  const seen: Query[] = [];
  let release: ((a: Answer) => void) | null = null;
  const handler: Handler = (q) => {
    seen.push(q);
    if (q.id === 3) return new Promise<Answer>((resolve) => (release = resolve));
    return lentAnswer(q);
  };
  const respond = createResponder({ current: () => ({ handler, udpSize: 1232 }), logger });
  respond(wire('one.example', 1), UDP);
  respond(wire('two.example', 2, false), UDP);
  t.equal(seen[0], seen[1], 'one object for both synchronous answers');
  t.equal(seen[1].name, 'two.example', 'the name of the message now in it');
  t.equal(seen[1].edns, null, 'no OPT record: no EDNS left over from the message before');

  const held = respond(wire('three.example', 3), { address: '192.0.2.3', port: 3000, transport: 'udp' });
  t.ok(held instanceof Promise);
  respond(wire('four.example', 4), UDP);
  t.not(seen[3], seen[2], 'the message after an async answer gets another object');
  const kept = seen[2];
  t.match(kept, { id: 3, name: 'three.example', client: { address: '192.0.2.3', port: 3000 } });
  t.equal(kept.edns?.udpSize, 1232);
  (release as unknown as (a: Answer) => void)(lentAnswer(kept));
  const out = (await held) as Buffer;
  t.equal(dnsPacket.decode(out).questions?.[0].name, 'three.example');
  respond(wire('five.example', 5), UDP);
  t.equal(seen[4], seen[3], 'synchronous answers reuse the new object');
});

t.test('reply buffers are lent only to a transport that sends at once', async (t) => {
  const handler: Handler = (q) => lentAnswer(q);
  const respond = createResponder({ current: () => ({ handler, udpSize: 1232 }), logger });
  const a = respond(wire('aaa.example', 1), UDP) as Buffer;
  const b = respond(wire('bbb.example', 2), UDP) as Buffer;
  t.equal(a, b, 'UDP: the same buffer for answers of one size');

  // The self-test's exchanges await their answers: theirs must stay as they were.
  const selfTest: ClientInfo = { address: '192.0.2.9', port: 0, transport: 'udp' };
  const c = respond(wire('ccc.example', 3), selfTest) as Buffer;
  const d = respond(wire('ddd.example', 4), selfTest) as Buffer;
  const e = respond(wire('eee.example', 5), UDP) as Buffer;
  t.not(c, d);
  t.not(d, e);
  t.equal(dnsPacket.decode(c).questions?.[0].name, 'ccc.example', 'a kept answer is not written again');
  t.equal(dnsPacket.decode(d).questions?.[0].name, 'ddd.example');
});

t.test(
  'a query that fails before the context stage is of no venue, whatever the one before was',
  async (t) => {
    const venues: number[] = [];
    const handler: Handler = (q) => {
      if (q.id === 1) {
        q.venue = 4;
        return lentAnswer(q);
      }
      throw new Error('a bug');
    };
    const respond = createResponder({
      current: () => ({ handler, udpSize: 1232 }),
      logger,
      onAnswer: (q) => venues.push(q.venue),
    });
    respond(wire('one.example', 1), UDP);
    const out = respond(wire('two.example', 2), UDP) as Buffer;
    t.equal(out[3] & 0x0f, 2, 'SERVFAIL');
    t.same(venues, [4, -1]);
  },
);
