/**
 * Incremental compiles (issue #15): a refresh after one of two list files changed parses that one and
 * takes the other from the parse cache; a config-only reload parses nothing; a restart with the same
 * stateDir takes every unchanged source from disk. Asserted through the `lists compiled` log line, the
 * service's counts and roje_list_compile_sources_total, and through answers.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { hashToken } from '../../src/admin/auth.js';
import { adminClient } from '../helpers/admin-client.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { type Roje, startRoje, udpUrl } from '../helpers/roje.js';

const TOKEN = 'roje_incremental-compile-test-token';

const fake = await startFakeUpstream({ apexes: ['example.test'] });
fake.zone.set('www.example.test', 'A', [{ data: '192.0.2.80' }]);
t.teardown(() => fake.close());

/** The `lists compiled` lines so far: what each compile parsed and took from the cache. */
function compiled(roje: Roje): Array<{ parsed: number; cached: number; parsedSources: string[] }> {
  return roje.logs.filter((l) => l.msg === 'lists compiled') as never;
}

t.test(
  'only changed sources are parsed; a config-only reload parses nothing; a restart reads the disk',
  async (t) => {
    // Big enough (past 64 KiB) that the server compiles it on the worker thread.
    const adult = Array.from({ length: 4000 }, (_, i) => `site-${i}.adult.test`).join('\n');
    const dir = t.testdir({
      'adult.txt': `${adult}\n`,
      'games.txt': 'slots.games.test\n',
      'dating.txt': 'meet.dating.test\n',
    });
    const raw = {
      upstreams: [udpUrl(fake)],
      stateDir: join(dir, 'state'),
      lists: [
        { name: 'adult', category: 'adult', path: join(dir, 'adult.txt') },
        { name: 'games', category: 'gambling', path: join(dir, 'games.txt') },
      ],
      admin: { listen: '127.0.0.1:0', tokens: [{ name: 'ops', role: 'admin', sha256: hashToken(TOKEN) }] },
    };
    const roje = await startRoje(raw, { t });
    const api = adminClient(roje, TOKEN);
    t.match(compiled(roje), [{ parsed: 2, cached: 0 }], 'the first compile parses both');

    writeFileSync(join(dir, 'games.txt'), 'slots.games.test\npoker.games.test\n');
    t.equal((await api.post('/api/v1/lists/refresh')).status, 200);
    t.match(compiled(roje)[1], { parsed: 1, cached: 1, parsedSources: ['games'] }, 'only the changed file');
    t.equal((await roje.dig(['poker.games.test', 'A'])).status, 'NXDOMAIN', 'the new rule blocks');
    t.equal((await roje.dig(['site-3999.adult.test', 'A'])).status, 'NXDOMAIN', 'the cached source blocks');
    t.equal((await roje.dig(['www.example.test', 'A'])).status, 'NOERROR', 'the rest resolves');

    // A config-only reload: no compile, nothing parsed.
    const counts = roje.app.listsService.parses();
    await roje.app.reload(await roje.configFor({ ...raw, blockTtl: '5m' }));
    t.equal(compiled(roje).length, 2, 'no compile');
    t.same(roje.app.listsService.parses(), counts, 'no parse');

    // A new source: parsed alone, the others replayed.
    const more = {
      ...raw,
      lists: [...raw.lists, { name: 'dating', category: 'dating', path: join(dir, 'dating.txt') }],
    };
    await roje.app.reload(await roje.configFor(more));
    t.match(compiled(roje)[2], { parsed: 1, cached: 2, parsedSources: ['dating'] });
    t.equal((await roje.dig(['meet.dating.test', 'A'])).status, 'NXDOMAIN');

    const metrics = (await api.get('/metrics')).text;
    t.match(metrics, /roje_list_compile_sources_total\{result="parsed"\} 4\b/);
    t.match(metrics, /roje_list_compile_sources_total\{result="cached"\} 3\b/);
    const version = ((await api.get('/api/v1/status')).json.lists as { version: string }).version;
    await roje.stop();

    // A restart with the same stateDir parses nothing: every entry is on disk.
    const again = await startRoje(more, { t });
    t.match(compiled(again), [{ parsed: 0, cached: 3 }], 'every source from the disk cache');
    const status = await adminClient(again, TOKEN).get('/api/v1/status');
    t.equal((status.json.lists as { version: string }).version, version, 'the same lists version');
    t.equal((await again.dig(['poker.games.test', 'A'])).status, 'NXDOMAIN');
    t.equal((await again.dig(['site-17.adult.test', 'A'])).status, 'NXDOMAIN');
  },
);
