import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { openStatsStore } from '../../src/stats/store.js';

const logger = { error() {}, warn() {}, info() {} } as never;
const T0 = Date.parse('2026-11-23T14:05:00Z');

async function open(t: { testdir(): string; teardown(fn: () => void): void }, maxOpenReports?: number) {
  const dir = t.testdir();
  const path = join(dir, 'reports.db');
  let now = T0;
  const store = await openStatsStore(
    { path, flushIntervalMs: 0, ...(maxOpenReports === undefined ? {} : { maxOpenReports }) },
    { logger, now: () => now++ },
  );
  t.teardown(() => store.close());
  return { store, path };
}

t.test('add, list (newest first, by status, paged) and review', async (t) => {
  const { store } = await open(t);
  const a = await store.addReport({
    venue: 'Library',
    category: 'gambling',
    name: 'chess.test',
    message: 'a chess club',
  });
  t.match(a, {
    id: 1,
    venue: 'Library',
    category: 'gambling',
    name: 'chess.test',
    status: 'open',
    reviewedBy: null,
  });
  t.match(a.at, /^2026-11-23T14:05:00\.\d{3}Z$/, 'UTC ISO instant');
  const b = await store.addReport({ venue: 'Cafe', category: 'adult', name: 'museum.test' });
  t.equal(b.message, '', 'the message is optional');

  t.same(
    (await store.listReports()).reports.map((r) => r.id),
    [2, 1],
  );
  const reviewed = await store.reviewReport(1, 'accepted', 'alice');
  t.match(reviewed, { id: 1, status: 'accepted', reviewedBy: 'alice' });
  t.type(reviewed.reviewedAt, 'string');
  t.same(
    await store.listReports({ status: 'open' }),
    { total: 1, reports: [{ ...b }] },
    'only the open one, in the same shape addReport returned',
  );
  t.same((await store.listReports({ status: 'accepted' })).reports[0], reviewed);
  const page = await store.listReports({ limit: 1, offset: 1 });
  t.equal(page.total, 2);
  t.same(
    page.reports.map((r) => r.id),
    [1],
  );
});

t.test('a confidential category (abuse) never stores the name, not even in the file', async (t) => {
  const { store, path } = await open(t);
  const secret = 'confidential-entry.test';
  const r1 = await store.addReport({ venue: 'Library', category: 'abuse', name: secret, message: 'why?' });
  const r2 = await store.addReport({ venue: 'Library', category: 'adult, Abuse', name: secret });
  t.equal(r1.name, null);
  t.equal(r2.name, null, 'any confidential category among several');
  t.same(
    (await store.listReports()).reports.map((r) => r.name),
    [null, null],
  );
  await store.close();
  for (const file of [path, `${path}-wal`]) {
    if (existsSync(file)) t.notOk(readFileSync(file).includes(secret), `${file} does not hold the name`);
  }
  // An abuse report with an over-long name is still taken: the name is never even looked at.
  const other = (await open(t)).store;
  t.equal((await other.addReport({ venue: 'V', category: 'abuse', name: 'x'.repeat(5000) })).name, null);
});

t.test('bad input is refused with a code and a message that says what to change', async (t) => {
  const { store } = await open(t);
  await t.rejects(store.addReport({ venue: 'V', category: 'adult', message: 'x'.repeat(1001) }), {
    code: 'ROJE_ERR_STATS_REPORT_INVALID',
    message: /1001 characters.*1000/,
  });
  t.ok(await store.addReport({ venue: 'V', category: 'adult', message: 'x'.repeat(1000) }), '1000 is fine');
  await t.rejects(store.addReport({ venue: '', category: 'adult' }), {
    code: 'ROJE_ERR_STATS_REPORT_INVALID',
  });
  await t.rejects(store.addReport({ venue: 'V', category: 'adult', name: 'a'.repeat(300) }), {
    code: 'ROJE_ERR_STATS_REPORT_INVALID',
  });
  await t.rejects(store.addReport({ venue: 'V', category: 3 as unknown as string }), {
    code: 'ROJE_ERR_STATS_REPORT_INVALID',
  });
  t.equal(
    (await store.addReport({ venue: 'V\u0000\u001b[31m', category: 'adult', message: 'line1\nline2\u0007' }))
      .venue,
    'V[31m',
    'control characters are stripped',
  );
  await t.rejects(store.listReports({ status: 'closed' as 'open' }), {
    code: 'ROJE_ERR_STATS_REPORT_INVALID',
  });
  await t.rejects(store.listReports({ limit: 0 }), { code: 'ROJE_ERR_STATS_REPORT_INVALID' });
  await t.rejects(store.listReports({ limit: 501 }), { code: 'ROJE_ERR_STATS_REPORT_INVALID' });
  await t.rejects(store.reviewReport(99, 'accepted', 'alice'), { code: 'ROJE_ERR_STATS_REPORT_NOT_FOUND' });
  await t.rejects(store.reviewReport(1, 'maybe' as 'open', 'alice'), {
    code: 'ROJE_ERR_STATS_REPORT_INVALID',
  });
  await t.rejects(store.reviewReport(1, 'accepted', ''), { code: 'ROJE_ERR_STATS_REPORT_INVALID' });
});

t.test('at most maxOpenReports wait for review; reviewing one makes room', async (t) => {
  const { store } = await open(t, 3);
  for (let i = 0; i < 3; i++) await store.addReport({ venue: 'V', category: 'adult', name: `n${i}.test` });
  await t.rejects(store.addReport({ venue: 'V', category: 'adult' }), {
    code: 'ROJE_ERR_STATS_REPORTS_FULL',
    message: /3 reports are waiting/,
  });
  t.equal((await store.listReports()).total, 3, 'the refused one was not stored');
  await store.reviewReport(2, 'rejected', 'bob');
  t.ok(await store.addReport({ venue: 'V', category: 'adult' }));
});
