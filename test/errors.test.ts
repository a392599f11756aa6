import { readFileSync } from 'node:fs';
import t from 'tap';
import { ERROR_CODES, isRojeError, RojeError } from '../src/errors.js';

// docs/errors.md is the operator's table of error codes; the README links to it.
const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
const section = doc.split(/^# Error codes$/m)[1]?.split(/^#{1,2} /m)[0] ?? '';
const documented = new Set([...section.matchAll(/^\| `(ROJE_ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]));

t.test('every error code is documented in docs/errors.md, and nothing else is', async (t) => {
  t.not(section, '', 'docs/errors.md starts with a "# Error codes" section');
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
