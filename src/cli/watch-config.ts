/**
 * `roje serve --watch-config`: reload when the config file changes, as SIGHUP would.
 *
 * The directory is watched, not the file: editors save by writing a new file and renaming it over the
 * old one, and Kubernetes swaps a ConfigMap's `..data` symlink; a watch on the file itself would
 * follow the old inode and miss both. A burst of events (write, rename, chmod) settles for
 * `debounceMs` before the file is read, and the reload runs only if its text changed since the last
 * look, so a state file written next to the config (or an editor's swap file) costs a read, not a
 * reload. A file that cannot be read is reported as a change: the reload then fails, and is audited,
 * with the reason.
 */
import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Long enough for an editor's write-then-rename, short enough to feel immediate. */
export const WATCH_DEBOUNCE_MS = 200;

export interface ConfigWatcher {
  close(): void;
}

export interface WatchConfigOptions {
  debounceMs?: number;
  /** A watch that breaks (the directory removed): the watcher stops; SIGHUP still reloads. */
  onError(err: Error): void;
}

export async function watchConfigFile(
  file: string,
  onChange: () => void,
  options: WatchConfigOptions,
): Promise<ConfigWatcher> {
  const debounceMs = options.debounceMs ?? WATCH_DEBOUNCE_MS;
  let last = await readText(file);
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const settle = async () => {
    const now = await readText(file);
    if (closed || now === last) return;
    last = now;
    onChange();
  };
  const watcher: FSWatcher = watch(dirname(file), { persistent: false }, () => {
    clearTimeout(timer);
    timer = setTimeout(() => void settle(), debounceMs);
  });
  watcher.on('error', (err) => {
    watcher.close();
    options.onError(err);
  });
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      watcher.close();
    },
  };
}

/** The file's text, or a marker of why it cannot be read (distinct from any text). */
async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    return `\u0000unreadable: ${(err as NodeJS.ErrnoException).code ?? 'error'}`;
  }
}
