/**
 * False positives of the default adult sources: compiles the four shared adult lists (and the bundled
 * allow list, unless --no-allow) exactly as `roje serve` would, looks up every name of the Tranco top
 * 50k (and its www. form), and prints how many are blocked, the most popular ones, and which of those
 * the bundled allow list lets through. With --sections, also the names of the top 20k that pass but whose
 * common sections (m., boards., blogs., media. ...) a list blocks on their own.
 *
 *   node --import @tapjs/typescript/import bench/lists/false-positives.ts [--top 150] [--no-allow] [--sections]
 *
 * Reads ../shared/data (xz-utils); writes a temp dir (removed) and bench/results/false-positives-*.md.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { loadLists } from '../../src/policy/lists-loader.js';
import type { ListSource } from '../../src/policy/types.js';
import { ADULT_FILES, SHARED_DATA } from './names.js';

const ALLOW = fileURLToPath(new URL('../../blocklists/allow/adult.adblock', import.meta.url));
const TRANCO = new URL('workload/tranco-top50k.2025-02.csv.xz', SHARED_DATA);

const { values } = parseArgs({
  options: {
    top: { type: 'string', default: '150' },
    'no-allow': { type: 'boolean', default: false },
    sections: { type: 'boolean', default: false },
  },
});
const top = Number(values.top);
// Sections of a site that lists sometimes name on their own.
const SECTIONS = [
  'm',
  'mobile',
  'amp',
  'news',
  'blog',
  'blogs',
  'forum',
  'forums',
  'boards',
  'video',
  'videos',
]
  .concat(['tv', 'live', 'img', 'images', 'static', 'cdn', 'api', 'app', 'en', 'de', 'fr', 'es', 'ru'])
  .concat(['login', 'mail', 'shop', 'store', 'community', 'media', 'photos']);

const xz = async (file: URL) =>
  (
    await promisify(execFile)('xz', ['-dc', fileURLToPath(file)], {
      maxBuffer: 256 << 20,
      encoding: 'latin1',
    })
  ).stdout;

const dir = await mkdtemp(join(tmpdir(), 'roje-fp-'));
try {
  const sources: ListSource[] = [];
  for (const file of ADULT_FILES) {
    const path = join(dir, file.split('/').pop()!.replace(/\.xz$/, ''));
    await writeFile(path, await xz(new URL(file, SHARED_DATA)));
    sources.push({
      name: path.split('/').pop()!.replace(/\W+/g, '-'),
      category: 'adult',
      path,
      format: 'auto',
    });
  }
  if (!values['no-allow'])
    sources.push({ name: 'roje-allow-adult', category: 'adult', path: ALLOW, format: 'adblock' });
  const { lists } = await loadLists({ lists: sources, compiled: null });

  const rows = (await xz(TRANCO)).split('\n').flatMap((line) => {
    const [rank, name] = line.trim().split(',');
    return name ? [{ rank: Number(rank), name: name.toLowerCase() }] : [];
  });
  const blocked = rows.filter(
    (r) => lists.lookup(r.name).blocked !== 0 || lists.lookup(`www.${r.name}`).blocked !== 0,
  );
  const isBlocked = (name: string) => lists.lookup(name).blocked !== 0;
  const sections = values.sections
    ? rows.slice(0, 20_000).flatMap((r) => {
        if (isBlocked(r.name) || isBlocked(`www.${r.name}`)) return [];
        const hit = SECTIONS.filter((s) => isBlocked(`${s}.${r.name}`));
        return hit.length > 0 ? [`${r.rank} ${r.name}: ${hit.join(', ')}`] : [];
      })
    : [];
  const lines = [
    `# False positives of the default adult sources, ${new Date().toISOString()}`,
    '',
    `Sources: ${sources.map((s) => s.name).join(', ')} (${lists.entries.toLocaleString('en')} rules).`,
    `Tranco top ${rows.length.toLocaleString('en')}: **${blocked.length.toLocaleString('en')} blocked** (the name or its www. form).`,
    '',
    `The ${Math.min(top, blocked.length)} most popular blocked names (rank, name):`,
    '',
    blocked
      .slice(0, top)
      .map((r) => `${r.rank} ${r.name}`)
      .join(', '),
    '',
    ...(values.sections
      ? ['Names of the top 20k that pass, with sections blocked on their own:', '', ...sections, '']
      : []),
  ];
  const text = lines.join('\n');
  process.stdout.write(text);
  const out = fileURLToPath(new URL('../results/', import.meta.url));
  await mkdir(out, { recursive: true });
  await writeFile(join(out, `false-positives-${new Date().toISOString().replace(/[:.]/g, '-')}.md`), text);
} finally {
  await rm(dir, { recursive: true, force: true });
}
