/**
 * The config file watcher of `roje serve --watch-config`: one call per change of the file's text,
 * whichever way it was saved; events that leave the text as it was (a file beside it, the same text
 * written again) call nothing; nothing after close().
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { watchConfigFile } from '../../src/cli/watch-config.js';
import { sleep, waitFor } from '../helpers/roje.js';

/** Longer than the debounce used here, with room for a loaded machine's inotify delivery. */
const SETTLE_MS = 300;

async function watched(t: Test) {
  const dir = t.testdir({ 'roje.yaml': 'blockTtl: 60s\n' });
  const file = join(dir, 'roje.yaml');
  const errors: Error[] = [];
  let changes = 0;
  const watcher = await watchConfigFile(file, () => changes++, {
    debounceMs: 50,
    onError: (err) => errors.push(err),
  });
  t.teardown(() => watcher.close());
  return { dir, file, watcher, errors, changes: () => changes };
}

t.test('a write, and a write renamed over the file, each call once', async (t) => {
  const w = await watched(t);
  writeFileSync(w.file, 'blockTtl: 30s\n');
  await waitFor(() => w.changes() === 1, 'the write');
  const temp = join(w.dir, '.roje.yaml.tmp');
  writeFileSync(temp, 'blockTtl: 45s\n');
  renameSync(temp, w.file);
  await waitFor(() => w.changes() === 2, 'the rename');
  await sleep(SETTLE_MS);
  t.equal(w.changes(), 2, 'a burst of events is one change');
  t.same(w.errors, []);
});

t.test('the same text written again, or another file in the directory, calls nothing', async (t) => {
  const w = await watched(t);
  writeFileSync(w.file, 'blockTtl: 60s\n');
  writeFileSync(join(w.dir, 'audit.log'), '{}\n');
  await sleep(SETTLE_MS);
  t.equal(w.changes(), 0);
  // Then a real change still gets through: the watch is alive.
  writeFileSync(w.file, 'blockTtl: 10s\n');
  await waitFor(() => w.changes() === 1, 'the change');
});

t.test('a removed file is a change (the reload then fails with the reason); close() stops it', async (t) => {
  const w = await watched(t);
  rmSync(w.file);
  await waitFor(() => w.changes() === 1, 'the removal');
  w.watcher.close();
  writeFileSync(w.file, 'blockTtl: 5s\n');
  await sleep(SETTLE_MS);
  t.equal(w.changes(), 1, 'nothing after close');
});
