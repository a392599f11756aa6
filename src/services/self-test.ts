/**
 * The scheduled self-test as a service (selftest/selftest.ts), daily and after each list swap, signed,
 * its results in the statistics. A run asks the suite once as a client of no venue, over roje's first
 * DNS listener (a real socket, from loopback), and once per venue as a client of that venue: a socket
 * cannot send from a venue's address (it is not local), so those questions go through the data plane's
 * in-process exchange, the listeners' own chain, with the venue's first host address as the client
 * (selftest/venue-client.ts). The venues are read at each run (a reload may change them); the other
 * settings at start, like the listeners'. A signing key that cannot be read or created leaves the
 * reports unsigned, with an error logged: filtering does not depend on it.
 */
import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { RojeConfig } from '../config/schema.js';
import type { DataPlane } from '../dataplane/types.js';
import { RojeError } from '../errors.js';
import type { SelfTest, SelfTestTarget } from '../selftest/selftest.js';
import { venueClientAddress } from '../selftest/venue-client.js';
import type { BoundAddress } from '../transport/types.js';
import type { RawExchange } from '../verify/client.js';
import type { VerifyReport } from '../verify/report.js';
import type { Service } from './lifecycle.js';
import type { SwapListener } from './lists.js';
import type { StatsService } from './stats.js';

/**
 * The self-test's machinery (the runner, the suite and its schema check, the signer), loaded when the
 * service starts, after the DNS listeners: the first answers do not wait for it.
 */
async function loadMachinery() {
  const [selftest, runner, sign, suite] = await Promise.all([
    import('../selftest/selftest.js'),
    import('../verify/runner.js'),
    import('../verify/sign.js'),
    import('../verify/suite.js'),
  ]);
  return {
    createSelfTest: selftest.createSelfTest,
    runSuite: runner.runSuite,
    loadOrCreateSigningKey: sign.loadOrCreateSigningKey,
    signReport: sign.signReport,
    loadSuite: suite.loadSuite,
  };
}
type Machinery = Awaited<ReturnType<typeof loadMachinery>>;

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
  /** The venues in force (config `venues`, after reloads). */
  venues: () => RojeConfig['venues'];
  /** The data plane's in-process exchange: a question as a client of a venue. */
  exchange: DataPlane['exchange'];
  stats: Pick<StatsService, 'store'>;
}): SelfTestService {
  const c = options.config.selfTest;
  const log = options.logger.child({ module: 'selftest' });
  let selfTest: SelfTest | null = null;

  async function signingKey(m: Machinery): Promise<KeyObject | null> {
    if (c.signingKeyFile === null) return null;
    try {
      return await m.loadOrCreateSigningKey(c.signingKeyFile);
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

  /** As a client of `address`, through the listeners' chain; a dropped question is a failed one. */
  function asClient(address: string): RawExchange {
    return async (query, transport, timeoutMs) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), timeoutMs);
      });
      const answer = await Promise.race([
        options.exchange(query, { address, port: 0, transport }),
        timeout,
      ]).finally(() => clearTimeout(timer));
      if (answer === null) throw new Error(`no answer within ${timeoutMs} ms (dropped or timed out)`);
      return answer;
    };
  }

  /** Clients of no venue over the socket, then each venue through the exchange; null: no listener. */
  function targets(m: Machinery, key: KeyObject | null): SelfTestTarget[] | null {
    const to = target();
    if (to === null) return null;
    const b = options.config.blockPage;
    const run = async (extra: {
      sourceAddress?: string;
      venue?: string;
      exchange?: RawExchange;
    }): Promise<VerifyReport> => {
      const report = await m.runSuite({
        server: to,
        suite: await m.loadSuite(c.suite),
        blockAddresses: [b.ipv4, b.ipv6].filter((x): x is string => x !== null),
        ...extra,
      });
      return key === null ? report : m.signReport(report, key);
    };
    const list: SelfTestTarget[] = [{ venue: null, clientAddress: null, run: () => run({}) }];
    for (const venue of options.venues()) {
      const address = venueClientAddress(venue.networks);
      if (address === null) continue;
      list.push({
        venue: venue.name,
        clientAddress: address,
        // The signed report names the listener, the venue and, as sourceAddress, the client asked as.
        run: () => run({ sourceAddress: address, venue: venue.name, exchange: asClient(address) }),
      });
    }
    return list;
  }

  return {
    name: 'self-test',
    async start() {
      if (!c.enabled) return;
      const m = await loadMachinery();
      const key = await signingKey(m);
      const runner = m.createSelfTest({
        targets: () => targets(m, key),
        intervalMs: c.intervalMs,
        afterSwap: c.afterSwap,
        afterSwapDelayMs: SWAP_DELAY_MS,
        keep: c.keep,
        dir: options.config.stateDir === null ? null : join(options.config.stateDir, 'selftest'),
        logger: log,
        onResult: (summary) => {
          for (const v of summary.venues) {
            options.stats.store()?.recordSelfTest({
              at: summary.at,
              suite: summary.suite,
              passed: v.passed,
              failed: v.failed,
              // The kept report file's digest (the signed report JSON), not the run id.
              sha256: v.sha256,
              venue: v.venue,
            });
          }
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
