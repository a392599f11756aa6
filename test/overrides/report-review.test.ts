/** The report's side of closing the loop: the reviewer's note and the reporter's reference and outcome. */
import { join } from 'node:path';
import t from 'tap';
import { openStatsStore } from '../../src/stats/store.js';

const logger = { error() {}, warn() {}, info() {} } as never;

t.test('a reference per report: random, unguessable, the only handle on its outcome', async (t) => {
  const store = openStatsStore({ path: join(t.testdir(), 'stats.db'), flushIntervalMs: 0 }, { logger });
  t.teardown(() => store.close());
  const a = store.addReport({ venue: 'cafe', category: 'adult', name: 'craft.test' });
  const b = store.addReport({ venue: 'cafe', category: 'adult', name: 'news.test' });
  t.match(a.reference, /^[A-Za-z0-9_-]{22}$/);
  t.not(a.reference, b.reference);
  t.notMatch(a.reference ?? '', new RegExp(`^${a.id}$`), 'not the row id');
  t.equal(store.reportOutcome(a.reference!), 'open');
  t.equal(store.reportOutcome('A'.repeat(22)), null, 'nobody has it');
  t.equal(store.reportOutcome(String(a.id)), null, 'the id is no reference');
  t.equal(store.reportOutcome("' OR 1=1 --"), null);

  const reviewed = store.reviewReport(a.id, 'accepted', 'ops', ' a craft club \n');
  t.match(reviewed, { status: 'accepted', reviewedBy: 'ops', note: 'a craft club', reference: a.reference });
  t.equal(store.reportOutcome(a.reference!), 'accepted');
  store.reviewReport(b.id, 'rejected', 'ops');
  t.equal(store.reportOutcome(b.reference!), 'rejected');
  t.equal(store.getReport(b.id).note, null, 'no note: null');
  t.throws(() => store.getReport(99), { code: 'ROJE_ERR_STATS_REPORT_NOT_FOUND' });
  t.throws(() => store.reviewReport(a.id, 'accepted', 'ops', 'n'.repeat(1001)), {
    code: 'ROJE_ERR_STATS_REPORT_INVALID',
  });
  t.same(
    store.listReports().reports.map((r) => r.reference),
    [b.reference, a.reference],
    'the list shows the references to operators',
  );
});
