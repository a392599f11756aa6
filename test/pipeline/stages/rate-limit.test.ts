import dnsPacket from 'dns-packet';
import t from 'tap';
import { readQuery } from '../../../src/dns/query.js';
import { clientKey } from '../../../src/net/client-key.js';
import { createRateLimitStage, type RateLimitOptions } from '../../../src/pipeline/stages/rate-limit.js';
import type { Answer, Handler, Query } from '../../../src/pipeline/types.js';

const OK: Answer = { wire: Buffer.from('ok'), source: 'upstream', rcode: 0 };

function makeQuery(address: string, receivedAt: number, transport: 'udp' | 'tcp' = 'udp', venue = -1): Query {
  const msg = dnsPacket.encode({
    type: 'query',
    id: 42,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'A', class: 'IN', name: 'www.example.test' }],
  });
  const parsed = readQuery(msg);
  if ('rcode' in parsed) throw new Error('bad test query');
  return Object.assign(parsed, {
    client: { address, port: 5000, transport },
    maxSize: 512,
    receivedAt,
    venue,
    udpSize: 1232,
  });
}

function limiter(overrides: Partial<RateLimitOptions> = {}): Handler {
  const stage = createRateLimitStage({
    responsesPerSecond: 10,
    burst: 5,
    slip: 2,
    isExempt: () => false,
    ...overrides,
  });
  return stage(() => OK);
}

function outcomes(handler: Handler, address: string, count: number, at: number): string[] {
  const seen: string[] = [];
  for (let i = 0; i < count; i++) {
    const answer = handler(makeQuery(address, at)) as Answer;
    if (answer === OK) seen.push('ok');
    else if (answer.drop === true) seen.push('drop');
    else {
      const decoded = dnsPacket.decode(answer.wire);
      seen.push(
        decoded.flags !== undefined && (decoded.flags & dnsPacket.TRUNCATED_RESPONSE) !== 0 ? 'tc' : '?',
      );
    }
  }
  return seen;
}

t.test(
  'a burst passes, then every second answer over the limit is TC and the rest are dropped',
  async (t) => {
    const handler = limiter();
    t.same(outcomes(handler, '192.168.1.10', 9, 1000), [
      'ok',
      'ok',
      'ok',
      'ok',
      'ok',
      'drop',
      'tc',
      'drop',
      'tc',
    ]);
  },
);

t.test('the TC answer echoes the question, ID and no records', async (t) => {
  const handler = limiter({ burst: 1, slip: 1 });
  handler(makeQuery('10.0.0.1', 1000));
  const answer = handler(makeQuery('10.0.0.1', 1000)) as Answer;
  const decoded = dnsPacket.decode(answer.wire);
  t.equal(answer.source, 'rate-limited');
  t.equal(decoded.id, 42);
  t.equal((decoded.flags ?? -1) & 0x000f, 0, 'NOERROR');
  t.same(decoded.questions, [{ name: 'www.example.test', type: 'A', class: 'IN' }]);
  t.equal(decoded.answers?.length ?? 0, 0);
});

t.test('tokens come back at the configured rate, up to the burst', async (t) => {
  const handler = limiter({ slip: 0 });
  t.same(outcomes(handler, '192.168.1.10', 6, 1000), ['ok', 'ok', 'ok', 'ok', 'ok', 'drop']);
  // 10/s: 200 ms later two answers are allowed again, not more.
  t.same(outcomes(handler, '192.168.1.10', 3, 1200), ['ok', 'ok', 'drop']);
  // Long idle: refilled to the burst, not beyond.
  t.same(outcomes(handler, '192.168.1.10', 6, 60_000), ['ok', 'ok', 'ok', 'ok', 'ok', 'drop']);
});

t.test('clients are limited separately; exempt clients are not limited', async (t) => {
  const handler = limiter({ slip: 0, isExempt: (a) => a === '192.168.1.1' });
  t.same(outcomes(handler, '192.168.1.10', 6, 1000).at(-1), 'drop');
  t.same(
    outcomes(handler, '192.168.1.11', 5, 1000),
    ['ok', 'ok', 'ok', 'ok', 'ok'],
    'a neighbour is not affected',
  );
  t.ok(
    outcomes(handler, '192.168.1.1', 50, 1000).every((o) => o === 'ok'),
    'exempt gateway',
  );
});

