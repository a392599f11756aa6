/**
 * The scheduled self-test as a service (selftest/selftest.ts): the verify suite against roje's own
 * first DNS listener, daily and after each list swap, signed, its results in the statistics. Settings
 * are read at start, like the listeners'. A signing key that cannot be read or created leaves the
 * reports unsigned, with an error logged: filtering does not depend on it.
 */
import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { RojeConfig } from '../config/schema.js';
import { RojeError } from '../errors.js';
import { createSelfTest, type SelfTest } from '../selftest/selftest.js';
import type { BoundAddress } from '../transport/types.js';
import { runSuite } from '../verify/runner.js';
import { loadOrCreateSigningKey, signReport } from '../verify/sign.js';
import { loadSuite } from '../verify/suite.js';
import type { Service } from './lifecycle.js';
import type { SwapListener } from './lists.js';
import type { StatsService } from './stats.js';

/** A self-test follows a list swap after this long (a burst of swaps shares one run). */
const SWAP_DELAY_MS = 60_000;

export interface SelfTestService extends Service, SwapListener {
  /** The runner, or null while stopped or when disabled. */
  runner(): SelfTest | null;
  /** The runner; ROJE_ERR_SELFTEST_DISABLED when there is none. */
  required(): SelfTest;
}

export function createSelfTestService(options: {
  config: RojeConfig;
  logger: Logger;
  /** The DNS addresses to ask (the first is used). */
  addresses: () => BoundAddress[];
  stats: Pick<StatsService, 'store'>;
}): SelfTestService {
  const c = options.config.selfTest;
  const log = options.logger.child({ module: 'selftest' });
  let selfTest: SelfTest | null = null;

  async function signingKey(): Promise<KeyObject | null> {
    if (c.signingKeyFile === null) return null;
    try {
      return await loadOrCreateSigningKey(c.signingKeyFile);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'self-test signing key unusable: reports are unsigned');
      return null;
    }
  }

  function target(): { host: string; port: number } | null {
    const a = options.addresses()[0];
    if (a === undefined) return null;
    const host = a.host === '0.0.0.0' ? '127.0.0.1' : a.host === '::' ? '::1' : a.host;
    return { host, port: a.port };
  }

  return {
    name: 'self-test',
    async start() {
      if (!c.enabled) return;
      const key = await signingKey();
      const b = options.config.blockPage;
      const runner = createSelfTest({
        target,
        run: async (to) => {
          const report = await runSuite({
            server: to,
            suite: await loadSuite(c.suite),
            blockAddresses: [b.ipv4, b.ipv6].filter((x): x is string => x !== null),
          });
          return key === null ? report : signReport(report, key);
        },
        intervalMs: c.intervalMs,
        afterSwap: c.afterSwap,
        afterSwapDelayMs: SWAP_DELAY_MS,
        keep: c.keep,
        dir: options.config.stateDir === null ? null : join(options.config.stateDir, 'selftest'),
        logger: log,
        onResult: (summary) => {
          options.stats.store()?.recordSelfTest({
            at: summary.at,
            suite: summary.suite,
            passed: summary.passed,
            failed: summary.failed,
            sha256: summary.id,
          });
        },
      });
      await runner.start();
      selfTest = runner;
      // The first self-test follows the first list load, like any swap.
      runner.listsSwapped();
    },
    async stop() {
      await selfTest?.stop();
      selfTest = null;
    },
    afterSwap: () => selfTest?.listsSwapped(),
    runner: () => selfTest,
    required() {
      if (selfTest === null) throw new RojeError('ROJE_ERR_SELFTEST_DISABLED');
      return selfTest;
    },
  };
}
