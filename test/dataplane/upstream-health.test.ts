import t from 'tap';
import { mergeUpstreamHealth } from '../../src/dataplane/upstream-health.js';
import type { UpstreamHealth } from '../../src/upstream/types.js';

const h = (url: string, over: Partial<UpstreamHealth>): UpstreamHealth => ({
  url,
  state: 'up',
  consecutiveFailures: 0,
  srttMs: null,
  queries: 0,
  failures: 0,
  lastError: null,
  ...over,
});

t.test('sums the loops, weights the round trip by queries, in config order', async (t) => {
  const a = 'udp://127.0.0.1:5301';
  const b = 'udp://127.0.0.1:5302';
  const merged = mergeUpstreamHealth(
    [a, b],
    [
      [h(b, { queries: 1, srttMs: 10 }), h(a, { queries: 30, failures: 1, srttMs: 1 })],
      [
        h(a, {
          queries: 10,
          srttMs: 5,
          state: 'down',
          consecutiveFailures: 3,
          lastError: 'ROJE_ERR_UPSTREAM_TIMEOUT',
        }),
      ],
    ],
  );
  t.equal(merged[0]?.url, a);
  t.match(merged[0], {
    queries: 40,
    failures: 1,
    state: 'down',
    consecutiveFailures: 3,
    lastError: 'ROJE_ERR_UPSTREAM_TIMEOUT',
  });
  t.equal(merged[0]?.srttMs, (30 * 1 + 10 * 5) / 40);
  t.match(merged[1], { url: b, queries: 1, srttMs: 10, state: 'up' });
});

t.test('no loop has reported yet: zeros, no round trip', async (t) => {
  t.same(mergeUpstreamHealth(['udp://127.0.0.1:53'], []), [h('udp://127.0.0.1:53', {})]);
});