t.test('TCP is limited in a bucket of its own per client, dropped over it, never slipped', async (t) => {
  const handler = limiter({ slip: 1 });
  t.same(outcomes(handler, '192.168.1.10', 6, 1000), ['ok', 'ok', 'ok', 'ok', 'ok', 'tc'], 'UDP drained');
  const tcp = [...Array(5)].map(() => handler(makeQuery('192.168.1.10', 1000, 'tcp')));
  t.ok(
    tcp.every((a) => a === OK),
    'the TCP burst is served though the UDP bucket is empty (a forged flood cannot block the TC retry)',
  );
  const over = handler(makeQuery('192.168.1.10', 1000, 'tcp'));
  t.ok((over as Answer).drop, 'over the rate over TCP: dropped, even with slip 1');
  t.same(outcomes(handler, '192.168.1.10', 1, 1200), ['ok'], 'UDP refills on its own');
  const venue = limiter({ slip: 0, venues: 1, venueResponsesPerSecond: 1, venueBurst: 1 });
  t.equal(venue(makeQuery('192.168.1.20', 1000, 'udp', 0)), OK);
  t.ok((venue(makeQuery('192.168.1.20', 1000, 'udp', 0)) as Answer).drop, 'the venue bucket limits UDP');
  t.equal(venue(makeQuery('192.168.1.21', 1000, 'tcp', 0)), OK, 'TCP does not draw on the venue bucket');
});

t.test('IPv6 clients share a bucket per /64 when the prefix is spelled out', async (t) => {
  t.equal(clientKey('2001:db8:1:2:aaaa::1'), clientKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'));
  t.not(clientKey('2001:db8:1:2::1'), clientKey('2001:db8:1:3::1'));
  t.not(clientKey('192.168.1.10'), clientKey('192.168.1.11'));
  const handler = limiter({ slip: 0 });
  t.same(outcomes(handler, '2001:db8:1:2::a', 5, 1000).at(-1), 'ok');
  t.same(outcomes(handler, '2001:db8:1:2::b', 1, 1000), ['drop'], 'another address of the same /64');
});

t.test('a slot is taken over from an idle client, shared with a busy one', async (t) => {
  const handler = limiter({ slip: 0, slots: 1 });
  t.same(outcomes(handler, '10.0.0.1', 6, 1000).at(-1), 'drop');
  t.same(outcomes(handler, '10.0.0.2', 1, 1000), ['drop'], 'sharing a busy bucket can only limit sooner');
  t.same(outcomes(handler, '10.0.0.2', 5, 10_000), ['ok', 'ok', 'ok', 'ok', 'ok'], 'idle slot taken over');
});

t.test("a venue's clients share its bucket (the query's venue); clients of no venue have none", async (t) => {
  const handler = limiter({ slip: 0, burst: 100, venues: 2, venueResponsesPerSecond: 10, venueBurst: 3 });
  const run = (address: string, venue: number, at: number) => {
    const a = handler(makeQuery(address, at, 'udp', venue)) as Answer;
    return a === OK ? 'ok' : a.drop === true ? 'drop' : '?';
  };
  t.same(
    ['10.1.0.1', '10.1.0.2', '10.1.0.3', '10.1.0.4'].map((a) => run(a, 0, 1000)),
    ['ok', 'ok', 'ok', 'drop'],
    'venue 0: a burst of three between its clients',
  );
  t.equal(run('10.2.0.1', 1, 1000), 'ok', 'venue 1 has its own bucket');
  t.same(
    [1, 2, 3, 4, 5].map((i) => run(`192.0.2.${i}`, -1, 1000)),
    ['ok', 'ok', 'ok', 'ok', 'ok'],
    'no venue: per-client limits only',
  );
  t.same(
    [run('10.1.0.1', 0, 1100), run('10.1.0.2', 0, 1100)],
    ['ok', 'drop'],
    '10/s: one token back after 100 ms',
  );
  const noVenueLimit = limiter({ slip: 0, burst: 100, venues: 2, venueResponsesPerSecond: 0, venueBurst: 3 });
  t.ok(
    [...Array(10)].every((_, i) => noVenueLimit(makeQuery(`10.1.0.${i}`, 1000, 'udp', 0)) === OK),
    'venueResponsesPerSecond 0: no venue limit',
  );
});

t.test('slots must be a power of two', async (t) => {
  t.throws(() =>
    createRateLimitStage({
      responsesPerSecond: 1,
      burst: 1,
      slip: 0,
      isExempt: () => false,
      slots: 3,
    }),
  );
});
