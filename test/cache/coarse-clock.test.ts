import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { createCoarseClock, sharedCoarseClock } from '../../src/cache/coarse-clock.js';

t.test('now() returns the last sample and follows the source', async (t) => {
  let source = 100;
  let calls = 0;
  const clock = createCoarseClock(
    { intervalMs: 2 },
    {
      source: () => {
        calls++;
        return source;
      },
    },
  );
  t.teardown(() => clock.close());
  t.equal(clock.now(), 100, 'sampled at creation');
  source = 200;
  t.equal(clock.now(), 100, 'no read of the source per call');
  // Bounded wait for the timer to sample again; no assertion on how long it took.
  for (let i = 0; i < 200 && clock.now() !== 200; i++) await sleep(5);
  t.equal(clock.now(), 200, 'the timer sampled the new value');

  clock.close();
  const callsAtClose = calls;
  source = 300;
  await sleep(20);
  t.equal(calls, callsAtClose, 'no sampling after close()');
  t.equal(clock.now(), 200, 'keeps the last sample');
});

t.test('the default source is performance.now', async (t) => {
  const clock = createCoarseClock({ intervalMs: 5 });
  t.teardown(() => clock.close());
  const first = clock.now();
  t.ok(first > 0 && first <= performance.now());
});

t.test('the shared clock is one clock for the process, and it moves', async (t) => {
  const clock = sharedCoarseClock();
  t.equal(sharedCoarseClock(), clock, 'the same clock every time: one timer, whatever the caches');
  const start = clock.now();
  const deadline = performance.now() + 2000;
  while (clock.now() === start && performance.now() < deadline) await sleep(10);
  t.ok(clock.now() > start, 'a later sample within 2 s');
});
