/**
 * The admin API's error handler in front of a stub API (no resolver): a thrown RojeError is answered
 * with the HTTP status its code has in the error table and `{ error: code, message }`; a 5xx shows only
 * the table's message, so that a detail (a path, a list rule) stays in the log.
 */
import { pino } from 'pino';
import t from 'tap';
import { createAuditLog } from '../../src/admin/audit.js';
import { hashToken } from '../../src/admin/auth.js';
import { errorName } from '../../src/admin/routes/shared.js';
import { type AdminApi, createAdminServer } from '../../src/admin/server.js';
import { ERROR_CODES, type ErrorSpec, RojeError, type RojeErrorCode } from '../../src/errors.js';

const TOKEN = 'roje_operator-token-for-server-tests';
const logger = pino({ level: 'silent' });
let thrown: Error = new Error('nothing set');
const fail = async (): Promise<never> => {
  throw thrown;
};
// Only what these tests call; the rest of the API is not reached.
const api = {
  statsSummary: () => {
    throw thrown;
  },
  runSelfTest: fail,
  listsArtifact: fail,
} as Partial<AdminApi> as AdminApi;
const audit = createAuditLog({ path: null, logger });
const app = await createAdminServer({
  tokens: () => [{ name: 'ops', role: 'operator', sha256: hashToken(TOKEN) }],
  api,
  audit,
  logger,
});
t.teardown(() => app.close());

async function get(url: string, method: 'GET' | 'POST' = 'GET') {
  const res = await app.inject({ method, url, headers: { authorization: `Bearer ${TOKEN}` } });
  return { status: res.statusCode, body: res.json() as Record<string, unknown> };
}
const SUMMARY = '/api/v1/stats/summary?from=2026-11-01&to=2026-11-02';

t.test(
  'a RojeError gets the status of its code in the table, and its code beside the status name',
  async (t) => {
    const withStatus = (Object.entries(ERROR_CODES) as Array<[RojeErrorCode, ErrorSpec]>).filter(
      ([, spec]) => spec.statusCode !== undefined,
    );
    for (const [code, spec] of withStatus) {
      thrown = new RojeError(code, `the detail of ${code}`);
      const res = await get(SUMMARY);
      t.equal(res.status, spec.statusCode, code);
      t.same(
        res.body,
        {
          error: errorName(spec.statusCode as number),
          code,
          message: (spec.statusCode as number) < 500 ? `the detail of ${code}` : spec.message,
        },
        `${code}: 4xx the detail, 5xx the table's message`,
      );
    }
  },
);

t.test('the new codes of the admin implementation', async (t) => {
  thrown = new RojeError('ROJE_ERR_STATS_DISABLED');
  t.same(await get(SUMMARY), {
    status: 503,
    body: {
      error: errorName(503),
      code: 'ROJE_ERR_STATS_DISABLED',
      message: ERROR_CODES.ROJE_ERR_STATS_DISABLED.message,
    },
  });
  thrown = new RojeError('ROJE_ERR_SELFTEST_DISABLED');
  t.same(await get('/api/v1/selftest/run', 'POST'), {
    status: 409,
    body: {
      error: errorName(409),
      code: 'ROJE_ERR_SELFTEST_DISABLED',
      message: 'the self-test is disabled (selfTest.enabled)',
    },
  });
  t.match((await audit.recent(1))[0], {
    action: 'POST /api/v1/selftest/run',
    result: 'failed',
    detail: 'the self-test is disabled (selfTest.enabled)',
  });
});

t.test('the fleet artifact: 404 not published, 503 lists incomplete', async (t) => {
  thrown = new RojeError('ROJE_ERR_FLEET_NOT_PUBLISHED', 'set fleet.publish.signingKeyFile');
  t.same(await get('/api/v1/lists/artifact'), {
    status: 404,
    body: {
      error: errorName(404),
      code: 'ROJE_ERR_FLEET_NOT_PUBLISHED',
      message: 'set fleet.publish.signingKeyFile',
    },
  });
  thrown = new RojeError('ROJE_ERR_FLEET_NOT_READY', 'no copy yet of feed-a');
  t.same(await get('/api/v1/lists/artifact.sig'), {
    status: 503,
    body: {
      error: errorName(503),
      code: 'ROJE_ERR_FLEET_NOT_READY',
      message: ERROR_CODES.ROJE_ERR_FLEET_NOT_READY.message,
    },
  });
});

t.test('a RojeError without a status, or any other error, is a 500 that shows nothing', async (t) => {
  for (const err of [new RojeError('ROJE_ERR_CONFIG_INVALID', 'secret detail'), new Error('secret detail')]) {
    thrown = err;
    t.same(await get(SUMMARY), {
      status: 500,
      body: { error: 'internal', message: 'internal error; see the server log' },
    });
  }
});

const atStart = await createAdminServer({
  tokens: () => [{ name: 'ops', role: 'operator', sha256: hashToken(TOKEN) }],
  api,
  audit,
  logger,
  compileSchemas: 'at start',
});
t.teardown(() => atStart.close());

t.test("every route's validators and serializers compile, as Fastify compiles them at start", async (t) => {
  await t.resolves(async () => {
    await atStart.ready();
  });
});

t.test('compiled at its first request, a route answers as one compiled at start', async (t) => {
  const ask = (server: typeof app, url: string) =>
    server.inject({ method: 'GET', url, headers: { authorization: `Bearer ${TOKEN}` } });
  const bad = `${SUMMARY}&bucket=minute`;
  const [lazy, eager] = [await ask(app, bad), await ask(atStart, bad)];
  t.equal(lazy.statusCode, 400, 'bad input is refused');
  t.match(lazy.json(), { error: 'bad_request', message: /^querystring\/bucket must be/ }, 'with the reason');
  t.same(lazy.json(), eager.json(), 'the same answer');
  const whoami = [await ask(app, '/api/v1/whoami'), await ask(atStart, '/api/v1/whoami')];
  t.equal(whoami[0]?.statusCode, 200);
  t.equal(whoami[0]?.body, '{"name":"ops","role":"operator"}', 'a response through its serializer');
  t.equal(whoami[0]?.body, whoami[1]?.body, 'the same too');
});
