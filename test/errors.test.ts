import { readFileSync } from 'node:fs';
import t from 'tap';
import { ERROR_CODES, isRojeError, RojeError } from '../src/errors.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const section = readme.split(/^## Error codes$/m)[1]?.split(/^## /m)[0] ?? '';
const documented = new Set([...section.matchAll(/^\| `(ROJE_ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]));

t.test('every error code is documented in the README, and nothing else is', async (t) => {
  t.not(section, '', 'README has an "## Error codes" section');
  t.same([...documented].sort(), Object.keys(ERROR_CODES).sort());
});

t.test('RojeError carries its code and a default message', async (t) => {
  const err = new RojeError('ROJE_ERR_UPSTREAM_TIMEOUT');
  t.equal(err.code, 'ROJE_ERR_UPSTREAM_TIMEOUT');
  t.equal(err.message, ERROR_CODES.ROJE_ERR_UPSTREAM_TIMEOUT);
  t.ok(isRojeError(err, 'ROJE_ERR_UPSTREAM_TIMEOUT'));
  t.notOk(isRojeError(err, 'ROJE_ERR_CONFIG_READ'));
  t.notOk(isRojeError(new Error('x')));
});
