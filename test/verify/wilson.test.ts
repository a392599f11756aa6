/** The Wilson interval against published values, and at the edges where the plain interval fails. */
import t from 'tap';
import { wilsonInterval } from '../../src/verify/wilson.js';

t.test('known values (Newcombe 1998, table I, method 3)', async (t) => {
  // 81 of 263: 0.2553 to 0.3662.
  const a = wilsonInterval(81, 263);
  t.equal(a.low.toFixed(4), '0.2553');
  t.equal(a.high.toFixed(4), '0.3662');
  // 15 of 148: 0.0624 to 0.1605.
  const b = wilsonInterval(15, 148);
  t.equal(b.low.toFixed(4), '0.0624');
  t.equal(b.high.toFixed(4), '0.1605');
  // 0 of 20: 0 to 0.1611; 1 of 29: 0.0061 to 0.1718.
  t.same(wilsonInterval(0, 20).low, 0);
  t.equal(wilsonInterval(0, 20).high.toFixed(4), '0.1611');
  t.equal(wilsonInterval(1, 29).low.toFixed(4), '0.0061');
  t.equal(wilsonInterval(1, 29).high.toFixed(4), '0.1718');
});

t.test('edges: all, none, no trials, narrowing with n', async (t) => {
  const all = wilsonInterval(1000, 1000);
  t.equal(all.high, 1);
  t.ok(all.low > 0.99 && all.low < 1, `1000/1000: low end ${all.low}, not 1`);
  t.same(wilsonInterval(0, 0), { low: 0, high: 1 }, 'no trials: nothing known');
  const small = wilsonInterval(9, 10);
  const large = wilsonInterval(900, 1000);
  t.ok(large.high - large.low < small.high - small.low, 'more names, a narrower interval');
  t.ok(small.low < 0.9 && small.high > 0.9, 'the interval holds the point estimate');
});
