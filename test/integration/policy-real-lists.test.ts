/**
 * The real hagezi NSFW list (adblock, 93k names) and the real Tranco names through the whole server:
 * popular adult sites are blocked with EDE "blocked: adult" and never forwarded; popular other sites,
 * and the same adult sites from a venue that does not block adult, are forwarded.
 * Skips when /work/shared/data is absent.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { startRoje, udpUrl } from '../helpers/roje.js';

const DATA = fileURLToPath(new URL('../../../shared/data/', import.meta.url));

if (!existsSync(DATA)) {
  t.plan(0, `the shared data folder ${DATA} is absent: real-list policy tests skipped`);
} else {
  const xz = (file: string) => {
    const r = spawnSync('xz', ['-dc', join(DATA, file)], {
      maxBuffer: 256 * 1024 * 1024,
      encoding: 'latin1',
    });
    if (r.status !== 0) throw new Error(`xz -dc ${file}: ${r.stderr}`);
    return r.stdout;
  };
  // Decompressed into the test's temp dir (never into the repo): list sources are plain files.
  const dir = t.testdir({});
  const adult = join(dir, 'hagezi-nsfw.txt');
  writeFileSync(adult, xz('adult/hagezi-nsfw.adblock.txt.xz'));
  const listed = new Set(
    xz('adult/hagezi-nsfw.adblock.txt.xz')
      .split('\n')
      .map((l) => /^\|\|([a-z0-9.-]+)\^$/.exec(l.trim())?.[1])
      .filter((n): n is string => n !== undefined),
  );
  const tranco = xz('workload/tranco-top50k.2025-02.csv.xz')
    .split('\n')
    .map((l) => l.split(',')[1]?.trim())
    .filter((n): n is string => n !== undefined && n !== '');
  // Popular names the list blocks (themselves listed), and popular names no suffix of which is listed.
  const blockedPopular = tranco.filter((n) => listed.has(n)).slice(0, 20);
  const clean = tranco
    .filter((n) => {
      const labels = n.split('.');
      return labels.every((_, i) => !listed.has(labels.slice(i).join('.')));
    })
    .slice(0, 20);

  const fake = await startFakeUpstream();
  t.teardown(() => fake.close());
  const roje = await startRoje(
    {
      upstreams: [udpUrl(fake)],
      lists: [{ category: 'adult', path: adult }],
      policies: {
        // SafeSearch off: popular unlisted names include search engines, answered otherwise (README "SafeSearch").
        default: { block: 'all', blockMode: 'nxdomain', safeSearch: false },
        open: { block: ['abuse'], blockMode: 'nxdomain', safeSearch: false },
      },
      venues: [{ name: 'open', networks: ['127.0.0.6/32'], policy: 'open' }],
    },
    { t },
  );

  t.test('popular adult sites are blocked and never forwarded', async (t) => {
    t.ok(blockedPopular.length >= 10, `${blockedPopular.length} popular listed names`);
    for (const name of blockedPopular) {
      const r = await roje.dig([name, 'A']);
      t.equal(r.status, 'NXDOMAIN', name);
      t.same(r.ede, [{ code: 15, purpose: 'Blocked', text: 'blocked: adult' }]);
      const www = await roje.dig([`www.${name}`, 'AAAA']);
      t.equal(www.ede[0]?.text, 'blocked: adult', `www.${name}: the subtree`);
      t.equal(fake.queriesFor(name) + fake.queriesFor(`www.${name}`), 0, `${name} never forwarded`);
    }
  });

  t.test('other popular names and a venue without adult blocking are forwarded', async (t) => {
    for (const name of clean) {
      const r = await roje.dig([name]);
      t.same(r.ede, [], `${name} not blocked`);
      t.equal(fake.queriesFor(name), 1, `${name} forwarded`);
    }
    const name = blockedPopular[0];
    const open = await roje.dig(['-b', '127.0.0.6', name]);
    t.same(open.ede, [], 'the open venue does not block adult');
    t.equal(fake.queriesFor(name), 1);
  });
}
