import { PassThrough } from 'node:stream';

/** An Io for CLI commands run in-process: what they write to stdout and stderr, as text. */
export function capture() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => {
    out += d;
  });
  stderr.on('data', (d) => {
    err += d;
  });
  return { io: { stdout, stderr }, out: () => out, err: () => err };
}
