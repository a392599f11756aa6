import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { LocalText } from '../blockpage/i18n.js';
import { loadConfig } from '../config/load.js';
import { isRojeError } from '../errors.js';
import { renderReport } from '../report/render.js';
import { buildTransparencyReport, REPORT_FORMATS, type ReportFormat } from '../report/transparency.js';
import { openSharedReader, openStatsReader, type PeriodQueries } from '../stats/period.js';
import type { Io } from './index.js';

export const REPORT_USAGE =
  'Usage: roje report --month YYYY-MM [--site NAME] [--instance NAME] [--format html|csv|json] [--time-zone ZONE] (--config FILE | --stats PATH) [--out FILE]';

const OPTIONS = {
  month: { type: 'string' },
  site: { type: 'string' },
  instance: { type: 'string' },
  format: { type: 'string' },
  config: { type: 'string' },
  stats: { type: 'string' },
  'time-zone': { type: 'string' },
  out: { type: 'string', short: 'o' },
} as const;

class UsageError extends Error {}

/**
 * `roje report`: the transparency report of one month from the statistics database, to stdout or
 * --out. --config reads stats.path, timeZone and the operator's name from a config; --stats names the
 * file. --time-zone (an IANA name) overrides the config's zone; UTC without either.
 * The file is only read (an older schema is migrated first). Exit 0 ok, 2 bad usage or no database.
 */
export async function report(argv: readonly string[], io: Io): Promise<number> {
  let values: {
    month?: string;
    site?: string;
    instance?: string;
    format?: string;
    config?: string;
    stats?: string;
    'time-zone'?: string;
    out?: string;
  };
  let format: ReportFormat;
  try {
    ({ values } = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false }));
    if (values.month === undefined) throw new UsageError('--month YYYY-MM is missing');
    const f = values.format ?? 'json';
    if (!(REPORT_FORMATS as readonly string[]).includes(f))
      throw new UsageError(`--format ${JSON.stringify(f)}: expected html, csv or json`);
    format = f as ReportFormat;
    if ((values.config === undefined) === (values.stats === undefined))
      throw new UsageError('give either --config FILE or --stats PATH');
  } catch (err) {
    io.stderr.write(`roje report: ${(err as Error).message}\n${REPORT_USAGE}\n`);
    return 2;
  }
  try {
    let path = values.stats as string;
    let url: string | null = null;
    let operator: LocalText | null = null;
    let timeZone = values['time-zone'];
    if (values.config !== undefined) {
      const cfg = await loadConfig({ file: values.config });
      url = cfg.store.url;
      if (url === null && (!cfg.stats.enabled || cfg.stats.path === ':memory:')) {
        io.stderr.write(
          `roje report: ${values.config} keeps no statistics file (stats.enabled, stats.path or stateDir); give --stats PATH\n`,
        );
        return 2;
      }
      path = cfg.stats.path;
      operator = cfg.blockPage.operatorName;
      timeZone ??= cfg.timeZone;
    }
    // A shared store (store.url) is read as the city's, or one instance's with --instance.
    const reader: PeriodQueries & { close(): Promise<void> } =
      url !== null ? await openSharedReader(url) : openStatsReader(path);
    let body: string;
    try {
      const data = await buildTransparencyReport(reader, {
        month: values.month,
        site: values.site,
        instance: values.instance,
        operator,
        timeZone,
      });
      body = renderReport(data, format).body;
    } finally {
      await reader.close();
    }
    if (values.out !== undefined) await writeFile(values.out, body, { mode: 0o644 });
    else io.stdout.write(body);
    return 0;
  } catch (err) {
    if (!isRojeError(err)) throw err;
    io.stderr.write(`roje report: ${err.message}\n`);
    return 2;
  }
}
