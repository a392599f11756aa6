/** The audit log with and without the shared store's sink: every entry goes to it; reads come from it. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import { type AuditEntry, createAuditLog, type SharedAuditSink } from '../../src/admin/audit.js';

const logger = pino({ level: 'silent' });
const change = (n: number) => ({
  who: 'ops',
  role: 'operator',
  action: `POST /x/${n}`,
  result: 'ok' as const,
});

t.test('without a sink: this instance, newest first, bounded by limit', async (t) => {
  const log = createAuditLog({ path: null, logger });
  for (let i = 0; i < 5; i++) log.record(change(i));
  t.same(
    (await log.recent(3)).map((e) => e.action),
    ['POST /x/4', 'POST /x/3', 'POST /x/2'],
  );
});

t.test("with a sink: every entry appended (and to the file); reads are the city's", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'roje-audit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const appended: AuditEntry[] = [];
  const city: AuditEntry[] = [
    { at: '2026-12-01T00:00:00.000Z', ...change(99), detail: 'through instance b' },
  ];
  let down = false;
  let asked = 0;
  const shared: SharedAuditSink = {
    append: (e) => void appended.push(e),
    async recent(limit) {
      asked = limit;
      if (down) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      return city;
    },
  };
  const path = join(dir, 'audit.log');
  const log = createAuditLog({ path, logger, shared });
  const entry = log.record(change(1));
  t.same(appended, [entry], 'appended to the sink as recorded');
  t.same(JSON.parse(readFileSync(path, 'utf8')), entry, 'and to the local file');
  t.same(await log.recent(50), city, "the city's log");
  t.equal(asked, 50, 'with the limit');
  down = true;
  t.same(await log.recent(50), [entry], "the database down: this instance's memory");
});

t.test(
  'a sink that keeps none (SQLite) or cannot queue: memory, and the change is still recorded',
  async (t) => {
    const none = createAuditLog({ path: null, logger, shared: { append() {}, recent: async () => null } });
    const e = none.record(change(1));
    t.same(await none.recent(10), [e]);
    const broken = createAuditLog({
      path: null,
      logger,
      shared: {
        append() {
          throw new Error('queue closed');
        },
        recent: async () => null,
      },
    });
    const kept = broken.record(change(2));
    t.same(await broken.recent(10), [kept], 'recorded locally');
  },
);
