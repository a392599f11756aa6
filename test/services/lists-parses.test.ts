/**
 * The compile tally: a load that compiled is counted and logged (`lists compiled`, parsed and cached
 * counts); the lists in force handed back unchanged, or lists not compiled here, count nothing.
 */
import { pino } from 'pino';
import t from 'tap';
import type { LoadedListSet } from '../../src/policy/lists-loader.js';
import { createListParses } from '../../src/services/lists-parses.js';

function loaded(cached: boolean[] | null): LoadedListSet {
  return {
    lists: {} as LoadedListSet['lists'],
    from: cached === null ? 'compiled' : 'lists',
    report:
      cached === null
        ? null
        : ({
            version: 'f'.repeat(64),
            sources: cached.map((c, i) => ({ name: `s${i}`, ...(c ? { cached: true } : {}) })),
          } as unknown as LoadedListSet['report']),
    ms: 12.3,
    missing: [],
  };
}

t.test('counts and logs each compile, and only compiles', async (t) => {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({}, { write: (l: string) => lines.push(JSON.parse(l)) });
  const parses = createListParses(log);
  const first = loaded([false, false]);
  parses.note(first, null);
  t.same(parses.counts(), { parsed: 2, cached: 0 });
  parses.note(first, first);
  t.same(parses.counts(), { parsed: 2, cached: 0 }, 'the lists in force kept: no compile');
  parses.note(loaded(null), first);
  t.same(parses.counts(), { parsed: 2, cached: 0 }, 'a precompiled artifact: no compile here');
  parses.note(loaded([true, false, true]), first);
  t.same(parses.counts(), { parsed: 3, cached: 2 });
  t.match(
    lines.filter((l) => l.msg === 'lists compiled'),
    [
      { parsed: 2, cached: 0, parsedSources: ['s0', 's1'] },
      { parsed: 1, cached: 2, parsedSources: ['s1'], ms: 12 },
    ],
  );
});
