import { pino } from 'pino';
import t from 'tap';
import { blockPageClientKey } from '../../src/blockpage/client-key.js';
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

t.test('clients are keyed by IPv4 address or IPv6 /64', async (t) => {
  t.equal(blockPageClientKey('192.0.2.7'), '192.0.2.7');
  t.equal(blockPageClientKey('::ffff:192.0.2.7'), '192.0.2.7', 'mapped IPv4 unwrapped');
  t.equal(blockPageClientKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2');
  t.equal(blockPageClientKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'), '2001:db8:1:2', 'same /64, same key');
  t.equal(blockPageClientKey('2001:db8::1'), '2001:db8:0:0', ':: in the first four groups');
  t.equal(blockPageClientKey('2001:0DB8:0001::'), '2001:db8:1:0', 'leading zeros and case folded');
  t.equal(blockPageClientKey('::1'), '0:0:0:0');
  t.equal(blockPageClientKey(undefined), '');
});

t.test('reports: per client and in total, per minute', async (t) => {
  const limiter = createReportLimiter({ perMinute: 5, perClientPerMinute: 2 });
  const at = 60_000 * 1000;
  t.same(
    [1, 2, 3].map(() => limiter.take('a', at)),
    [true, true, false],
    'a third from one client is refused',
  );
  t.ok(limiter.take('b', at), 'another client is not');
  t.ok(limiter.take('b', at));
  t.ok(limiter.take('c', at), 'the fifth in total');
  t.notOk(limiter.take('d', at), 'the shared limit still holds');
  t.ok(limiter.take('a', at + 60_000), 'a new minute, a new window');
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
