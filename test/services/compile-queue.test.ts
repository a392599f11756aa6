import t from 'tap';
import { createCompileQueue } from '../../src/services/compile-queue.js';

/** A compile whose runs the test finishes by hand, recording how many ran at once. */
function gatedCompile() {
  const gates: Array<() => void> = [];
  let running = 0;
  let most = 0;
  const calls: string[][] = [];
  const compile = (reasons: string[]) =>
    new Promise<number>((resolve) => {
      running++;
      most = Math.max(most, running);
      calls.push(reasons);
      const n = calls.length;
      gates.push(() => {
        running--;
        resolve(n);
      });
    });
  return { compile, gates, calls, most: () => most };
}

const tick = () => new Promise((r) => setImmediate(r));

t.test('requests in one tick share one run', async (t) => {
  const g = gatedCompile();
  const queue = createCompileQueue(g.compile);
  const all = [queue.request('a'), queue.request('b'), queue.request('a')];
  await tick();
  g.gates.shift()?.();
  t.same(await Promise.all(all), [1, 1, 1]);
  t.same(g.calls, [['a', 'b']], 'one run with every reason once');
});

t.test('requests during a run coalesce into one follow-up; never two at once', async (t) => {
  const g = gatedCompile();
  const queue = createCompileQueue(g.compile);
  const first = queue.request('first');
  await tick();
  t.equal(g.calls.length, 1, 'the first runs');
  const later = [queue.request('x'), queue.request('y'), queue.request('z')];
  await tick();
  t.equal(g.calls.length, 1, 'the others wait: one compile at a time');
  g.gates.shift()?.();
  t.equal(await first, 1);
  await tick();
  t.same(g.calls[1], ['x', 'y', 'z'], 'one follow-up for all three');
  g.gates.shift()?.();
  t.same(await Promise.all(later), [2, 2, 2]);
  t.equal(g.most(), 1);
  t.equal(queue.runs(), 2);
});

t.test('a hold keeps compiles out until released', async (t) => {
  const g = gatedCompile();
  const queue = createCompileQueue(g.compile);
  const release = await queue.hold();
  const waiting = queue.request('after the reload');
  await tick();
  t.equal(g.calls.length, 0, 'no compile while held');
  release();
  await tick();
  t.equal(g.calls.length, 1);
  g.gates.shift()?.();
  t.equal(await waiting, 1);
});

t.test('a failed run rejects its callers and the queue goes on', async (t) => {
  let n = 0;
  const queue = createCompileQueue(async () => {
    n++;
    if (n === 1) throw new Error('bad list');
    return n;
  });
  await t.rejects(queue.request('one'), /bad list/);
  t.equal(await queue.request('two'), 2);
});
