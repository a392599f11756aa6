#!/usr/bin/env node
import module from 'node:module';
import { chooseCompileCache } from './compile-cache.js';
import { startSmall } from './young-generation.js';

// Module loading is most of what a start allocates, and it lives for ever: the young generation does
// not grow for it (young-generation.ts; `serve` lets it grow once started, a compile while it runs).
startSmall();

// Node 22.1+ keeps the code it compiles on disk and reuses it on the next start: most of roje's start is
// compiling its modules. Enabled before they are imported, in roje's own folder (stateDir/compile-cache,
// else a per-user cache folder), never the shared temp folder; an unwritable folder leaves it off, and
// Node 20 has none (docs/operations.md).
const compileCache = module as { enableCompileCache?: (dir: string) => unknown };
if (compileCache.enableCompileCache !== undefined) {
  const cache = chooseCompileCache(process.argv.slice(2), process.env);
  if (cache.kind === 'dir') compileCache.enableCompileCache(cache.dir);
}
const { run } = await import('./cli/index.js');

// `roje check-config F | head -1`: a reader that stops early is not worth a stack trace. (serve logs
// through pino, which writes to fd 1 itself.)
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
});

const code = await run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
process.exitCode = code;
