/**
 * The bundled adult allow list (blocklists/allow/adult.adblock) against the real adult lists it was
 * made for: every name it allows is blocked by those lists without it and passes with it, while the
 * adult sites around them stay blocked. Skips when ../shared/data is absent.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { loadLists } from '../../src/policy/lists-loader.js';
import type { ListSource } from '../../src/policy/types.js';

const DATA = fileURLToPath(new URL('../../../shared/data/', import.meta.url));
const ALLOW = fileURLToPath(new URL('../../blocklists/allow/adult.adblock', import.meta.url));
const ADULT = [
  'adult/hagezi-nsfw.adblock.txt.xz',
  'adult/sinfonietta.pornography-hosts.xz',
  'adult/clefspeare13-pornhosts.hosts.xz',
  'adult/tiuxo.porn.hosts.xz',
];

if (!existsSync(DATA)) {
  t.plan(0, `the shared data folder ${DATA} is absent: allow-list test skipped`);
} else {
  const dir = t.testdir({});
  const sources: ListSource[] = ADULT.map((file, i) => {
    const path = join(dir, `adult-${i}.txt`);
    const r = spawnSync('xz', ['-dc', join(DATA, file)], { maxBuffer: 256 << 20, encoding: 'latin1' });
    if (r.status !== 0) throw new Error(`xz -dc ${file}: ${r.stderr}`);
    writeFileSync(path, r.stdout);
    return { name: `adult-${i}`, category: 'adult', path, format: 'auto' };
  });
  const allowed = readFileSync(ALLOW, 'utf8')
    .split('\n')
    .map((l) => /^@@\|\|([a-z0-9.-]+)\^$/.exec(l.trim())?.[1])
    .filter((n): n is string => n !== undefined);

  t.test('every allowed name: blocked by the lists alone, passed with the allow list', async (t) => {
    t.ok(allowed.length >= 20, `${allowed.length} names`);
    const without = (await loadLists({ lists: sources, compiled: null })).lists;
    const withAllow = (
      await loadLists({
        lists: [...sources, { name: 'allow', category: 'adult', path: ALLOW, format: 'adblock' }],
        compiled: null,
      })
    ).lists;
    for (const name of allowed) {
      const blocked = without.lookup(name).blocked !== 0 || without.lookup(`www.${name}`).blocked !== 0;
      t.ok(blocked, `${name} is blocked by the lists (else it needs no allow entry)`);
      t.equal(withAllow.lookup(name).blocked, 0, `${name} passes`);
      t.equal(withAllow.lookup(`www.${name}`).blocked, 0, `www.${name} passes`);
    }
    for (const name of ['pornhub.com', 'xvideos.com', 'www.xhamster.com', 'onlyfans.com', 'chaturbate.com']) {
      t.not(withAllow.lookup(name).blocked, 0, `${name} stays blocked`);
    }
  });
}
