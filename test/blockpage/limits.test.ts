import { pino } from 'pino';
import t from 'tap';
import { blockPageConnectionCap, openFilesSoftLimit } from '../../src/blockpage/fd-limit.js';
import { createReportLimiter } from '../../src/blockpage/report-limit.js';
import { createBlockPageServer } from '../../src/blockpage/server.js';
import { validateConfig } from '../../src/config/load.js';
import { isRojeError } from '../../src/errors.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
`;

t.test('the open-files soft limit, from /proc/self/limits or 1024', async (t) => {
  t.equal(
    openFilesSoftLimit(() => LIMITS),
    1024,
  );
  t.equal(
    openFilesSoftLimit(() => LIMITS.replace('1024 ', 'unlimited ')),
    Number.MAX_SAFE_INTEGER,
  );
  t.equal(
    openFilesSoftLimit(() => 'nothing here'),
    1024,
    'unreadable: the usual default',
  );
  t.equal(
    openFilesSoftLimit(() => {
      throw new Error('ENOENT');
    }),
    1024,
    'no /proc (not Linux)',
  );
  t.ok(openFilesSoftLimit() >= 1, 'this process');
});

t.test('the block page keeps three quarters of the descriptors for DNS', async (t) => {
  t.equal(blockPageConnectionCap(256, 1024), 256);
  t.equal(blockPageConnectionCap(256, 512), 128, 'a low limit lowers the cap');
  t.equal(blockPageConnectionCap(10_000, 20_000), 5000);
  t.equal(blockPageConnectionCap(256, 2), 1, 'never zero');
});

t.test('reports: per client and in total, per minute', async (t) => {
  const limiter = createReportLimiter({ perMinute: 5, perClientPerMinute: 2 });
  const at = 60_000 * 1000;
  t.same(
    [1, 2, 3].map(() => limiter.take(1, at)),
    [true, true, false],
    'a third from one client is refused',
  );
  t.ok(limiter.take(2, at), 'another client is not');
  t.ok(limiter.take(2, at));
  t.ok(limiter.take(3, at), 'the fifth in total');
  t.notOk(limiter.take(4, at), 'the shared limit still holds');
  t.ok(limiter.take(1, at + 60_000), 'a new minute, a new window');
});

t.test('bad limits are refused with ROJE_ERR_BLOCKPAGE_OPTIONS', async (t) => {
  const deps = { explain: () => null, logger: pino({ level: 'silent' }) };
  const cases = [
    { maxConnections: 0 },
    { maxConnectionsPerClient: 1.5 },
    { headersTimeoutMs: 20_000, requestTimeoutMs: 10_000 },
    { reportsPerClientPerMinute: -1 },
  ];
  for (const limits of cases) {
    let err: unknown = null;
    try {
      createBlockPageServer({ listen: [], limits }, deps);
    } catch (e) {
      err = e;
    }
    t.ok(isRojeError(err, 'ROJE_ERR_BLOCKPAGE_OPTIONS'), `${JSON.stringify(limits)}: ${err}`);
  }
});

t.test('config: the limits in ms; a bad deadline is refused with its key', async (t) => {
  const up = ['udp://127.0.0.1:5300'];
  const cfg = await validateConfig(
    { upstreams: up, blockPage: { headersTimeout: '2s', requestTimeout: '1m', maxConnectionsPerClient: 4 } },
    null,
  );
  t.match(cfg.blockPage.limits, {
    headersTimeoutMs: 2000,
    requestTimeoutMs: 60_000,
    maxConnectionsPerClient: 4,
    maxConnections: 256,
  });
  await t.rejects(validateConfig({ upstreams: up, blockPage: { headersTimeout: '20s' } }, null), {
    code: 'ROJE_ERR_CONFIG_INVALID',
    message: /blockPage\.headersTimeout: must not be longer than blockPage\.requestTimeout/,
  });
  await t.rejects(validateConfig({ upstreams: up, blockPage: { keepAliveTimeout: 0 } }, null), {
    code: 'ROJE_ERR_CONFIG_INVALID',
    message: /blockPage\.keepAliveTimeout: must be more than 0/,
  });
  await t.rejects(validateConfig({ upstreams: up, blockPage: { maxConnectionsPerClient: 0 } }, null), {
    code: 'ROJE_ERR_CONFIG_INVALID',
  });
});
