/**
 * A short fuzz run against the real binary (bench/fuzz/fuzz.ts): 50,000 seeded random and mutated
 * messages over UDP and TCP, bounded to 30 s. roje must stay alive, keep answering correctly, give its
 * memory back and exit 0 on SIGTERM; and every saved crashing input in test/fixtures/fuzz-crashes/ must
 * no longer hurt it. The full million-message run is in bench/ (see bench/README.md "Fuzzing").
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { renderMarkdown, replayCrashes, runFuzz } from '../../bench/fuzz/fuzz.js';
import { binaryProblem } from '../helpers/process.js';

const problem = binaryProblem();
if (problem !== null) {
  t.fail(problem);
  t.end();
} else {
  t.test('50,000 fuzz messages: alive, answering, memory back, clean exit', async (t) => {
    const result = await runFuzz({
      packets: 50_000,
      seconds: 30,
      seed: 7,
      checkEvery: 10_000,
      settleMs: 3000,
      // A failure here is saved in the repository, as the fixture that replays it below.
      log: (message) => t.comment(message),
    });
    t.comment(renderMarkdown(result));
    t.same(result.failures, [], 'no failure');
    t.ok(result.alive, 'still alive');
    t.same(result.exit, { code: 0, signal: null }, 'SIGTERM: exit 0');
    t.ok(result.healthChecks >= 5, `health queries answered (${result.healthChecks})`);
    t.ok(result.udpSent > 0 && result.tcpFrames > 0, 'both transports fuzzed');
    t.ok(result.udpReplies > 0, 'UDP answers came back');
    t.ok(result.rss.baseline > 0 && result.rss.after > 0, 'RSS read');
    t.ok(
      result.rss.after <= result.rss.baseline + 50 * 2 ** 20,
      `RSS after ${result.rss.after} <= baseline ${result.rss.baseline} + 50 MB`,
    );
  });

  t.test('saved crashing inputs are replayed (an empty or missing directory is fine)', async (t) => {
    const saved = await replayCrashes();
    t.same(saved.failures, [], `${saved.files} saved inputs replayed`);
  });

  t.test('replay: a missing directory, and one input sent over UDP and TCP', async (t) => {
    const dir = t.testdir({});
    t.same(await replayCrashes(join(dir, 'missing')), { files: 0, failures: [] }, 'missing directory');
    writeFileSync(join(dir, '0000000000000000.bin'), Buffer.from([0, 1, 2, 3]));
    t.same(await replayCrashes(dir), { files: 1, failures: [] }, 'one harmless input');
  });
}
