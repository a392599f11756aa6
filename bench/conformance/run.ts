/**
 * The full conformance run (`npm run conformance`): ~2,700 queries to roje and to unbound, both in front
 * of the same Knot on loopback; prints the summary table, the accepted differences that occurred and
 * those that did not (stale), and every unexplained difference. Exits 1 when one is unexplained.
 *   node --import @tapjs/typescript/import bench/conformance/run.ts [--seed N] [--json FILE]
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadAccepted } from '../../test/helpers/conformance/accepted.js';
import { describeAnswer } from '../../test/helpers/conformance/compare.js';
import { FULL_RUN, generateQueries } from '../../test/helpers/conformance/generator.js';
import { startPeers } from '../../test/helpers/conformance/peers.js';
import { runConformance, summaryTable, unexplainedReport } from '../../test/helpers/conformance/run.js';

const ACCEPTED = fileURLToPath(new URL('../../test/conformance/accepted.yaml', import.meta.url));

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const seed = Number(flag('--seed') ?? FULL_RUN.seed);
const accepted = loadAccepted(ACCEPTED);
const queries = generateQueries({ ...FULL_RUN, seed });
const peers = await startPeers();
let failed = false;
try {
  console.log(
    `conformance: ${queries.length} queries (seed ${seed}); knot 127.0.0.1:${peers.knot.port}, unbound :${peers.unbound.port}, roje :${peers.roje.port}`,
  );
  const summary = await runConformance(queries, peers, accepted, {
    serversStartedAt: peers.startedAt,
    onProgress: (done, total) => {
      if (done % 500 < 1 || done === total) process.stderr.write(`  ${done}/${total}\n`);
    },
  });
  console.log(`\n${summaryTable(summary, accepted)}\n`);
  console.log(`${summary.seconds.toFixed(1)} s`);
  for (const e of summary.stale) console.log(`stale: ${e.id} (${e.status}) explained nothing in this run`);
  if (summary.unexplained.length > 0) {
    failed = true;
    console.log(`\n${summary.unexplained.length} queries with unexplained differences:\n`);
    console.log(unexplainedReport(summary, peers));
  }
  const json = flag('--json');
  if (json !== undefined) {
    const rows = summary.results.map((r) => ({
      index: r.query.index,
      category: r.query.category,
      tags: r.query.tags,
      text: r.query.text,
      differences: r.differences.map((d) => ({ ...d, entry: d.entry?.id })),
      unbound: describeAnswer(r.unbound),
      roje: describeAnswer(r.roje),
    }));
    writeFileSync(json, JSON.stringify(rows, null, 1));
  }
} finally {
  await peers.stop();
}
process.exitCode = failed ? 1 : 0;
