import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { isRojeError } from '../errors.js';
import { sampleSummaryLines } from '../verify/sample-output.js';
import { sampleInconsistency } from '../verify/sampler.js';
import { readPublicKey, verifySignedReport } from '../verify/sign.js';
import type { Io } from './index.js';

export const VERIFY_REPORT_USAGE = 'Usage: roje verify-report FILE --key PUB.pem';
const MAX_REPORT_BYTES = 64 * 1024 * 1024;

/**
 * `roje verify-report FILE --key PUB.pem`: checks a signed report (JSON or HTML) offline against a
 * trusted public key. 0 "valid signature by <fingerprint>", 1 not signed, changed or another key,
 * 2 bad command line or unreadable key or file.
 */
export async function verifyReport(argv: readonly string[], io: Io): Promise<number> {
  let file: string;
  let keyPath: string;
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: { key: { type: 'string' } },
      strict: true,
      allowPositionals: true,
    });
    if (positionals.length !== 1)
      throw new Error(positionals.length === 0 ? 'FILE is missing' : 'give one FILE');
    if (values.key === undefined)
      throw new Error('--key is required: the public key (PEM) the report must be signed with');
    file = positionals[0];
    keyPath = values.key;
  } catch (err) {
    io.stderr.write(`roje verify-report: ${(err as Error).message}\n${VERIFY_REPORT_USAGE}\n`);
    return 2;
  }
  try {
    const key = await readPublicKey(keyPath);
    let text: string;
    try {
      const bytes = await readFile(file);
      if (bytes.length > MAX_REPORT_BYTES) throw new Error('larger than 64 MiB');
      text = bytes.toString('utf8');
    } catch (err) {
      io.stderr.write(`roje verify-report: cannot read ${file}: ${(err as Error).message}\n`);
      return 2;
    }
    const outcome = verifySignedReport(text, key);
    if (!outcome.valid) {
      io.stderr.write(`roje verify-report: ${file}: INVALID: ${outcome.reason}\n`);
      return 1;
    }
    // Signed by roje, yet checked: a sample's counts, rate, interval and verdict follow from its names.
    const inconsistent = sampleInconsistency(outcome.report);
    if (inconsistent !== null) {
      io.stderr.write(`roje verify-report: ${file}: INVALID: ${inconsistent}\n`);
      return 1;
    }
    const s = outcome.report.summary;
    io.stdout.write(
      `${file}: valid signature by ${outcome.fingerprint}\n` +
        `  suite ${outcome.report.suite.name} against ${outcome.report.server.host}:${outcome.report.server.port}, ` +
        `${outcome.report.finishedAt}: ${s.passed}/${s.cases} checks passed\n` +
        sampleSummaryLines(outcome.report)
          .split('\n')
          .filter((line) => line !== '')
          .map((line) => `  ${line}\n`)
          .join(''),
    );
    return 0;
  } catch (err) {
    if (!isRojeError(err)) throw err;
    io.stderr.write(`roje verify-report: ${err.message}\n`);
    // A file that holds no report at all is as invalid as a tampered one; a bad key is a usage problem.
    return err.code === 'ROJE_ERR_VERIFY_REPORT' ? 1 : 2;
  }
}
