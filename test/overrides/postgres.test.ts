/**
 * Overrides shared through a real PostgreSQL: two instances (a, b) on one database. A change through
 * one reaches the other by NOTIFY within moments, by the poll when the notification is lost, and after
 * the LISTEN connection is made again; races are settled by the unique index; while the database is
 * down the set in force stays (also across a restart, from the local copy) and changes are refused.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import t from 'tap';
import { writeOverridesFile } from '../../src/overrides/file.js';
import { createPostgresOverridesBackend } from '../../src/overrides/postgres.js';
import { createOverridesService } from '../../src/overrides/service.js';
import { createOverridesStore, type OverridesStore } from '../../src/overrides/store.js';
import type { Override } from '../../src/overrides/types.js';
import { migratePostgres } from '../../src/store/postgres-schema.js';
import { startPostgres } from '../helpers/postgres.js';

const db = await startPostgres();
const dirs = mkdtempSync(join(tmpdir(), 'roje-ov-pg-'));
const pools: pg.Pool[] = [];
const stores: OverridesStore[] = [];
t.teardown(async () => {
  for (const s of stores) await s.close();
  for (const p of pools) await p.end().catch(() => {});
  await db.stop();
  rmSync(dirs, { recursive: true, force: true });
});

// The schema as roje makes it: the store's own migrations.
const migrating = new pg.Pool({ connectionString: db.url, max: 1 });
await migratePostgres(migrating);
await migrating.end();

const logs: string[] = [];
const logger = {
  info: (...a: unknown[]) => void logs.push(JSON.stringify(a)),
  warn: (...a: unknown[]) => void logs.push(JSON.stringify(a)),
  error: (...a: unknown[]) => void logs.push(JSON.stringify(a)),
};

function newPool(): pg.Pool {
  const pool = new pg.Pool({ connectionString: db.url, max: 4, connectionTimeoutMillis: 2000 });
  // Idle clients of a stopped server fail; the pool drops them (the store's pool logs this).
  pool.on('error', () => {});
  pools.push(pool);
  return pool;
}

interface Instance {
  store: OverridesStore;
  changes: number;
  cachePath: string;
}

async function instance(
  name: string,
  opts: { pollIntervalMs?: number; reconnectMinMs?: number; cachePath?: string; importPath?: string } = {},
): Promise<Instance> {
  const cachePath = opts.cachePath ?? join(mkdtempSync(join(dirs, `${name}-`)), 'overrides-cache.json');
  const pool = newPool();
  const store = createOverridesStore({
    backend: (deliver) =>
      createPostgresOverridesBackend(
        {
          pool,
          url: db.url,
          instance: name,
          pollIntervalMs: opts.pollIntervalMs ?? 60_000,
          reconnectMinMs: opts.reconnectMinMs ?? 1000,
          logger,
          cachePath,
          importPath: opts.importPath ?? null,
        },
        deliver,
      ),
    venues: () => ['cafe', 'library'],
    abuseBlocks: (n) => n === 'bad.example',
  });
  const me: Instance = { store, changes: 0, cachePath };
  store.onChange(() => me.changes++);
  await store.load();
  stores.push(store);
  return me;
}

/** Waits until `ok()` holds, polling every 10 ms; the milliseconds it took, or a failure after `limitMs`. */
async function until(ok: () => boolean, limitMs: number): Promise<number> {
  const start = performance.now();
  while (!ok()) {
    if (performance.now() - start > limitMs) throw new Error(`not within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return performance.now() - start;
}

const has = (i: Instance, id: string) => i.store.list().some((o) => o.id === id);
const rows = async (where = 'true') => Number(await db.psql(`SELECT count(*) FROM overrides WHERE ${where}`));
const killListeners = () =>
  db.psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'");

t.test('a change through a reaches b by NOTIFY well within 2 s (poll at 60 s); no churn', async (t) => {
  const a = await instance('a');
  const b = await instance('b');
  t.ok(b.store.state().backend === 'postgres' && (b.store.state() as { listening: boolean }).listening);
  const { override, created } = await a.store.add({
    name: 'Games.example',
    action: 'deny',
    venue: null,
    who: 'ops',
  });
  t.ok(created);
  t.ok(has(a, override.id), 'in force on a when add() resolves');
  const ms = await until(() => has(b, override.id), 2000);
  t.ok(ms < 2000, `on b after ${ms.toFixed(0)} ms`);
  t.same(
    b.store.list().find((o) => o.id === override.id),
    override,
    'every field',
  );
  t.equal(b.changes, 1, "b's listeners told once");
  t.equal(a.changes, 1, "a's own notification does not swap a second time");

  const removed = await b.store.remove(override.id);
  t.equal(removed.id, override.id);
  await until(() => !has(a, override.id), 2000);
  t.equal(await rows(), 0);
  await t.rejects(a.store.remove(override.id), { code: 'ROJE_ERR_OVERRIDE_NOT_FOUND' });

  // Re-reads that find the same set change nothing (the data plane is not churned).
  const c = await instance('c', { pollIntervalMs: 100 });
  await new Promise((r) => setTimeout(r, 600));
  t.equal(c.changes, 0, 'polls of an unchanged set swap nothing');
  t.ok(existsSync(c.cachePath), 'the local copy is written');
});

t.test('races between instances are settled by the unique index', async (t) => {
  const a = await instance('a');
  const b = await instance('b');
  const same = { name: 'race.example', action: 'allow' as const, venue: 'cafe', who: 'ops' };
  const [ra, rb] = await Promise.all([a.store.add(same), b.store.add(same)]);
  t.equal(await rows("name = 'race.example'"), 1, 'one row');
  t.equal(ra.override.id, rb.override.id, 'both answer with the one entry');
  t.same([ra.created, rb.created].sort(), [false, true], 'one made it, the other found it');
  await until(() => has(a, ra.override.id) && has(b, ra.override.id), 2000);

  const results = await Promise.allSettled([
    a.store.add({ name: 'fight.example', action: 'allow', venue: null, who: 'ops' }),
    b.store.add({ name: 'fight.example', action: 'deny', venue: null, who: 'ops' }),
  ]);
  t.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'one wins');
  const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
  t.match(lost.reason, { code: 'ROJE_ERR_OVERRIDE_CONFLICT', statusCode: 409 }, 'the other is a conflict');
  t.equal(await rows("name = 'fight.example'"), 1);
  // An all-venue entry and a venue's entry for one name are two rows.
  await a.store.add({ name: 'race.example', action: 'deny', venue: null, who: 'ops' });
  t.equal(await rows("name = 'race.example'"), 2);
});

t.test('the abuse check and the other checks hold on PostgreSQL too', async (t) => {
  const a = await instance('a');
  await t.rejects(a.store.add({ name: 'bad.example', action: 'allow', venue: null, who: 'ops' }), {
    code: 'ROJE_ERR_OVERRIDE_ABUSE',
  });
  t.equal(await rows("name = 'bad.example'"), 0, 'nothing written');
  await t.rejects(a.store.add({ name: 'x.example', action: 'allow', venue: 'nowhere', who: 'ops' }), {
    code: 'ROJE_ERR_OVERRIDE_VENUE_UNKNOWN',
  });
  await t.rejects(a.store.add({ name: 'com', action: 'deny', venue: null, who: 'ops' }), {
    code: 'ROJE_ERR_OVERRIDE_INVALID',
  });
});

t.test('a lost notification: the poll brings the change within the poll interval', async (t) => {
  const a = await instance('a');
  // b makes its LISTEN connection again only after a minute: only the poll can tell it.
  const b = await instance('b', { pollIntervalMs: 1500, reconnectMinMs: 60_000 });
  const listening = () => (b.store.state() as { listening: boolean }).listening;
  t.ok(listening());
  t.ok(Number(await killListeners()) >= 2, 'the LISTEN connections are gone');
  await until(() => !listening(), 2000);
  const { override } = await a.store.add({
    name: 'polled.example',
    action: 'deny',
    venue: 'library',
    who: 'ops',
  });
  const ms = await until(() => has(b, override.id), 4000);
  t.ok(ms <= 1500 + 1000, `on b after ${ms.toFixed(0)} ms, with no LISTEN connection`);
  t.notOk(listening(), 'it came by the poll');
});

t.test('the LISTEN connection is made again, with a re-read, and notifications arrive again', async (t) => {
  const a = await instance('a');
  const b = await instance('b', { reconnectMinMs: 100 });
  const listening = () => (b.store.state() as { listening: boolean }).listening;
  await killListeners();
  await until(() => !listening(), 2000);
  // Made while b did not listen: the re-read after reconnecting brings it (the poll is a minute).
  const missed = await a.store.add({ name: 'missed.example', action: 'deny', venue: null, who: 'ops' });
  await until(() => listening(), 3000);
  await until(() => has(b, missed.override.id), 2000);
  const { override } = await a.store.add({ name: 'again.example', action: 'deny', venue: null, who: 'ops' });
  const ms = await until(() => has(b, override.id), 2000);
  t.ok(ms < 2000, `by NOTIFY again after ${ms.toFixed(0)} ms`);
});

t.test(
  'database down: the set stays (also across a restart), changes fail with 503; back: recovers',
  async (t) => {
    await db.psql('DELETE FROM overrides');
    const a = await instance('a', { pollIntervalMs: 500 });
    const b = await instance('b', { pollIntervalMs: 500 });
    const deny = (await a.store.add({ name: 'kept.example', action: 'deny', venue: null, who: 'ops' }))
      .override;
    const allow = (await a.store.add({ name: 'ok.example', action: 'allow', venue: 'cafe', who: 'ops' }))
      .override;
    await until(() => has(b, deny.id) && has(b, allow.id), 2000);
    const cached = JSON.parse(readFileSync(b.cachePath, 'utf8')) as { overrides: Override[] };
    t.same(
      cached.overrides.map((o) => o.id).sort(),
      [deny.id, allow.id].sort(),
      "b's local copy holds the set",
    );

    await db.stopServer();
    try {
      await until(() => !(b.store.state() as { up: boolean }).up, 3000);
      t.same(
        b.store
          .list()
          .map((o) => o.id)
          .sort(),
        [deny.id, allow.id].sort(),
        'a failed read keeps the set in force',
      );
      const err = await a.store.add({ name: 'new.example', action: 'deny', venue: null, who: 'ops' }).then(
        () => null,
        (e: Error & { code?: string; statusCode?: number }) => e,
      );
      t.match(err, { code: 'ROJE_ERR_STORE_UNAVAILABLE', statusCode: 503 });
      t.notMatch(String(err?.message), db.password, 'no credentials in the message');
      await t.rejects(a.store.remove(deny.id), { code: 'ROJE_ERR_STORE_UNAVAILABLE' });
      t.ok(has(a, deny.id), 'a refused delete leaves the entry in force');

      // b restarts during the outage: its local copy is in force, the deny entry above all.
      await b.store.close();
      const b2 = await instance('b', { pollIntervalMs: 500, reconnectMinMs: 100, cachePath: b.cachePath });
      t.same(
        b2.store
          .list()
          .map((o) => o.id)
          .sort(),
        [deny.id, allow.id].sort(),
        'the local copy is in force at a start with the database down',
      );
      t.match(b2.store.state(), { backend: 'postgres', up: false, listening: false });
      t.match((b2.store.state() as { lastError: string }).lastError, /\S/);
      // A box joining the city during the outage, with no copy yet: its own overrides.json is in force.
      const joining = mkdtempSync(join(dirs, 'joining-'));
      const own: Override = { ...deny, id: 'o-0123456789ab', name: 'own.example', who: 'box' };
      writeOverridesFile(join(joining, 'overrides.json'), [own]);
      const c = await instance('c', {
        pollIntervalMs: 500,
        reconnectMinMs: 100,
        cachePath: join(joining, 'overrides-cache.json'),
        importPath: join(joining, 'overrides.json'),
      });
      t.same(c.store.list(), [own], "the box's own overrides until the city's can be read");

      await db.startServer();
      await until(() => (b2.store.state() as { up: boolean }).up, 3000);
      await until(() => (b2.store.state() as { listening: boolean }).listening, 5000);
      const { override } = await a.store.add({
        name: 'after.example',
        action: 'deny',
        venue: null,
        who: 'ops',
      });
      await until(() => has(b2, override.id), 2000);
      // The joining box's entry went into the table once the database answered, and reached b2.
      await until(() => has(b2, own.id) && has(c, override.id), 3000);
      t.equal(b2.store.list().length, 4, 'back in step, with the joining box');
      t.ok(existsSync(join(joining, 'overrides.json.imported')), 'imported once: the file is renamed');
    } finally {
      await db.startServer().catch(() => {});
    }
    t.notOk(
      logs.some((l) => l.includes(db.password)),
      'no log line holds the password',
    );
    t.ok(
      logs.some((l) => /cannot be used; the overrides in force stay/.test(l)),
      'the outage is logged',
    );
  },
);

t.test('the service: the JSON file without a shared store, PostgreSQL with one', async (t) => {
  const stateDir = mkdtempSync(join(dirs, 'svc-'));
  const config = () => ({ stateDir, venues: [] }) as never;
  const file = createOverridesService({ config, lists: () => null });
  await file.start();
  await file.add({ name: 'file.example', action: 'deny', venue: null, who: 'ops' });
  t.ok(existsSync(join(stateDir, 'overrides.json')));
  t.same(file.state(), { backend: 'file' });
  await file.stop();

  const pool = newPool();
  const shared = createOverridesService({
    config,
    lists: () => null,
    shared: () => ({ pool, url: db.url, instance: 'svc', pollIntervalMs: 60_000 }),
  });
  const seen: number[] = [];
  shared.onChange((o) => seen.push(o.entries.length)); // before start: kept for the store made at start
  t.equal(shared.list().length, 0, 'nothing before start');
  await shared.start();
  t.equal(shared.list().length, await rows(), 'the city set at start');
  t.ok(
    shared.list().some((o) => o.name === 'file.example'),
    "the box's overrides.json joined the city's set",
  );
  t.notOk(existsSync(join(stateDir, 'overrides.json')), 'and was renamed');
  await shared.add({ name: 'svc.example', action: 'deny', venue: null, who: 'ops' });
  t.equal(seen.at(-1), shared.list().length, 'listeners told');
  t.ok(existsSync(join(stateDir, 'overrides-cache.json')), 'the local copy beside the state');
  await shared.stop();
});
