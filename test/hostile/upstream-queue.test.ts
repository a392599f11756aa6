/**
 * Issue #18, upstream queue: one client floods random names at ~800 q/s (under its rate limit) behind a
 * slow upstream; another client's fresh names must still be answered, correctly and within 1 s, and no
 * upstream may be marked down. The attacker gets SERVFAIL beyond its share of the queue. roje runs in
 * its own process (dist/, as deployed) so that the flood and the fake upstream in this one do not share
 * its event loop. Loopback only, bounded: 8 s of attack (6,400 queries at most).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { addLegitNames, legitNames, queueAttack } from '../../bench/hostile/queue.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { binaryProblem, spawnRoje } from '../helpers/process.js';
import { udpUrl } from '../helpers/roje.js';

const DURATION_MS = 8000;
const LEGIT_EVERY_MS = 50;

t.test('a flood of random names cannot starve another client of the upstream', async (t) => {
  const problem = binaryProblem();
  if (problem !== null) {
    t.fail(problem);
    return;
  }
  const fake = await startFakeUpstream({ apexes: ['legit.test', 'flood.test'] });
  t.teardown(() => fake.close());
  fake.behave('*', { delayMs: 300 });
  addLegitNames(fake, legitNames('test', DURATION_MS / LEGIT_EVERY_MS));
  // A quarter of the queue per client (the default share): 128 in flight, where 800 q/s x 300 ms wants
  // ~240. A smaller queue than the default 1024 keeps the fake upstream's work (in this process) low.
  const dir = t.testdir({});
  const file = join(dir, 'roje.yaml');
  writeFileSync(file, `stateDir: ${join(dir, 'state')}\nupstream:\n  maxPending: 512\n`);
  const roje = spawnRoje(['serve', '--listen', '127.0.0.1:0', '--upstream', udpUrl(fake), '--config', file], {
    t,
  });
  const { addresses } = await roje.ready(20_000);
  const r = await queueAttack({
    server: addresses[0],
    rate: 800,
    durationMs: DURATION_MS,
    legitEveryMs: LEGIT_EVERY_MS,
    tag: 'test',
  });
  t.comment(JSON.stringify(r));
  const { legit, attacker } = r;
  t.ok(legit.sent >= 80, `the legitimate client asked ${legit.sent} names`);
  t.ok(
    legit.correct >= Math.ceil(legit.sent * 0.99),
    `>= 99 % answered correctly within 1 s: ${legit.correct}/${legit.sent} (late ${legit.late}, wrong ${legit.wrong}, lost ${legit.lost})`,
  );
  t.ok((attacker.byRcode.SERVFAIL ?? 0) > 0, 'the attacker got SERVFAIL beyond its share');
  t.ok((attacker.byRcode.NXDOMAIN ?? 0) > 0, 'and answers within it');
  t.same(
    roje.logs().filter((l) => l.msg === 'upstream marked down'),
    [],
    'no upstream marked down',
  );
});
