/**
 * Concurrent first starts migrate once (issue #19): three roje processes started together on an empty
 * PostgreSQL database all come up, the schema is created once (no error in any log), and `roje migrate`
 * afterwards finds it current.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { hashToken } from '../../src/admin/auth.js';
import { POSTGRES_SCHEMA_VERSION } from '../../src/store/postgres-schema.js';
import { cityConfig } from '../helpers/city.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { postgresProblem, startPostgres } from '../helpers/postgres.js';
import { runRoje, spawnRoje } from '../helpers/process.js';
import { udpUrl } from '../helpers/roje.js';

if (postgresProblem() !== null) throw new Error(postgresProblem() as string);
const pg = await startPostgres();
t.teardown(() => pg.stop());
const fake = await startFakeUpstream({ apexes: ['example.test'] });
t.teardown(() => fake.close());

t.test('three instances start together on an empty database', async (t) => {
  const dir = t.testdir({ 'adult.txt': 'blocked.example.test\n' });
  const files = ['a', 'b', 'c'].map((instance) => {
    const file = join(dir, `${instance}.yaml`);
    const raw = cityConfig({ dir, instance, url: pg.url, upstream: udpUrl(fake), token: hashToken('x') });
    writeFileSync(file, JSON.stringify(raw));
    return file;
  });
  const procs = files.map((file) => spawnRoje(['serve', '--config', file], { t }));
  const ready = await Promise.all(procs.map((p) => p.ready(30_000)));
  t.equal(ready.length, 3, 'all three are ready');
  for (const p of procs) {
    const errors = p.logs().filter((l) => Number(l.level) >= 50 || l.level === 'error');
    t.same(errors, [], 'no error in any log');
  }
  const tables = await pg.psql(
    "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'hourly_totals'",
  );
  t.equal(tables.trim(), '1', 'the tables exist once');
  const instances = await pg.psql('SELECT instance FROM roje_instances ORDER BY instance');
  t.same(instances.trim().split('\n'), ['a', 'b', 'c'], 'each instance registered itself');

  const migrate = await runRoje(['migrate', '--config', files[0] as string]);
  t.equal(migrate.code, 0, 'roje migrate exits 0');
  t.match(
    migrate.stdout,
    new RegExp(`current.*${POSTGRES_SCHEMA_VERSION}|${POSTGRES_SCHEMA_VERSION}.*current`),
  );
  for (const p of procs) p.kill('SIGTERM');
  for (const p of procs) t.equal((await p.waitForExit(10_000)).code, 0, 'stops cleanly');
});
