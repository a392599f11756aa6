/**
 * The spool on its own: batches come back in the order they went in, survive a reopen (a restart),
 * stay within maxBytes by dropping the oldest (counted), and a write cut short or an unreadable file
 * does not stop the ones behind it.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { Batch } from '../../src/store/batch.js';
import { openSpool } from '../../src/store/spool.js';

const logger = () => {
  const errors: string[] = [];
  return { errors, logger: { error: (_: object, m: string) => errors.push(m), warn() {} } as never };
};

function batch(n: number): Batch {
  return {
    id: `id-${n}`,
    instance: 'a',
    at: '2026-11-23T14:00:00.000Z',
    hours: [],
    sketches: [],
    events: [],
  };
}

function drain(spool: ReturnType<typeof openSpool>): string[] {
  const out: string[] = [];
  for (let b = spool.peek(); b !== undefined; b = spool.peek()) {
    out.push(b.id);
    spool.shift();
  }
  return out;
}

t.test('in order, durable across a reopen, files removed once taken', async (t) => {
  const dir = join(t.testdir(), 'spool');
  const { logger: log } = logger();
  const spool = openSpool({ path: dir, maxBytes: 1 << 20 }, log);
  for (let i = 1; i <= 12; i++) spool.push(batch(i));
  t.equal(spool.state().batches, 12);
  t.equal(readdirSync(dir).length, 12, 'one file per batch');
  // A restart: a new spool on the same folder, with a write cut short by a crash left behind.
  writeFileSync(join(dir, '0000000000000099.batch.json.tmp'), '{"id":"half');
  const again = openSpool({ path: dir, maxBytes: 1 << 20 }, log);
  t.same(again.state(), spool.state(), 'the same batches and bytes after the restart');
  again.push(batch(13));
  t.same(
    drain(again),
    Array.from({ length: 13 }, (_, i) => `id-${i + 1}`),
    'in order (sequence numbers sort past 9), the new one last',
  );
  t.same(readdirSync(dir), [], 'nothing left: the half-written file was removed at open');
});

t.test('bounded: past maxBytes the oldest go, counted and said', async (t) => {
  const size = Buffer.byteLength(JSON.stringify(batch(1)));
  for (const path of [join(t.testdir(), 'spool'), null]) {
    const { errors, logger: log } = logger();
    const spool = openSpool({ path, maxBytes: size * 3 }, log);
    for (let i = 1; i <= 5; i++) spool.push(batch(i));
    t.same(
      spool.state(),
      { batches: 3, bytes: size * 3, dropped: 2 },
      `${path === null ? 'memory' : 'disk'}`,
    );
    t.equal(errors.length, 2, 'each drop said');
    t.same(drain(spool), ['id-3', 'id-4', 'id-5'], 'the newest kept');
  }
});

t.test('an unreadable spooled file is dropped (counted), the next one still comes', async (t) => {
  const dir = join(t.testdir(), 'spool');
  const { errors, logger: log } = logger();
  const spool = openSpool({ path: dir, maxBytes: 1 << 20 }, log);
  spool.push(batch(1));
  spool.push(batch(2));
  writeFileSync(join(dir, '0000000000000001.batch.json'), 'not json');
  const again = openSpool({ path: dir, maxBytes: 1 << 20 }, log);
  t.same(drain(again), ['id-2']);
  t.equal(again.state().dropped, 1);
  t.match(errors, [/cannot be read/]);
});
