/**
 * A config-only reload at 1M names (issue #15): roje serves a 1M-name plain list (compiled at start), then
 * app.reload() is called with a config whose lists are unchanged (another cache size, another upstream).
 * main skips the compile when the sources hash to the version in force; this measures how long reload()
 * takes from the call to the swap (the promise resolves after every service committed), and, for
 * comparison, a reload whose list file changed (one name appended: a full compile and a swap).
 *
 *   node --import @tapjs/typescript/import bench/load/reload.ts [--list-names 1000000] [--reloads 5]
 *
 * roje runs in this process from dist/ (build first: the compile worker then runs JavaScript, as in
 * production), listening on 127.0.0.1:0 with the admin API off; the upstream is never asked. The temp dir
 * is removed at the end.
 */
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { createApp as CreateApp } from '../../src/app.js';
import type { validateConfig as ValidateConfig } from '../../src/config/load.js';
import { deriveNames, readAdultUnion, writeLines } from '../lists/names.js';
import { intOption } from './options.js';
import { runIfMain } from './processes.js';

const DIST = new URL('../../dist/', import.meta.url);

function log(message: string): void {
  process.stderr.write(`[reload] ${message}\n`);
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'list-names': { type: 'string', default: '1000000' },
      reloads: { type: 'string', default: '5' },
    },
  });
  const listNames = intOption(values['list-names'], '--list-names', 1000, 10_000_000);
  const reloads = intOption(values.reloads, '--reloads', 1, 50);
  const { createApp } = (await import(new URL('app.js', DIST).href)) as { createApp: typeof CreateApp };
  const { validateConfig } = (await import(new URL('config/load.js', DIST).href)) as {
    validateConfig: typeof ValidateConfig;
  };

  const dir = await mkdtemp(path.join(os.tmpdir(), 'roje-reload-'));
  try {
    const names = deriveNames(await readAdultUnion(), listNames);
    const list = path.join(dir, 'names.txt');
    await writeLines(list, names, (n) => `${n}\n`);
    log(`${names.length} names in ${list}`);
    const raw = (cacheEntries: number, upstreamPort: number) => ({
      listen: ['127.0.0.1:0'],
      admin: { listen: null },
      selfTest: { enabled: false },
      upstreams: [`udp://127.0.0.1:${upstreamPort}`],
      cache: { maxEntries: cacheEntries },
      lists: [{ name: 'adult', category: 'adult', path: list }],
      log: { level: 'info' },
    });
    const lines: { msg?: string; ms?: number }[] = [];
    const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
    const app = createApp(await validateConfig(raw(100_000, 9), null), { logger });
    const t0 = performance.now();
    await app.start();
    const startMs = performance.now() - t0;
    const first = app.lists();
    log(`started in ${startMs.toFixed(0)} ms (compile at start), ${first?.entries} entries`);

    const configOnly: number[] = [];
    for (let i = 0; i < reloads; i++) {
      // Only the cache size and the upstream change: the lists hash to the version in force.
      const next = await validateConfig(raw(100_000 + 1000 * (i + 1), 10 + i), null);
      const at = performance.now();
      await app.reload(next);
      configOnly.push(performance.now() - at);
      if (app.lists() !== first) throw new Error('a config-only reload replaced the lists');
    }
    const unchanged = lines.filter((l) => l.msg === 'lists unchanged: nothing to swap').length;
    log(`config-only reloads: ${configOnly.map((m) => m.toFixed(1)).join(', ')} ms`);

    // For comparison: the list changed, so the reload compiles it and swaps.
    await appendFile(list, 'one-more.reload.bench.example\n');
    const next = await validateConfig(raw(50_000, 9), null);
    const at = performance.now();
    await app.reload(next);
    const changedMs = performance.now() - at;
    if (app.lists() === first) throw new Error('a reload with a changed list kept the old lists');
    log(`reload with the list changed: ${changedMs.toFixed(0)} ms`);
    await app.stop();

    const rss = process.memoryUsage().rss / 2 ** 20;
    process.stdout.write(
      [
        `| what (${names.length.toLocaleString('en-US')} names, plain list) | ms |`,
        '|---|--:|',
        `| start (compile at start, in-process, dist/) | ${startMs.toFixed(0)} |`,
        `| config-only reload, call to swap: median of ${reloads} (min-max) | ${median(configOnly).toFixed(1)} (${Math.min(...configOnly).toFixed(1)}-${Math.max(...configOnly).toFixed(1)}) |`,
        `| reload with the list changed (compile + swap) | ${changedMs.toFixed(0)} |`,
        '',
        `"lists unchanged" log lines: ${unchanged} of ${reloads}; RSS at the end ${rss.toFixed(0)} MB.`,
        '',
      ].join('\n'),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, main, log);
