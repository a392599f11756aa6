/**
 * src/young-generation.ts: V8's young generation stays at its first size through a start's allocations,
 * grows inside whileGrowing() and after startDone(), and an operator's own flag is left alone. V8's flags
 * are process-wide, so each case runs in a child node of its own (the build's module, without tap's
 * loaders, which grow the young generation before the module could act) that allocates 40 MiB of objects
 * that survive.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MODULE = new URL('../dist/young-generation.js', import.meta.url).href;
const MiB = 1024 * 1024;

const SCRIPT = `
import v8 from 'node:v8';
import { startDone, startSmall, whileGrowing } from ${JSON.stringify(MODULE)};
const youngSize = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
const kept = [];
// ~40 MiB of small arrays that live on: every collection of the young generation moves them on.
const survive = () => { for (let i = 0; i < 40_000; i++) kept.push(new Array(128).fill(i)); };
const before = youngSize();
const mode = process.argv.at(-1);
if (mode !== 'default') startSmall();
if (mode === 'done') startDone();
if (mode === 'bulk') await whileGrowing(async () => survive());
else survive();
const during = youngSize();
if (mode === 'small') { startDone(); survive(); }
process.stdout.write(JSON.stringify({ before, during, after: youngSize(), kept: kept.length }));
`;

type Mode = 'default' | 'small' | 'bulk' | 'done';

function run(mode: Mode, nodeOptions?: string) {
  const { NODE_OPTIONS: _tapLoaders, ...env } = process.env;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', SCRIPT, mode], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    env: nodeOptions === undefined ? env : { ...env, NODE_OPTIONS: nodeOptions },
  });
  if (child.status !== 0) throw new Error(`child (${mode}) failed: ${child.stderr}`);
  return JSON.parse(child.stdout) as { before: number; during: number; after: number };
}

t.test('V8 grows the young generation for objects that survive (what the module holds back)', async (t) => {
  const r = run('default');
  t.ok(r.before <= 4 * MiB, `it starts small (${r.before / MiB} MiB)`);
  t.ok(r.during >= 8 * MiB, `and grows (${r.during / MiB} MiB)`);
});

t.test('startSmall: the young generation keeps its first size until startDone', async (t) => {
  const r = run('small');
  t.ok(r.before <= 4 * MiB, `it starts small (${r.before / MiB} MiB)`);
  t.ok(r.during <= r.before, `${r.before / MiB} -> ${r.during / MiB} MiB through 40 MiB of survivors`);
  t.ok(r.after >= 8 * MiB, `after startDone it grows (${r.after / MiB} MiB)`);
});

t.test('whileGrowing: bulk work grows it during a start', async (t) => {
  const r = run('bulk');
  t.ok(r.during >= 8 * MiB, `${r.during / MiB} MiB`);
});

t.test('startDone at once: V8 decides, as without the module', async (t) => {
  const r = run('done');
  t.ok(r.during >= 8 * MiB, `${r.during / MiB} MiB`);
});

t.test("an operator's own young generation flag is kept", async (t) => {
  const r = run('small', '--max-semi-space-size=16');
  t.ok(r.during >= 8 * MiB, `startSmall did nothing (${r.during / MiB} MiB)`);
});
