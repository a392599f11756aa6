/**
 * V8's young generation grows for bulk work, not for a start. V8 doubles it (up to 16 MiB a semi-space)
 * whenever more bytes survive its collections than it holds, and what a start allocates is mostly module
 * code and service objects that live for ever: an idle roje kept ~16 MiB of young generation resident
 * for ~1 MiB of live data, and V8 gives it back only when idle for tens of seconds (issue #21).
 *
 * So every roje command starts with the growth off (main.ts; factor 1: the young generation keeps its
 * first size and start-up objects reach the old generation after two collections), turns it on while a
 * list compiles (a 1M-name compile is ~0.4 s slower without it), and `roje serve` turns it on for good
 * once its start is done: under load the young generation grows as V8 decides, which keeps collections
 * rare at tens of thousands of queries a second. The flag is process-wide, so a compile worker grows too.
 */
import v8 from 'node:v8';

/** V8's default `--semi-space-growth-factor`. */
const DEFAULT_GROWTH = 2;

let starting = false;
let bulkWork = 0;
let applied = DEFAULT_GROWTH;

/** An operator who sets the young generation's size or growth on the command line keeps it. */
function setByOperator(): boolean {
  const flags = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ');
  return /semi[-_]space/.test(flags);
}

function apply(): void {
  const growth = starting && bulkWork === 0 ? 1 : DEFAULT_GROWTH;
  if (growth === applied) return;
  v8.setFlagsFromString(`--semi-space-growth-factor=${growth}`);
  applied = growth;
}

/** From here until `startDone()`, the young generation grows only inside `whileGrowing()`. */
export function startSmall(): void {
  if (setByOperator()) return;
  starting = true;
  apply();
}

/** The start is over (or failed): the young generation grows as V8 decides from now on. */
export function startDone(): void {
  starting = false;
  apply();
}

/** Runs bulk work (a list compile) with the young generation free to grow. */
export async function whileGrowing<T>(work: () => Promise<T>): Promise<T> {
  bulkWork++;
  apply();
  try {
    return await work();
  } finally {
    bulkWork--;
    apply();
  }
}
