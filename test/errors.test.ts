import { readFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import t from 'tap';
import {
  ERROR_CODES,
  type ErrorSpec,
  httpStatusOf,
  isRojeError,
  RojeError,
  type RojeErrorCode,
} from '../src/errors.js';

// docs/errors.md is the operator's table of error codes; the README links to it.
const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
const section = doc.split(/^# Error codes$/m)[1]?.split(/^#{1,2} /m)[0] ?? '';
const rows = new Map(
  [...section.matchAll(/^\| `(ROJE_ERR_[A-Z_]+)` \| (.*) \|$/gm)].map((m) => [m[1], m[2]] as const),
);
const specs = Object.entries(ERROR_CODES) as Array<[RojeErrorCode, ErrorSpec]>;

t.test('every error code is documented in docs/errors.md, and nothing else is', async (t) => {
  t.not(section, '', 'docs/errors.md starts with a "# Error codes" section');
  t.same([...rows.keys()].sort(), Object.keys(ERROR_CODES).sort());
});

t.test('every HTTP status in the table is a client or server error status that HTTP defines', async (t) => {
  for (const [code, spec] of specs) {
    if (spec.statusCode === undefined) continue;
    t.ok(Number.isInteger(spec.statusCode), `${code}: an integer`);
    t.ok(spec.statusCode >= 400 && spec.statusCode <= 599, `${code}: 4xx or 5xx (${spec.statusCode})`);
    t.ok(STATUS_CODES[spec.statusCode] !== undefined, `${code}: a status HTTP defines (${spec.statusCode})`);
  }
  t.ok(
    specs.some(([, s]) => s.statusCode !== undefined),
    'some codes declare one',
  );
});

t.test("docs/errors.md gives each code's API status, as the table does", async (t) => {
  for (const [code, spec] of specs) {
    const documented = /\(API (\d{3})\)$/.exec(rows.get(code) ?? '')?.[1];
    t.equal(documented === undefined ? undefined : Number(documented), spec.statusCode, code);
  }
});

t.test('RojeError carries its code, a default message and the status of the table', async (t) => {
  const err = new RojeError('ROJE_ERR_UPSTREAM_TIMEOUT');
  t.equal(err.code, 'ROJE_ERR_UPSTREAM_TIMEOUT');
  t.equal(err.message, ERROR_CODES.ROJE_ERR_UPSTREAM_TIMEOUT.message);
  t.equal(err.statusCode, undefined, 'no status: not an error an HTTP client meets');
  t.ok(isRojeError(err, 'ROJE_ERR_UPSTREAM_TIMEOUT'));
  t.notOk(isRojeError(err, 'ROJE_ERR_CONFIG_READ'));
  t.notOk(isRojeError(new Error('x')));

  const full = new RojeError('ROJE_ERR_STATS_REPORTS_FULL', '500 reports are waiting for review');
  t.equal(full.message, '500 reports are waiting for review');
  t.equal(full.statusCode, 429);
  t.equal(new RojeError('ROJE_ERR_STATS_WRITE').statusCode, 503);
});

t.test('httpStatusOf: a RojeError by its table, a Fastify error by its statusCode, else none', async (t) => {
  t.equal(httpStatusOf(new RojeError('ROJE_ERR_FEED_UNKNOWN')), 404);
  t.equal(httpStatusOf(new RojeError('ROJE_ERR_CONFIG_INVALID')), undefined);
  t.equal(httpStatusOf(Object.assign(new Error('too large'), { statusCode: 413 })), 413);
  t.equal(httpStatusOf(Object.assign(new Error('odd'), { statusCode: '404' })), undefined, 'not a number');
  t.equal(
    httpStatusOf(Object.assign(new Error('odd'), { statusCode: 200 })),
    undefined,
    'not an error status',
  );
  t.equal(httpStatusOf(new Error('plain')), undefined);
  t.equal(httpStatusOf(null), undefined);
  t.equal(httpStatusOf('a string'), undefined);
});
