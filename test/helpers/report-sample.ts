/** A month of period data as the statistics store would give it, for the report tests. */
import type { PeriodData, PeriodQuery } from '../../src/stats/period.js';

export const SAMPLE: PeriodData = {
  queries: 48_210,
  cacheHits: 20_000,
  blocked: 1310,
  venues: [
    { venue: 'Biblioteka', queries: 30_000, blocked: 910 },
    { venue: 'Sheshi Skënderbej', queries: 18_210, blocked: 400 },
  ],
  blocks: [
    { venue: 'Biblioteka', category: 'adult', count: 700 },
    { venue: 'Biblioteka', category: 'abuse', count: 3 },
    { venue: 'Biblioteka', category: 'gambling', count: 210 },
    { venue: 'Sheshi Skënderbej', category: 'adult', count: 380 },
    { venue: 'Sheshi Skënderbej', category: 'malware', count: 20 },
  ],
  distinct: [
    { category: 'abuse', estimate: 2 },
    { category: 'adult', estimate: 412 },
    { category: 'gambling', estimate: 37 },
    { category: 'malware', estimate: 9 },
  ],
  servedSeconds: 31 * 86_400 - 3600,
  firstStart: '2026-09-01T08:00:00.000Z',
  listChanges: [
    {
      at: '2026-10-02T04:00:00.000Z',
      version: '0123456789abcdef0123',
      entries: 812_345,
      sources: 6,
      reason: 'lists recompiled (feeds: adult)',
    },
  ],
  selfTests: [
    {
      at: '2026-10-02T04:05:00.000Z',
      venue: 'Biblioteka',
      suite: 'friendly-wifi',
      passed: 24,
      failed: 0,
      sha256: 'ab'.repeat(32),
    },
    {
      at: '2026-10-03T04:05:00.000Z',
      venue: null,
      suite: 'friendly-wifi',
      passed: 23,
      failed: 1,
      sha256: 'cd'.repeat(32),
    },
  ],
  appeals: [
    { category: 'adult', received: 5, accepted: 2, rejected: 1 },
    { category: 'gambling', received: 1, accepted: 0, rejected: 1 },
  ],
  appealTotals: { received: 6, accepted: 2, rejected: 2 },
};

export function source(data: PeriodData = SAMPLE) {
  const calls: PeriodQuery[] = [];
  return {
    calls,
    async period(q: PeriodQuery) {
      calls.push(q);
      return data;
    },
  };
}
