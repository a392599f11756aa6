/** The report's side of closing the loop: the reviewer's note and the reporter's reference and outcome. */
import { join } from 'node:path';
import t from 'tap';
import { openStatsStore } from '../../src/stats/store.js';

const logger = { error() {}, warn() {}, info() {} } as never;

t.test('a reference per report: random, unguessable, the only handle on its outcome', async (t) => {
  const store = await openStatsStore({ path: join(t.testdir(), 'stats.db'), flushIntervalMs: 0 }, { logger });
  t.teardown(() => store.close());
  const a = await store.addReport({ venue: 'cafe', category: 'adult', name: 'craft.test' });
  const b = await store.addReport({ venue: 'cafe', category: 'adult', name: 'news.test' });
  t.match(a.reference, /^[A-Za-z0-9_-]{22}$/);
  t.not(a.reference, b.reference);
  t.notMatch(a.reference ?? '', new RegExp(`^${a.id}$`), 'not the row id');
  t.equal(await store.reportOutcome(a.reference!), 'open');
  t.equal(await store.reportOutcome('A'.repeat(22)), null, 'nobody has it');
  t.equal(await store.reportOutcome(String(a.id)), null, 'the id is no reference');
  t.equal(await store.reportOutcome("' OR 1=1 --"), null);

  const reviewed = await store.reviewReport(a.id, 'accepted', 'ops', ' a craft club \n');
  t.match(reviewed, { status: 'accepted', reviewedBy: 'ops', note: 'a craft club', reference: a.reference });
  t.equal(await store.reportOutcome(a.reference!), 'accepted');
  await store.reviewReport(b.id, 'rejected', 'ops');
  t.equal(await store.reportOutcome(b.reference!), 'rejected');
  t.equal((await store.getReport(b.id)).note, null, 'no note: null');
  await t.rejects(store.getReport(99), { code: 'ROJE_ERR_STATS_REPORT_NOT_FOUND' });
  await t.rejects(store.reviewReport(a.id, 'accepted', 'ops', 'n'.repeat(1001)), {
    code: 'ROJE_ERR_STATS_REPORT_INVALID',
  });
  t.same(
    (await store.listReports()).reports.map((r) => r.reference),
    [b.reference, a.reference],
    'the list shows the references to operators',
  );
});
