import { VERSION } from '../version.js';
import { USAGE } from './usage.js';

export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** Runs one roje command and resolves with its exit code (serve resolves when it has stopped). */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  // Commands load lazily: `roje version` and `roje help` need neither the resolver nor the config
  // validator, and loading those takes most of a second on a small gateway.
  switch (command) {
    case 'serve':
      return (await import('./serve.js')).serve(rest, io);
    case 'compile':
      return (await import('./compile.js')).compile(rest, io);
    case 'token':
      return (await import('./token.js')).token(rest, io);
    case 'check-config':
      return (await import('./check-config.js')).checkConfig(rest, io);
    case 'verify':
      return (await import('./verify.js')).verify(rest, io);
    case 'verify-report':
      return (await import('./verify-report.js')).verifyReport(rest, io);
    case 'keygen':
      return (await import('./keygen.js')).keygen(rest, io);
    case 'report':
      return (await import('./report.js')).report(rest, io);
    case 'migrate':
      return (await import('./migrate.js')).migrate(rest, io);
    case 'lookup':
      return (await import('./lookup.js')).lookup(rest, io);
    case 'version':
    case '--version':
    case '-v':
      io.stdout.write(`roje ${VERSION}\n`);
      return 0;
    case 'help':
    case '--help':
    case '-h':
      io.stdout.write(USAGE);
      return 0;
    case undefined:
      // A usage error like any other: stderr, so `roje > file` does not hide it.
      io.stderr.write(USAGE);
      return 2;
    default:
      io.stderr.write(`roje: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}
