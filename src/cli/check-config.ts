import { parseArgs } from 'node:util';
import { describeConfig } from '../config/describe.js';
import { loadConfig } from '../config/load.js';
import { isRojeError } from '../errors.js';
import { readFeedCopies } from '../feeds/store.js';
import { isFeedSource } from '../feeds/types.js';
import { readAbuseKeyIfAny } from '../policy/abuse/key.js';
import { compileSources } from '../policy/compile.js';
import { type ComplianceReport, complianceInForce } from '../policy/compliance.js';
import { loadLists } from '../policy/lists-loader.js';

/**
 * `roje check-config FILE`: validates a config the way `serve` would load it (resolv.conf included,
 * CA files read, lists compiled) and prints a summary, then the compliance profile's warnings (which do
 * not change the exit code: a gap is shown, not refused). 0 when it is valid, 2 when it is not or the
 * usage is wrong.
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
    // The lists are part of the config's meaning: read and compile them (in this process: nothing else
    // runs here) so that a missing or unreadable list shows now, not at the next restart.
    const feedNames = cfg.lists.filter(isFeedSource).map((s) => s.name);
    const feeds =
      cfg.stateDir !== null && feedNames.length > 0
        ? await readFeedCopies(cfg.stateDir, feedNames)
        : undefined;
    const abuse = { key: await readAbuseKeyIfAny(cfg.abuse.keyFile), pageEntries: cfg.abuse.pageEntries };
    const loaded = await loadLists(cfg, {
      compile: (sources) => compileSources(sources, { abuse }),
      ...(feeds !== undefined ? { feeds } : {}),
      abuse,
    });
    const l = loaded.lists;
    const entries =
      loaded.from === 'none'
        ? 'no lists: NOT FILTERING'
        : `${l.entries} rules from ${l.sources.length} source${l.sources.length === 1 ? '' : 's'} (${l.sources.map((s) => `${s.name}: ${s.entries}${s.skipped > 0 ? `, ${s.skipped} lines skipped` : ''}`).join('; ')})`;
    io.stdout.write(
      `${file}: ok\n${[
        ...describeConfig(cfg),
        `entries    ${entries}`,
        ...(loaded.missing.length > 0
          ? [
              `feeds      no copy yet of ${loaded.missing.join(', ')} (roje serve fetches them before answering)`,
            ]
          : []),
        ...complianceLines(
          // A fleet edge's lists are the central's: their categories are known once pulled, not here.
          complianceInForce(cfg, cfg.fleet.pull === null ? l : null, null),
          cfg.fleet.pull !== null,
        ),
      ]
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

/** The profile line, then one line per warning (`warning <code>: <sentence>`). */
function complianceLines(report: ComplianceReport, fleetEdge: boolean): string[] {
  if (report.profile === 'none') return ['profile    none: no compliance checks'];
  const n = report.warnings.length;
  return [
    `profile    ${report.profile}: ${n === 0 ? 'no compliance warnings' : `${n} compliance warning${n === 1 ? '' : 's'}`}${fleetEdge ? ' (the fleet lists are checked once pulled)' : ''}`,
    ...report.warnings.map((w) => `warning    ${w.code}: ${w.message}`),
  ];
}
