import { parseArgs } from 'node:util';
import { describeConfig } from '../config/describe.js';
import { loadConfig } from '../config/load.js';
import { isRojeError } from '../errors.js';

/**
 * `roje check-config FILE`: validates a config the way `serve` would load it (resolv.conf included,
 * CA files read) and prints a summary. 0 when it is valid, 2 when it is not or the usage is wrong.
 */
export async function checkConfig(
  argv: readonly string[],
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
): Promise<number> {
  let file: string;
  try {
    const { positionals } = parseArgs({ args: [...argv], options: {}, strict: true, allowPositionals: true });
    if (positionals.length !== 1)
      throw new Error(positionals.length === 0 ? 'FILE is missing' : 'give one FILE');
    file = positionals[0];
  } catch (err) {
    io.stderr.write(`roje check-config: ${(err as Error).message}\nUsage: roje check-config FILE\n`);
    return 2;
  }
  try {
    const cfg = await loadConfig({ file });
    io.stdout.write(
      `${file}: ok\n${describeConfig(cfg)
        .map((line) => `  ${line}\n`)
        .join('')}`,
    );
    return 0;
  } catch (err) {
    if (!isRojeError(err)) throw err;
    io.stderr.write(`roje: ${err.message}\n`);
    return 2;
  }
}
