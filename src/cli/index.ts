import { VERSION } from '../version.js';
import { checkConfig } from './check-config.js';
import { serve } from './serve.js';
import { USAGE } from './usage.js';

export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** Runs one roje command and resolves with its exit code (serve resolves when it has stopped). */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest, io);
    case 'check-config':
      return checkConfig(rest, io);
    case 'version':
    case '--version':
    case '-v':
      io.stdout.write(`roje ${VERSION}\n`);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      io.stderr.write(`roje: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}
