/**
 * abuseStatus: counts, ages (from the last confirmation, else the read time), stale warnings, pages
 * not enforced, and the warning for a network without an abuse feed. Never an entry.
 */
import t from 'tap';
import { type AbuseStatusInput, abuseStatus } from '../../../src/policy/abuse/status.js';
import type { CompiledLists, SourceMeta } from '../../../src/policy/types.js';

const NOW = Date.parse('2026-11-23T12:00:00Z');
const HOUR = 3_600_000;

function meta(name: string, category: string, readAt: string, extra: Partial<SourceMeta> = {}): SourceMeta {
  return {
    name,
    category,
    format: category === 'abuse' ? 'abuse' : 'domains',
    entries: 10,
    skipped: 0,
    sha256: '0'.repeat(64),
    readAt,
    ...extra,
  };
}

/** Just what abuseStatus reads of the lists. */
function lists(sources: SourceMeta[], hashedEntries: number): CompiledLists {
  return { sources, hashedEntries } as unknown as CompiledLists;
}

function input(over: Partial<AbuseStatusInput>): AbuseStatusInput {
  return {
    lists: null,
    confirmedAt: new Map(),
    pageEntries: 'count',
    maxAgeMs: 12 * HOUR,
    keyId: '0123456789abcdef',
    now: NOW,
    ...over,
  };
}

t.test('no lists loaded yet: nothing, no warnings', async (t) => {
  const s = abuseStatus(input({}));
  t.same(s, {
    sources: 0,
    entries: 0,
    pages: 0,
    pageEntries: 'count',
    pagesNotEnforced: 0,
    maxAgeSeconds: 12 * 3600,
    feeds: [],
    keyId: '0123456789abcdef',
    warnings: [],
  });
});

t.test('lists without an abuse source: a warning that says so', async (t) => {
  const s = abuseStatus(input({ lists: lists([meta('adult', 'adult', '2026-11-23T11:00:00Z')], 0) }));
  t.equal(s.sources, 0);
  t.same(s.feeds, []);
  t.equal(s.warnings.length, 1);
  t.match(s.warnings[0], /no abuse feed is configured/);
});

t.test('fresh feeds: counts and ages, from the confirmation when there is one', async (t) => {
  const l = lists(
    [
      meta('adult', 'adult', '2026-11-20T00:00:00Z'),
      meta('iwf', 'abuse', '2026-11-23T11:00:00Z', { entries: 7, pages: 4, pagesBlocked: false }),
      meta('local-abuse', 'abuse', '2026-11-23T11:30:00Z', { entries: 3 }),
    ],
    9,
  );
  const s = abuseStatus(
    input({
      lists: l,
      confirmedAt: new Map([
        ['iwf', '2026-11-23T11:59:00Z'],
        ['local-abuse', undefined],
      ]),
    }),
  );
  t.equal(s.sources, 2, 'the adult source is not an abuse source');
  t.equal(s.entries, 9, 'distinct hashed entries come from the lists');
  t.equal(s.pages, 4);
  t.equal(s.pagesNotEnforced, 4, 'count: page entries are not enforced');
  t.same(s.feeds, [
    { name: 'iwf', entries: 7, pages: 4, ageSeconds: 60, stale: false },
    { name: 'local-abuse', entries: 3, pages: 0, ageSeconds: 1800, stale: false },
  ]);
  t.same(s.warnings, []);

  const blocked = abuseStatus(input({ lists: l, pageEntries: 'block-host' }));
  t.equal(blocked.pages, 4);
  t.equal(blocked.pagesNotEnforced, 0, 'block-host: every page host is blocked');
  t.equal(blocked.pageEntries, 'block-host');
});

t.test('stale: older than maxAge (not at it), one warning per stale feed, counts only', async (t) => {
  const l = lists(
    [
      meta('old', 'abuse', new Date(NOW - 30 * HOUR).toISOString()),
      meta('edge', 'abuse', new Date(NOW - 12 * HOUR).toISOString()),
      meta('confirmed', 'abuse', new Date(NOW - 40 * HOUR).toISOString()),
    ],
    5,
  );
  const s = abuseStatus(
    input({ lists: l, confirmedAt: new Map([['confirmed', new Date(NOW - HOUR).toISOString()]]) }),
  );
  t.same(
    s.feeds.map((f) => [f.name, f.stale, f.ageSeconds]),
    [
      ['old', true, 30 * 3600],
      ['edge', false, 12 * 3600],
      ['confirmed', false, 3600],
    ],
  );
  t.same(s.warnings, ['abuse feed "old" was last confirmed 30 h ago, more than abuse.maxAge (12 h)']);
});

t.test('a clock behind the read time gives age 0, not a negative age', async (t) => {
  const l = lists([meta('future', 'abuse', new Date(NOW + HOUR).toISOString())], 1);
  t.match(abuseStatus(input({ lists: l })).feeds, [{ ageSeconds: 0, stale: false }]);
});
