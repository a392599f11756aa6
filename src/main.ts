#!/usr/bin/env node
import { run } from './cli/index.js';

// `roje check-config F | head -1`: a reader that stops early is not worth a stack trace. (serve logs
// through pino, which writes to fd 1 itself.)
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
});

const code = await run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
process.exitCode = code;
