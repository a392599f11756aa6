#!/usr/bin/env node
import module from 'node:module';

// Node 22.1+ keeps the code it compiles on disk (os.tmpdir()/node-compile-cache) and reuses it on the
// next start: most of roje's start is compiling its modules. Enabled before they are imported; a
// read-only temp dir or Node 20 just leaves it off.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
const { run } = await import('./cli/index.js');

// `roje check-config F | head -1`: a reader that stops early is not worth a stack trace. (serve logs
// through pino, which writes to fd 1 itself.)
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
});

const code = await run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
process.exitCode = code;
