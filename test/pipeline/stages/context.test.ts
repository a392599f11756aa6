import t from 'tap';
import { createContextStage } from '../../../src/pipeline/stages/context.js';
import { createVenueResolver } from '../../../src/policy/venues.js';
import { nextDouble, PASSED, stageQuery } from '../../helpers/stage.js';

t.test("the client's venue and roje's UDP size are set on the query, which then goes on", async (t) => {
  const resolver = createVenueResolver([
    { networks: ['10.1.0.0/16'] },
    { networks: ['10.2.0.0/16', '2001:db8::/32'] },
  ]);
  const asked: string[] = [];
  const venueOf = (address: string) => {
    asked.push(address);
    return resolver(address);
  };
  const next = nextDouble();
  const stage = createContextStage({ venueOf, udpSize: 1400 })(next.handler);
  const cases: [string, number][] = [
    ['10.1.2.3', 0],
    ['10.2.0.9', 1],
    ['2001:db8::5', 1],
    ['192.0.2.1', -1],
  ];
  for (const [address, venue] of cases) {
    const q = stageQuery('www.example.test', 'A', { address, venue: 99, udpSize: 0 });
    t.equal(stage(q), PASSED);
    t.equal(next.calls.at(-1), q, 'the same query object, not a copy');
    t.equal(q.venue, venue, address);
    t.equal(q.udpSize, 1400);
  }
  t.same(
    asked,
    cases.map(([address]) => address),
    'one venue lookup per query',
  );
});
